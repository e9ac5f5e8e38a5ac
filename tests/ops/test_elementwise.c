/* duet — elementwise ops (ADD, MUL, AFFINE, SCALE, MODULATE, GATED_ADD, UNARY, SWIGLU): the
 * CPU backend against a naive double-precision host reference, every other backend against
 * the CPU. Odd shapes, every broadcast pattern the models use (per feature, per token, per
 * batch, scalar), strided sources (permuted and sliced views), in-place runs, and Inf/NaN
 * propagation. Tolerances (NMSE): CPU vs naive 1e-10; other backends vs CPU 1e-10 for
 * arithmetic, 1e-8 where a transcendental function (tanh, erf, exp) is involved. */
#include "op_test.h"

typedef enum { BC_NONE, BC_FULL, BC_ROW, BC_COL, BC_BATCH, BC_SCALAR } bcast;

typedef struct {
    duet_op_kind kind;
    duet_unary_fn fn;
    int64_t ne[4];
    bcast b1, b2;
    op_layout lay; /* layout of src0 (and of a full-shaped src1) */
    bool inplace, special;
} ew_case;

/* Shape of an operand broadcast onto ne: FULL = ne, ROW = [ne0], COL = [1, ne1, ne2, ne3]
 * (one value per token), BATCH = [ne0, 1, ne2, ne3] (per feature and batch), SCALAR = [1]. */
static void bshape(bcast b, const int64_t ne[4], int64_t out[4]) {
    for (int d = 0; d < 4; d++) out[d] = ne[d];
    if (b == BC_ROW) out[1] = out[2] = out[3] = 1;
    if (b == BC_COL) out[0] = 1;
    if (b == BC_BATCH) out[1] = 1;
    if (b == BC_SCALAR) out[0] = out[1] = out[2] = out[3] = 1;
}

static double bval(const float *p, bcast b, const int64_t ne[4], int64_t i0, int64_t i1,
                   int64_t i2, int64_t i3) {
    switch (b) {
    case BC_FULL: return p[i0 + ne[0] * (i1 + ne[1] * (i2 + ne[2] * i3))];
    case BC_ROW: return p[i0];
    case BC_COL: return p[i1 + ne[1] * (i2 + ne[2] * i3)];
    case BC_BATCH: return p[i0 + ne[0] * (i2 + ne[2] * i3)];
    case BC_SCALAR: return p[0];
    default: return NAN;
    }
}

static double silu_d(double x) { return x / (1.0 + exp(-x)); }

static double unary_d(duet_unary_fn fn, double x) {
    switch (fn) {
    case DUET_UNARY_GELU_TANH:
        return 0.5 * x * (1.0 + tanh(sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case DUET_UNARY_GELU_ERF: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    case DUET_UNARY_SILU: return silu_d(x);
    case DUET_UNARY_TANH: return tanh(x);
    default: return exp(x);
    }
}

static const char *const UNARY_NAMES[DUET_UNARY_FN_COUNT] = {"gelu_tanh", "gelu_erf", "silu",
                                                             "tanh", "exp"};

static const float SCALE_F[2] = {-1.75f, 0.375f};

static void naive(const ew_case *c, const float *x, const float *y, const float *z, float *out) {
    const int64_t *ne = c->ne;
    for (int64_t i3 = 0; i3 < ne[3]; i3++)
        for (int64_t i2 = 0; i2 < ne[2]; i2++)
            for (int64_t i1 = 0; i1 < ne[1]; i1++)
                for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                    int64_t i = i0 + ne[0] * (i1 + ne[1] * (i2 + ne[2] * i3));
                    double a = x[i], b = c->b1 ? bval(y, c->b1, ne, i0, i1, i2, i3) : 0;
                    double g = c->b2 ? bval(z, c->b2, ne, i0, i1, i2, i3) : 0, r;
                    switch (c->kind) {
                    case DUET_OP_ADD: r = a + b; break;
                    case DUET_OP_MUL: r = a * b; break;
                    case DUET_OP_AFFINE: r = a * (c->b1 ? b : 1.0) + (c->b2 ? g : 0.0); break;
                    case DUET_OP_SCALE: r = a * SCALE_F[0] + SCALE_F[1]; break;
                    case DUET_OP_MODULATE: r = a * (1.0 + b) + g; break;
                    case DUET_OP_GATED_ADD: r = a + b * g; break;
                    case DUET_OP_SWIGLU: r = silu_d(a) * b; break;
                    default: r = unary_d(c->fn, a); break;
                    }
                    out[i] = (float)r;
                }
}

static duet_status call(const ew_case *c, duet_tensor *d, duet_tensor *a, duet_tensor *b,
                        duet_tensor *g) {
    switch (c->kind) {
    case DUET_OP_ADD: return duet_add(d, a, b);
    case DUET_OP_MUL: return duet_mul(d, a, b);
    case DUET_OP_AFFINE: return duet_affine(d, a, b, g);
    case DUET_OP_SCALE: return duet_scale(d, a, SCALE_F[0], SCALE_F[1]);
    case DUET_OP_MODULATE: return duet_modulate(d, a, b, g);
    case DUET_OP_GATED_ADD: return duet_gated_add(d, a, b, g);
    case DUET_OP_SWIGLU: return duet_swiglu(d, a, b);
    default: return duet_unary(d, a, c->fn);
    }
}

static float *run(duet_backend *be, const ew_case *c, const float *x, const float *y,
                  const float *z) {
    duet_arena *ar = duet_arena_new(0);
    duet_tensor *a = op_tensor(ar, be, c->inplace ? OP_CONTIG : c->lay, c->ne, x, "x");
    duet_tensor *b = NULL, *g = NULL;
    int64_t ne[4];
    if (c->b1) {
        bshape(c->b1, c->ne, ne);
        b = op_tensor(ar, be, c->b1 == BC_FULL ? c->lay : OP_CONTIG, ne, y, "y");
    }
    if (c->b2) {
        bshape(c->b2, c->ne, ne);
        g = op_tensor(ar, be, OP_CONTIG, ne, z, "z");
    }
    duet_tensor *d = c->inplace ? a : duet_test_tensor(ar, be, DUET_F32, 4, c->ne, NULL, "out");
    T_CHECK_OK(call(c, d, a, b, g));
    float *out = op_download(d);
    duet_arena_free(&ar);
    return out;
}

/* Inf and NaN at fixed places of x and y: sums with Inf stay Inf, Inf - Inf and 0 * Inf give
 * NaN, NaN stays NaN. */
static void add_specials(float *x, size_t nx, float *y, size_t ny) {
    if (nx > 3) {
        x[0] = INFINITY;
        x[1] = -INFINITY;
        x[2] = NAN;
        x[3] = 0.0f;
    }
    if (ny > 3) {
        y[1] = INFINITY; /* meets -Inf: NaN */
        y[3] = INFINITY; /* meets 0: MUL gives NaN, ADD Inf */
    }
}

static bool transcendental(const ew_case *c) {
    return c->kind == DUET_OP_UNARY || c->kind == DUET_OP_SWIGLU;
}

int main(void) {
    const ew_case cases[] = {
        {DUET_OP_ADD, 0, {1, 1, 1, 1}, BC_FULL, BC_NONE, OP_CONTIG, false, false},
        {DUET_OP_ADD, 0, {17, 3, 2, 1}, BC_FULL, BC_NONE, OP_SWAP01, false, false},
        {DUET_OP_ADD, 0, {33, 5, 1, 2}, BC_ROW, BC_NONE, OP_PAD0, false, false},
        {DUET_OP_ADD, 0, {130, 3, 1, 1}, BC_COL, BC_NONE, OP_CONTIG, true, false},
        {DUET_OP_ADD, 0, {65, 3, 2, 1}, BC_FULL, BC_NONE, OP_CONTIG, false, true},
        {DUET_OP_MUL, 0, {65, 3, 2, 1}, BC_FULL, BC_NONE, OP_PAD1, false, true},
        {DUET_OP_MUL, 0, {3, 17, 2, 1}, BC_SCALAR, BC_NONE, OP_SWAP12, false, false},
        {DUET_OP_MUL, 0, {33, 7, 3, 1}, BC_BATCH, BC_NONE, OP_CONTIG, true, false},
        {DUET_OP_AFFINE, 0, {33, 9, 1, 1}, BC_ROW, BC_ROW, OP_PAD0, false, false},
        {DUET_OP_AFFINE, 0, {17, 5, 2, 1}, BC_ROW, BC_NONE, OP_CONTIG, true, false},
        {DUET_OP_AFFINE, 0, {17, 5, 2, 1}, BC_NONE, BC_COL, OP_SWAP01, false, false},
        {DUET_OP_AFFINE, 0, {3, 3, 1, 1}, BC_NONE, BC_NONE, OP_CONTIG, false, false},
        {DUET_OP_SCALE, 0, {130, 3, 1, 1}, BC_NONE, BC_NONE, OP_SWAP01, false, false},
        {DUET_OP_SCALE, 0, {65, 2, 1, 1}, BC_NONE, BC_NONE, OP_CONTIG, true, true},
        {DUET_OP_MODULATE, 0, {64, 17, 2, 1}, BC_BATCH, BC_BATCH, OP_CONTIG, false, false},
        {DUET_OP_MODULATE, 0, {33, 5, 1, 1}, BC_FULL, BC_ROW, OP_PAD1, false, false},
        {DUET_OP_MODULATE, 0, {33, 5, 1, 1}, BC_COL, BC_FULL, OP_CONTIG, true, false},
        {DUET_OP_GATED_ADD, 0, {64, 17, 2, 1}, BC_FULL, BC_BATCH, OP_CONTIG, true, false},
        {DUET_OP_GATED_ADD, 0, {17, 33, 1, 1}, BC_FULL, BC_ROW, OP_SWAP01, false, false},
        {DUET_OP_SWIGLU, 0, {130, 3, 1, 1}, BC_FULL, BC_NONE, OP_CONTIG, false, false},
        {DUET_OP_SWIGLU, 0, {17, 5, 3, 1}, BC_FULL, BC_NONE, OP_PAD0, true, false},
        {DUET_OP_UNARY, DUET_UNARY_GELU_TANH, {130, 3, 2, 1}, BC_NONE, BC_NONE, OP_CONTIG, false, false},
        {DUET_OP_UNARY, DUET_UNARY_GELU_TANH, {17, 3, 1, 1}, BC_NONE, BC_NONE, OP_SWAP01, true, false},
        {DUET_OP_UNARY, DUET_UNARY_GELU_ERF, {65, 3, 1, 1}, BC_NONE, BC_NONE, OP_PAD1, false, false},
        {DUET_OP_UNARY, DUET_UNARY_SILU, {33, 5, 1, 1}, BC_NONE, BC_NONE, OP_SWAP12, false, false},
        {DUET_OP_UNARY, DUET_UNARY_SILU, {1, 1, 1, 1}, BC_NONE, BC_NONE, OP_CONTIG, true, false},
        {DUET_OP_UNARY, DUET_UNARY_TANH, {17, 3, 1, 1}, BC_NONE, BC_NONE, OP_CONTIG, false, false},
        {DUET_OP_UNARY, DUET_UNARY_EXP, {65, 3, 1, 1}, BC_NONE, BC_NONE, OP_PAD0, false, false},
    };
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const ew_case *c = &cases[ci];
        size_t n = op_n4(c->ne);
        float *x = duet_test_rand(n, 10 + ci, -3, 3);
        float *y = duet_test_rand(n, 500 + ci, -2, 2), *z = duet_test_rand(n, 900 + ci, -2, 2);
        int64_t yne[4];
        bshape(c->b1 ? c->b1 : BC_FULL, c->ne, yne);
        if (c->special) add_specials(x, n, y, op_n4(yne));
        float *want = malloc(n * sizeof *want), *cpu = NULL;
        naive(c, x, y, z, want);
        char what[160];
        snprintf(what, sizeof what, "%s%s%s case %zu [%lld %lld %lld %lld] %s%s%s",
                 duet_op_name(c->kind), c->kind == DUET_OP_UNARY ? " fn " : "",
                 c->kind == DUET_OP_UNARY ? UNARY_NAMES[c->fn] : "",
                 ci, (long long)c->ne[0], (long long)c->ne[1], (long long)c->ne[2],
                 (long long)c->ne[3], op_layout_name(c->lay), c->inplace ? " in place" : "",
                 c->special ? " inf/nan" : "");
        for (int b = 0; b < nb; b++)
            cpu = op_check(what, bes, b, run(bes[b], c, x, y, z), want, cpu, n, 1e-10,
                           transcendental(c) ? 1e-8 : 1e-10);
        free(cpu);
        free(want);
        free(x);
        free(y);
        free(z);
    }
    return duet_test_end(bes, nb);
}
