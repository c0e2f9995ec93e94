#!/usr/bin/env bash
# Side-by-side step time of descent, a hand-fused C kernel and PyTorch on this machine, in one
# go, f32, single thread. Prints one table of medians and ratios (descent / C kernel).
#
# Usage: bash benches/compare.sh            (needs gcc; torch is optional)
#   SHARED=../shared        where bench/fused_adam.c and bench/torch_step.py live
#   DESCENT_BENCH_PY=python a python with torch (default: ../shared/bench/setup-torch.sh's venv,
#                           installed if missing; set DESCENT_BENCH_PY=none to skip torch)
#   SIZES="1e3 1e4 1e5 1e6 1e7"
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
SIZES=${SIZES:-"1e3 1e4 1e5 1e6 1e7"}
out=target/compare
mkdir -p "$out"

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores" >&2
echo "# 1/3 C kernel (gcc -O3 -march=native)" >&2
gcc -O3 -fno-math-errno -march=native -fopenmp "$SHARED/bench/fused_adam.c" -o "$out/fused_adam" -lm
# shellcheck disable=SC2086
OMP_NUM_THREADS=1 "$out/fused_adam" $SIZES > "$out/c.txt" 2>/dev/null

echo "# 2/3 descent (criterion, default target: runtime SIMD dispatch)" >&2
rm -rf target/criterion/compare
cargo bench --bench step -- 'compare/' > "$out/descent.txt" 2>&1

py=${DESCENT_BENCH_PY:-}
if [ -z "$py" ]; then
  py=$(bash "$SHARED/bench/setup-torch.sh" 2>/dev/null | tail -n 1) || py=none
fi
if [ "$py" != none ] && "$py" -c "import torch" 2>/dev/null; then
  echo "# 3/3 PyTorch ($("$py" -c 'import torch; print(torch.__version__)'))" >&2
  sizes_csv=$(echo "$SIZES" | tr ' ' ',')
  "$py" "$SHARED/bench/torch_step.py" --threads 1 --sizes "$sizes_csv" \
    --optimizers Adam,SGD_momentum,RMSprop,Adagrad --modes default,fused --json "$out/torch.jsonl" > /dev/null
else
  echo "# 3/3 PyTorch: skipped (no python with torch)" >&2
  : > "$out/torch.jsonl"
fi

python3 - "$out" <<'PY'
import json, os, sys
out = sys.argv[1]
c = {}
for line in open(f"{out}/c.txt"):
    f = line.split()
    if len(f) >= 4 and f[0] in ("adam", "sgdm"):
        c[(f[0], int(f[1]))] = float(f[3])
torch = {}
for line in open(f"{out}/torch.jsonl"):
    r = json.loads(line)
    if "median_ns" in r:
        torch[(r["optimizer"], r["mode"], r["N"])] = r["median_ns"]
def crit(name, n):
    p = f"target/criterion/compare/{name.replace('/', '_')}/{n}/new/estimates.json"
    return json.load(open(p))["median"]["point_estimate"] if os.path.exists(p) else None
rows = [("adam", "Adam", "adam"), ("sgd_momentum", "SGD_momentum", "sgdm"), ("rmsprop", "RMSprop", None), ("adagrad", "Adagrad", None)]
def us(x): return f"{x/1e3:10.2f}" if x else f"{'-':>10}"
def ratio(a, b): return f"{a/b:7.2f}x" if a and b else f"{'-':>8}"
print(f"{'rule':<13}{'N':>9} {'C kernel':>10} {'torch':>10} {'torch fus':>10} {'descent':>10} {'guarded':>10} {'unguard/C':>9} {'guard/C':>8} {'fused/desc':>10}")
print(f"{'':<13}{'':>9} {'us':>10} {'us':>10} {'us':>10} {'us':>10} {'us':>10}")
for name, tname, cname in rows:
    for n in sorted({k[1] for k in c} | {k[2] for k in torch}):
        u, g = crit(f"{name}/unguarded", n), crit(f"{name}/guarded", n)
        ck = c.get((cname, n)) if cname else None
        td, tf = torch.get((tname, "default", n)), torch.get((tname, "fused", n))
        print(f"{name:<13}{n:>9} {us(ck)} {us(td)} {us(tf)} {us(u)} {us(g)} {ratio(u, ck):>9} {ratio(g, ck):>8} {ratio(tf, u):>10}")
PY
