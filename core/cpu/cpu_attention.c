/* duet — CPU scaled dot-product attention, the reference for the GPU kernels:
 * out = softmax(q k^T * scale + bias) v per head, as PyTorch's scaled_dot_product_attention
 * (and flash_attention in Wan/Ovi) computes it. q [D, H, Lq, B], k and v [D, H, Lk, B] with
 * contiguous rows and any outer strides (views into fused qkv tensors work); bias [Lk, Lq, H]
 * is broadcast over B.
 *
 * Work is cut into tiles of up to TILE_Q query rows of one head, spread over the pool. A tile
 * is two single-threaded sgemm (cpu_gemm.c: OpenBLAS runs one thread per caller here): scores
 * S = scale Q K^T [rows, Lk] into scratch, then per row the bias, the max-subtracted exp and
 * the sum, then O = P V straight into dst, each row scaled by 1 / its sum. Memory: one
 * TILE_Q x Lk block of scores (and TILE_Q sums) per work item, from the backend's scratch; no
 * Lq x Lk matrix is ever built. */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"

#define TILE_Q 32

typedef struct {
    const duet_op *op;
    float *scratch;      /* n_items blocks of TILE_Q (Lk + 1) floats */
    int64_t tiles_per_head, n_tiles, n_items;
} attn_job;

static int64_t ld_of(const duet_tensor *t) { return (int64_t)(t->nb[2] / 4); }

/* Tile t = query tile (t % tiles_per_head) of head-and-batch t / tiles_per_head. */
static void attn_tile(const attn_job *j, int64_t t, float *s, float *inv) {
    const duet_op *op = j->op;
    const duet_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2], *bias = op->src[3];
    int64_t D = q->ne[0], H = q->ne[1], Lq = q->ne[2], Lk = k->ne[2];
    int64_t bh = t / j->tiles_per_head, q0 = (t % j->tiles_per_head) * TILE_Q;
    int64_t nq = Lq - q0 < TILE_Q ? Lq - q0 : TILE_Q, h = bh % H, b = bh / H;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nq, (int)Lk, (int)D, op->f[0],
                duet_cpu_at(q, 0, h, q0, b, 0), (int)ld_of(q), duet_cpu_at(k, 0, h, 0, b, 0),
                (int)ld_of(k), 0.0f, s, (int)Lk);
    for (int64_t i = 0; i < nq; i++) {
        float *p = s + i * Lk, m = -INFINITY;
        const float *br = bias ? (const float *)duet_cpu_at(bias, 0, q0 + i, h, 0, 0) : NULL;
        for (int64_t c = 0; c < Lk; c++) {
            if (br) p[c] += br[c];
            if (p[c] > m) m = p[c];
        }
        /* NaN scores (or rows of only -inf) give a NaN row, as in PyTorch. */
        double sum = 0;
        for (int64_t c = 0; c < Lk; c++) {
            p[c] = expf(p[c] - m);
            sum += p[c];
        }
        inv[i] = (float)(1.0 / sum);
    }
    float *y = duet_cpu_at(op->dst, 0, h, q0, b, 0);
    int64_t ldy = ld_of(op->dst);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)nq, (int)D, (int)Lk, 1.0f, s,
                (int)Lk, duet_cpu_at(v, 0, h, 0, b, 0), (int)ld_of(v), 0.0f, y, (int)ldy);
    for (int64_t i = 0; i < nq; i++)
        for (int64_t d = 0; d < D; d++) y[i * ldy + d] *= inv[i];
}

/* Item `it` owns tiles [it n_tiles / n_items, (it + 1) n_tiles / n_items) and scratch block
 * it. */
static void attn_items(void *ctx, int64_t begin, int64_t end) {
    attn_job *j = ctx;
    int64_t Lk = j->op->src[1]->ne[2];
    for (int64_t it = begin; it < end; it++) {
        float *s = j->scratch + it * TILE_Q * (Lk + 1);
        int64_t t0 = it * j->n_tiles / j->n_items, t1 = (it + 1) * j->n_tiles / j->n_items;
        for (int64_t t = t0; t < t1; t++) attn_tile(j, t, s, s + TILE_Q * Lk);
    }
}

duet_status duet_cpu_attention(duet_cpu_ctx *c, const duet_op *op) {
    const duet_tensor *q = op->src[0], *k = op->src[1], *v = op->src[2];
    for (int i = 1; i < 4; i++)
        if (q->nb[i] % 4 || k->nb[i] % 4 || v->nb[i] % 4) return DUET_ERR_UNSUPPORTED;
    int64_t D = q->ne[0];
    /* sgemm's leading dimensions: rows of q, k, v and dst may not overlap */
    if (ld_of(q) < D || ld_of(k) < D || ld_of(v) < D || ld_of(op->dst) < D)
        return DUET_ERR_UNSUPPORTED;
    attn_job j = {op, NULL, (q->ne[2] + TILE_Q - 1) / TILE_Q, 0, 0};
    j.n_tiles = j.tiles_per_head * q->ne[1] * q->ne[3];
    /* A few items per thread balance the load; each needs its own scratch block. */
    j.n_items = 4 * (int64_t)duet_threadpool_size(c->pool);
    if (j.n_items > j.n_tiles) j.n_items = j.n_tiles;
    size_t block = (size_t)TILE_Q * (size_t)(k->ne[2] + 1);
    j.scratch = duet_cpu_scratch(c, (size_t)j.n_items * block * sizeof(float));
    if (!j.scratch) return DUET_ERR_OUT_OF_MEMORY;
    duet_parallel_for(c->pool, j.n_items, 1, attn_items, &j);
    return DUET_OK;
}
