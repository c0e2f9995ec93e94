// /init of the emulated machine (scripts/avx512-bochs/run.sh): loads avx512on.ko, reports what the
// CPU offers and what XCR0 enables, checks that a zmm instruction runs, then runs each line of
// /tests.txt ("<GRADUS_SIMD value or -> <test binary> [one argument]") one at a time and powers
// off. Everything goes to the serial port, which run.sh reads.
#include <cpuid.h>
#include <fcntl.h>
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

__attribute__((target("avx512f"))) static float zmm_probe(void) {
    volatile float in[16];
    for (int i = 0; i < 16; i++) in[i] = (float)i;
    __m512 a = _mm512_loadu_ps((const float *)in);
    return _mm512_reduce_add_ps(_mm512_add_ps(a, a));
}

static void run(char *simd, char *bin, char *arg) {
    printf("\n=== run %s GRADUS_SIMD=%s %s\n", bin, simd, arg ? arg : "");
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) {
        if (strcmp(simd, "-")) setenv("GRADUS_SIMD", simd, 1);
        char *argv[] = {bin, "--test-threads=1", arg, NULL};
        execv(bin, argv);
        perror("execv");
        _exit(127);
    }
    int st;
    waitpid(p, &st, 0);
    printf("=== exit %s %s: %d\n", bin, simd, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    fflush(stdout);
}

int main(void) {
    mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
    mount("proc", "/proc", "proc", 0, NULL);
    int fd = open("/dev/ttyS0", O_RDWR);
    if (fd >= 0) { dup2(fd, 0); dup2(fd, 1); dup2(fd, 2); }
    setenv("RUST_BACKTRACE", "1", 1);
    setenv("GRADUS_FUZZ_CASES", getenv("FUZZ") ? getenv("FUZZ") : "20000", 1);

    int mfd = open("/avx512on.ko", O_RDONLY);
    printf("=== finit_module avx512on: %ld\n", syscall(SYS_finit_module, mfd, "", 0));
    unsigned a, b, c, d, a1, b1, c1, d1, lo = 0, hi = 0;
    __cpuid_count(7, 0, a, b, c, d);
    __cpuid(1, a1, b1, c1, d1);
    if (c1 & (1u << 27)) __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    printf("=== cpuid avx512f=%u avx2=%u fma=%u osxsave=%u xcr0=0x%x\n", (b >> 16) & 1, (b >> 5) & 1,
           (c1 >> 12) & 1, (c1 >> 27) & 1, lo);
    if ((lo & 0xe6) == 0xe6) printf("=== zmm probe %g (expect 240)\n", zmm_probe());
    fflush(stdout);

    FILE *list = fopen("/tests.txt", "r");
    char line[512];
    while (list && fgets(line, sizeof line, list)) {
        char *simd = strtok(line, " \n"), *bin = strtok(NULL, " \n"), *arg = strtok(NULL, " \n");
        if (simd && bin) run(simd, bin, arg);
    }
    printf("\n=== all done\n");
    fflush(stdout);
    // power-off does not wait for the UART: let the serial console drain first
    tcdrain(1);
    sleep(2);
    sync();
    reboot(RB_POWER_OFF);
    return 0;
}
