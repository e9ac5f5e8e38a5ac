/* duet — op validation and dispatch: the one place every op passes through. Each public op
 * checks shapes, dtypes and strides, logs what is wrong with the tensors' names and shapes,
 * and hands a duet_op to the backend that owns the destination. */
#include "ops.h"

#include <stdio.h>
#include <string.h>

#include "arena.h"
#include "backend.h"
#include "log.h"

const char *duet_op_name(duet_op_kind k) {
    static const char *const names[DUET_OP_COUNT] = {
        "copy",      "matmul",   "add",     "mul",          "affine",           "scale",
        "modulate",  "gated_add", "layernorm", "rmsnorm",   "unary",            "swiglu",
        "softmax",   "rope",     "attention", "conv1d",     "conv_transpose1d", "conv2d",
        "conv3d",    "upsample_nearest", "pixel_unshuffle", "pixel_shuffle", "snake_beta",
        "get_rows",
    };
    return (unsigned)k < DUET_OP_COUNT ? names[k] : "?";
}

static const char *tname(const duet_tensor *t) { return t->name[0] ? t->name : "(unnamed)"; }

/* Log "op: msg (dst [..], src0 name [..], ...)" and return INVALID_ARG. */
static duet_status bad(const duet_op *op, const char *msg) {
    char line[768], s[96];
    size_t n = (size_t)snprintf(line, sizeof line, "%s: %s (dst %s %s", duet_op_name(op->kind),
                                msg, tname(op->dst), duet_shape_str(op->dst, s, sizeof s));
    for (int i = 0; i < DUET_OP_MAX_SRC && n < sizeof line; i++)
        if (op->src[i])
            n += (size_t)snprintf(line + n, sizeof line - n, ", src%d %s %s %s", i,
                                  tname(op->src[i]), duet_dtype_name(op->src[i]->dtype),
                                  duet_shape_str(op->src[i], s, sizeof s));
    DUET_LOGE("%s)", line);
    return DUET_ERR_INVALID_ARG;
}

static bool is_float(const duet_tensor *t) {
    return t->dtype == DUET_F32 || t->dtype == DUET_F16 || t->dtype == DUET_BF16;
}

static bool rows_ok(const duet_tensor *t) { return t->nb[0] == duet_dtype_size(t->dtype); }

/* b broadcasts onto a: each dim equal or 1. */
static bool broadcasts(const duet_tensor *b, const duet_tensor *a) {
    for (int i = 0; i < DUET_MAX_DIMS; i++)
        if (b->ne[i] != a->ne[i] && b->ne[i] != 1) return false;
    return true;
}

static duet_status dispatch(const duet_op *op) {
    duet_tensor *d = op->dst;
    if (!d || !d->buf) return DUET_ERR_INVALID_ARG;
    duet_backend *be = d->buf->backend;
    for (int i = 0; i < DUET_OP_MAX_SRC; i++) {
        const duet_tensor *s = op->src[i];
        if (s && (!s->buf || s->buf->backend != be))
            return bad(op, "operands live on different backends");
        if (s && s->buf && s->offset + duet_span_bytes(s) > s->buf->nbytes)
            return bad(op, "operand view exceeds its buffer");
    }
    if (d->offset + duet_span_bytes(d) > d->buf->nbytes) return bad(op, "dst exceeds its buffer");
    if (op->kind != DUET_OP_COPY && (d->dtype != DUET_F32 || !duet_is_contiguous(d)))
        return bad(op, "dst must be contiguous f32");
    duet_status st = be->vt->run_op(be, op);
    if (st == DUET_ERR_UNSUPPORTED)
        DUET_LOGE("%s: %s is not supported by backend %s", duet_op_name(op->kind),
                  duet_dtype_name(op->src[0] ? op->src[0]->dtype : d->dtype), be->name);
    return st;
}

static duet_op make(duet_op_kind k, duet_tensor *dst, const duet_tensor *a, const duet_tensor *b,
                    const duet_tensor *c) {
    duet_op op;
    memset(&op, 0, sizeof op);
    op.kind = k;
    op.dst = dst;
    op.src[0] = a;
    op.src[1] = b;
    op.src[2] = c;
    return op;
}

#define CHECK(cond, msg) do { if (!(cond)) return bad(&op, msg); } while (0)
#define CHECK_ARGS(...) do { if (!dst || !(__VA_ARGS__)) { DUET_LOGE("%s: NULL tensor", __func__); return DUET_ERR_INVALID_ARG; } } while (0)

duet_status duet_copy(duet_tensor *dst, const duet_tensor *src) {
    CHECK_ARGS(src);
    duet_op op = make(DUET_OP_COPY, dst, src, NULL, NULL);
    CHECK(duet_same_shape(dst, src), "shapes differ");
    CHECK((dst->dtype == DUET_I32) == (src->dtype == DUET_I32), "cannot convert between i32 and floats");
    return dispatch(&op);
}

duet_status duet_concat(duet_arena *scratch, duet_tensor *dst, const duet_tensor *a,
                        const duet_tensor *b, int dim) {
    CHECK_ARGS(scratch && a && b);
    duet_op op = make(DUET_OP_COPY, dst, a, b, NULL);
    CHECK(dim >= 0 && dim < DUET_MAX_DIMS, "dim out of range");
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        if (i == dim) CHECK(a->ne[i] + b->ne[i] == dst->ne[i], "sizes along dim do not add up");
        else CHECK(a->ne[i] == dst->ne[i] && b->ne[i] == dst->ne[i], "other dims differ");
    }
    duet_tensor *va = duet_slice(scratch, dst, dim, 0, a->ne[dim]);
    duet_tensor *vb = duet_slice(scratch, dst, dim, a->ne[dim], b->ne[dim]);
    if (!va || !vb) return DUET_ERR_OUT_OF_MEMORY;
    duet_status st = duet_copy(va, a);
    return st != DUET_OK ? st : duet_copy(vb, b);
}

duet_status duet_matmul(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, bool w_transposed) {
    CHECK_ARGS(x && w);
    duet_op op = make(DUET_OP_MATMUL, dst, x, w, bias);
    op.i[0] = w_transposed;
    int64_t K = x->ne[0], M = x->ne[1];
    int64_t wk = w_transposed ? w->ne[1] : w->ne[0], N = w_transposed ? w->ne[0] : w->ne[1];
    CHECK(x->dtype == DUET_F32 && is_float(w), "x must be f32 and w f32/f16/bf16");
    CHECK(wk == K, "inner dimensions differ");
    CHECK(dst->ne[0] == N && dst->ne[1] == M, "dst must be [N, M, ...]");
    CHECK(rows_ok(x) && rows_ok(w), "operands need contiguous rows");
    for (int i = 2; i < DUET_MAX_DIMS; i++) {
        CHECK(dst->ne[i] == x->ne[i], "batch dims of dst and x differ");
        CHECK(w->ne[i] == x->ne[i] || w->ne[i] == 1, "batch dims of w must equal x's or be 1");
    }
    if (bias) CHECK(bias->dtype == DUET_F32 && duet_nelements(bias) == N && duet_is_contiguous(bias), "bias must be contiguous f32 [N]");
    return dispatch(&op);
}

static duet_status binary(duet_op_kind k, duet_tensor *dst, const duet_tensor *a,
                          const duet_tensor *b, const duet_tensor *c) {
    duet_op op = make(k, dst, a, b, c);
    CHECK(duet_same_shape(dst, a), "dst and src0 shapes differ");
    for (int i = 0; i < 3; i++)
        if (op.src[i]) CHECK(op.src[i]->dtype == DUET_F32, "operands must be f32");
    for (int i = 1; i < 3; i++)
        if (op.src[i]) CHECK(broadcasts(op.src[i], a), "operand does not broadcast onto src0");
    return dispatch(&op);
}

duet_status duet_add(duet_tensor *dst, const duet_tensor *a, const duet_tensor *b) {
    CHECK_ARGS(a && b);
    return binary(DUET_OP_ADD, dst, a, b, NULL);
}

duet_status duet_mul(duet_tensor *dst, const duet_tensor *a, const duet_tensor *b) {
    CHECK_ARGS(a && b);
    return binary(DUET_OP_MUL, dst, a, b, NULL);
}

duet_status duet_affine(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *b) {
    CHECK_ARGS(x);
    return binary(DUET_OP_AFFINE, dst, x, w, b);
}

duet_status duet_scale(duet_tensor *dst, const duet_tensor *x, float scale, float bias) {
    CHECK_ARGS(x);
    duet_op op = make(DUET_OP_SCALE, dst, x, NULL, NULL);
    op.f[0] = scale;
    op.f[1] = bias;
    CHECK(duet_same_shape(dst, x) && x->dtype == DUET_F32, "needs f32 of dst's shape");
    return dispatch(&op);
}

duet_status duet_modulate(duet_tensor *dst, const duet_tensor *x, const duet_tensor *scale,
                          const duet_tensor *shift) {
    CHECK_ARGS(x && scale && shift);
    return binary(DUET_OP_MODULATE, dst, x, scale, shift);
}

duet_status duet_gated_add(duet_tensor *dst, const duet_tensor *x, const duet_tensor *y,
                           const duet_tensor *gate) {
    CHECK_ARGS(x && y && gate);
    duet_op op = make(DUET_OP_GATED_ADD, dst, x, y, gate);
    CHECK(duet_same_shape(x, y), "x and y shapes differ");
    return binary(DUET_OP_GATED_ADD, dst, x, y, gate);
}

static duet_status rowwise(duet_op *op) {
    const duet_tensor *x = op->src[0];
    if (!duet_same_shape(op->dst, x) || x->dtype != DUET_F32 || !rows_ok(x))
        return bad(op, "needs f32 src0 with contiguous rows, shaped like dst");
    for (int i = 1; i < 3; i++) {
        const duet_tensor *p = op->src[i];
        if (p && (p->dtype != DUET_F32 || !duet_is_contiguous(p) || duet_nelements(p) != x->ne[0]))
            return bad(op, "weight/bias must be contiguous f32 [ne0]");
    }
    return dispatch(op);
}

duet_status duet_layernorm(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                           const duet_tensor *b, float eps) {
    CHECK_ARGS(x);
    duet_op op = make(DUET_OP_LAYERNORM, dst, x, w, b);
    op.f[0] = eps;
    return rowwise(&op);
}

duet_status duet_rmsnorm(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                         float eps) {
    CHECK_ARGS(x);
    duet_op op = make(DUET_OP_RMSNORM, dst, x, w, NULL);
    op.f[0] = eps;
    return rowwise(&op);
}

duet_status duet_softmax(duet_tensor *dst, const duet_tensor *x, float scale) {
    CHECK_ARGS(x);
    duet_op op = make(DUET_OP_SOFTMAX, dst, x, NULL, NULL);
    op.f[0] = scale;
    return rowwise(&op);
}

duet_status duet_unary(duet_tensor *dst, const duet_tensor *x, duet_unary_fn fn) {
    CHECK_ARGS(x);
    duet_op op = make(DUET_OP_UNARY, dst, x, NULL, NULL);
    op.i[0] = (int32_t)fn;
    CHECK((unsigned)fn < DUET_UNARY_FN_COUNT, "unknown unary function");
    CHECK(duet_same_shape(dst, x) && x->dtype == DUET_F32, "needs f32 of dst's shape");
    return dispatch(&op);
}

duet_status duet_swiglu(duet_tensor *dst, const duet_tensor *gate, const duet_tensor *up) {
    CHECK_ARGS(gate && up);
    duet_op op = make(DUET_OP_SWIGLU, dst, gate, up, NULL);
    CHECK(duet_same_shape(gate, up), "gate and up shapes differ");
    return binary(DUET_OP_SWIGLU, dst, gate, up, NULL);
}

duet_status duet_rope(duet_tensor *dst, const duet_tensor *x, const duet_tensor *table) {
    CHECK_ARGS(x && table);
    duet_op op = make(DUET_OP_ROPE, dst, x, table, NULL);
    CHECK(x->dtype == DUET_F32 && rows_ok(x) && duet_same_shape(dst, x), "x must be f32 with contiguous rows, shaped like dst");
    CHECK(x->ne[0] % 2 == 0, "head dim must be even");
    CHECK(table->dtype == DUET_F32 && duet_is_contiguous(table) && table->ne[0] == x->ne[0] &&
              table->ne[1] == x->ne[2] && duet_nelements(table) == x->ne[0] * x->ne[2],
          "table must be contiguous f32 [D, L]");
    return dispatch(&op);
}

duet_status duet_attention(duet_tensor *dst, const duet_tensor *q, const duet_tensor *k,
                           const duet_tensor *v, const duet_tensor *bias, float scale) {
    CHECK_ARGS(q && k && v);
    duet_op op = make(DUET_OP_ATTENTION, dst, q, k, v);
    op.src[3] = bias;
    op.f[0] = scale;
    CHECK(q->dtype == DUET_F32 && k->dtype == DUET_F32 && v->dtype == DUET_F32, "q, k, v must be f32");
    CHECK(rows_ok(q) && rows_ok(k) && rows_ok(v), "q, k, v need contiguous rows");
    CHECK(duet_same_shape(dst, q), "dst must be shaped like q");
    CHECK(duet_same_shape(k, v), "k and v shapes differ");
    CHECK(k->ne[0] == q->ne[0] && k->ne[1] == q->ne[1] && k->ne[3] == q->ne[3] && q->ne[4] == 1,
          "k must be [D, H, Lk, B] matching q [D, H, Lq, B]");
    if (bias)
        CHECK(bias->dtype == DUET_F32 && duet_is_contiguous(bias) && bias->ne[0] == k->ne[2] &&
                  bias->ne[1] == q->ne[2] && bias->ne[2] == q->ne[1] && bias->ne[3] == 1,
              "bias must be contiguous f32 [Lk, Lq, H]");
    return dispatch(&op);
}

static bool conv_operands_ok(const duet_op *op) {
    const duet_tensor *x = op->src[0], *w = op->src[1], *b = op->src[2];
    if (x->dtype != DUET_F32 || !duet_is_contiguous(x) || !is_float(w) || !duet_is_contiguous(w))
        return false;
    return !b || (b->dtype == DUET_F32 && duet_is_contiguous(b));
}

duet_status duet_conv1d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, int stride, int pad, int dilation) {
    CHECK_ARGS(x && w);
    duet_op op = make(DUET_OP_CONV1D, dst, x, w, bias);
    op.i[0] = stride;
    op.i[1] = pad;
    op.i[2] = dilation;
    CHECK(conv_operands_ok(&op), "x must be contiguous f32, w contiguous float, bias f32");
    CHECK(stride >= 1 && pad >= 0 && dilation >= 1, "stride, dilation >= 1 and pad >= 0");
    CHECK(w->ne[1] == x->ne[1] && x->ne[3] == 1, "w [K, Cin, Cout] must match x [L, Cin, B]");
    int64_t lout = (x->ne[0] + 2 * pad - (int64_t)dilation * (w->ne[0] - 1) - 1) / stride + 1;
    CHECK(lout >= 1 && dst->ne[0] == lout && dst->ne[1] == w->ne[2] && dst->ne[2] == x->ne[2],
          "dst must be [Lout, Cout, B]");
    if (bias) CHECK(duet_nelements(bias) == w->ne[2], "bias must be [Cout]");
    return dispatch(&op);
}

duet_status duet_conv_transpose1d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                                  const duet_tensor *bias, int stride, int pad,
                                  int output_padding) {
    CHECK_ARGS(x && w);
    duet_op op = make(DUET_OP_CONV_TRANSPOSE1D, dst, x, w, bias);
    op.i[0] = stride;
    op.i[1] = pad;
    op.i[2] = output_padding;
    CHECK(conv_operands_ok(&op), "x must be contiguous f32, w contiguous float, bias f32");
    CHECK(stride >= 1 && pad >= 0 && output_padding >= 0 && output_padding < stride,
          "stride >= 1, pad >= 0, 0 <= output_padding < stride");
    CHECK(w->ne[2] == x->ne[1] && x->ne[3] == 1, "w [K, Cout, Cin] must match x [L, Cin, B]");
    int64_t lout = (x->ne[0] - 1) * stride - 2 * pad + w->ne[0] + output_padding;
    CHECK(lout >= 1 && dst->ne[0] == lout && dst->ne[1] == w->ne[1] && dst->ne[2] == x->ne[2],
          "dst must be [Lout, Cout, B]");
    if (bias) CHECK(duet_nelements(bias) == w->ne[1], "bias must be [Cout]");
    return dispatch(&op);
}

duet_status duet_conv2d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, int stride_w, int stride_h, const int pad[4]) {
    CHECK_ARGS(x && w && pad);
    duet_op op = make(DUET_OP_CONV2D, dst, x, w, bias);
    op.i[0] = stride_w;
    op.i[1] = stride_h;
    for (int i = 0; i < 4; i++) op.i[2 + i] = pad[i];
    CHECK(conv_operands_ok(&op), "x must be contiguous f32, w contiguous float, bias f32");
    CHECK(stride_w >= 1 && stride_h >= 1 && pad[0] >= 0 && pad[1] >= 0 && pad[2] >= 0 && pad[3] >= 0,
          "strides >= 1 and pads >= 0");
    CHECK(w->ne[2] == x->ne[2] && x->ne[4] == 1, "w [kw, kh, Cin, Cout] must match x [W, H, Cin, B]");
    int64_t wo = (x->ne[0] + pad[0] + pad[1] - w->ne[0]) / stride_w + 1;
    int64_t ho = (x->ne[1] + pad[2] + pad[3] - w->ne[1]) / stride_h + 1;
    CHECK(wo >= 1 && ho >= 1 && dst->ne[0] == wo && dst->ne[1] == ho && dst->ne[2] == w->ne[3] &&
              dst->ne[3] == x->ne[3],
          "dst must be [Wo, Ho, Cout, B]");
    if (bias) CHECK(duet_nelements(bias) == w->ne[3], "bias must be [Cout]");
    return dispatch(&op);
}

duet_status duet_conv3d(duet_tensor *dst, const duet_tensor *x, const duet_tensor *w,
                        const duet_tensor *bias, const duet_tensor *cache, const int stride[3],
                        int pad_w, int pad_h, int pad_t_front) {
    CHECK_ARGS(x && w && stride);
    duet_op op = make(DUET_OP_CONV3D, dst, x, w, bias);
    op.src[3] = cache;
    for (int i = 0; i < 3; i++) op.i[i] = stride[i];
    op.i[3] = pad_w;
    op.i[4] = pad_h;
    op.i[5] = pad_t_front;
    CHECK(conv_operands_ok(&op), "x must be contiguous f32, w contiguous float, bias f32");
    CHECK(stride[0] >= 1 && stride[1] >= 1 && stride[2] >= 1 && pad_w >= 0 && pad_h >= 0 && pad_t_front >= 0,
          "strides >= 1 and pads >= 0");
    CHECK(w->ne[3] == x->ne[3] && x->ne[4] == 1, "w [kw, kh, kt, Cin, Cout] must match x [W, H, T, Cin]");
    int64_t front = pad_t_front;
    if (cache) {
        CHECK(cache->dtype == DUET_F32 && duet_is_contiguous(cache) && cache->ne[0] == x->ne[0] &&
                  cache->ne[1] == x->ne[1] && cache->ne[3] == x->ne[3],
              "cache must be contiguous f32 [W, H, Tc, Cin]");
        front = cache->ne[2];
    }
    int64_t wo = (x->ne[0] + 2 * pad_w - w->ne[0]) / stride[0] + 1;
    int64_t ho = (x->ne[1] + 2 * pad_h - w->ne[1]) / stride[1] + 1;
    int64_t to = (x->ne[2] + front - w->ne[2]) / stride[2] + 1;
    CHECK(wo >= 1 && ho >= 1 && to >= 1 && dst->ne[0] == wo && dst->ne[1] == ho &&
              dst->ne[2] == to && dst->ne[3] == w->ne[4],
          "dst must be [Wo, Ho, To, Cout]");
    if (bias) CHECK(duet_nelements(bias) == w->ne[4], "bias must be [Cout]");
    return dispatch(&op);
}

duet_status duet_upsample_nearest(duet_tensor *dst, const duet_tensor *x, const int factor[3]) {
    CHECK_ARGS(x && factor);
    duet_op op = make(DUET_OP_UPSAMPLE_NEAREST, dst, x, NULL, NULL);
    CHECK(x->dtype == DUET_F32 && duet_is_contiguous(x), "x must be contiguous f32");
    for (int i = 0; i < 3; i++) {
        op.i[i] = factor[i];
        CHECK(factor[i] >= 1 && dst->ne[i] == x->ne[i] * factor[i], "dst must be x scaled by factor");
    }
    CHECK(dst->ne[3] == x->ne[3] && dst->ne[4] == x->ne[4], "outer dims differ");
    return dispatch(&op);
}

static duet_status shuffle(duet_op_kind k, duet_tensor *dst, const duet_tensor *x, int r) {
    duet_op op = make(k, dst, x, NULL, NULL);
    op.i[0] = r;
    CHECK(x->dtype == DUET_F32 && duet_is_contiguous(x) && r >= 1 && x->ne[4] == 1, "x must be contiguous f32 4-D, r >= 1");
    const duet_tensor *big = k == DUET_OP_PIXEL_UNSHUFFLE ? x : dst;
    const duet_tensor *small = k == DUET_OP_PIXEL_UNSHUFFLE ? dst : x;
    CHECK(big->ne[0] == small->ne[0] * r && big->ne[1] == small->ne[1] * r &&
              big->ne[2] == small->ne[2] && small->ne[3] == big->ne[3] * r * r,
          "shapes must be [W r, H r, T, C] and [W, H, T, C r r]");
    return dispatch(&op);
}

duet_status duet_pixel_unshuffle(duet_tensor *dst, const duet_tensor *x, int r) {
    CHECK_ARGS(x);
    return shuffle(DUET_OP_PIXEL_UNSHUFFLE, dst, x, r);
}

duet_status duet_pixel_shuffle(duet_tensor *dst, const duet_tensor *x, int r) {
    CHECK_ARGS(x);
    return shuffle(DUET_OP_PIXEL_SHUFFLE, dst, x, r);
}

duet_status duet_snake_beta(duet_tensor *dst, const duet_tensor *x, const duet_tensor *alpha,
                            const duet_tensor *beta, bool log_scale) {
    CHECK_ARGS(x && alpha && beta);
    duet_op op = make(DUET_OP_SNAKE_BETA, dst, x, alpha, beta);
    op.i[0] = log_scale;
    CHECK(x->dtype == DUET_F32 && duet_is_contiguous(x) && duet_same_shape(dst, x), "x must be contiguous f32 shaped like dst");
    CHECK(alpha->dtype == DUET_F32 && beta->dtype == DUET_F32 && duet_is_contiguous(alpha) &&
              duet_is_contiguous(beta) && duet_nelements(alpha) == x->ne[1] &&
              duet_nelements(beta) == x->ne[1],
          "alpha and beta must be contiguous f32 [C]");
    return dispatch(&op);
}

duet_status duet_get_rows(duet_tensor *dst, const duet_tensor *table, const duet_tensor *ids) {
    CHECK_ARGS(table && ids);
    duet_op op = make(DUET_OP_GET_ROWS, dst, table, ids, NULL);
    CHECK(is_float(table) && duet_is_contiguous(table) && table->ne[2] == 1, "table must be contiguous float [D, V]");
    CHECK(ids->dtype == DUET_I32 && duet_is_contiguous(ids), "ids must be contiguous i32");
    CHECK(dst->ne[0] == table->ne[0] && dst->ne[1] == duet_nelements(ids), "dst must be [D, N]");
    return dispatch(&op);
}
