// The C kernels of benches/compare.sh, made callable from Rust: each file is included whole (its
// `static` kernels become visible here; its `main` is renamed out of the way) and wrapped in an
// exported function. Built with the same flags as compare.sh builds the C programs.
#define main MAIN_NAME
#include KERNEL_FILE
#undef main

#ifdef ADAM_FILE
void c_adam(float *p, const float *g, float *m, float *v, long n, int t) { adam(p, g, m, v, n, t); }
void c_sgdm(float *p, const float *g, float *buf, long n) { sgdm(p, g, buf, n); }
// one thread, as compare.sh runs the C programs (OMP_NUM_THREADS=1)
void c_one_thread(void) { omp_set_num_threads(1); }
#else
void c_rmsprop(float *p, const float *g, float *s, long n) { rmsprop(p, g, s, n); }
void c_adagrad(float *p, const float *g, float *s, long n, int t) { adagrad(p, g, s, n, t); }
#endif
