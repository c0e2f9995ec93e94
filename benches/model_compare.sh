#!/usr/bin/env bash
# A whole model's optimizer step, gradus against PyTorch and the hand-fused C kernel, f32, on
# GPT-2 tiny and GPT-2 small's parameter shapes, for ROUNDS interleaved rounds. Each round runs
# the in-process tool (benches/inproc, model mode: the C Adam kernel over the flat buffer around
# each of gradus's Groups steps, AdamW unguarded and guarded on 1 and 2 threads, Muon + AdamW,
# Adafactor), then ../shared/bench/torch_model_step.py (AdamW fused and foreach, Muon + fused
# AdamW; one thread). PyTorch's times are divided by the same round's C time, so every ratio is
# within one round; the table gives medians over rounds.
#
# Usage: bash benches/model_compare.sh      (needs gcc and ../shared; torch is installed if missing)
#   SHARED=../shared   ROUNDS=5   MODELS="gpt2-tiny gpt2-small"   SMALL_MUON_ROUNDS=1
#   TORCH_MUON_ROUNDS=ROUNDS (torch's Muon step in the first rounds only)
#   GRADUS_BENCH_PY=python   a python with torch; GRADUS_BENCH_PY=none skips PyTorch
set -euo pipefail
cd "$(dirname "$0")/.."
export SHARED=${SHARED:-$(cd .. && pwd)/shared}
ROUNDS=${ROUNDS:-5}
MODELS=${MODELS:-"gpt2-tiny gpt2-small"}
SMALL_MUON_ROUNDS=${SMALL_MUON_ROUNDS:-1}
TORCH_MUON_ROUNDS=${TORCH_MUON_ROUNDS:-$ROUNDS}
out=target/model_compare
rm -rf "$out" && mkdir -p "$out"
echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores, $(grep -o -m1 'avx512f' /proc/cpuinfo || echo 'no avx512')" >&2
CARGO_TARGET_DIR=target/inproc cargo build --release --quiet --manifest-path benches/inproc/Cargo.toml --features rayon
tool=target/inproc/release/gradus-inproc
py=${GRADUS_BENCH_PY:-}
if [ -z "$py" ]; then
  py=$(bash "$SHARED/bench/setup-torch.sh" 2>/dev/null | tail -n 1) || py=none
fi
if [ "$py" != none ] && ! "$py" -c "import torch" 2>/dev/null; then py=none; fi
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r/$ROUNDS" >&2
  # GPT-2 small's Muon step takes most of a minute on either side: its rounds are the first
  # SMALL_MUON_ROUNDS only
  skip=""; [ "$r" -gt "$SMALL_MUON_ROUNDS" ] && skip="--no-muon-small"
  "$tool" model 1 $MODELS $skip > "$out/gradus.$r.txt"
  if [ "$py" != none ]; then
    for model in $MODELS; do
      # torch's Muon runs bf16 matrix products: on a CPU without native bf16 a GPT-2 tiny step
      # takes seconds (GPT-2 small's many minutes), so only the first TORCH_MUON_ROUNDS rounds
      # time it, and GPT-2 small's only within SMALL_MUON_ROUNDS
      configs=adamw,muon
      [ "$r" -gt "$TORCH_MUON_ROUNDS" ] && configs=adamw
      [ "$model" = gpt2-small ] && [ -n "$skip" ] && configs=adamw
      "$py" "$SHARED/bench/torch_model_step.py" --threads 1 --models "$model" --configs "$configs" \
        --modes foreach,fused --seconds 2 --json "$out/torch.$r.jsonl" > /dev/null
    done
  fi
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
med = statistics.median
rows = {}   # (model, threads, config) -> list of (gradus ms, C ms)
torch = {}  # (model, config, mode) -> list of (torch ms, C ms of the round)
for r in range(1, rounds + 1):
    c_of = {}
    for line in open(f"{out}/gradus.{r}.txt"):
        f = line.split()
        if len(f) < 8 or not f[0].startswith("gpt2"):
            continue
        model, thr, config, c_ms, g_ms = f[0], int(f[1]), f[2], float(f[3]), float(f[4])
        rows.setdefault((model, thr, config), []).append((g_ms, c_ms))
        c_of[model] = c_ms
    path = f"{out}/torch.{r}.jsonl"
    if os.path.exists(path):
        for line in open(path):
            j = json.loads(line)
            torch.setdefault((j["model"], j["config"], j["mode"]), []).append((j["median_ms"], c_of[j["model"]]))
print(f"f32, medians over {rounds} rounds; C = the hand-fused Adam kernel over the flat buffer, same round")
print(f"{'model':<11} {'threads':>7} {'step':<22} {'ms':>9} {'x C':>7}")
for (model, thr, config), v in rows.items():
    print(f"{model:<11} {thr:>7} {'gradus ' + config:<22} {med(x for x, _ in v):>9.2f} {med(x / c for x, c in v):>6.2f}x")
for (model, config, mode), v in torch.items():
    print(f"{model:<11} {1:>7} {'torch ' + config + ' ' + mode:<22} {med(x for x, _ in v):>9.2f} {med(x / c for x, c in v):>6.2f}x")
print()
print("ratios (medians over rounds of the per-round ratio)")
def ratio(a, b):
    return med(x / y for (x, _), (y, _) in zip(a, b))
for model in sorted({k[0] for k in rows}):
    g = lambda thr, cfg: rows.get((model, thr, cfg))
    if g(1, "adamw") and g(2, "adamw"):
        print(f"{model}: adamw+guard 1 thread / 2 threads = {ratio(g(1, 'adamw+guard'), g(2, 'adamw+guard')):.2f}x")
    t = torch.get((model, "adamw", "fused"))
    if t:
        print(f"{model}: torch fused AdamW / gradus adamw+guard (1 thread) = {ratio(t, g(1, 'adamw+guard')):.2f}x")
    t = torch.get((model, "muon", "fused"))
    if t:
        print(f"{model}: gradus muon+guard / torch Muon (+ fused AdamW) = {ratio(g(1, 'muon+guard'), t):.2f}x")
PY
