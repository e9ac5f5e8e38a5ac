/* duet — CPU copy and matrix product. The product goes to OpenBLAS sgemm per batch; f16/bf16
 * weights are widened to f32 into scratch first (f32 accumulate, as on the GPU), on the pool;
 * the convolutions widen theirs with duet_cpu_widen. */
#include <stdatomic.h>
#include <string.h>

#include "../log.h"
#include "cpu_kernels.h"

typedef struct {
    const duet_op *op;
} copy_job;

/* One item per row (i1, i2, i3, i4 flattened). */
static void copy_rows(void *ctx, int64_t begin, int64_t end) {
    const duet_op *op = ((copy_job *)ctx)->op;
    const duet_tensor *s = op->src[0];
    duet_tensor *d = op->dst;
    int64_t ne1 = d->ne[1], ne2 = d->ne[2], ne3 = d->ne[3];
    for (int64_t r = begin; r < end; r++) {
        int64_t i1 = r % ne1, i2 = (r / ne1) % ne2, i3 = (r / (ne1 * ne2)) % ne3;
        int64_t i4 = r / (ne1 * ne2 * ne3);
        char *dp = duet_cpu_at(d, 0, i1, i2, i3, i4);
        const char *sp = duet_cpu_at(s, 0, i1, i2, i3, i4);
        if (s->dtype == d->dtype && s->nb[0] == duet_dtype_size(s->dtype) && d->nb[0] == s->nb[0]) {
            memmove(dp, sp, (size_t)d->ne[0] * d->nb[0]);
            continue;
        }
        for (int64_t i0 = 0; i0 < d->ne[0]; i0++) {
            const void *e = sp + i0 * (int64_t)s->nb[0];
            void *o = dp + i0 * (int64_t)d->nb[0];
            if (d->dtype == DUET_I32) {
                memcpy(o, e, 4);
                continue;
            }
            float v = duet_cpu_load(e, s->dtype);
            duet_convert(o, d->dtype, &v, DUET_F32, 1);
        }
    }
}

duet_status duet_cpu_copy(duet_cpu_ctx *c, const duet_op *op) {
    copy_job j = {op};
    const duet_tensor *d = op->dst;
    int64_t rows = d->ne[1] * d->ne[2] * d->ne[3] * d->ne[4];
    /* Overlapping in-place copies with different layouts would race across threads. */
    duet_threadpool *pool = op->src[0]->buf == d->buf ? NULL : c->pool;
    duet_parallel_for(pool, rows, 1 + 16384 / (d->ne[0] + 1), copy_rows, &j);
    return DUET_OK;
}

typedef struct {
    const duet_tensor *w;
    const char *base;
    float *dst;
} widen_job;

/* f16 -> f32 through a table of all 65536 values, filled once (benign race: every thread
 * writes the same values before setting the flag). */
static float f16_table[65536];
static atomic_int f16_table_ready;

static void f16_table_init(void) {
    if (atomic_load(&f16_table_ready)) return;
    for (uint32_t h = 0; h < 65536; h++) f16_table[h] = duet_f16_to_f32((uint16_t)h);
    atomic_store(&f16_table_ready, 1);
}

/* n f16 (table) or bf16 (top half of an f32) values of src into dst. */
static void widen(float *dst, const uint16_t *src, int64_t n, duet_dtype t) {
    if (t == DUET_F16) {
        for (int64_t i = 0; i < n; i++) dst[i] = f16_table[src[i]];
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        uint32_t u = (uint32_t)src[i] << 16;
        memcpy(&dst[i], &u, 4);
    }
}

typedef struct {
    float *dst;
    const uint16_t *src;
    duet_dtype t;
} flat_job;

static void widen_flat(void *ctx, int64_t begin, int64_t end) {
    const flat_job *j = ctx;
    widen(j->dst + begin, j->src + begin, end - begin, j->t);
}

void duet_cpu_widen(duet_cpu_ctx *c, float *dst, const void *src, duet_dtype t, int64_t n) {
    DUET_ASSERT(t == DUET_F16 || t == DUET_BF16);
    if (t == DUET_F16) f16_table_init();
    flat_job j = {dst, src, t};
    duet_parallel_for(c->pool, n, 65536, widen_flat, &j);
}

static void widen_rows(void *ctx, int64_t begin, int64_t end) {
    const widen_job *j = ctx;
    int64_t n0 = j->w->ne[0];
    for (int64_t r = begin; r < end; r++) {
        widen(j->dst + r * n0, (const uint16_t *)(j->base + r * (int64_t)j->w->nb[1]), n0,
              j->w->dtype);
    }
}

/* Widen rows of w (f16/bf16, contiguous rows) for one batch into scratch as f32, in parallel:
 * at small M this conversion is a visible share of the product's time. */
static const float *weights_f32(duet_cpu_ctx *c, const duet_tensor *w, int64_t i2, int64_t i3,
                                int64_t *ldw) {
    const char *base = duet_cpu_at(w, 0, 0, i2, i3, 0);
    if (w->dtype == DUET_F32) {
        *ldw = (int64_t)(w->nb[1] / 4);
        return (const float *)base;
    }
    if (w->dtype == DUET_F16) f16_table_init();
    int64_t n0 = w->ne[0], n1 = w->ne[1];
    float *dst = duet_cpu_scratch(c, (size_t)(n0 * n1) * sizeof(float));
    if (!dst) return NULL;
    widen_job j = {w, base, dst};
    duet_parallel_for(c->pool, n1, 1 + 65536 / (n0 + 1), widen_rows, &j);
    *ldw = n0;
    return dst;
}

duet_status duet_cpu_matmul(duet_cpu_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0], *w = op->src[1], *bias = op->src[2];
    duet_tensor *d = op->dst;
    int trans = op->i[0];
    int64_t K = x->ne[0], M = x->ne[1], N = d->ne[0];
    for (int64_t i3 = 0; i3 < x->ne[3]; i3++)
        for (int64_t i2 = 0; i2 < x->ne[2]; i2++) {
            int64_t ldw;
            const float *wp = weights_f32(c, w, w->ne[2] == 1 ? 0 : i2, w->ne[3] == 1 ? 0 : i3, &ldw);
            if (!wp) return DUET_ERR_OUT_OF_MEMORY;
            const float *xp = duet_cpu_at(x, 0, 0, i2, i3, 0);
            float *dp = duet_cpu_at(d, 0, 0, i2, i3, 0);
            float beta = 0.0f;
            if (bias) {
                const float *bp = duet_cpu_at(bias, 0, 0, 0, 0, 0);
                for (int64_t m = 0; m < M; m++) memcpy(dp + m * N, bp, (size_t)N * sizeof(float));
                beta = 1.0f;
            }
            duet_cpu_sgemm(c, CblasNoTrans, trans ? CblasNoTrans : CblasTrans, M, N, K, 1.0f, xp,
                           (int64_t)(x->nb[1] / 4), wp, ldw, beta, dp, N);
        }
    return DUET_OK;
}
