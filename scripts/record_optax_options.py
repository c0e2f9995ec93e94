"""Records optax rules with options the shared recordings leave at their defaults, on the
`quadratic` and `fixed_grads` problems (`../shared/golden/README.md`), in the format of
`tests/recorded/*.json`:

- `optax.contrib.prodigy` with a learning rate other than 1, weight decay, `safeguard_warmup`
  and `beta3`: `tests/recorded/optax_contrib_prodigy_options.json`;
- `optax.lars` with `nesterov=True`: `tests/recorded/optax_lars_nesterov.json`;
- `optax.rmsprop` with `eps_in_sqrt=False` (and `bias_correction`, `nesterov`):
  `tests/recorded/optax_rmsprop_options.json`;
- `optax.adabelief` with `eps_root` large enough to matter and `nesterov=True`:
  `tests/recorded/optax_adabelief_options.json`;
- `optax.polyak_sgd` with `max_learning_rate`, `f_min`, `eps` and the `sps+` variant, on
  `quadratic` only (it needs the loss): `tests/recorded/optax_polyak_sgd_options.json`;
- every other keyword of the vector rules (betas, `eps`, `eps_root`, `weight_decay`,
  `nesterov`, SM3's and LARS's options, RMSprop's `decay`, `initial_scale` and
  `bias_correction`, ...) set away from its default: `tests/recorded/optax_<rule>_options.json`.

Usage (optax 0.2.8, jax 0.10.2, as the shared recordings):
    python3 -m venv venv && venv/bin/pip install optax==0.2.8 jax==0.10.2 jaxlib==0.10.2
    venv/bin/python scripts/record_optax_options.py
"""
import inspect

import jax.numpy as jnp
import optax
from recording import PATTERNS, cut, quadratic_loss, save, trajectory, vector_problem

RULES = {
    "contrib.prodigy": ("optax_contrib_prodigy_options.json", {
        "lr": dict(learning_rate=0.25),
        "decay": dict(learning_rate=0.5, weight_decay=0.1),
        "warmup": dict(safeguard_warmup=True, estim_lr0=1e-3),
        "all": dict(learning_rate=2.0, weight_decay=0.05, beta3=0.95, safeguard_warmup=True,
                    betas=(0.8, 0.99), eps=1e-6, estim_lr0=1e-4, estim_lr_coef=2.0),
    }),
    "lars": ("optax_lars_nesterov.json", {
        "nesterov": dict(learning_rate=0.05, momentum=0.9, nesterov=True),
        "nesterov_decay": dict(learning_rate=0.05, momentum=0.8, nesterov=True, weight_decay=0.01, trust_coefficient=0.1),
    }),
    "rmsprop": ("optax_rmsprop_options.json", {
        "eps_outside": dict(learning_rate=0.01, eps_in_sqrt=False, eps=1e-3),
        "eps_outside_centered_bias": dict(learning_rate=0.01, eps_in_sqrt=False, centered=True, bias_correction=True),
        "eps_outside_nesterov": dict(learning_rate=0.001, eps_in_sqrt=False, momentum=0.9, nesterov=True),
        "centered_momentum": dict(learning_rate=0.01, centered=True, momentum=0.9),
    }),
    "adabelief": ("optax_adabelief_options.json", {
        "eps_root": dict(learning_rate=0.05, eps_root=1e-3),
        "nesterov": dict(learning_rate=0.05, nesterov=True),
        "all": dict(learning_rate=0.02, b1=0.8, b2=0.99, eps=1e-8, eps_root=1e-4, nesterov=True),
    }),
    "adam": ("optax_adam_options.json", {
        "betas_eps": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3),
        "eps_root": dict(learning_rate=0.05, eps_root=1e-4),
        "nesterov": dict(learning_rate=0.05, nesterov=True, eps_root=1e-6),
    }),
    "lion": ("optax_lion_options.json", {
        "betas_decay": dict(learning_rate=0.01, b1=0.8, b2=0.95, weight_decay=0.05),
        "no_decay": dict(learning_rate=0.01, weight_decay=0.0),
    }),
    "yogi": ("optax_yogi_options.json", {
        "betas_eps": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-2),
        # optax.yogi is scale_by_yogi (whose eps_root and initial_accumulator_value it leaves at
        # their defaults) then scale_by_learning_rate: the chain, with those two set
        "eps_root_initial": dict(learning_rate=0.05, eps_root=1e-3, initial_accumulator_value=0.1),
    }),
    "lamb": ("optax_lamb_options.json", {
        "all": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-4, eps_root=1e-5, weight_decay=0.05),
        "zero_init": dict(learning_rate=0.05),
    }),
    "adan": ("optax_adan_options.json", {
        "eps_decay": dict(learning_rate=0.05, eps=1e-3, eps_root=1e-4, weight_decay=0.05),
    }),
    "amsgrad": ("optax_amsgrad_options.json", {
        "all": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3, eps_root=1e-4, bias_correction_mu=False),
    }),
    "adamaxw": ("optax_adamaxw_options.json", {
        "betas_eps": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3, weight_decay=0.05),
    }),
    "adagrad": ("optax_adagrad_options.json", {
        "eps": dict(learning_rate=0.1, eps=1e-2),
    }),
    "nadamw": ("optax_nadamw_options.json", {
        "all": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3, eps_root=1e-4, weight_decay=0.05),
    }),
    "radam": ("optax_radam_options.json", {
        "all": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3, eps_root=1e-4, nesterov=True),
    }),
    "novograd": ("optax_novograd_options.json", {
        "all": dict(learning_rate=0.05, eps=1e-3, eps_root=1e-4, weight_decay=0.05),
    }),
    "fromage": ("optax_fromage_options.json", {
        "min_norm": dict(learning_rate=0.05, min_norm=20.0),
        # from zero parameters with min_norm 0: the parameters' norm is 0, so the trust ratio is 1
        "zero_init_min_norm_0": dict(learning_rate=0.05, min_norm=0.0),
    }),
    "sm3": ("optax_sm3_options.json", {
        "momentum": dict(learning_rate=0.1, momentum=0.5),
        "no_momentum": dict(learning_rate=0.1, momentum=0.0),
    }),
    "contrib.ademamix": ("optax_contrib_ademamix_options.json", {
        "all": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3, eps_root=1e-4, weight_decay=0.05),
    }),
    "contrib.simplified_ademamix": ("optax_contrib_simplified_ademamix_options.json", {
        "all": dict(learning_rate=0.05, alpha=2.0, eps=1e-3, eps_root=1e-4, weight_decay=0.05),
    }),
    "contrib.adopt": ("optax_contrib_adopt_options.json", {
        "all": dict(learning_rate=0.05, b1=0.8, b2=0.99, eps=1e-3, nesterov=True),
    }),
    "lars": ("optax_lars_options.json", {
        "eps": dict(learning_rate=0.05, eps=1e-3, weight_decay=0.01),
        # from zero parameters (`fixed_grads` only): a zero norm makes the trust ratio 1
        "zero_init": dict(learning_rate=0.05),
    }),
    "polyak_sgd": ("optax_polyak_sgd_options.json", {
        "max_lr": dict(max_learning_rate=0.01),
        "f_min_sps_plus": dict(max_learning_rate=0.5, f_min=0.5, variant="sps+"),
        # f_min above the loss from the start (512): plain SPS takes the negative gap as it is, and
        # climbs; sps+ clamps it at 0, and stays
        "f_min_above_loss": dict(max_learning_rate=0.5, f_min=600.0),
        "f_min_above_loss_sps_plus": dict(max_learning_rate=0.5, f_min=600.0, variant="sps+"),
        "eps": dict(max_learning_rate=1.0, eps=1e3),
    }),
    "rmsprop_bias": ("optax_rmsprop_bias_options.json", {
        "bias_correction": dict(learning_rate=0.01, bias_correction=True, decay=0.8, initial_scale=0.5),
        "bias_correction_momentum": dict(learning_rate=0.01, bias_correction=True, momentum=0.9),
        # eps large enough that the first step's var = s_hat - m_hat^2 (0 up to roundings) is not
        # amplified by the square root
        "bias_correction_centered": dict(learning_rate=0.01, bias_correction=True, centered=True, eps=1.0),
    }),
}

# callables among the defaults, written as the shared recordings write them
CALLABLES = {"contrib.adopt": {"clip_value_fn": "lambda x: x**0.25"}}


def yogi(learning_rate, b1=0.9, b2=0.999, eps=1e-3, eps_root=0.0, initial_accumulator_value=1e-6):
    """`optax.yogi` with `scale_by_yogi`'s two other keywords."""
    return optax.chain(optax.scale_by_yogi(b1=b1, b2=b2, eps=eps, eps_root=eps_root,
                                           initial_accumulator_value=initial_accumulator_value),
                       optax.scale_by_learning_rate(learning_rate))


def function(name):
    """`optax.<name>`, e.g. `contrib.prodigy` (`rmsprop_bias` is `rmsprop`; `yogi` takes
    `scale_by_yogi`'s keywords too)."""
    if name == "yogi":
        return yogi
    f = optax
    for part in name.removesuffix("_bias").split("."):
        f = getattr(f, part)
    return f


for name, (file, variants) in RULES.items():
    fn = function(name)
    defaults = {k: v.default for k, v in inspect.signature(fn).parameters.items()}
    defaults.update(CALLABLES.get(name, {}))
    cases = []
    for variant, hyper in variants.items():
        # polyak_sgd needs the loss: quadratic only; a zero start: fixed_grads only
        problems = ["quadratic"] if name == "polyak_sgd" else ["quadratic", "fixed_grads"]
        for problem in ["fixed_grads"] if variant.startswith("zero_init") else problems:
            init, grads, grad, steps = vector_problem(problem)
            if variant.startswith("zero_init"):
                init = [0.0] * len(init)
            x = jnp.array(init, dtype=jnp.float64)
            value = quadratic_loss if name == "polyak_sgd" else None
            traj = trajectory(fn(**hyper), x, grad, steps, value=value)
            keep, worst = cut(traj, [trajectory(fn(**hyper), x, grad, steps, p, value) for p in PATTERNS])
            rule = name.removesuffix("_bias")
            cid = f"optax.{rule}-{variant}-{problem}"
            print(cid, "keeps", keep, "of", len(traj), f"sensitivity {worst:.1e}")
            if keep < 10:
                continue
            case = dict(id=cid, optimizer=f"optax.{rule}", hyper=hyper, problem=problem,
                        hyper_resolved=dict(defaults, **hyper), init=list(init), steps=keep, record_every=1,
                        grads_given=grads is not None, trajectory=traj[:keep], ulp_sensitivity=worst,
                        jax_mode="disable_jit")
            if grads is not None:
                case["grads"] = grads[:keep]
            cases.append(case)
    save(cases, file)
