/* duet — CPU convolutions: CONV1D (dilated), CONV2D (asymmetric pads), CONV3D (causal in time,
 * with zero frames or a cache of the previous chunk's last frames in front, as Wan's
 * CausalConv3d with its feature cache) and CONV_TRANSPOSE1D (BigVGAN upsampling), matching
 * PyTorch's Conv1d/2d/3d and ConvTranspose1d (cross-correlation, zero padding).
 *
 * The three forward convolutions are one routine: all are a 3-D convolution over a canonical
 * [W, H, T, Cin, B] input with a [kw, kh, kt, Cin, Cout] weight (conv1d has H = T = 1,
 * conv2d T = 1, conv3d B = 1), so the weight is a row-major [Cout, Cin kt kh kw] matrix.
 * The input is unfolded (im2col) into [Cin kt kh kw, P] for a tile of P output positions and
 * multiplied by OpenBLAS sgemm (cpu_gemm.c) straight into dst. The transposed convolution is one sgemm
 * (W^T x) and a scatter-add (col2im). f16/bf16 weights are widened into scratch first. */
#include <string.h>

#include "cpu_kernels.h"

/* im2col tiles stay under this many floats (32 MiB). */
#define COL_BUDGET ((int64_t)8 << 20)

typedef struct {
    int64_t in[3], out[3], k[3]; /* W, H, T of input, output and kernel */
    int64_t stride[3], dil[3], pad[3];   /* pad: leading pad per dim (time: front frames) */
    int64_t cin, cout, batch;
    const float *cache;                  /* front frames [W, H, pad[2], Cin] or NULL (zeros) */
} conv_geom;

typedef struct {
    const conv_geom *g;
    const float *x; /* this batch's input [W, H, T, Cin] */
    float *col;     /* [R, np] */
    int64_t p0, np;
} im2col_job;

/* Row iy of frame it of channel ci of the padded input, in x's frame coordinates: a pointer
 * to its W values, or NULL where the padding is zeros. */
static const float *in_row(const conv_geom *g, const float *x, int64_t ci, int64_t iy,
                           int64_t it) {
    if (iy < 0 || iy >= g->in[1] || it >= g->in[2]) return NULL;
    if (it < 0) {
        if (!g->cache || it < -g->pad[2]) return NULL;
        return g->cache + ((ci * g->pad[2] + it + g->pad[2]) * g->in[1] + iy) * g->in[0];
    }
    return x + ((ci * g->in[2] + it) * g->in[1] + iy) * g->in[0];
}

/* n values of one unfolded row along x: out[i] = src[x0 + i * stride], zero outside [0, W). */
static void gather_x(float *out, const float *src, int64_t n, int64_t x0, int64_t stride,
                     int64_t W) {
    if (!src) {
        memset(out, 0, (size_t)n * sizeof *out);
        return;
    }
    if (stride == 1) { /* zeros, one contiguous copy, zeros */
        int64_t lo = x0 < 0 ? -x0 : 0, hi = W - x0;
        lo = lo > n ? n : lo;
        hi = hi < lo ? lo : hi > n ? n : hi;
        memset(out, 0, (size_t)lo * sizeof *out);
        memcpy(out + lo, src + x0 + lo, (size_t)(hi - lo) * sizeof *out);
        memset(out + hi, 0, (size_t)(n - hi) * sizeof *out);
        return;
    }
    for (int64_t i = 0; i < n; i++) {
        int64_t ix = x0 + i * stride;
        out[i] = ix >= 0 && ix < W ? src[ix] : 0.0f;
    }
}

/* Rows r = ((ci kt + kz) kh + ky) kw + kx of the unfolded tile, filled one output row (fixed
 * oy, oz) at a time. */
static void im2col_rows(void *ctx, int64_t begin, int64_t end) {
    const im2col_job *j = ctx;
    const conv_geom *g = j->g;
    for (int64_t r = begin; r < end; r++) {
        int64_t kx = r % g->k[0], ky = (r / g->k[0]) % g->k[1];
        int64_t kz = (r / (g->k[0] * g->k[1])) % g->k[2], ci = r / (g->k[0] * g->k[1] * g->k[2]);
        float *out = j->col + r * j->np;
        int64_t p = j->p0;
        int64_t ox = p % g->out[0], oy = (p / g->out[0]) % g->out[1], oz = p / (g->out[0] * g->out[1]);
        for (int64_t n = 0; n < j->np;) {
            int64_t run = g->out[0] - ox;
            if (run > j->np - n) run = j->np - n;
            const float *src = in_row(g, j->x, ci, oy * g->stride[1] - g->pad[1] + ky * g->dil[1],
                                      oz * g->stride[2] - g->pad[2] + kz * g->dil[2]);
            gather_x(out + n, src, run, ox * g->stride[0] - g->pad[0] + kx * g->dil[0],
                     g->stride[0], g->in[0]);
            n += run;
            ox = 0;
            if (++oy == g->out[1]) {
                oy = 0;
                oz++;
            }
        }
    }
}

/* The weight as f32 [rows, cols] row-major: w itself, or widened into buf. */
static const float *weights_f32(duet_cpu_ctx *c, const duet_tensor *w, float *buf) {
    const void *p = duet_cpu_at(w, 0, 0, 0, 0, 0);
    if (w->dtype == DUET_F32) return p;
    duet_cpu_widen(c, buf, p, w->dtype, duet_nelements(w));
    return buf;
}

/* dst[co, :] = bias[co] (or 0) for one batch's [Cout, P] block. */
static void fill_bias(float *dst, const duet_tensor *bias, int64_t cout, int64_t P) {
    const float *b = bias ? duet_cpu_at(bias, 0, 0, 0, 0, 0) : NULL;
    for (int64_t co = 0; co < cout; co++) {
        float v = b ? b[co] : 0.0f;
        for (int64_t p = 0; p < P; p++) dst[co * P + p] = v;
    }
}

static duet_status conv_forward(duet_cpu_ctx *c, const duet_op *op, const conv_geom *g) {
    const duet_tensor *w = op->src[1];
    int64_t R = g->cin * g->k[0] * g->k[1] * g->k[2];
    int64_t P = g->out[0] * g->out[1] * g->out[2];
    /* A 1x1x1 kernel with unit stride and no padding reads x as it is: no unfolding. */
    int identity = R == g->cin && g->pad[0] == 0 && g->pad[1] == 0 && g->pad[2] == 0;
    for (int i = 0; i < 3; i++) identity &= g->stride[i] == 1 && g->out[i] == g->in[i];
    int64_t np = COL_BUDGET / R;
    np = np < 1 ? 1 : np > P ? P : np;
    size_t wn = w->dtype == DUET_F32 ? 0 : (size_t)(g->cout * R);
    size_t cn = identity ? 0 : (size_t)(R * np);
    size_t nbytes = (wn + cn) * sizeof(float);
    float *buf = nbytes ? duet_cpu_scratch(c, nbytes) : NULL;
    if (nbytes && !buf) return DUET_ERR_OUT_OF_MEMORY;
    const float *wf = weights_f32(c, w, buf);
    int64_t in_n = g->in[0] * g->in[1] * g->in[2] * g->cin;
    for (int64_t b = 0; b < g->batch; b++) {
        const float *x = (const float *)duet_cpu_at(op->src[0], 0, 0, 0, 0, 0) + b * in_n;
        float *y = (float *)duet_cpu_at(op->dst, 0, 0, 0, 0, 0) + b * g->cout * P;
        fill_bias(y, op->src[2], g->cout, P);
        if (identity) {
            duet_cpu_sgemm(c, CblasNoTrans, CblasNoTrans, g->cout, P, R, 1.0f, wf, R, x, P, 1.0f,
                           y, P);
            continue;
        }
        for (int64_t p0 = 0; p0 < P; p0 += np) {
            im2col_job j = {g, x, buf + wn, p0, p0 + np <= P ? np : P - p0};
            duet_parallel_for(c->pool, R, 1 + 4096 / (j.np + 1), im2col_rows, &j);
            duet_cpu_sgemm(c, CblasNoTrans, CblasNoTrans, g->cout, j.np, R, 1.0f, wf, R, j.col,
                           j.np, 1.0f, y + p0, P);
        }
    }
    return DUET_OK;
}

static void geom_init(conv_geom *g, const duet_op *op) {
    const duet_tensor *x = op->src[0], *w = op->src[1], *d = op->dst;
    memset(g, 0, sizeof *g);
    for (int i = 0; i < 3; i++) {
        g->in[i] = g->out[i] = g->k[i] = 1;
        g->stride[i] = g->dil[i] = 1;
    }
    switch (op->kind) {
    case DUET_OP_CONV1D:
        g->in[0] = x->ne[0], g->out[0] = d->ne[0], g->k[0] = w->ne[0];
        g->stride[0] = op->i[0], g->pad[0] = op->i[1], g->dil[0] = op->i[2];
        g->cin = x->ne[1], g->cout = d->ne[1], g->batch = x->ne[2];
        break;
    case DUET_OP_CONV2D:
        for (int i = 0; i < 2; i++) {
            g->in[i] = x->ne[i], g->out[i] = d->ne[i], g->k[i] = w->ne[i];
            g->stride[i] = op->i[i];
        }
        /* right and bottom pads only decide the output size, checked in ops.c */
        g->pad[0] = op->i[2], g->pad[1] = op->i[4];
        g->cin = x->ne[2], g->cout = d->ne[2], g->batch = x->ne[3];
        break;
    default: /* CONV3D */
        for (int i = 0; i < 3; i++) {
            g->in[i] = x->ne[i], g->out[i] = d->ne[i], g->k[i] = w->ne[i];
            g->stride[i] = op->i[i];
        }
        g->pad[0] = op->i[3], g->pad[1] = op->i[4], g->pad[2] = op->i[5];
        g->cin = x->ne[3], g->cout = d->ne[3], g->batch = 1;
        if (op->src[3]) {
            g->cache = duet_cpu_at(op->src[3], 0, 0, 0, 0, 0);
            g->pad[2] = op->src[3]->ne[2];
        }
        break;
    }
}

typedef struct {
    const float *cols; /* [Cout K, nl] */
    float *y;          /* this batch's [Lout, Cout] block, Lout fastest */
    int64_t K, Lout, l0, nl, stride, pad;
} col2im_job;

/* Each output channel owns its dst row, so channels run in parallel without races. */
static void col2im_channels(void *ctx, int64_t begin, int64_t end) {
    const col2im_job *j = ctx;
    for (int64_t co = begin; co < end; co++) {
        float *y = j->y + co * j->Lout;
        for (int64_t k = 0; k < j->K; k++) {
            const float *src = j->cols + (co * j->K + k) * j->nl;
            for (int64_t n = 0; n < j->nl; n++) {
                int64_t o = (j->l0 + n) * j->stride - j->pad + k;
                if (o >= 0 && o < j->Lout) y[o] += src[n];
            }
        }
    }
}

/* out[co, l s - pad + k] += sum_ci w[ci, co, k] x[ci, l]: cols = W^T x, then scatter. */
static duet_status conv_transpose1d(duet_cpu_ctx *c, const duet_op *op) {
    const duet_tensor *x = op->src[0], *w = op->src[1];
    int64_t L = x->ne[0], cin = x->ne[1], B = x->ne[2];
    int64_t K = w->ne[0], cout = w->ne[1], Lout = op->dst->ne[0];
    int64_t R = cout * K;
    int64_t nl = COL_BUDGET / R;
    nl = nl < 1 ? 1 : nl > L ? L : nl;
    size_t wn = w->dtype == DUET_F32 ? 0 : (size_t)(cin * R);
    float *buf = duet_cpu_scratch(c, (wn + (size_t)(R * nl)) * sizeof(float));
    if (!buf) return DUET_ERR_OUT_OF_MEMORY;
    const float *wf = weights_f32(c, w, buf);
    for (int64_t b = 0; b < B; b++) {
        const float *xb = (const float *)duet_cpu_at(x, 0, 0, b, 0, 0);
        float *y = duet_cpu_at(op->dst, 0, 0, b, 0, 0);
        fill_bias(y, op->src[2], cout, Lout);
        for (int64_t l0 = 0; l0 < L; l0 += nl) {
            col2im_job j = {buf + wn, y, K, Lout, l0, l0 + nl <= L ? nl : L - l0, op->i[0], op->i[1]};
            duet_cpu_sgemm(c, CblasTrans, CblasNoTrans, R, j.nl, cin, 1.0f, wf, R, xb + l0, L,
                           0.0f, buf + wn, j.nl);
            duet_parallel_for(c->pool, cout, 1, col2im_channels, &j);
        }
    }
    return DUET_OK;
}

duet_status duet_cpu_conv(duet_cpu_ctx *c, const duet_op *op) {
    if (op->kind == DUET_OP_CONV_TRANSPOSE1D) return conv_transpose1d(c, op);
    conv_geom g;
    geom_init(&g, op);
    return conv_forward(c, op, &g);
}
