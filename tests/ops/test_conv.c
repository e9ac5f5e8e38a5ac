/* duet — convolutions (CONV1D, CONV_TRANSPOSE1D, CONV2D, CONV3D): the CPU backend against naive
 * double-precision loops written straight from PyTorch's definitions, every other backend
 * against the CPU. Odd sizes, strides, dilation, asymmetric 2-D pads (Wan's (0, 1, 0, 1)
 * downsample), kernel = stride patch embedding, a temporal stride-2 causal conv, 1x1 kernels,
 * f16/bf16 weights, and the causal cache: with the previous chunk's last frames as cache, two
 * chunks reproduce one run over the concatenated sequence.
 * Tolerances (NMSE): CPU vs naive 1e-10 (the naive loops use the same rounded weights); other
 * backends vs CPU 1e-8 for f32 weights, 1e-6 f16, 1e-5 bf16 (room for a GPU to round the
 * activations to the weight type inside the product). */
#include "op_test.h"

typedef struct {
    duet_op_kind kind;
    int64_t in[3];  /* W (L), H, T */
    int64_t cin, cout, batch;
    int64_t k[3];   /* kw (K), kh, kt */
    int stride[3];
    int pad[4];     /* 1d: {pad}; 2d: {left, right, top, bottom}; 3d: {pad_w, pad_h, pad_t_front} */
    int extra;      /* conv1d: dilation; conv_transpose1d: output_padding; conv3d: cache frames */
    duet_dtype wt;
    bool bias;
} conv_case;

/* Output W, H, T (ops.h formulas). */
static void out_size(const conv_case *c, int64_t o[3]) {
    o[1] = o[2] = 1;
    switch (c->kind) {
    case DUET_OP_CONV1D:
        o[0] = (c->in[0] + 2 * c->pad[0] - c->extra * (c->k[0] - 1) - 1) / c->stride[0] + 1;
        break;
    case DUET_OP_CONV_TRANSPOSE1D:
        o[0] = (c->in[0] - 1) * c->stride[0] - 2 * c->pad[0] + c->k[0] + c->extra;
        break;
    case DUET_OP_CONV2D:
        o[0] = (c->in[0] + c->pad[0] + c->pad[1] - c->k[0]) / c->stride[0] + 1;
        o[1] = (c->in[1] + c->pad[2] + c->pad[3] - c->k[1]) / c->stride[1] + 1;
        break;
    default: {
        int64_t front = c->extra ? c->extra : c->pad[2];
        o[0] = (c->in[0] + 2 * c->pad[0] - c->k[0]) / c->stride[0] + 1;
        o[1] = (c->in[1] + 2 * c->pad[1] - c->k[1]) / c->stride[1] + 1;
        o[2] = (c->in[2] + front - c->k[2]) / c->stride[2] + 1;
        break;
    }
    }
}

/* Input value at (ix, iy, it) of channel ci, batch b; zero outside; in conv3d, frames before 0
 * come from the cache (its last frame is frame -1) when there is one. */
static double xin(const conv_case *c, const float *x, const float *cache, int64_t ix, int64_t iy,
                  int64_t it, int64_t ci, int64_t b) {
    int64_t W = c->in[0], H = c->in[1], T = c->in[2];
    if (ix < 0 || ix >= W || iy < 0 || iy >= H || it >= T) return 0.0;
    if (it < 0) {
        int64_t tc = c->extra + it;
        if (c->kind != DUET_OP_CONV3D || !c->extra || tc < 0) return 0.0;
        return cache[ix + W * (iy + H * (tc + c->extra * ci))];
    }
    return x[ix + W * (iy + H * (it + T * (ci + c->cin * b)))];
}

/* Weight index for (kx, ky, kz, ci, co) in the op's layout. */
static size_t widx(const conv_case *c, int64_t kx, int64_t ky, int64_t kz, int64_t ci, int64_t co) {
    if (c->kind == DUET_OP_CONV_TRANSPOSE1D) return (size_t)(kx + c->k[0] * (co + c->cout * ci));
    return (size_t)(kx + c->k[0] * (ky + c->k[1] * (kz + c->k[2] * (ci + c->cin * co))));
}

static double transposed_at(const conv_case *c, const float *x, const float *w, int64_t o,
                            int64_t co, int64_t b) {
    double acc = 0;
    for (int64_t ci = 0; ci < c->cin; ci++)
        for (int64_t k = 0; k < c->k[0]; k++) {
            int64_t num = o + c->pad[0] - k; /* = l stride */
            if (num < 0 || num % c->stride[0] || num / c->stride[0] >= c->in[0]) continue;
            acc += (double)w[widx(c, k, 0, 0, ci, co)] * x[num / c->stride[0] + c->in[0] * (ci + c->cin * b)];
        }
    return acc;
}

static void naive(const conv_case *c, const float *x, const float *w, const float *bias,
                  const float *cache, float *out) {
    int64_t o[3];
    out_size(c, o);
    int64_t lo[3] = {c->pad[0], c->kind == DUET_OP_CONV2D ? c->pad[2] : c->pad[1],
                     c->kind == DUET_OP_CONV3D ? (c->extra ? c->extra : c->pad[2]) : 0};
    int64_t dil = c->kind == DUET_OP_CONV1D ? c->extra : 1;
    size_t i = 0;
    for (int64_t b = 0; b < c->batch; b++)
        for (int64_t co = 0; co < c->cout; co++)
            for (int64_t oz = 0; oz < o[2]; oz++)
                for (int64_t oy = 0; oy < o[1]; oy++)
                    for (int64_t ox = 0; ox < o[0]; ox++, i++) {
                        double acc = c->bias ? bias[co] : 0.0;
                        if (c->kind == DUET_OP_CONV_TRANSPOSE1D) {
                            out[i] = (float)(acc + transposed_at(c, x, w, ox, co, b));
                            continue;
                        }
                        for (int64_t ci = 0; ci < c->cin; ci++)
                            for (int64_t kz = 0; kz < c->k[2]; kz++)
                                for (int64_t ky = 0; ky < c->k[1]; ky++)
                                    for (int64_t kx = 0; kx < c->k[0]; kx++)
                                        acc += (double)w[widx(c, kx, ky, kz, ci, co)] *
                                               xin(c, x, cache, ox * c->stride[0] - lo[0] + kx * dil,
                                                   oy * c->stride[1] - lo[1] + ky,
                                                   oz * c->stride[2] - lo[2] + kz, ci, b);
                        out[i] = (float)acc;
                    }
}

static size_t x_count(const conv_case *c) {
    return (size_t)(c->in[0] * c->in[1] * c->in[2] * c->cin * c->batch);
}

static size_t out_count(const conv_case *c) {
    int64_t o[3];
    out_size(c, o);
    return (size_t)(o[0] * o[1] * o[2] * c->cout * c->batch);
}

static duet_status call(const conv_case *c, duet_tensor *d, duet_tensor *x, duet_tensor *w,
                        duet_tensor *b, duet_tensor *cache) {
    switch (c->kind) {
    case DUET_OP_CONV1D: return duet_conv1d(d, x, w, b, c->stride[0], c->pad[0], c->extra);
    case DUET_OP_CONV_TRANSPOSE1D:
        return duet_conv_transpose1d(d, x, w, b, c->stride[0], c->pad[0], c->extra);
    case DUET_OP_CONV2D: return duet_conv2d(d, x, w, b, c->stride[0], c->stride[1], c->pad);
    default: return duet_conv3d(d, x, w, b, cache, c->stride, c->pad[0], c->pad[1], c->pad[2]);
    }
}

/* Tensor shapes of a case: x, w and dst, with their dim counts. */
static void shapes(const conv_case *c, int64_t xne[5], int64_t wne[5], int64_t dne[5], int *nd,
                   int *wnd) {
    int64_t o[3];
    out_size(c, o);
    int64_t L = c->in[0], K = c->k[0];
    switch (c->kind) {
    case DUET_OP_CONV1D:
    case DUET_OP_CONV_TRANSPOSE1D: {
        bool t = c->kind == DUET_OP_CONV_TRANSPOSE1D;
        int64_t x[3] = {L, c->cin, c->batch}, d[3] = {o[0], c->cout, c->batch};
        int64_t w[3] = {K, t ? c->cout : c->cin, t ? c->cin : c->cout};
        memcpy(xne, x, sizeof x), memcpy(wne, w, sizeof w), memcpy(dne, d, sizeof d);
        *nd = *wnd = 3;
        break;
    }
    case DUET_OP_CONV2D: {
        int64_t x[4] = {L, c->in[1], c->cin, c->batch}, d[4] = {o[0], o[1], c->cout, c->batch};
        int64_t w[4] = {K, c->k[1], c->cin, c->cout};
        memcpy(xne, x, sizeof x), memcpy(wne, w, sizeof w), memcpy(dne, d, sizeof d);
        *nd = *wnd = 4;
        break;
    }
    default: {
        int64_t x[4] = {L, c->in[1], c->in[2], c->cin}, d[4] = {o[0], o[1], o[2], c->cout};
        int64_t w[5] = {K, c->k[1], c->k[2], c->cin, c->cout};
        memcpy(xne, x, sizeof x), memcpy(wne, w, sizeof w), memcpy(dne, d, sizeof d);
        *nd = 4;
        *wnd = 5;
        break;
    }
    }
}

static float *run(duet_backend *be, const conv_case *c, const float *x, const float *w,
                  const float *bias, const float *cache) {
    duet_arena *ar = duet_arena_new(0);
    int64_t xne[5], wne[5], dne[5], bne[1] = {c->cout};
    int nd, wnd;
    shapes(c, xne, wne, dne, &nd, &wnd);
    duet_tensor *xt = duet_test_tensor(ar, be, DUET_F32, nd, xne, x, "x");
    duet_tensor *wt = duet_test_tensor(ar, be, c->wt, wnd, wne, w, "w");
    duet_tensor *bt = c->bias ? duet_test_tensor(ar, be, DUET_F32, 1, bne, bias, "bias") : NULL;
    duet_tensor *ct = NULL;
    if (c->kind == DUET_OP_CONV3D && c->extra) {
        int64_t cne[4] = {c->in[0], c->in[1], c->extra, c->cin};
        ct = duet_test_tensor(ar, be, DUET_F32, 4, cne, cache, "cache");
    }
    duet_tensor *d = duet_test_tensor(ar, be, DUET_F32, nd, dne, NULL, "out");
    T_CHECK_OK(call(c, d, xt, wt, bt, ct));
    float *out = op_download(d);
    duet_arena_free(&ar);
    return out;
}

static double tol_cpu(duet_dtype t) { return t == DUET_F32 ? 1e-8 : t == DUET_F16 ? 1e-6 : 1e-5; }

/* One case on every backend; returns the CPU result (caller frees). */
static float *check_case(duet_backend **bes, int nb, const conv_case *c, const char *what,
                         const float *x, const float *w, const float *bias, const float *cache) {
    size_t n = out_count(c);
    float *want = malloc(n * sizeof *want), *cpu = NULL;
    naive(c, x, w, bias, cache, want);
    for (int b = 0; b < nb; b++)
        cpu = op_check(what, bes, b, run(bes[b], c, x, w, bias, cache), want, cpu, n, 1e-10,
                       tol_cpu(c->wt));
    free(want);
    return cpu;
}

/* Two chunks with the cache must equal one pass over all frames (causal conv, stride 1). */
static void check_chunks(duet_backend **bes, int nb) {
    const int64_t T1 = 4, T2 = 3;
    conv_case full = {DUET_OP_CONV3D, {7, 5, T1 + T2}, 3, 4, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 2, 0}, 0, DUET_F16, true};
    conv_case c1 = full, c2 = full;
    c1.in[2] = T1;
    c2.in[2] = T2;
    c2.extra = 2; /* cache: the last 2 frames of chunk 1 */
    size_t wn = (size_t)(27 * 3 * 4), plane = (size_t)(7 * 5);
    float *x = duet_test_rand(x_count(&full), 77, -1, 1), *w = duet_test_rand(wn, 78, -1, 1);
    float *bias = duet_test_rand(4, 79, -1, 1);
    op_round(w, wn, full.wt);
    /* x is [W, H, T, C]: chunk frames are strided per channel */
    float *x1 = malloc(x_count(&c1) * sizeof *x1), *x2 = malloc(x_count(&c2) * sizeof *x2);
    float *cache = malloc(plane * 2 * 3 * sizeof *cache);
    for (int64_t ci = 0; ci < 3; ci++) {
        memcpy(x1 + ci * T1 * plane, x + ci * (T1 + T2) * plane, T1 * plane * sizeof *x);
        memcpy(x2 + ci * T2 * plane, x + (ci * (T1 + T2) + T1) * plane, T2 * plane * sizeof *x);
        memcpy(cache + ci * 2 * plane, x + (ci * (T1 + T2) + T1 - 2) * plane, 2 * plane * sizeof *x);
    }
    float *yf = check_case(bes, nb, &full, "conv3d chunking: full sequence", x, w, bias, NULL);
    float *y1 = check_case(bes, nb, &c1, "conv3d chunking: chunk 1", x1, w, bias, NULL);
    float *y2 = check_case(bes, nb, &c2, "conv3d chunking: chunk 2 with cache", x2, w, bias, cache);
    size_t oplane = plane; /* pads keep W, H */
    float *cat = malloc(out_count(&full) * sizeof *cat);
    for (int64_t co = 0; co < 4; co++) {
        memcpy(cat + co * (T1 + T2) * oplane, y1 + co * T1 * oplane, T1 * oplane * sizeof *cat);
        memcpy(cat + (co * (T1 + T2) + T1) * oplane, y2 + co * T2 * oplane, T2 * oplane * sizeof *cat);
    }
    if (yf && y1 && y2) duet_test_close("conv3d chunk 1 ++ chunk 2 vs full", cat, yf, out_count(&full), 1e-10);
    free(cat);
    free(yf);
    free(y1);
    free(y2);
    free(cache);
    free(x1);
    free(x2);
    free(x);
    free(w);
    free(bias);
}

int main(void) {
    const conv_case cases[] = {
        {DUET_OP_CONV1D, {33, 1, 1}, 3, 5, 2, {7, 1, 1}, {1, 1, 1}, {3}, 1, DUET_F32, true},
        {DUET_OP_CONV1D, {65, 1, 1}, 4, 6, 1, {3, 1, 1}, {2, 1, 1}, {1}, 3, DUET_F16, true},
        {DUET_OP_CONV1D, {17, 1, 1}, 8, 3, 2, {1, 1, 1}, {1, 1, 1}, {0}, 1, DUET_F32, false},
        {DUET_OP_CONV1D, {130, 1, 1}, 1, 2, 1, {5, 1, 1}, {3, 1, 1}, {0}, 2, DUET_BF16, false},
        {DUET_OP_CONV1D, {1, 1, 1}, 2, 3, 1, {3, 1, 1}, {1, 1, 1}, {1}, 1, DUET_F32, true},
        {DUET_OP_CONV_TRANSPOSE1D, {17, 1, 1}, 4, 3, 2, {8, 1, 1}, {4, 1, 1}, {2}, 0, DUET_F32, true},
        {DUET_OP_CONV_TRANSPOSE1D, {9, 1, 1}, 5, 2, 1, {3, 1, 1}, {2, 1, 1}, {1}, 1, DUET_F16, false},
        {DUET_OP_CONV_TRANSPOSE1D, {5, 1, 1}, 3, 2, 1, {2, 1, 1}, {3, 1, 1}, {0}, 0, DUET_F32, false},
        {DUET_OP_CONV_TRANSPOSE1D, {33, 1, 1}, 6, 4, 1, {4, 1, 1}, {2, 1, 1}, {1}, 0, DUET_BF16, true},
        {DUET_OP_CONV2D, {17, 9, 1}, 3, 4, 2, {3, 3, 1}, {1, 1, 1}, {1, 1, 1, 1}, 0, DUET_F32, true},
        {DUET_OP_CONV2D, {13, 7, 1}, 4, 5, 1, {3, 3, 1}, {2, 2, 1}, {0, 1, 0, 1}, 0, DUET_F16, false},
        {DUET_OP_CONV2D, {9, 5, 1}, 2, 3, 1, {1, 3, 1}, {1, 1, 1}, {0, 0, 1, 1}, 0, DUET_BF16, true},
        {DUET_OP_CONV2D, {6, 4, 1}, 5, 2, 1, {1, 1, 1}, {1, 1, 1}, {0, 0, 0, 0}, 0, DUET_F32, false},
        {DUET_OP_CONV2D, {1, 1, 1}, 3, 2, 1, {3, 3, 1}, {1, 2, 1}, {1, 1, 1, 1}, 0, DUET_F32, true},
        {DUET_OP_CONV3D, {9, 7, 5}, 3, 4, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 2}, 0, DUET_F32, true},
        {DUET_OP_CONV3D, {10, 6, 3}, 4, 5, 1, {2, 2, 1}, {2, 2, 1}, {0, 0, 0}, 0, DUET_F16, true},
        {DUET_OP_CONV3D, {5, 4, 7}, 3, 2, 1, {1, 1, 3}, {1, 1, 2}, {0, 0, 0}, 0, DUET_BF16, false},
        {DUET_OP_CONV3D, {5, 3, 2}, 6, 4, 1, {1, 1, 1}, {1, 1, 1}, {0, 0, 0}, 0, DUET_F32, false},
        /* large enough that the CPU unfolds in tiles (32 MiB: 9709 of 10890 positions, so
         * the second tile starts inside an output row; 11915 of 20000 for the conv1d) */
        {DUET_OP_CONV3D, {33, 33, 10}, 32, 2, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 2}, 0, DUET_F32, true},
        {DUET_OP_CONV1D, {20000, 1, 1}, 64, 2, 1, {11, 1, 1}, {1, 1, 1}, {15}, 3, DUET_F32, false},
        /* transposed convs whose product (W^T x) the CPU splits across threads: by columns
         * (positions), and by rows (Cout K) */
        {DUET_OP_CONV_TRANSPOSE1D, {600, 1, 1}, 64, 32, 1, {8, 1, 1}, {4, 1, 1}, {2}, 0, DUET_F32, true},
        {DUET_OP_CONV_TRANSPOSE1D, {100, 1, 1}, 64, 128, 1, {16, 1, 1}, {8, 1, 1}, {4}, 0, DUET_F16, false},
        /* with a cache, pad_t_front (1 here) is ignored: the cache's frames go in front */
        {DUET_OP_CONV3D, {7, 5, 3}, 3, 4, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 1}, 2, DUET_F16, true},
        {DUET_OP_CONV3D, {4, 4, 4}, 2, 3, 1, {3, 3, 3}, {1, 1, 1}, {1, 1, 0}, 1, DUET_F32, false},
    };
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const conv_case *c = &cases[ci];
        size_t wn = (size_t)(c->k[0] * c->k[1] * c->k[2] * c->cin * c->cout);
        size_t cn = (size_t)(c->in[0] * c->in[1] * (c->extra ? c->extra : 1) * c->cin);
        float *x = duet_test_rand(x_count(c), 1 + ci, -1, 1), *w = duet_test_rand(wn, 100 + ci, -1, 1);
        float *bias = duet_test_rand((size_t)c->cout, 200 + ci, -1, 1);
        float *cache = duet_test_rand(cn, 300 + ci, -1, 1);
        op_round(w, wn, c->wt);
        char what[160];
        snprintf(what, sizeof what, "%s case %zu in [%lld %lld %lld] cin %lld cout %lld k [%lld %lld %lld] %s%s",
                 duet_op_name(c->kind), ci, (long long)c->in[0], (long long)c->in[1],
                 (long long)c->in[2], (long long)c->cin, (long long)c->cout, (long long)c->k[0],
                 (long long)c->k[1], (long long)c->k[2], duet_dtype_name(c->wt),
                 c->kind == DUET_OP_CONV3D && c->extra ? " cache" : "");
        free(check_case(bes, nb, c, what, x, w, bias, cache));
        free(x);
        free(w);
        free(bias);
        free(cache);
    }
    check_chunks(bes, nb);
    return duet_test_end(bes, nb);
}
