/* duet — CPU elementwise kernels: ADD, MUL, AFFINE, SCALE, MODULATE, GATED_ADD, UNARY
 * (GELU tanh/erf, SiLU, tanh, exp) and SWIGLU. These are the reference for every backend.
 * Sources may have any strides; the second and third operands broadcast where a dim is 1
 * (ops.h); dst is contiguous and may be src0 itself (in place: each element is read before
 * it is written, at the same index). The activation formulas are PyTorch's: GELU(approximate=
 * 'tanh') as used by Wan's FFN, exact GELU, SiLU x * sigmoid(x). */
#include <math.h>

#include "cpu_kernels.h"

/* One row of each operand: base pointer and the element stride along dim 0 (0 when the
 * operand broadcasts along it). */
typedef struct {
    const float *p;
    int64_t s;
} row_src;

static row_src row_of(const duet_tensor *t, const duet_tensor *d, const int64_t i[5]) {
    row_src r = {NULL, 0};
    if (!t) return r;
    int64_t j[5];
    for (int k = 1; k < 5; k++) j[k] = t->ne[k] == 1 ? 0 : i[k];
    r.p = duet_cpu_at(t, 0, j[1], j[2], j[3], j[4]);
    r.s = (t->ne[0] == 1 && d->ne[0] != 1) ? 0 : (int64_t)(t->nb[0] / sizeof(float));
    return r;
}

/* 0.5 x (1 + tanh(u)) written as x / (1 + exp(-2u)): the same function, and expf is several
 * times faster than tanhf. u = sqrt(2 / pi) (x + 0.044715 x^3). */
static float gelu_tanh(float x) {
    const float k2 = 2.0f * 0.7978845608028654f;
    return x / (1.0f + expf(-k2 * (x + 0.044715f * x * x * x)));
}

static float gelu_erf(float x) { return 0.5f * x * (1.0f + erff(x * 0.7071067811865476f)); }

static float silu(float x) { return x / (1.0f + expf(-x)); }

static void unary_row(float *y, row_src a, int64_t n, int fn) {
    switch (fn) {
    case DUET_UNARY_GELU_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = gelu_tanh(a.p[i * a.s]);
        break;
    case DUET_UNARY_GELU_ERF:
        for (int64_t i = 0; i < n; i++) y[i] = gelu_erf(a.p[i * a.s]);
        break;
    case DUET_UNARY_SILU:
        for (int64_t i = 0; i < n; i++) y[i] = silu(a.p[i * a.s]);
        break;
    case DUET_UNARY_TANH:
        for (int64_t i = 0; i < n; i++) y[i] = tanhf(a.p[i * a.s]);
        break;
    default: /* DUET_UNARY_EXP; ops.c rejects unknown functions */
        for (int64_t i = 0; i < n; i++) y[i] = expf(a.p[i * a.s]);
        break;
    }
}

static void op_row(const duet_op *op, float *y, row_src a, row_src b, row_src c, int64_t n) {
    switch (op->kind) {
    case DUET_OP_ADD:
        for (int64_t i = 0; i < n; i++) y[i] = a.p[i * a.s] + b.p[i * b.s];
        break;
    case DUET_OP_MUL:
        for (int64_t i = 0; i < n; i++) y[i] = a.p[i * a.s] * b.p[i * b.s];
        break;
    case DUET_OP_AFFINE:
        /* w and b are both optional */
        for (int64_t i = 0; i < n; i++) {
            float v = a.p[i * a.s];
            if (b.p) v *= b.p[i * b.s];
            if (c.p) v += c.p[i * c.s];
            y[i] = v;
        }
        break;
    case DUET_OP_SCALE: {
        float s = op->f[0], t = op->f[1];
        for (int64_t i = 0; i < n; i++) y[i] = a.p[i * a.s] * s + t;
        break;
    }
    case DUET_OP_MODULATE:
        for (int64_t i = 0; i < n; i++) y[i] = a.p[i * a.s] * (1.0f + b.p[i * b.s]) + c.p[i * c.s];
        break;
    case DUET_OP_GATED_ADD:
        for (int64_t i = 0; i < n; i++) y[i] = a.p[i * a.s] + b.p[i * b.s] * c.p[i * c.s];
        break;
    case DUET_OP_SWIGLU:
        for (int64_t i = 0; i < n; i++) y[i] = silu(a.p[i * a.s]) * b.p[i * b.s];
        break;
    case DUET_OP_UNARY: unary_row(y, a, n, op->i[0]); break;
    default: break;
    }
}

/* One item per dst row (i1..i4 flattened, i1 fastest). */
static void ew_rows(void *ctx, int64_t begin, int64_t end) {
    const duet_op *op = ctx;
    duet_tensor *d = op->dst;
    int64_t i[5] = {0, 0, 0, 0, 0};
    for (int64_t r = begin; r < end; r++) {
        int64_t q = r;
        for (int k = 1; k < 5; k++) {
            i[k] = q % d->ne[k];
            q /= d->ne[k];
        }
        float *y = duet_cpu_at(d, 0, i[1], i[2], i[3], i[4]);
        row_src a = row_of(op->src[0], d, i), b = row_of(op->src[1], d, i);
        row_src c = row_of(op->src[2], d, i);
        op_row(op, y, a, b, c, d->ne[0]);
    }
}

duet_status duet_cpu_elementwise(duet_cpu_ctx *c, const duet_op *op) {
    const duet_tensor *d = op->dst;
    for (int k = 0; k < 3; k++)
        if (op->src[k] && op->src[k]->nb[0] % sizeof(float) != 0) return DUET_ERR_UNSUPPORTED;
    int64_t rows = d->ne[1] * d->ne[2] * d->ne[3] * d->ne[4];
    duet_parallel_for(c->pool, rows, 1 + 32768 / (d->ne[0] + 1), ew_rows, (void *)op);
    return DUET_OK;
}
