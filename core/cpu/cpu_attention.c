/* duet — CPU scaled dot-product attention, the reference for the GPU kernels:
 * out = softmax(q k^T * scale + bias) v per head, as PyTorch's scaled_dot_product_attention
 * (and flash_attention in Wan/Ovi) computes it. q [D, H, Lq, B], k and v [D, H, Lk, B] with
 * contiguous rows and any outer strides (views into fused qkv tensors work); bias [Lk, Lq, H]
 * is broadcast over B. Each query row is done on its own: scores into one row of Lk floats,
 * max-subtracted exp, then the weighted sum of v rows. No Lq x Lk matrix is ever built; the
 * only memory is one (Lk + D)-float row per work item, taken from the backend's scratch. */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"

typedef struct {
    const duet_op *op;
    float *scratch;   /* n_items rows of (Lk + D) floats */
    int64_t n_rows;   /* B * H * Lq */
    int64_t n_items;
} attn_job;

/* Eight partial sums keep the loop vectorizable without reassociating a single sum. */
static float dot(const float *a, const float *b, int64_t n) {
    float s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) s[k] += a[i + k] * b[i + k];
    float t = 0;
    for (; i < n; i++) t += a[i] * b[i];
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

/* Query row r = iq + Lq (h + H b). */
static void attn_row(const duet_op *op, int64_t r, float *p, float *acc) {
    const duet_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2], *bias = op->src[3];
    int64_t D = q->ne[0], H = q->ne[1], Lq = q->ne[2], Lk = k->ne[2];
    int64_t iq = r % Lq, h = (r / Lq) % H, b = r / (Lq * H);
    const float *qr = duet_cpu_at(q, 0, h, iq, b, 0);
    const char *kb = duet_cpu_at(k, 0, h, 0, b, 0), *vb = duet_cpu_at(v, 0, h, 0, b, 0);
    const float *br = bias ? (const float *)duet_cpu_at(bias, 0, iq, h, 0, 0) : NULL;
    float scale = op->f[0], m = -INFINITY;
    for (int64_t j = 0; j < Lk; j++) {
        float s = dot(qr, (const float *)(kb + j * (int64_t)k->nb[2]), D) * scale;
        if (br) s += br[j];
        p[j] = s;
        if (s > m) m = s;
    }
    /* NaN scores (or rows of only -inf) give a NaN row, as in PyTorch. */
    double sum = 0;
    for (int64_t j = 0; j < Lk; j++) {
        p[j] = expf(p[j] - m);
        sum += p[j];
    }
    memset(acc, 0, (size_t)D * sizeof *acc);
    for (int64_t j = 0; j < Lk; j++) {
        const float *vr = (const float *)(vb + j * (int64_t)v->nb[2]);
        float pj = p[j];
        for (int64_t d = 0; d < D; d++) acc[d] += pj * vr[d];
    }
    float inv = (float)(1.0 / sum);
    float *y = duet_cpu_at(op->dst, 0, h, iq, b, 0);
    for (int64_t d = 0; d < D; d++) y[d] = acc[d] * inv;
}

/* Item `it` owns rows [it n_rows / n_items, (it + 1) n_rows / n_items) and scratch row it. */
static void attn_items(void *ctx, int64_t begin, int64_t end) {
    attn_job *j = ctx;
    int64_t Lk = j->op->src[1]->ne[2], D = j->op->src[0]->ne[0];
    for (int64_t it = begin; it < end; it++) {
        float *p = j->scratch + it * (Lk + D);
        int64_t r0 = it * j->n_rows / j->n_items, r1 = (it + 1) * j->n_rows / j->n_items;
        for (int64_t r = r0; r < r1; r++) attn_row(j->op, r, p, p + Lk);
    }
}

duet_status duet_cpu_attention(duet_cpu_ctx *c, const duet_op *op) {
    const duet_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
    for (int i = 1; i < 4; i++)
        if (q->nb[i] % 4 || k->nb[i] % 4 || v->nb[i] % 4) return DUET_ERR_UNSUPPORTED;
    attn_job j = {op, NULL, q->ne[1] * q->ne[2] * q->ne[3], 0};
    /* A few items per thread balance the load; each needs its own scratch row. */
    j.n_items = 4 * (int64_t)duet_threadpool_size(c->pool);
    if (j.n_items > j.n_rows) j.n_items = j.n_rows;
    size_t row = (size_t)(k->ne[2] + q->ne[0]);
    j.scratch = duet_cpu_scratch(c, (size_t)j.n_items * row * sizeof(float));
    if (!j.scratch) return DUET_ERR_OUT_OF_MEMORY;
    duet_parallel_for(c->pool, j.n_items, 1, attn_items, &j);
    return DUET_OK;
}
