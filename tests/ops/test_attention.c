/* duet — ATTENTION: the CPU backend against a naive double-precision softmax(q k^T s + bias) v,
 * every other backend against the CPU. Lengths that divide no tile (Lq 77, Lk 45, 1, 130),
 * head dims 64 and 128 (and 2, 16, 20: not multiples of 8), scores whose exp overflows f32
 * unless the row maximum is subtracted, 3 heads, Lq != Lk both ways, batch 2 and 3 (the bias
 * broadcasts over it), with and without bias, biases masking scattered entries and whole
 * leading key blocks with -inf, q/k/v seen through permuted and sliced views (outer strides
 * of a fused qkv tensor), and a NaN in one query row (that row's output is NaN, the others are untouched).
 * Tolerances (NMSE): CPU vs naive 1e-10; other backends vs CPU 1e-8 (f32 throughout). */
#include "op_test.h"

typedef struct {
    int64_t D, H, Lq, Lk, B;
    bool bias;
    int mask; /* 1: one key in five -inf; 2: even rows lose their first half of keys */
    bool nan_q;
    op_layout lq, lkv;
    float k_range; /* k uniform in +-k_range: 30 makes scores whose exp overflows f32 */
} attn_case;

static void naive(const attn_case *c, const float *q, const float *k, const float *v,
                  const float *bias, float *out) {
    int64_t D = c->D, H = c->H, Lq = c->Lq, Lk = c->Lk;
    double scale = 1.0 / sqrt((double)D);
    double *s = malloc((size_t)Lk * sizeof *s);
    for (int64_t b = 0; b < c->B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < Lq; i++) {
                const float *qi = q + D * (h + H * (i + Lq * b));
                double m = -INFINITY, sum = 0;
                for (int64_t j = 0; j < Lk; j++) {
                    const float *kj = k + D * (h + H * (j + Lk * b));
                    double dot = 0;
                    for (int64_t d = 0; d < D; d++) dot += (double)qi[d] * kj[d];
                    s[j] = dot * scale + (c->bias ? bias[j + Lk * (i + Lq * h)] : 0.0);
                    if (s[j] > m) m = s[j];
                }
                for (int64_t j = 0; j < Lk; j++) sum += (s[j] = exp(s[j] - m));
                for (int64_t d = 0; d < D; d++) {
                    double acc = 0;
                    for (int64_t j = 0; j < Lk; j++) acc += s[j] * v[d + D * (h + H * (j + Lk * b))];
                    out[d + D * (h + H * (i + Lq * b))] = (float)(acc / sum);
                }
            }
    free(s);
}

static float *run(duet_backend *be, const attn_case *c, const float *q, const float *k,
                  const float *v, const float *bias) {
    duet_arena *ar = duet_arena_new(0);
    int64_t qne[4] = {c->D, c->H, c->Lq, c->B}, kne[4] = {c->D, c->H, c->Lk, c->B};
    int64_t bne[3] = {c->Lk, c->Lq, c->H};
    duet_tensor *qt = op_tensor(ar, be, c->lq, qne, q, "q");
    duet_tensor *kt = op_tensor(ar, be, c->lkv, kne, k, "k");
    duet_tensor *vt = op_tensor(ar, be, c->lkv, kne, v, "v");
    duet_tensor *bt = c->bias ? duet_test_tensor(ar, be, DUET_F32, 3, bne, bias, "bias") : NULL;
    duet_tensor *d = duet_test_tensor(ar, be, DUET_F32, 4, qne, NULL, "out");
    T_CHECK_OK(duet_attention(d, qt, kt, vt, bt, (float)(1.0 / sqrt((double)c->D))));
    float *out = op_download(d);
    duet_arena_free(&ar);
    return out;
}

int main(void) {
    const attn_case cases[] = {
        {64, 3, 77, 45, 1, false, 0, false, OP_CONTIG, OP_CONTIG, 0},
        {128, 3, 77, 45, 1, true, 0, false, OP_SWAP12, OP_PAD1, 0},
        {64, 3, 45, 77, 2, true, 1, false, OP_PAD1, OP_SWAP12, 0},
        {128, 2, 65, 65, 1, false, 0, true, OP_CONTIG, OP_PAD1, 0},
        {2, 1, 1, 1, 1, false, 0, false, OP_CONTIG, OP_CONTIG, 0},
        {16, 1, 3, 130, 1, true, 1, false, OP_CONTIG, OP_SWAP12, 0},
        {64, 1, 33, 17, 3, false, 0, false, OP_SWAP12, OP_CONTIG, 0},
        {128, 3, 17, 1, 1, true, 0, false, OP_CONTIG, OP_CONTIG, 0},
        {20, 3, 17, 33, 1, true, 0, false, OP_PAD1, OP_CONTIG, 0},
        {64, 2, 17, 77, 1, true, 2, false, OP_CONTIG, OP_CONTIG, 0},
        {64, 2, 9, 65, 1, false, 0, false, OP_CONTIG, OP_CONTIG, 30.0f},
    };
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const attn_case *c = &cases[ci];
        size_t nq = (size_t)(c->D * c->H * c->Lq * c->B), nk = (size_t)(c->D * c->H * c->Lk * c->B);
        size_t nbias = (size_t)(c->Lk * c->Lq * c->H);
        /* q spread wider than k so the softmax is neither flat nor one-hot */
        float *q = duet_test_rand(nq, 1 + ci, -4, 4), *k = duet_test_rand(nk, 100 + ci, -1, 1);
        for (size_t i = 0; c->k_range > 0 && i < nk; i++) k[i] *= c->k_range;
        float *v = duet_test_rand(nk, 200 + ci, -1, 1), *bias = duet_test_rand(nbias, 300 + ci, -2, 2);
        /* never a whole row; mode 2 masks whole leading key tiles, where an online softmax
         * that starts from a -inf maximum computes exp(-inf - -inf) = NaN if careless */
        for (int64_t h = 0; c->mask && h < c->H; h++)
            for (int64_t i = 0; i < c->Lq; i++)
                for (int64_t j = 0; j < c->Lk; j++)
                    if (c->mask == 1 ? (i + j) % 5 == 0 : i % 2 == 0 && j < c->Lk / 2)
                        bias[j + c->Lk * (i + c->Lq * h)] = -INFINITY;
        if (c->nan_q) q[3] = NAN; /* query row (h 0, token 0, batch 0) */
        float *want = malloc(nq * sizeof *want), *cpu = NULL;
        naive(c, q, k, v, bias, want);
        char what[160];
        snprintf(what, sizeof what, "attention case %zu D%lld H%lld Lq%lld Lk%lld B%lld%s%s q %s kv %s",
                 ci, (long long)c->D, (long long)c->H, (long long)c->Lq, (long long)c->Lk,
                 (long long)c->B, c->bias ? " bias" : "", c->mask ? " mask" : "",
                 op_layout_name(c->lq), op_layout_name(c->lkv));
        for (int b = 0; b < nb; b++)
            cpu = op_check(what, bes, b, run(bes[b], c, q, k, v, bias), want, cpu, nq, 1e-10, 1e-8);
        if (c->nan_q && cpu) /* only the poisoned row is NaN */
            T_CHECK(isnan(cpu[0]) && isnan(cpu[c->D - 1]) && !isnan(cpu[c->D]));
        free(cpu);
        free(want);
        free(q);
        free(k);
        free(v);
        free(bias);
    }
    return duet_test_end(bes, nb);
}
