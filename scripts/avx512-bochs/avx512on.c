// Test-rig only: turns on the AVX/AVX-512 register state (CR4.OSXSAVE, XCR0 = x87|SSE|AVX|opmask|
// ZMM_Hi256|Hi16_ZMM) on a kernel that refused XSAVE because the emulator's CPUID leaf 0xD offsets
// disagree with its sizes. The kernel then saves only the FXSAVE part on context switches, so it
// is fit for one single-threaded test process at a time and nothing else.
#include <linux/module.h>
#include <linux/smp.h>
#include <asm/tlbflush.h>
static void on(void *unused) {
    cr4_set_bits(X86_CR4_OSXSAVE);
    asm volatile("xsetbv" :: "a"(0xe7), "d"(0), "c"(0));
}
static int __init m_init(void) { on_each_cpu(on, NULL, 1); pr_info("avx512on: XCR0 = 0xe7\n"); return 0; }
static void __exit m_exit(void) {}
module_init(m_init);
module_exit(m_exit);
MODULE_LICENSE("GPL");
