/* duet — row-wise ops (LAYERNORM, RMSNORM, SOFTMAX, ROPE): the CPU backend against a naive
 * double-precision host reference, every other backend against the CPU. Row lengths that fit
 * no tile (1, 3, 17, 65, 130) and the model's 3072, rows with outer strides (sliced and
 * permuted views), in-place runs, activations with a large common offset (a one-pass variance
 * in f32 fails there), softmax rows with -inf entries, a NaN entry, and values whose exp
 * overflows f32 unless the row maximum is subtracted; RoPE with random tables and with a real
 * 3-D table from core/rope.h.
 * Tolerances (NMSE): CPU vs naive 1e-10; other backends vs CPU 1e-8 (norms, softmax: sums in
 * a different order, exp), 1e-10 (rope: four products per element). */
#include "core/rope.h"
#include "op_test.h"

typedef struct {
    duet_op_kind kind;
    int64_t ne[4];
    op_layout lay;
    bool inplace, w, b;
    float f;      /* eps or softmax scale */
    float offset; /* added to every x */
    int special;  /* softmax: 1 = -inf entries and a NaN, 2 = values up to +-100 */
} row_case;

static void naive_norm(const row_case *c, const float *x, const float *w, const float *b,
                       float *out) {
    int64_t n = c->ne[0], rows = c->ne[1] * c->ne[2] * c->ne[3];
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        double mean = 0, ms = 0;
        for (int64_t i = 0; i < n; i++) mean += xr[i];
        mean /= (double)n;
        for (int64_t i = 0; i < n; i++) {
            double e = c->kind == DUET_OP_LAYERNORM ? xr[i] - mean : xr[i];
            ms += e * e;
        }
        double inv = 1.0 / sqrt(ms / (double)n + (double)c->f);
        for (int64_t i = 0; i < n; i++) {
            double v = (c->kind == DUET_OP_LAYERNORM ? xr[i] - mean : xr[i]) * inv;
            if (c->w) v *= w[i];
            if (c->b) v += b[i];
            out[r * n + i] = (float)v;
        }
    }
}

static void naive_softmax(const row_case *c, const float *x, float *out) {
    int64_t n = c->ne[0], rows = c->ne[1] * c->ne[2] * c->ne[3];
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        double m = -INFINITY, sum = 0;
        bool nan = false;
        for (int64_t i = 0; i < n; i++) {
            double v = (double)c->f * xr[i];
            nan |= isnan(v);
            if (v > m) m = v;
        }
        for (int64_t i = 0; i < n; i++) sum += exp((double)c->f * xr[i] - m);
        for (int64_t i = 0; i < n; i++)
            out[r * n + i] = nan ? NAN : (float)(exp((double)c->f * xr[i] - m) / sum);
    }
}

/* x [D, H, L, B], table [D, L]. */
static void naive_rope(const row_case *c, const float *x, const float *tab, float *out) {
    int64_t D = c->ne[0], H = c->ne[1], L = c->ne[2], B = c->ne[3];
    for (int64_t b = 0; b < B; b++)
        for (int64_t l = 0; l < L; l++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t j = 0; j < D / 2; j++) {
                    size_t i = (size_t)(2 * j + D * (h + H * (l + L * b)));
                    double co = tab[l * D + 2 * j], si = tab[l * D + 2 * j + 1];
                    out[i] = (float)(x[i] * co - (double)x[i + 1] * si);
                    out[i + 1] = (float)(x[i] * si + (double)x[i + 1] * co);
                }
}

static float *run(duet_backend *be, const row_case *c, const float *x, const float *w,
                  const float *b, const float *tab) {
    duet_arena *ar = duet_arena_new(0);
    duet_tensor *xt = op_tensor(ar, be, c->inplace ? OP_CONTIG : c->lay, c->ne, x, "x");
    duet_tensor *d = c->inplace ? xt : duet_test_tensor(ar, be, DUET_F32, 4, c->ne, NULL, "out");
    int64_t pne[1] = {c->ne[0]}, tne[2] = {c->ne[0], c->ne[2]};
    duet_tensor *wt = c->w ? duet_test_tensor(ar, be, DUET_F32, 1, pne, w, "w") : NULL;
    duet_tensor *bt = c->b ? duet_test_tensor(ar, be, DUET_F32, 1, pne, b, "b") : NULL;
    switch (c->kind) {
    case DUET_OP_LAYERNORM: T_CHECK_OK(duet_layernorm(d, xt, wt, bt, c->f)); break;
    case DUET_OP_RMSNORM: T_CHECK_OK(duet_rmsnorm(d, xt, wt, c->f)); break;
    case DUET_OP_SOFTMAX: T_CHECK_OK(duet_softmax(d, xt, c->f)); break;
    default:
        T_CHECK_OK(duet_rope(d, xt, duet_test_tensor(ar, be, DUET_F32, 2, tne, tab, "table")));
        break;
    }
    float *out = op_download(d);
    duet_arena_free(&ar);
    return out;
}

static void make_inputs(const row_case *c, size_t ci, float *x, size_t n, float *tab) {
    duet_test_fill(x, n, 40 + ci, -2, 2);
    for (size_t i = 0; i < n; i++) x[i] += c->offset;
    if (c->special == 1 && n >= 2 * (size_t)c->ne[0] && c->ne[0] >= 3) {
        x[0] = x[2] = -INFINITY;             /* row 0: these become 0, the rest renormalize */
        x[c->ne[0] + 1] = NAN;               /* row 1: all NaN */
    }
    if (c->special == 2)
        for (size_t i = 0; i < n; i++) x[i] *= 50.0f;
    if (c->kind != DUET_OP_ROPE) return;
    size_t nt = (size_t)(c->ne[0] * c->ne[2]);
    if (c->special == 3) { /* a real Wan table over an F x 1 x W grid of L tokens */
        int L = (int)c->ne[2], F = L % 3 == 0 ? 3 : 1;
        T_CHECK_OK(duet_rope_table_3d(tab, (int)c->ne[0], F, 1, L / F, 10000.0));
        return;
    }
    duet_test_fill(tab, nt, 70 + ci, -1, 1);
}

int main(void) {
    const row_case cases[] = {
        {DUET_OP_LAYERNORM, {1, 3, 1, 1}, OP_CONTIG, false, true, true, 1e-6f, 0, 0},
        {DUET_OP_LAYERNORM, {17, 5, 2, 1}, OP_PAD0, false, false, false, 1e-6f, 0, 0},
        {DUET_OP_LAYERNORM, {130, 3, 2, 1}, OP_SWAP12, false, true, true, 1e-5f, 30, 0},
        {DUET_OP_LAYERNORM, {3072, 2, 1, 1}, OP_CONTIG, true, false, false, 1e-6f, 100, 0},
        {DUET_OP_LAYERNORM, {65, 7, 1, 1}, OP_PAD1, true, true, false, 1e-6f, 0, 0},
        {DUET_OP_RMSNORM, {1, 2, 1, 1}, OP_CONTIG, false, true, false, 1e-6f, 0, 0},
        {DUET_OP_RMSNORM, {64, 17, 1, 1}, OP_PAD0, false, true, false, 1e-6f, 0, 0},
        {DUET_OP_RMSNORM, {130, 3, 2, 1}, OP_SWAP12, false, false, false, 1e-5f, 0, 0},
        {DUET_OP_RMSNORM, {3072, 3, 1, 1}, OP_CONTIG, true, true, false, 1e-6f, 0, 0},
        {DUET_OP_SOFTMAX, {1, 3, 1, 1}, OP_CONTIG, false, false, false, 1.0f, 0, 0},
        {DUET_OP_SOFTMAX, {17, 5, 2, 1}, OP_CONTIG, false, false, false, 0.125f, 0, 1},
        {DUET_OP_SOFTMAX, {77, 45, 1, 1}, OP_PAD0, false, false, false, 1.0f, 0, 2},
        {DUET_OP_SOFTMAX, {130, 3, 2, 1}, OP_SWAP12, false, false, false, -0.5f, 0, 0},
        {DUET_OP_SOFTMAX, {65, 4, 1, 1}, OP_CONTIG, true, false, false, 2.0f, 0, 1},
        {DUET_OP_ROPE, {2, 1, 3, 1}, OP_CONTIG, false, false, false, 0, 0, 0},
        {DUET_OP_ROPE, {6, 3, 17, 2}, OP_SWAP12, false, false, false, 0, 0, 0},
        {DUET_OP_ROPE, {64, 3, 17, 1}, OP_PAD0, false, false, false, 0, 0, 0},
        {DUET_OP_ROPE, {128, 2, 33, 1}, OP_CONTIG, true, false, false, 0, 0, 3},
        {DUET_OP_ROPE, {128, 3, 5, 2}, OP_PAD1, false, false, false, 0, 0, 3},
    };
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const row_case *c = &cases[ci];
        size_t n = op_n4(c->ne);
        float *x = malloc(n * sizeof *x), *tab = malloc((size_t)(c->ne[0] * c->ne[2]) * sizeof *tab);
        float *w = duet_test_rand((size_t)c->ne[0], 300 + ci, -2, 2);
        float *b = duet_test_rand((size_t)c->ne[0], 400 + ci, -1, 1);
        make_inputs(c, ci, x, n, tab);
        float *want = malloc(n * sizeof *want), *cpu = NULL;
        if (c->kind == DUET_OP_SOFTMAX) naive_softmax(c, x, want);
        else if (c->kind == DUET_OP_ROPE) naive_rope(c, x, tab, want);
        else naive_norm(c, x, w, b, want);
        char what[160];
        snprintf(what, sizeof what, "%s case %zu [%lld %lld %lld %lld] %s%s%s%s", duet_op_name(c->kind),
                 ci, (long long)c->ne[0], (long long)c->ne[1], (long long)c->ne[2],
                 (long long)c->ne[3], op_layout_name(c->lay), c->inplace ? " in place" : "",
                 c->w ? " w" : "", c->b ? " b" : "");
        for (int be = 0; be < nb; be++)
            cpu = op_check(what, bes, be, run(bes[be], c, x, w, b, tab), want, cpu, n, 1e-10,
                           c->kind == DUET_OP_ROPE ? 1e-10 : 1e-8);
        if (c->kind == DUET_OP_SOFTMAX && c->special == 1 && cpu) {
            /* The NaN row must be NaN throughout; -inf entries give exact zeros. */
            T_CHECK(cpu[0] == 0.0f && cpu[2] == 0.0f && isnan(cpu[c->ne[0]]) &&
                    isnan(cpu[2 * c->ne[0] - 1]));
        }
        free(cpu);
        free(want);
        free(x);
        free(tab);
        free(w);
        free(b);
    }
    return duet_test_end(bes, nb);
}
