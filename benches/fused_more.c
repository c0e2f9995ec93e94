// Hand-fused single-pass f32 RMSprop and Adagrad loops, written like ../shared/bench/fused_adam.c
// (same timing harness and output format) so that benches/compare.sh has a C reference for all
// four rules of issue 5's speed targets. Hyperparameters are torch's defaults, as torch_step.py
// and benches/step.rs use them.
//   rmsprop : s=a*s+(1-a)*g*g; p-=lr*g/(sqrt(s)+eps)                 lr=1e-3 a=0.99 eps=1e-8  16 B/param
//   adagrad : s+=g*g; p-=clr*g/(sqrt(s)+eps)                         lr=1e-2 eps=1e-10        16 B/param
// Build: gcc -O3 -fno-math-errno -march=native -fopenmp fused_more.c -o fused_more -lm
// Usage: OMP_NUM_THREADS=1 ./fused_more [N ...]     (default N: 1e3 1e4 1e5 1e6 1e7)
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + 1e-9 * t.tv_nsec; }
static int cmpd(const void *a, const void *b) { double x = *(const double*)a, y = *(const double*)b; return (x > y) - (x < y); }

static void rmsprop(float *restrict p, const float *restrict g, float *restrict s, long n) {
    const float a = 0.99f, lr = 1e-3f, eps = 1e-8f;
    #pragma omp parallel for schedule(static) if (n >= 100000)
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float si = a * s[i] + (1.0f - a) * gi * gi;
        s[i] = si;
        p[i] -= lr * gi / (sqrtf(si) + eps);
    }
}

static void adagrad(float *restrict p, const float *restrict g, float *restrict s, long n, int t) {
    const float lr = 1e-2f, lr_decay = 0.0f, eps = 1e-10f;
    const float clr = lr / (1.0f + (float)(t - 1) * lr_decay);
    #pragma omp parallel for schedule(static) if (n >= 100000)
    for (long i = 0; i < n; i++) {
        float gi = g[i];
        float si = s[i] + gi * gi;
        s[i] = si;
        p[i] -= clr * gi / (sqrtf(si) + eps);
    }
}

int main(int argc, char **argv) {
    long dflt[5] = {1000, 10000, 100000, 1000000, 10000000};
    int count = argc > 1 ? argc - 1 : 5;
    printf("# threads=%d\n%-7s %9s %8s %12s %10s %8s\n", omp_get_max_threads(), "kern", "N", "batch", "median_ns", "ns/param", "GB/s");
    for (int si = 0; si < count; si++) {
        long n = argc > 1 ? (long)atof(argv[si + 1]) : dflt[si];
        float *p, *g, *s;
        if (posix_memalign((void**)&p, 64, n * 4) || posix_memalign((void**)&g, 64, n * 4) ||
            posix_memalign((void**)&s, 64, n * 4)) return 1;
        for (int k = 0; k < 2; k++) {
            #pragma omp parallel for schedule(static)
            for (long i = 0; i < n; i++) { p[i] = 0.5f + (i % 7) * 0.1f; g[i] = 1e-2f * ((i % 13) - 6); s[i] = 0; }
            int t = 1;
            double t0 = now(); int calls = 0;
            while (now() - t0 < 0.1) { if (k == 0) rmsprop(p, g, s, n); else adagrad(p, g, s, n, t++); calls++; }
            double per = (now() - t0) / calls;
            int b = per > 2e-3 ? 1 : (int)(2e-3 / per);
            int ns = 0, cap = 4000; double *smp = malloc(cap * sizeof(double));
            double tend = now() + 1.0;
            while ((now() < tend || ns < 15) && ns < cap) {
                double a = now();
                for (int j = 0; j < b; j++) { if (k == 0) rmsprop(p, g, s, n); else adagrad(p, g, s, n, t++); }
                smp[ns++] = (now() - a) / b;
            }
            qsort(smp, ns, sizeof(double), cmpd);
            double med = smp[ns / 2] * 1e9;
            printf("%-7s %9ld %8d %12.1f %10.4f %8.2f\n", k == 0 ? "rmsprop" : "adagrad", n, b, med, med / n, 16 * n / med);
            free(smp);
        }
        double chk = 0; for (long i = 0; i < n; i += 997) chk += p[i];
        fprintf(stderr, "chk %g\n", chk);
        free(p); free(g); free(s);
    }
    return 0;
}
