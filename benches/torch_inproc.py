#!/usr/bin/env python3
"""PyTorch's fused CPU step and the hand-fused C kernels of benches/compare.sh, timed side by side
in one Python process: the C kernels (built by compare.sh as shared libraries from the same
sources, with the same flags) are called through ctypes on torch tensors, alternately with
`optimizer.step()` on a parameter of the same size and the same gradient, round by round (C,
PyTorch, C). The ratio of PyTorch's time to the mean of the C times around it, set beside
benches/inproc's ratio of gradus's time to the same C kernels, compares PyTorch with gradus
without either side's figure including a process or harness the other lacks.

Usage: python benches/torch_inproc.py LIBDIR [ROUNDS] [N ...]
  LIBDIR holds libfused_adam.so and libfused_more.so; f32, one thread; prints one line per rule
  and N: rule N C_us torch_fused_us median [min, max] of PyTorch fused over C.
"""
import ctypes
import statistics
import sys
import time

import torch


def main():
    lib_dir = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 15
    sizes = [int(float(x)) for x in sys.argv[3:]] or [1000, 10000, 100000, 1000000, 10000000]
    torch.set_num_threads(1)
    adam_lib = ctypes.CDLL(f"{lib_dir}/libfused_adam.so")
    more_lib = ctypes.CDLL(f"{lib_dir}/libfused_more.so")
    adam_lib.c_one_thread()
    ptr, n_t, t_t = ctypes.c_void_p, ctypes.c_long, ctypes.c_int
    adam_lib.c_adam.argtypes = [ptr, ptr, ptr, ptr, n_t, t_t]
    adam_lib.c_sgdm.argtypes = [ptr, ptr, ptr, n_t]
    more_lib.c_adagrad.argtypes = [ptr, ptr, ptr, n_t, t_t]
    # the configurations of fused_adam.c, fused_more.c, torch_step.py and gradus's benchmarks
    # (PyTorch has no fused RMSprop)
    rules = {
        "adam": lambda p: torch.optim.Adam([p], lr=1e-3, fused=True),
        "sgd_momentum": lambda p: torch.optim.SGD([p], lr=1e-3, momentum=0.9, fused=True),
        "adagrad": lambda p: torch.optim.Adagrad([p], lr=1e-2, fused=True),
    }

    def median_step(step, batch):
        samples = []
        for _ in range(15):
            start = time.perf_counter_ns()
            for _ in range(batch):
                step()
            samples.append((time.perf_counter_ns() - start) / batch)
        return statistics.median(samples)

    print(f"# torch {torch.__version__}, 1 thread, one process, {rounds} rounds")
    print(f"{'rule':<13}{'N':>9} {'C kernel':>10} {'torch fus':>10}  {'fused/C':>20}")
    for name, make in rules.items():
        for n in sizes:
            i = torch.arange(n)
            grad = ((i % 13 - 6) * 1e-2).float()
            p = torch.nn.Parameter((0.5 + (i % 7) * 0.1).float())
            p.grad = grad.clone()
            opt = make(p)
            pc, s1, s2, t = p.detach().clone(), torch.zeros(n), torch.zeros(n), [1]
            # the rule's C kernel, chosen once (no per-call dispatch); pointers taken once
            pp, gp, p1, p2 = pc.data_ptr(), grad.data_ptr(), s1.data_ptr(), s2.data_ptr()
            if name == "adam":
                def c_step():
                    adam_lib.c_adam(pp, gp, p1, p2, n, t[0])
                    t[0] += 1
            elif name == "sgd_momentum":
                def c_step():
                    adam_lib.c_sgdm(pp, gp, p1, n)
            else:
                def c_step():
                    more_lib.c_adagrad(pp, gp, p1, n, t[0])
                    t[0] += 1

            start = time.perf_counter()
            for _ in range(3):
                c_step()
                opt.step()
            batch = max(1, int(2e-4 / ((time.perf_counter() - start) / 6)))
            tc, tf, ratios = [], [], []
            for _ in range(rounds):
                c0 = median_step(c_step, batch)
                f = median_step(opt.step, batch)
                c1 = median_step(c_step, batch)
                tc.append((c0 + c1) / 2)
                tf.append(f)
                ratios.append(f / ((c0 + c1) / 2))
            span = f"{statistics.median(ratios):.2f}x [{min(ratios):.2f}, {max(ratios):.2f}]"
            print(f"{name:<13}{n:>9} {statistics.median(tc) / 1e3:>10.2f} {statistics.median(tf) / 1e3:>10.2f}  {span:>20}",
                  flush=True)


if __name__ == "__main__":
    main()
