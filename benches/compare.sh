#!/usr/bin/env bash
# Side-by-side step time of descent, a hand-fused C kernel and PyTorch on this machine, f32,
# single thread. At each N the C kernels and descent run back to back, for ROUNDS rounds; each
# ratio is taken within a round and the table gives the median over rounds (times are medians
# too), so that a noisy machine moves both sides of a ratio together.
#
# Usage: bash benches/compare.sh            (needs gcc; torch is optional)
#   SHARED=../shared        where bench/fused_adam.c and bench/torch_step.py live
#   DESCENT_BENCH_PY=python a python with torch (default: ../shared/bench/setup-torch.sh's venv,
#                           installed if missing); DESCENT_BENCH_PY=none skips torch
#   SIZES="1e3 1e4 1e5 1e6 1e7"   ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
SIZES=${SIZES:-"1e3 1e4 1e5 1e6 1e7"}
ROUNDS=${ROUNDS:-3}
out=target/compare
rm -rf "$out" && mkdir -p "$out"

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores" >&2
gcc -O3 -fno-math-errno -march=native -fopenmp "$SHARED/bench/fused_adam.c" -o "$out/fused_adam" -lm
# RMSprop and Adagrad written the same way (this repository)
gcc -O3 -fno-math-errno -march=native -fopenmp benches/fused_more.c -o "$out/fused_more" -lm
cargo bench --bench step --no-run 2>/dev/null
for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r/$ROUNDS: per size, the C kernels (gcc -O3 -march=native), then descent (criterion, default target)" >&2
  rm -rf target/criterion/compare
  : > "$out/c.$r.txt"
  for size in $SIZES; do
    # the C kernels and descent back to back at each N, so a ratio spans seconds, not minutes
    OMP_NUM_THREADS=1 "$out/fused_adam" "$size" >> "$out/c.$r.txt" 2>/dev/null
    OMP_NUM_THREADS=1 "$out/fused_more" "$size" >> "$out/c.$r.txt" 2>/dev/null
    n=$(python3 -c "print(int(float('$size')))")
    cargo bench --bench step -- "^compare/.*/$n\$" >> "$out/descent.$r.log" 2>&1
  done
  cp -r target/criterion/compare "$out/descent.$r"
done

py=${DESCENT_BENCH_PY:-}
if [ -z "$py" ]; then
  py=$(bash "$SHARED/bench/setup-torch.sh" 2>/dev/null | tail -n 1) || py=none
fi
if [ "$py" != none ] && "$py" -c "import torch" 2>/dev/null; then
  echo "# PyTorch $("$py" -c 'import torch; print(torch.__version__)'), 1 thread" >&2
  "$py" "$SHARED/bench/torch_step.py" --threads 1 --sizes "$(echo "$SIZES" | tr ' ' ',')" \
    --optimizers Adam,SGD_momentum,RMSprop,Adagrad --modes default,fused --json "$out/torch.jsonl" > /dev/null
else
  echo "# PyTorch: skipped (no python with torch)" >&2
  : > "$out/torch.jsonl"
fi

python3 - "$out" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
med = statistics.median
c = [{} for _ in range(rounds)]
for r in range(rounds):
    for line in open(f"{out}/c.{r + 1}.txt"):
        f = line.split()
        if len(f) >= 4 and f[0] in ("adam", "sgdm", "rmsprop", "adagrad"):
            c[r][(f[0], int(f[1]))] = float(f[3])
torch = {}
for line in open(f"{out}/torch.jsonl"):
    x = json.loads(line)
    if "median_ns" in x:
        torch[(x["optimizer"], x["mode"], x["N"])] = x["median_ns"]
def crit(r, name, n):
    p = f"{out}/descent.{r + 1}/{name}/{n}/new/estimates.json"
    return json.load(open(p))["median"]["point_estimate"] if os.path.exists(p) else None
def over(vals):
    vals = [v for v in vals if v]
    return med(vals) if vals else None
rows = [("adam", "Adam", "adam"), ("sgd_momentum", "SGD_momentum", "sgdm"), ("rmsprop", "RMSprop", "rmsprop"), ("adagrad", "Adagrad", "adagrad")]
sizes = sorted({n for cr in c for (_, n) in cr} | {k[2] for k in torch})
def us(x): return f"{x / 1e3:10.2f}" if x else f"{'-':>10}"
def rx(x): return f"{x:8.2f}x" if x else f"{'-':>9}"
print(f"f32, 1 thread, medians over {rounds} alternating rounds; ratios taken within each round")
print(f"{'rule':<13}{'N':>9} {'C kernel':>10} {'descent':>10} {'guarded':>10} {'torch':>10} {'torch fus':>10} {'desc/C':>9} {'guard/C':>9} {'fused/desc':>10}")
for name, tname, cname in rows:
    for n in sizes:
        u = [crit(r, f"{name}_unguarded", n) for r in range(rounds)]
        g = [crit(r, f"{name}_guarded", n) for r in range(rounds)]
        ck = [c[r].get((cname, n)) if cname else None for r in range(rounds)]
        ru = over([a / b for a, b in zip(u, ck) if a and b])
        rg = over([a / b for a, b in zip(g, ck) if a and b])
        td, tf = torch.get((tname, "default", n)), torch.get((tname, "fused", n))
        uu = over(u)
        print(f"{name:<13}{n:>9} {us(over(ck))} {us(uu)} {us(over(g))} {us(td)} {us(tf)} {rx(ru)} {rx(rg)} {rx(tf / uu if tf and uu else None):>10}")
PY
