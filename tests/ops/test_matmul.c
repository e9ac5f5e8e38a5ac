/* duet — matmul op: the CPU backend against a naive double-precision product, then every
 * other backend against the CPU. Shapes that are not multiples of any tile, a transposed
 * weight, broadcast batches, a strided (sliced) input, bias, f16/bf16 weights, and products
 * large enough for the CPU to split across threads (core/cpu/cpu_gemm.c). */
#include <math.h>
#include <stdlib.h>

#include "harness.h"

typedef struct {
    int64_t K, M, N, B;
    duet_dtype wt;
    bool trans, bias, wbatch, strided;
} mm_case;

/* Host reference: w values are taken after rounding to wt, as the backends see them. */
static void naive(const mm_case *c, const float *x, int64_t ldx, const float *w,
                  const float *bias, float *out) {
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t m = 0; m < c->M; m++)
            for (int64_t n = 0; n < c->N; n++) {
                const float *wb = w + (c->wbatch ? b * c->N * c->K : 0);
                double acc = c->bias ? bias[n] : 0.0;
                for (int64_t k = 0; k < c->K; k++) {
                    double wv = c->trans ? wb[k * c->N + n] : wb[n * c->K + k];
                    acc += (double)x[b * c->M * ldx + m * ldx + k] * wv;
                }
                out[(b * c->M + m) * c->N + n] = (float)acc;
            }
}

static void round_to(float *w, size_t n, duet_dtype t) {
    for (size_t i = 0; i < n; i++) {
        if (t == DUET_F16) w[i] = duet_f16_to_f32(duet_f32_to_f16(w[i]));
        if (t == DUET_BF16) w[i] = duet_bf16_to_f32(duet_f32_to_bf16(w[i]));
    }
}

static float *run_case(duet_backend *be, const mm_case *c, const float *x, const float *w,
                       const float *bias) {
    duet_arena *a = duet_arena_new(0);
    int64_t ldx = c->K + (c->strided ? 3 : 0);
    int64_t xne[3] = {ldx, c->M, c->B};
    duet_tensor *xfull = duet_test_tensor(a, be, DUET_F32, 3, xne, x, "x");
    duet_tensor *xv = duet_slice(a, xfull, 0, 0, c->K);
    int64_t wne[3] = {c->trans ? c->N : c->K, c->trans ? c->K : c->N, c->wbatch ? c->B : 1};
    duet_tensor *wt = duet_test_tensor(a, be, c->wt, 3, wne, w, "w");
    int64_t bne[1] = {c->N};
    duet_tensor *bt = c->bias ? duet_test_tensor(a, be, DUET_F32, 1, bne, bias, "bias") : NULL;
    int64_t dne[3] = {c->N, c->M, c->B};
    duet_tensor *d = duet_test_tensor(a, be, DUET_F32, 3, dne, NULL, "out");
    float *out = calloc((size_t)(c->N * c->M * c->B), sizeof *out);
    T_CHECK_OK(duet_matmul(d, xv, wt, bt, c->trans));
    T_CHECK_OK(duet_tensor_get_f32(d, out));
    duet_arena_free(&a);
    return out;
}

int main(void) {
    const mm_case cases[] = {
        {1, 1, 1, 1, DUET_F32, false, false, false, false},
        {37, 19, 23, 1, DUET_F32, false, true, false, false},
        {64, 64, 64, 1, DUET_F32, false, false, false, false},
        {129, 65, 97, 2, DUET_F32, true, true, false, true},
        {70, 33, 45, 3, DUET_F16, false, true, true, false},
        {70, 33, 45, 2, DUET_BF16, false, false, false, true},
        {200, 130, 72, 1, DUET_F16, true, false, false, false},
        {300, 7, 257, 1, DUET_BF16, false, true, false, false},
        /* over 2^20 multiply-adds: the CPU splits the product across its threads, by columns
         * (N >= M) or by rows (M > N), block edges on multiples of 16 */
        {96, 50, 333, 1, DUET_F32, false, true, false, true},
        {80, 301, 70, 2, DUET_F32, true, false, false, true},
        {64, 257, 77, 1, DUET_F16, false, false, true, false},
    };
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const mm_case *c = &cases[ci];
        int64_t ldx = c->K + (c->strided ? 3 : 0);
        size_t nx = (size_t)(ldx * c->M * c->B), nw = (size_t)(c->K * c->N * (c->wbatch ? c->B : 1));
        float *x = duet_test_rand(nx, 1 + ci, -1, 1), *w = duet_test_rand(nw, 100 + ci, -1, 1);
        float *bias = duet_test_rand((size_t)c->N, 200 + ci, -1, 1);
        round_to(w, nw, c->wt);
        size_t no = (size_t)(c->N * c->M * c->B);
        float *want = malloc(no * sizeof *want);
        naive(c, x, ldx, w, bias, want);
        float *ref = NULL;
        for (int b = 0; b < nb; b++) {
            float *got = run_case(bes[b], c, x, w, bias);
            char name[160];
            snprintf(name, sizeof name, "matmul case %zu K%lld M%lld N%lld B%lld %s%s on %s", ci,
                     (long long)c->K, (long long)c->M, (long long)c->N, (long long)c->B,
                     duet_dtype_name(c->wt), c->trans ? " transposed" : "", duet_backend_name(bes[b]));
            if (b == 0) {
                duet_test_close(name, got, want, no, 1e-10);
                ref = got;
            } else {
                duet_test_close(name, got, ref, no, 1e-8);
                free(got);
            }
        }
        free(ref);
        free(x);
        free(w);
        free(bias);
        free(want);
    }
    return duet_test_end(bes, nb);
}
