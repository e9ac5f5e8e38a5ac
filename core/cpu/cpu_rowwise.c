/* duet — CPU row-wise kernels over ne[0]: LAYERNORM (PyTorch LayerNorm, biased variance,
 * optional affine), RMSNORM (T5 / WanRMSNorm: x / sqrt(mean(x^2) + eps) * w), SOFTMAX of
 * x * scale (max-subtracted), and ROPE (adjacent pairs rotated by a (cos, sin) table, as Wan's
 * rope_apply does with complex multiplication). Rows may have any outer strides; each row is
 * read completely before it is written, so dst == src0 (in place) is fine. Sums are taken in
 * double: this is the reference other backends are measured against. */
#include <math.h>

#include "cpu_kernels.h"

/* Row r of t (i1 fastest), as f32 pointer. */
static float *row_ptr(const duet_tensor *t, int64_t r) {
    int64_t i1 = r % t->ne[1], q = r / t->ne[1];
    int64_t i2 = q % t->ne[2];
    q /= t->ne[2];
    int64_t i3 = q % t->ne[3], i4 = q / t->ne[3];
    return duet_cpu_at(t, 0, i1, i2, i3, i4);
}

/* Sums in double over 8 lanes: exact enough for rows of any length, and the lanes let the
 * compiler vectorize without reassociating one accumulator. */
static double sum_d(const float *x, int64_t n, double shift, int squares) {
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0}, t = 0;
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int k = 0; k < 8; k++) {
            double e = (double)x[i + k] - shift;
            s[k] += squares ? e * e : e;
        }
    for (; i < n; i++) {
        double e = (double)x[i] - shift;
        t += squares ? e * e : e;
    }
    return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7])) + t;
}

static void layernorm_row(const duet_op *op, float *y, const float *x, int64_t n) {
    const float *w = op->src[1] ? duet_cpu_at(op->src[1], 0, 0, 0, 0, 0) : NULL;
    const float *b = op->src[2] ? duet_cpu_at(op->src[2], 0, 0, 0, 0, 0) : NULL;
    double mean = sum_d(x, n, 0.0, 0) / (double)n;
    /* Two passes: the variance of activations with a large mean stays exact. */
    double var = sum_d(x, n, mean, 1) / (double)n;
    float rstd = (float)(1.0 / sqrt(var + (double)op->f[0]));
    float m = (float)mean;
    for (int64_t i = 0; i < n; i++) {
        float v = (x[i] - m) * rstd;
        if (w) v *= w[i];
        if (b) v += b[i];
        y[i] = v;
    }
}

static void rmsnorm_row(const duet_op *op, float *y, const float *x, int64_t n) {
    const float *w = op->src[1] ? duet_cpu_at(op->src[1], 0, 0, 0, 0, 0) : NULL;
    float rms = (float)(1.0 / sqrt(sum_d(x, n, 0.0, 1) / (double)n + (double)op->f[0]));
    for (int64_t i = 0; i < n; i++) y[i] = w ? x[i] * rms * w[i] : x[i] * rms;
}

/* A row holding +inf or NaN becomes NaN, and one of only -inf entries too (exp of -inf minus
 * -inf), as in PyTorch; -inf entries among finite ones become 0. */
static void softmax_row(const duet_op *op, float *y, const float *x, int64_t n) {
    float s = op->f[0], m = -INFINITY;
    for (int64_t i = 0; i < n; i++) {
        float v = x[i] * s;
        if (v > m) m = v;
    }
    /* a NaN entry makes its exp, the sum and so the whole row NaN */
    double sum = 0;
    for (int64_t i = 0; i < n; i++) {
        float e = expf(x[i] * s - m);
        y[i] = e;
        sum += e;
    }
    float inv = (float)(1.0 / sum);
    for (int64_t i = 0; i < n; i++) y[i] *= inv;
}

/* Token index of row r is its i2 (x is [D, H, L, B]). */
static void rope_row(const duet_op *op, float *y, const float *x, int64_t n, int64_t r) {
    const duet_tensor *t = op->src[0];
    int64_t l = (r / t->ne[1]) % t->ne[2];
    const float *cs = (const float *)duet_cpu_at(op->src[1], 0, 0, 0, 0, 0) + l * n;
    for (int64_t j = 0; j < n; j += 2) {
        float x0 = x[j], x1 = x[j + 1], c = cs[j], s = cs[j + 1];
        y[j] = x0 * c - x1 * s;
        y[j + 1] = x0 * s + x1 * c;
    }
}

static void rows_fn(void *ctx, int64_t begin, int64_t end) {
    const duet_op *op = ctx;
    const duet_tensor *x = op->src[0];
    int64_t n = x->ne[0];
    for (int64_t r = begin; r < end; r++) {
        const float *xr = row_ptr(x, r);
        float *yr = row_ptr(op->dst, r);
        switch (op->kind) {
        case DUET_OP_LAYERNORM: layernorm_row(op, yr, xr, n); break;
        case DUET_OP_RMSNORM: rmsnorm_row(op, yr, xr, n); break;
        case DUET_OP_SOFTMAX: softmax_row(op, yr, xr, n); break;
        case DUET_OP_ROPE: rope_row(op, yr, xr, n, r); break;
        default: break;
        }
    }
}

duet_status duet_cpu_rowwise(duet_cpu_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0];
    int64_t rows = x->ne[1] * x->ne[2] * x->ne[3] * x->ne[4];
    for (int k = 1; k < 5; k++)
        if (x->nb[k] % sizeof(float) != 0) return DUET_ERR_UNSUPPORTED;
    duet_parallel_for(c->pool, rows, 1 + 16384 / (x->ne[0] + 1), rows_fn, (void *)op);
    return DUET_OK;
}
