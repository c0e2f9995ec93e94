#!/usr/bin/env bash
# Runs the dispatch-path tests on the AVX-512 copies of the loops, on a machine without AVX-512:
# the test binaries boot in Bochs (Debian's package) emulating a Skylake-X, under a Debian kernel.
#
# Usage: bash scripts/avx512-bochs/run.sh      (Debian with apt; root to install packages)
#   FUZZ=20000    cases of tests/fuzz.rs on the forced AVX-512 path (0 skips the fuzz run)
#   TIMEOUT=3600  seconds of emulation before giving up
#
# What it runs, inside the emulated machine:
# - tests/simd_paths.rs with no override (it forces each level the CPU has: scalar, AVX2, AVX-512),
#   and must report `checked [Scalar, Avx2, Avx512]`;
# - the library's unit tests and every integration test with `GRADUS_SIMD=avx512`, then
#   tests/fuzz.rs with `FUZZ` cases.
# Exit status 0 only if the CPU offered AVX-512, a zmm instruction ran, simd_paths checked all
# three levels and every test binary exited 0.
#
# Why a kernel module: Linux 6.1 turns XSAVE off on Bochs 2.7's Skylake-X, whose CPUID leaf 0xD
# gives offsets that do not add up to its sizes ("XSAVE consistency problem"). `avx512on.c` sets
# CR4.OSXSAVE and XCR0 itself. The kernel then saves only the FXSAVE part of the registers on a
# context switch, which is harmless here: one test process runs at a time and its only running
# thread is the test thread (`--test-threads=1`). A clobbered register could only make a test
# fail, never pass.
#
# Takes 7-9 minutes on the 2-core reference machine (booting the kernel is most of it);
# not part of `.ci/run`.
set -euo pipefail
cd "$(dirname "$0")/../.."
here=scripts/avx512-bochs
work=target/avx512-bochs
FUZZ=${FUZZ:-20000}
TIMEOUT=${TIMEOUT:-3600}
rm -rf "$work" && mkdir -p "$work"

# the kernel Debian's linux-image-amd64 points to (its image and headers are both packaged)
kver=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: linux-image-\(.*-amd64\).*/\1/p' | head -n 1)
[ -n "$kver" ] || { echo "no Debian kernel package found" >&2; exit 1; }
echo "== kernel $kver, Bochs from Debian" >&2
pkgs="bochs bochsbios vgabios isolinux syslinux-common genisoimage cpio linux-headers-$kver"
# shellcheck disable=SC2086
dpkg -s $pkgs > /dev/null 2>&1 || DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkgs > "$work/apt.log"
(cd "$work" && apt-get download -q "linux-image-$kver" > /dev/null 2>&1 && dpkg-deb -x linux-image-"$kver"_*.deb kernel)

echo "== the module that turns on the AVX-512 register state" >&2
mkdir -p "$work/module"
cp "$here/avx512on.c" "$work/module/"
echo 'obj-m := avx512on.o' > "$work/module/Makefile"
make -s -C "/usr/src/linux-headers-$kver" M="$PWD/$work/module" modules > "$work/module.log" 2>&1

echo "== static test binaries (release)" >&2
RUSTFLAGS="-C target-feature=+crt-static" CARGO_TARGET_DIR="$work/cargo" \
  cargo test --release --no-run --target x86_64-unknown-linux-gnu --lib --tests \
  --message-format=json 2> "$work/build.log" |
  python3 -c '
import json, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["profile"]["test"]:
        print(m["target"]["name"], m["executable"])' > "$work/binaries.txt"

root="$work/root"
mkdir -p "$root/bin" "$root/dev" "$root/proc"
while read -r name exe; do cp "$exe" "$root/bin/$name"; done < "$work/binaries.txt"
gcc -O2 -static "$here/init.c" -o "$root/init"
cp "$work/module/avx512on.ko" "$root/"
# the tests read their recordings from the source tree's absolute path
mkdir -p "$root$PWD/tests" && cp -r tests/data "$root$PWD/tests/"
if [ -d ../shared/golden ]; then
  shared="$root$(cd ../shared && pwd)"
  mkdir -p "$shared" && cp -r ../shared/golden "$shared/"
fi
{
  echo "- /bin/simd_paths --nocapture"
  for name in $(cut -d' ' -f1 "$work/binaries.txt" | sort); do
    case $name in simd_paths | fuzz) ;; *) echo "avx512 /bin/$name" ;; esac
  done
  [ "$FUZZ" = 0 ] || echo "avx512 /bin/fuzz --nocapture"
} > "$root/tests.txt"
(cd "$root" && find . | cpio -o -H newc 2> /dev/null | gzip -1 > ../initrd.img)

mkdir -p "$work/iso/isolinux"
cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$work/iso/isolinux/"
cp "$work"/kernel/boot/vmlinuz-* "$work/iso/vmlinuz"
cp "$work/initrd.img" "$work/iso/"
cat > "$work/iso/isolinux/isolinux.cfg" << EOF
DEFAULT linux
PROMPT 0
TIMEOUT 0
LABEL linux
  KERNEL /vmlinuz
  APPEND initrd=/initrd.img console=ttyS0 loglevel=4 mitigations=off tsc=reliable no_timer_check random.trust_cpu=on panic=-1 FUZZ=$FUZZ
EOF
genisoimage -quiet -o "$work/boot.iso" -b isolinux/isolinux.bin -c isolinux/boot.cat \
  -no-emul-boot -boot-load-size 4 -boot-info-table -R -J "$work/iso"

cat > "$work/bochsrc" << EOF
megs: 1024
cpu: model=corei7_skylake_x, count=1, ips=200000000
romimage: file=/usr/share/bochs/BIOS-bochs-latest
vgaromimage: file=/usr/share/bochs/VGABIOS-lgpl-latest
ata0-master: type=cdrom, path=boot.iso, status=inserted
boot: cdrom
display_library: rfb, options="timeout=0"
com1: enabled=1, mode=file, dev=serial.log
log: bochs.log
clock: sync=none
speaker: enabled=0
sound: driver=dummy
EOF

echo "== booting (the serial console goes to $work/serial.log; about 5 minutes)" >&2
# Debian's Bochs has its debugger built in: `c` (from the -rc file) starts the machine, which
# exits at power-off
echo c > "$work/start.rc"
(cd "$work" && timeout "$TIMEOUT" bochs -q -f bochsrc -rc start.rc < /dev/null > bochs.out 2>&1) || true

# the serial console ends lines with CR LF
log="$work/serial.txt"
tr -d '\r' < "$work/serial.log" > "$log"
grep '^===\|checked \[\|^test result\|fuzz: \|FAILED\|panicked' "$log" >&2 || true
ok=1
grep -q '^=== cpuid avx512f=1 avx2=1 fma=1 osxsave=1 xcr0=0xe7' "$log" || { echo "AVX-512 not enabled" >&2; ok=0; }
grep -q '^=== zmm probe 240' "$log" || { echo "zmm probe failed" >&2; ok=0; }
grep -q 'checked \[Scalar, Avx2, Avx512\]' "$log" || { echo "simd_paths did not check all levels" >&2; ok=0; }
# the AVX-512 copies of the loops must really use zmm registers
zmm=$(objdump -d --no-show-raw-insn "$root/bin/parity" |
  awk '/^[0-9a-f]+ </ { f = ($0 ~ /x866avx512/); if (f) n++ } f && /zmm/ { z++ } END { print n + 0, z + 0 }')
echo "AVX-512 copies in the parity binary, zmm instructions in them: $zmm" >&2
[ "${zmm#* }" -gt 0 ] || { echo "no zmm instruction in the AVX-512 copies" >&2; ok=0; }
runs=$(grep -c '^=== run ' "$log" || true)
passed=$(grep -c '^=== exit .*: 0$' "$log" || true)
grep -q '^=== all done' "$log" || { echo "the run did not finish" >&2; ok=0; }
echo "$passed of $runs test binaries exited 0" >&2
[ "$runs" -gt 0 ] && [ "$runs" = "$passed" ] && [ "$ok" = 1 ]
