#!/usr/bin/env bash
# Side-by-side step time of descent, a hand-fused C kernel and PyTorch on this machine, f32,
# single thread, for ROUNDS rounds. Within a round, at each N and for each pair of rules (Adam
# and SGD with momentum, then RMSprop and Adagrad), the C kernels run, then descent's criterion
# benchmarks of the same rules, then the C kernels again: descent's time is compared with the
# mean of the C times just before and just after it, so that a ratio spans seconds and a drift of
# the machine's speed moves both sides together. The table gives the median over rounds of each
# ratio (times are medians too).
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
  echo "# round $r/$ROUNDS: per size and pair of rules, the C kernels (gcc -O3 -march=native), descent (criterion, default target), the C kernels again" >&2
  rm -rf target/criterion/compare
  : > "$out/c.$r.txt"
  for size in $SIZES; do
    n=$(python3 -c "print(int(float('$size')))")
    for pair in "fused_adam adam|sgd_momentum" "fused_more rmsprop|adagrad"; do
      kernel=${pair%% *} rules=${pair#* }
      OMP_NUM_THREADS=1 "$out/$kernel" "$size" >> "$out/c.$r.txt" 2>/dev/null
      cargo bench --bench step -- --warm-up-time 1 --measurement-time 2 \
        "^compare/($rules)/.*/$n\$" >> "$out/descent.$r.log" 2>&1
      OMP_NUM_THREADS=1 "$out/$kernel" "$size" >> "$out/c.$r.txt" 2>/dev/null
    done
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
    # each kernel and N appears twice: before and after descent's benchmarks; their mean counts
    seen = {}
    for line in open(f"{out}/c.{r + 1}.txt"):
        f = line.split()
        if len(f) >= 4 and f[0] in ("adam", "sgdm", "rmsprop", "adagrad"):
            seen.setdefault((f[0], int(f[1])), []).append(float(f[3]))
    c[r] = {k: sum(v) / len(v) for k, v in seen.items()}
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
print(f"f32, 1 thread, medians over {rounds} rounds; ratios within a round, against the mean of the C runs just before and after")
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
