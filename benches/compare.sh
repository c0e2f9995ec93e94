#!/usr/bin/env bash
# Side-by-side step time of gradus, a hand-fused C kernel and PyTorch on this machine, f32,
# single thread, for ROUNDS rounds. Within a round, at each N and for each pair of rules (Adam
# and SGD with momentum, then RMSprop and Adagrad), the C kernels run, then gradus's criterion
# benchmarks of the same rules, then the C kernels again, then PyTorch's steps of the same rules,
# then the C kernels a third time. gradus's time is compared with the mean of the C times just
# before and after it, and PyTorch's with the mean of the C times around it, so that a ratio
# spans seconds and a drift of the machine's speed moves both sides together; PyTorch's fused
# step over gradus's is the ratio of those two ratios. The table gives the median over rounds
# of each ratio (times are medians too). A second table follows: the same comparison with the C
# kernels linked into one process beside gradus (benches/inproc).
#
# Usage: bash benches/compare.sh            (needs gcc; torch is optional)
#   SHARED=../shared        where bench/fused_adam.c and bench/torch_step.py live
#   GRADUS_BENCH_PY=python a python with torch (default: ../shared/bench/setup-torch.sh's venv,
#                           installed if missing); GRADUS_BENCH_PY=none skips torch
#   SIZES="1e3 1e4 1e5 1e6 1e7"   ROUNDS=3   INPROC_ROUNDS=15 (the in-process table at the end)
set -euo pipefail
cd "$(dirname "$0")/.."
SHARED=${SHARED:-../shared}
SIZES=${SIZES:-"1e3 1e4 1e5 1e6 1e7"}
ROUNDS=${ROUNDS:-3}
out=target/compare
rm -rf "$out" && mkdir -p "$out"

echo "# machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(nproc) cores" >&2
# the C kernels' flags, for the programs here and the shared libraries of torch_inproc.py at the
# end (benches/inproc/build.rs gives cc the same)
cflags="-O3 -fno-math-errno -march=native -fopenmp"
gcc $cflags "$SHARED/bench/fused_adam.c" -o "$out/fused_adam" -lm
# RMSprop and Adagrad written the same way (this repository)
gcc $cflags benches/fused_more.c -o "$out/fused_more" -lm
cargo bench --bench step --no-run 2>/dev/null

py=${GRADUS_BENCH_PY:-}
if [ -z "$py" ]; then
  py=$(bash "$SHARED/bench/setup-torch.sh" 2>/dev/null | tail -n 1) || py=none
fi
if [ "$py" != none ] && "$py" -c "import torch" 2>/dev/null; then
  echo "# PyTorch $("$py" -c 'import torch; print(torch.__version__)'), 1 thread" >&2
else
  echo "# PyTorch: skipped (no python with torch)" >&2
  py=none
fi

# one run of a C program at one N, appended to this round's C times
c_run() { OMP_NUM_THREADS=1 "$out/$1" "$2" >> "$out/c.$r.txt" 2>/dev/null; }

for r in $(seq 1 "$ROUNDS"); do
  echo "# round $r/$ROUNDS: per size and pair of rules, the C kernels (gcc -O3 -march=native), gradus (criterion, default target), the C kernels, PyTorch, the C kernels" >&2
  rm -rf target/criterion/compare
  : > "$out/c.$r.txt"
  : > "$out/torch.$r.jsonl"
  for size in $SIZES; do
    n=$(python3 -c "print(int(float('$size')))")
    for pair in "fused_adam adam|sgd_momentum Adam,SGD_momentum" "fused_more rmsprop|adagrad RMSprop,Adagrad"; do
      read -r kernel rules torch_rules <<< "$pair"
      c_run "$kernel" "$size"
      cargo bench --bench step -- --warm-up-time 1 --measurement-time 2 \
        "^compare/($rules)/.*/$n\$" >> "$out/gradus.$r.log" 2>&1
      c_run "$kernel" "$size"
      if [ "$py" != none ]; then
        "$py" "$SHARED/bench/torch_step.py" --threads 1 --sizes "$n" --optimizers "$torch_rules" \
          --modes default,fused --json "$out/torch.json" > /dev/null
        cat "$out/torch.json" >> "$out/torch.$r.jsonl"
        c_run "$kernel" "$size"
      fi
    done
  done
  cp -r target/criterion/compare "$out/gradus.$r"
done

python3 - "$out" "$ROUNDS" <<'PY'
import json, os, statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
med = statistics.median
# per round, (kernel, N) -> the C times in order: before gradus, after gradus, after PyTorch
c = []
for r in range(rounds):
    seen = {}
    for line in open(f"{out}/c.{r + 1}.txt"):
        f = line.split()
        if len(f) >= 4 and f[0] in ("adam", "sgdm", "rmsprop", "adagrad"):
            seen.setdefault((f[0], int(f[1])), []).append(float(f[3]))
    c.append(seen)
def around(r, cname, n, first):
    """Mean of the C times just before and after gradus's run (first = 0) or PyTorch's (1)."""
    t = c[r].get((cname, n), [])[first:first + 2]
    return sum(t) / len(t) if len(t) == 2 else None
torch = []
for r in range(rounds):
    t = {}
    for line in open(f"{out}/torch.{r + 1}.jsonl"):
        x = json.loads(line)
        if "median_ns" in x:
            t[(x["optimizer"], x["mode"], x["N"])] = x["median_ns"]
    torch.append(t)
def crit(r, name, n):
    p = f"{out}/gradus.{r + 1}/{name}/{n}/new/estimates.json"
    return json.load(open(p))["median"]["point_estimate"] if os.path.exists(p) else None
def over(vals):
    vals = [v for v in vals if v]
    return med(vals) if vals else None
def ratio(a, b):
    return a / b if a and b else None
rows = [("adam", "Adam", "adam"), ("sgd_momentum", "SGD_momentum", "sgdm"), ("rmsprop", "RMSprop", "rmsprop"), ("adagrad", "Adagrad", "adagrad")]
sizes = sorted({n for cr in c for (_, n) in cr})
def us(x): return f"{x / 1e3:10.2f}" if x else f"{'-':>10}"
def rx(x): return f"{x:8.2f}x" if x else f"{'-':>9}"
print(f"f32, 1 thread, medians over {rounds} rounds; ratios within a round, against the mean of the C runs just before and after")
print(f"{'rule':<13}{'N':>9} {'C kernel':>10} {'gradus':>10} {'guarded':>10} {'torch':>10} {'torch fus':>10} {'gradus/C':>9} {'guard/C':>9} {'fused/gradus':>10}")
for name, tname, cname in rows:
    for n in sizes:
        R = range(rounds)
        u = [crit(r, f"{name}_unguarded", n) for r in R]
        g = [crit(r, f"{name}_guarded", n) for r in R]
        cd = [around(r, cname, n, 0) for r in R]
        ct = [around(r, cname, n, 1) for r in R]
        td = [torch[r].get((tname, "default", n)) for r in R]
        tf = [torch[r].get((tname, "fused", n)) for r in R]
        desc_c = [ratio(a, b) for a, b in zip(u, cd)]
        # PyTorch fused over gradus, each against the C runs around it
        fd = [ratio(ratio(a, b), x) for a, b, x in zip(tf, ct, desc_c)]
        print(f"{name:<13}{n:>9} {us(over(cd))} {us(over(u))} {us(over(g))} {us(over(td))} {us(over(tf))} "
              f"{rx(over(desc_c))} {rx(over(ratio(a, b) for a, b in zip(g, cd)))} {rx(over(fd)):>10}")
PY

# The same rules and sizes in one process (benches/inproc): the C kernels linked into a Rust
# program beside gradus's steps, interleaved round by round on one gradient, so that neither
# side's figure includes a harness or process the other does not have. Then PyTorch's fused
# steps against the same C kernels in one Python process (benches/torch_inproc.py), and
# PyTorch's fused step over gradus's through the C kernel: (torch/C) / (gradus/C).
echo >&2 "# in one process: the C kernels and gradus side by side (benches/inproc), ${INPROC_ROUNDS:-15} rounds"
SHARED="$(cd "$SHARED" && pwd)" CARGO_TARGET_DIR=target/inproc \
  cargo run --release --quiet --manifest-path benches/inproc/Cargo.toml -- "${INPROC_ROUNDS:-15}" $SIZES \
  > "$out/inproc.txt"
echo
cat "$out/inproc.txt"
if [ "$py" != none ]; then
  echo >&2 "# in one process: the C kernels and PyTorch side by side (benches/torch_inproc.py)"
  for kernel in "fused_adam $SHARED/bench/fused_adam.c -DADAM_FILE" "fused_more benches/fused_more.c"; do
    read -r lib src def <<< "$kernel"
    gcc $cflags -fPIC -shared -DMAIN_NAME="${lib}_main" \
      -DKERNEL_FILE="\"$(cd "$(dirname "$src")" && pwd)/$(basename "$src")\"" $def \
      benches/inproc/c_kernels.c -o "$out/lib$lib.so" -lm
  done
  "$py" benches/torch_inproc.py "$out" "${INPROC_ROUNDS:-15}" $SIZES > "$out/torch_inproc.txt"
  echo
  cat "$out/torch_inproc.txt"
  echo
  python3 - "$out" <<'PY'
import re, sys
out = sys.argv[1]
def ratios(path):
    r = {}
    for line in open(path):
        m = re.match(r"(\w+)\s+(\d+)\s.*?([\d.]+)x \[", line)
        if m:
            r[(m.group(1), int(m.group(2)))] = float(m.group(3))
    return r
desc, torch = ratios(f"{out}/inproc.txt"), ratios(f"{out}/torch_inproc.txt")
print("PyTorch fused over gradus through the C kernel, (torch/C) / (gradus/C), each measured in one process")
print("(the C calls from Python go through ctypes, 1-2 us each: at small N that counts against C, so against gradus here)")
print(f"{'rule':<13}{'N':>9} {'torch/C':>9} {'gradus/C':>9} {'fused/gradus':>11}")
for (rule, n), t in torch.items():
    d = desc.get((rule, n))
    if d:
        print(f"{rule:<13}{n:>9} {t:>8.2f}x {d:>8.2f}x {t / d:>10.2f}x")
PY
fi
