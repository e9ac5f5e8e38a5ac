/* duet — `duet bench ops`: times each op on a backend and prints time and throughput; for
 * matrix products on the CPU it also times OpenBLAS sgemm called directly on the same shapes in
 * the same run and prints duet/OpenBLAS. Benchmarks are programs, never tests (DESIGN.md §6).
 * GPU comparisons against PyTorch: tools/bench_gpu.sh runs this with --json next to
 * tools/bench_torch.py. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "cli.h"
#include "core/arena.h"
#include "core/backend.h"
#include "core/ops.h"

#define TRIALS 5 /* alternating trials per CPU matmul shape */

typedef enum { B_MATMUL, B_ATTENTION, B_LAYERNORM, B_RMSNORM, B_MODULATE, B_GELU, B_ROPE, B_CONV1D } bench_kind;

typedef struct {
    bench_kind kind;
    const char *op;
    duet_dtype wt;      /* weight dtype where the op has weights */
    int64_t d[4];       /* matmul: M N K; attention: L heads head_dim; rowwise: rows cols;
                           conv1d: L Cin Cout K */
} bench_case;

static const bench_case small_cases[] = {
    {B_MATMUL, "matmul", DUET_F32, {1024, 1024, 1024, 0}},
    {B_MATMUL, "matmul", DUET_F32, {2048, 768, 3072, 0}},
    {B_MATMUL, "matmul", DUET_F16, {1024, 1024, 1024, 0}},
    {B_MATMUL, "matmul", DUET_BF16, {1024, 1024, 1024, 0}},
    {B_MATMUL, "matmul", DUET_F32, {1, 3072, 3072, 0}},
    {B_ATTENTION, "attention", DUET_F32, {1024, 4, 64, 0}},
    {B_LAYERNORM, "layernorm", DUET_F32, {4096, 1024, 0, 0}},
    {B_RMSNORM, "rmsnorm", DUET_F32, {4096, 1024, 0, 0}},
    {B_MODULATE, "modulate", DUET_F32, {4096, 1024, 0, 0}},
    {B_GELU, "gelu_tanh", DUET_F32, {4096, 1024, 0, 0}},
    {B_ROPE, "rope", DUET_F32, {4096, 8, 128, 0}},
    {B_CONV1D, "conv1d", DUET_F32, {4096, 128, 128, 7}},
};

/* The Ovi video tower's shapes (MODELS.md): 27280 tokens, dim 3072, FFN 14336, 24 x 128. */
static const bench_case ovi_cases[] = {
    {B_MATMUL, "matmul", DUET_F16, {27280, 3072, 3072, 0}},
    {B_MATMUL, "matmul", DUET_F16, {27280, 14336, 3072, 0}},
    {B_MATMUL, "matmul", DUET_F16, {27280, 3072, 14336, 0}},
    {B_MATMUL, "matmul", DUET_BF16, {27280, 3072, 3072, 0}},
    {B_ATTENTION, "attention", DUET_F32, {27280, 24, 128, 0}},
};

typedef struct {
    duet_tensor *dst, *a, *b, *c, *e;
    double flops, bytes;
    char shape[96];
} bench_setup;

static duet_tensor *rnd(duet_arena *ar, duet_backend *be, duet_dtype t, int nd, const int64_t *ne) {
    duet_tensor *x = duet_tensor_new(ar, be, t, nd, ne);
    if (!x) return NULL;
    size_t n = (size_t)duet_nelements(x);
    float *h = malloc(n * sizeof *h);
    if (!h) return NULL;
    uint32_t s = 12345;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        h[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    duet_status st = duet_tensor_upload(x, h, DUET_F32);
    free(h);
    return st == DUET_OK ? x : NULL;
}

static int setup(duet_arena *ar, duet_backend *be, const bench_case *c, bench_setup *s) {
    memset(s, 0, sizeof *s);
    const int64_t *d = c->d;
    switch (c->kind) {
    case B_MATMUL: {
        int64_t xs[2] = {d[2], d[0]}, ws[2] = {d[2], d[1]}, ds[2] = {d[1], d[0]};
        s->a = rnd(ar, be, DUET_F32, 2, xs);
        s->b = rnd(ar, be, c->wt, 2, ws);
        s->dst = duet_tensor_new(ar, be, DUET_F32, 2, ds);
        s->flops = 2.0 * (double)d[0] * (double)d[1] * (double)d[2];
        snprintf(s->shape, sizeof s->shape, "%lldx%lldx%lld", (long long)d[0], (long long)d[1], (long long)d[2]);
        return s->a && s->b && s->dst ? 0 : -1;
    }
    case B_ATTENTION: {
        int64_t qs[3] = {d[2], d[1], d[0]};
        s->a = rnd(ar, be, DUET_F32, 3, qs);
        s->b = rnd(ar, be, DUET_F32, 3, qs);
        s->c = rnd(ar, be, DUET_F32, 3, qs);
        s->dst = duet_tensor_new(ar, be, DUET_F32, 3, qs);
        s->flops = 4.0 * (double)d[0] * (double)d[0] * (double)d[1] * (double)d[2];
        snprintf(s->shape, sizeof s->shape, "L%lld H%lld D%lld", (long long)d[0], (long long)d[1], (long long)d[2]);
        return s->a && s->b && s->c && s->dst ? 0 : -1;
    }
    case B_ROPE: {
        int64_t xs[3] = {d[2], d[1], d[0]}, ts[2] = {d[2], d[0]};
        s->a = rnd(ar, be, DUET_F32, 3, xs);
        s->b = rnd(ar, be, DUET_F32, 2, ts);
        s->dst = duet_tensor_new(ar, be, DUET_F32, 3, xs);
        s->bytes = 4.0 * (2.0 * (double)(d[0] * d[1] * d[2]) + (double)(d[0] * d[2]));
        snprintf(s->shape, sizeof s->shape, "L%lld H%lld D%lld", (long long)d[0], (long long)d[1], (long long)d[2]);
        return s->a && s->b && s->dst ? 0 : -1;
    }
    case B_CONV1D: {
        int64_t xs[2] = {d[0], d[1]}, ws[3] = {d[3], d[1], d[2]}, ds[2] = {d[0], d[2]};
        s->a = rnd(ar, be, DUET_F32, 2, xs);
        s->b = rnd(ar, be, c->wt, 3, ws);
        s->dst = duet_tensor_new(ar, be, DUET_F32, 2, ds);
        s->flops = 2.0 * (double)(d[0] * d[1] * d[2] * d[3]);
        snprintf(s->shape, sizeof s->shape, "L%lld Cin%lld Cout%lld K%lld", (long long)d[0], (long long)d[1], (long long)d[2], (long long)d[3]);
        return s->a && s->b && s->dst ? 0 : -1;
    }
    default: {
        int64_t xs[2] = {d[1], d[0]}, rs[1] = {d[1]};
        s->a = rnd(ar, be, DUET_F32, 2, xs);
        s->b = rnd(ar, be, DUET_F32, 1, rs);
        s->c = rnd(ar, be, DUET_F32, 1, rs);
        s->dst = duet_tensor_new(ar, be, DUET_F32, 2, xs);
        s->bytes = 8.0 * (double)(d[0] * d[1]);
        snprintf(s->shape, sizeof s->shape, "%lldx%lld", (long long)d[0], (long long)d[1]);
        return s->a && s->b && s->c && s->dst ? 0 : -1;
    }
    }
}

static duet_status run_once(const bench_case *c, bench_setup *s) {
    switch (c->kind) {
    case B_MATMUL: return duet_matmul(s->dst, s->a, s->b, NULL, false);
    case B_ATTENTION: return duet_attention(s->dst, s->a, s->b, s->c, NULL, 1.0f / sqrtf((float)c->d[2]));
    case B_LAYERNORM: return duet_layernorm(s->dst, s->a, NULL, NULL, 1e-6f);
    case B_RMSNORM: return duet_rmsnorm(s->dst, s->a, s->b, 1e-6f);
    case B_MODULATE: return duet_modulate(s->dst, s->a, s->b, s->c);
    case B_GELU: return duet_unary(s->dst, s->a, DUET_UNARY_GELU_TANH);
    case B_ROPE: return duet_rope(s->dst, s->a, s->b);
    case B_CONV1D: return duet_conv1d(s->dst, s->a, s->b, NULL, 1, (int)(c->d[3] / 2), 1);
    }
    return DUET_ERR_INVALID_ARG;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Runs reps after one warm-up, growing reps until at least min_s elapsed; returns seconds per
 * run or a negative value on failure. */
static double time_op(duet_backend *be, const bench_case *c, bench_setup *s, double min_s) {
    if (run_once(c, s) != DUET_OK || duet_backend_sync(be) != DUET_OK) return -1;
    for (int reps = 1;; reps *= 2) {
        double t0 = now_s();
        for (int r = 0; r < reps; r++)
            if (run_once(c, s) != DUET_OK) return -1;
        if (duet_backend_sync(be) != DUET_OK) return -1;
        double dt = now_s() - t0;
        if (dt >= min_s || reps >= 1 << 16) return dt / reps;
    }
}

/* The same product through OpenBLAS directly (row-major x [M, K] times w^T, w [N, K]), with
 * OpenBLAS's own n_threads threads (the CPU backend keeps it at one and splits products across
 * its pool, core/cpu/cpu_gemm.c; set back to one on return). */
static double time_sgemm(const int64_t *d, double min_s, int n_threads) {
    size_t M = (size_t)d[0], N = (size_t)d[1], K = (size_t)d[2];
    openblas_set_num_threads(n_threads);
    float *x = calloc(M * K, 4), *w = calloc(N * K, 4), *o = calloc(M * N, 4);
    double per = -1;
    if (x && w && o) {
        for (size_t i = 0; i < M * K; i++) x[i] = (float)(i % 7) * 0.1f;
        for (size_t i = 0; i < N * K; i++) w[i] = (float)(i % 5) * 0.1f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1, x, (int)K, w, (int)K, 0, o, (int)N);
        for (int reps = 1;; reps *= 2) {
            double t0 = now_s();
            for (int r = 0; r < reps; r++)
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)M, (int)N, (int)K, 1, x, (int)K, w, (int)K, 0, o, (int)N);
            double dt = now_s() - t0;
            if (dt >= min_s || reps >= 1 << 16) {
                per = dt / reps;
                break;
            }
        }
    }
    free(x);
    free(w);
    free(o);
    openblas_set_num_threads(1);
    return per;
}

static void bench_usage(FILE *f) {
    fprintf(f,
            "usage: duet bench ops [--backend cpu|vulkan|auto] [--device N] [--threads N]\n"
            "                      [--size small|ovi] [--op NAME] [--min-time S] [--json]\n"
            "\n"
            "Times each op and prints ms and GFLOP/s (compute-bound ops) or GB/s (memory-bound).\n"
            "On the CPU, matrix products are also timed through OpenBLAS sgemm directly in the\n"
            "same run, alternating in 5 trials, best of each; 'ratio' is OpenBLAS time / duet time\n"
            "(1.0 = as fast as OpenBLAS).\n"
            "--size ovi uses the Ovi video tower's shapes (27280 tokens; for a GPU).\n"
            "--json prints one object per line: op, backend, dtype, shape, ms, gflops|gbps, ratio.\n");
}

int duet_cmd_bench(int argc, char **argv) {
    duet_backend_params p = duet_backend_default_params();
    int json = 0;
    const char *only = NULL;
    double min_s = 0.3;
    const bench_case *cases = small_cases;
    size_t n_cases = sizeof small_cases / sizeof *small_cases;
    if (argc < 2 || strcmp(argv[1], "ops") != 0) {
        bench_usage(argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? stdout : stderr);
        return argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) ? 0 : 2;
    }
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            bench_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--backend") && v) {
            if (duet_backend_kind_parse(v, &p.kind) != DUET_OK) return 2;
            i++;
        } else if (!strcmp(a, "--device") && v) {
            p.device_index = atoi(v);
            i++;
        } else if (!strcmp(a, "--threads") && v) {
            p.n_threads = atoi(v);
            i++;
        } else if (!strcmp(a, "--op") && v) {
            only = v;
            i++;
        } else if (!strcmp(a, "--min-time") && v) {
            min_s = atof(v);
            i++;
        } else if (!strcmp(a, "--size") && v && (!strcmp(v, "small") || !strcmp(v, "ovi"))) {
            if (!strcmp(v, "ovi")) {
                cases = ovi_cases;
                n_cases = sizeof ovi_cases / sizeof *ovi_cases;
            }
            i++;
        } else {
            fprintf(stderr, "duet bench: bad or incomplete option '%s'\n", a);
            bench_usage(stderr);
            return 2;
        }
    }
    duet_backend *be = NULL;
    duet_status st = duet_backend_new(&p, &be);
    if (st != DUET_OK) {
        fprintf(stderr, "duet bench: cannot open backend: %s\n", duet_status_str(st));
        return 1;
    }
    if (!json) printf("backend: %s\n%-10s %-5s %-26s %10s %12s %8s\n", duet_backend_name(be), "op", "dtype", "shape", "ms", "rate", "ratio");
    int failed = 0;
    for (size_t i = 0; i < n_cases; i++) {
        const bench_case *c = &cases[i];
        if (only && strcmp(only, c->op) != 0) continue;
        duet_arena *ar = duet_arena_new(0);
        bench_setup s;
        double per = -1;
        if (ar && setup(ar, be, c, &s) == 0) per = time_op(be, c, &s, min_s);
        if (per < 0) {
            fprintf(stderr, "duet bench: %s %s: failed (unsupported on this backend or out of memory)\n", c->op, s.shape);
            failed = 1;
            duet_arena_free(&ar);
            continue;
        }
        double ratio = NAN;
        if (c->kind == B_MATMUL && duet_backend_get_kind(be) == DUET_BACKEND_CPU) {
            /* Alternate duet and OpenBLAS in short trials and keep each one's best, so load
             * from other processes hits both sides alike. */
            int nt = p.n_threads > 0 ? p.n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
            double best_blas = time_sgemm(c->d, min_s / TRIALS, nt);
            for (int t = 1; t < TRIALS && per > 0 && best_blas > 0; t++) {
                double a = time_op(be, c, &s, min_s / TRIALS), b = time_sgemm(c->d, min_s / TRIALS, nt);
                if (a > 0 && a < per) per = a;
                if (b > 0 && b < best_blas) best_blas = b;
            }
            ratio = best_blas / per;
        }
        int compute = s.flops > 0;
        double rate = compute ? s.flops / per * 1e-9 : s.bytes / per * 1e-9;
        char ratio_s[32] = "null";
        if (!isnan(ratio)) snprintf(ratio_s, sizeof ratio_s, "%.3f", ratio);
        if (json)
            printf("{\"op\":\"%s\",\"backend\":\"%s\",\"dtype\":\"%s\",\"shape\":\"%s\","
                   "\"ms\":%.4f,\"%s\":%.2f,\"ratio\":%s}\n",
                   c->op, duet_backend_name(be), duet_dtype_name(c->wt), s.shape, per * 1e3,
                   compute ? "gflops" : "gbps", rate, ratio_s);
        else
            printf("%-10s %-5s %-26s %10.3f %7.1f %s %8s\n", c->op, duet_dtype_name(c->wt),
                   s.shape, per * 1e3, rate, compute ? "GF/s" : "GB/s", isnan(ratio) ? "-" : ratio_s);
        fflush(stdout);
        duet_arena_free(&ar);
    }
    duet_backend_free(&be);
    return failed;
}
