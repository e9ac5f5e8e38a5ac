/* duet — CPU data-movement kernels: UPSAMPLE_NEAREST (PyTorch nn.Upsample mode 'nearest' with
 * integer factors), PIXEL_UNSHUFFLE / PIXEL_SHUFFLE (Wan2.2 VAE patchify/unpatchify, einops
 * "b c f (h q) (w r) -> b (c r q) f h w" and back), SNAKE_BETA (BigVGAN activations.SnakeBeta:
 * x + 1/(beta + 1e-9) sin^2(alpha x), optionally with exp'd log-scale parameters) and GET_ROWS
 * (embedding lookup; ids outside [0, V) give zero rows). All sources are contiguous. */
#include <math.h>
#include <string.h>

#include "cpu_kernels.h"

/* Row r of a contiguous [ne0, ...] tensor as (i1, i2, i3, i4), i1 fastest. */
static void unravel(const duet_tensor *t, int64_t r, int64_t i[5]) {
    i[0] = 0;
    for (int k = 1; k < 5; k++) {
        i[k] = r % t->ne[k];
        r /= t->ne[k];
    }
}

static void upsample_rows(const duet_op *op, int64_t begin, int64_t end) {
    const duet_tensor *x = op->src[0];
    duet_tensor *d = op->dst;
    int64_t f0 = op->i[0];
    for (int64_t r = begin; r < end; r++) {
        int64_t i[5];
        unravel(d, r, i);
        const float *xs = duet_cpu_at(x, 0, i[1] / op->i[1], i[2] / op->i[2], i[3], i[4]);
        float *y = duet_cpu_at(d, 0, i[1], i[2], i[3], i[4]);
        for (int64_t j = 0; j < d->ne[0]; j++) y[j] = xs[j / f0];
    }
}

/* Rows of the [W r, H r, T, C] side (the "big" one): channel c, frame t, row yh = h r + rh.
 * Unshuffle reads them and writes the [W, H, T, C r r] side; shuffle the reverse. */
static void shuffle_rows(const duet_op *op, int64_t begin, int64_t end) {
    int unshuffle = op->kind == DUET_OP_PIXEL_UNSHUFFLE;
    const duet_tensor *big = unshuffle ? op->src[0] : op->dst;
    const duet_tensor *small = unshuffle ? op->dst : op->src[0];
    int64_t r = op->i[0], W = small->ne[0];
    for (int64_t row = begin; row < end; row++) {
        int64_t i[5];
        unravel(big, row, i);
        int64_t h = i[1] / r, rh = i[1] % r, t = i[2], c = i[3];
        float *bp = duet_cpu_at(big, 0, i[1], t, c, 0);
        for (int64_t rw = 0; rw < r; rw++) {
            float *sp = duet_cpu_at(small, 0, h, t, (c * r + rw) * r + rh, 0);
            if (unshuffle)
                for (int64_t w = 0; w < W; w++) sp[w] = bp[w * r + rw];
            else
                for (int64_t w = 0; w < W; w++) bp[w * r + rw] = sp[w];
        }
    }
}

static void snake_rows(const duet_op *op, int64_t begin, int64_t end) {
    const duet_tensor *x = op->src[0];
    const float *al = duet_cpu_at(op->src[1], 0, 0, 0, 0, 0);
    const float *be = duet_cpu_at(op->src[2], 0, 0, 0, 0, 0);
    for (int64_t r = begin; r < end; r++) {
        int64_t i[5];
        unravel(x, r, i);
        float a = al[i[1]], b = be[i[1]];
        if (op->i[0]) {
            a = expf(a);
            b = expf(b);
        }
        float inv = 1.0f / (b + 1e-9f);
        const float *xs = duet_cpu_at(x, 0, i[1], i[2], i[3], i[4]);
        float *y = duet_cpu_at(op->dst, 0, i[1], i[2], i[3], i[4]);
        for (int64_t j = 0; j < x->ne[0]; j++) {
            float s = sinf(a * xs[j]);
            y[j] = xs[j] + inv * s * s;
        }
    }
}

static void get_rows(const duet_op *op, int64_t begin, int64_t end) {
    const duet_tensor *table = op->src[0];
    const int32_t *ids = duet_cpu_at(op->src[1], 0, 0, 0, 0, 0);
    int64_t D = table->ne[0], V = table->ne[1];
    float *y = duet_cpu_at(op->dst, 0, 0, 0, 0, 0);
    for (int64_t n = begin; n < end; n++) {
        int32_t id = ids[n];
        if (id < 0 || id >= V)
            memset(y + n * D, 0, (size_t)D * sizeof(float));
        else
            duet_convert(y + n * D, DUET_F32, duet_cpu_at(table, 0, id, 0, 0, 0), table->dtype,
                         (size_t)D);
    }
}

static void layout_fn(void *ctx, int64_t begin, int64_t end) {
    const duet_op *op = ctx;
    switch (op->kind) {
    case DUET_OP_UPSAMPLE_NEAREST: upsample_rows(op, begin, end); break;
    case DUET_OP_PIXEL_UNSHUFFLE:
    case DUET_OP_PIXEL_SHUFFLE: shuffle_rows(op, begin, end); break;
    case DUET_OP_SNAKE_BETA: snake_rows(op, begin, end); break;
    case DUET_OP_GET_ROWS: get_rows(op, begin, end); break;
    default: break;
    }
}

static int64_t n_rows(const duet_tensor *t) { return t->ne[1] * t->ne[2] * t->ne[3] * t->ne[4]; }

duet_status duet_cpu_layout(duet_cpu_ctx *c, const duet_op *op) {
    int64_t n, row;
    switch (op->kind) {
    case DUET_OP_PIXEL_UNSHUFFLE: n = n_rows(op->src[0]), row = op->src[0]->ne[0]; break;
    case DUET_OP_PIXEL_SHUFFLE: n = n_rows(op->dst), row = op->dst->ne[0]; break;
    case DUET_OP_GET_ROWS: n = op->dst->ne[1], row = op->dst->ne[0]; break;
    case DUET_OP_UPSAMPLE_NEAREST:
    case DUET_OP_SNAKE_BETA: n = n_rows(op->dst), row = op->dst->ne[0]; break;
    default: return DUET_ERR_UNSUPPORTED;
    }
    duet_parallel_for(c->pool, n, 1 + 16384 / (row + 1), layout_fn, (void *)op);
    return DUET_OK;
}
