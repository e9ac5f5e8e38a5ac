/* duet — data-movement ops (UPSAMPLE_NEAREST, PIXEL_UNSHUFFLE, PIXEL_SHUFFLE, GET_ROWS) and
 * SNAKE_BETA: the CPU backend against naive host loops, every other backend against the CPU.
 * Odd sizes, factors per dim, shuffle factors 1/2/3 and an unshuffle -> shuffle round trip,
 * snake with plain and log-scale parameters, embedding rows from f32/f16/bf16 tables with ids
 * out of range (-1, V, INT32_MAX: zero rows) and a 2-D id tensor.
 * Tolerances (NMSE): data movement must be exact (0) everywhere, f16/bf16 widening included;
 * snake 1e-10 CPU vs naive, 1e-8 other backends vs CPU (sin). */
#include <stdint.h>

#include "op_test.h"

typedef struct {
    duet_op_kind kind;
    int64_t ne[4]; /* x's shape (get_rows: table [D, V] in ne[0..1], ids count in ne[2..3]) */
    int f[3];      /* upsample factors; shuffle: f[0] = r; snake: f[0] = log scale */
    duet_dtype dt; /* get_rows table dtype */
} lay_case;

static void out_shape(const lay_case *c, int64_t o[4]) {
    for (int d = 0; d < 4; d++) o[d] = c->ne[d];
    int r = c->f[0];
    switch (c->kind) {
    case DUET_OP_UPSAMPLE_NEAREST:
        for (int d = 0; d < 3; d++) o[d] *= c->f[d];
        break;
    case DUET_OP_PIXEL_UNSHUFFLE:
        o[0] /= r, o[1] /= r, o[3] *= r * r;
        break;
    case DUET_OP_PIXEL_SHUFFLE:
        o[0] *= r, o[1] *= r, o[3] /= r * r;
        break;
    case DUET_OP_GET_ROWS:
        o[1] = c->ne[2] * c->ne[3], o[2] = o[3] = 1;
        break;
    default: break;
    }
}

/* Pixel (w, h) of frame t, channel c in the [W r, H r, T, C] image <-> element of the
 * [W, H, T, C r r] patch tensor: einops "b c f (h q) (w r) -> b (c r q) f h w". */
static size_t patch_index(const int64_t small[4], int r, int64_t x, int64_t y, int64_t t, int64_t c) {
    int64_t ch = c * r * r + (x % r) * r + (y % r);
    return (size_t)(x / r + small[0] * (y / r + small[1] * (t + small[2] * ch)));
}

static void naive(const lay_case *c, const float *x, const float *al, const float *be,
                  const int32_t *ids, float *out) {
    int64_t o[4];
    out_shape(c, o);
    const int64_t *n = c->ne;
    int r = c->f[0];
    if (c->kind == DUET_OP_GET_ROWS) {
        for (int64_t i = 0; i < o[1]; i++)
            for (int64_t d = 0; d < n[0]; d++)
                out[i * n[0] + d] = ids[i] >= 0 && ids[i] < n[1] ? x[(int64_t)ids[i] * n[0] + d] : 0.0f;
        return;
    }
    const int64_t *big = c->kind == DUET_OP_PIXEL_SHUFFLE ? o : n;
    const int64_t *small = c->kind == DUET_OP_PIXEL_SHUFFLE ? n : o;
    for (int64_t i3 = 0; i3 < o[3]; i3++)
        for (int64_t i2 = 0; i2 < o[2]; i2++)
            for (int64_t i1 = 0; i1 < o[1]; i1++)
                for (int64_t i0 = 0; i0 < o[0]; i0++) {
                    size_t oi = (size_t)(i0 + o[0] * (i1 + o[1] * (i2 + o[2] * i3)));
                    switch (c->kind) {
                    case DUET_OP_UPSAMPLE_NEAREST:
                        out[oi] = x[i0 / c->f[0] + n[0] * (i1 / c->f[1] + n[1] * (i2 / c->f[2] + n[2] * i3))];
                        break;
                    case DUET_OP_PIXEL_UNSHUFFLE: {
                        /* output channel i3 = (cc r + rw) r + rh */
                        int64_t rh = i3 % r, rw = (i3 / r) % r, cc = i3 / (r * r);
                        out[oi] = x[i0 * r + rw + big[0] * (i1 * r + rh + big[1] * (i2 + big[2] * cc))];
                        break;
                    }
                    case DUET_OP_PIXEL_SHUFFLE:
                        out[oi] = x[patch_index(small, r, i0, i1, i2, i3)];
                        break;
                    default: { /* snake: channel i1 */
                        double a = al[i1], b = be[i1], v = x[oi];
                        if (c->f[0]) a = exp(a), b = exp(b);
                        double s = sin(a * v);
                        out[oi] = (float)(v + s * s / (b + 1e-9));
                        break;
                    }
                    }
                }
}

static float *run(duet_backend *be, const lay_case *c, const float *x, const float *al,
                  const float *bt, const int32_t *ids) {
    duet_arena *ar = duet_arena_new(0);
    int64_t o[4];
    out_shape(c, o);
    duet_tensor *d = duet_test_tensor(ar, be, DUET_F32, 4, o, NULL, "out");
    if (c->kind == DUET_OP_GET_ROWS) {
        int64_t tne[2] = {c->ne[0], c->ne[1]}, ine[2] = {c->ne[2], c->ne[3]};
        duet_tensor *t = duet_test_tensor(ar, be, c->dt, 2, tne, x, "table");
        duet_tensor *it = duet_tensor_new(ar, be, DUET_I32, 2, ine);
        T_CHECK_OK(duet_tensor_upload(it, ids, DUET_I32));
        T_CHECK_OK(duet_get_rows(d, t, it));
    } else {
        duet_tensor *xt = duet_test_tensor(ar, be, DUET_F32, 4, c->ne, x, "x");
        int64_t cne[1] = {c->ne[1]};
        switch (c->kind) {
        case DUET_OP_UPSAMPLE_NEAREST: T_CHECK_OK(duet_upsample_nearest(d, xt, c->f)); break;
        case DUET_OP_PIXEL_UNSHUFFLE: T_CHECK_OK(duet_pixel_unshuffle(d, xt, c->f[0])); break;
        case DUET_OP_PIXEL_SHUFFLE: T_CHECK_OK(duet_pixel_shuffle(d, xt, c->f[0])); break;
        default:
            T_CHECK_OK(duet_snake_beta(d, xt, duet_test_tensor(ar, be, DUET_F32, 1, cne, al, "alpha"),
                                       duet_test_tensor(ar, be, DUET_F32, 1, cne, bt, "beta"), c->f[0]));
            break;
        }
    }
    float *out = op_download(d);
    duet_arena_free(&ar);
    return out;
}

/* unshuffle then shuffle on each backend gives the input back bit for bit. */
static void round_trip(duet_backend **bes, int nb) {
    int64_t ne[4] = {6, 9, 2, 2}, sne[4] = {2, 3, 2, 18};
    size_t n = op_n4(ne);
    float *x = duet_test_rand(n, 5, -1, 1), *y = malloc(n * sizeof *y);
    for (int b = 0; b < nb; b++) {
        duet_arena *ar = duet_arena_new(0);
        duet_tensor *xt = duet_test_tensor(ar, bes[b], DUET_F32, 4, ne, x, "x");
        duet_tensor *s = duet_test_tensor(ar, bes[b], DUET_F32, 4, sne, NULL, "patches");
        duet_tensor *back = duet_test_tensor(ar, bes[b], DUET_F32, 4, ne, NULL, "back");
        T_CHECK_OK(duet_pixel_unshuffle(s, xt, 3));
        T_CHECK_OK(duet_pixel_shuffle(back, s, 3));
        T_CHECK_OK(duet_tensor_get_f32(back, y));
        char name[128];
        snprintf(name, sizeof name, "pixel shuffle round trip r 3 on %s", duet_backend_name(bes[b]));
        duet_test_close(name, y, x, n, 0.0);
        duet_arena_free(&ar);
    }
    free(x);
    free(y);
}

int main(void) {
    const lay_case cases[] = {
        {DUET_OP_UPSAMPLE_NEAREST, {5, 3, 2, 2}, {2, 2, 1}, DUET_F32},
        {DUET_OP_UPSAMPLE_NEAREST, {3, 1, 4, 1}, {1, 1, 2}, DUET_F32},
        {DUET_OP_UPSAMPLE_NEAREST, {1, 1, 1, 3}, {3, 2, 2}, DUET_F32},
        {DUET_OP_UPSAMPLE_NEAREST, {17, 5, 1, 1}, {2, 1, 1}, DUET_F32},
        {DUET_OP_PIXEL_UNSHUFFLE, {6, 10, 2, 3}, {2, 0, 0}, DUET_F32},
        {DUET_OP_PIXEL_UNSHUFFLE, {9, 6, 1, 2}, {3, 0, 0}, DUET_F32},
        {DUET_OP_PIXEL_UNSHUFFLE, {4, 3, 2, 1}, {1, 0, 0}, DUET_F32},
        {DUET_OP_PIXEL_SHUFFLE, {3, 5, 2, 12}, {2, 0, 0}, DUET_F32},
        {DUET_OP_PIXEL_SHUFFLE, {1, 2, 3, 9}, {3, 0, 0}, DUET_F32},
        {DUET_OP_SNAKE_BETA, {33, 5, 2, 1}, {0, 0, 0}, DUET_F32},
        {DUET_OP_SNAKE_BETA, {130, 3, 1, 1}, {1, 0, 0}, DUET_F32},
        {DUET_OP_SNAKE_BETA, {1, 1, 1, 1}, {1, 0, 0}, DUET_F32},
        {DUET_OP_GET_ROWS, {17, 9, 7, 1}, {0, 0, 0}, DUET_F32},
        {DUET_OP_GET_ROWS, {130, 5, 3, 2}, {0, 0, 0}, DUET_F16},
        {DUET_OP_GET_ROWS, {33, 4, 1, 1}, {0, 0, 0}, DUET_BF16},
    };
    const int32_t ids[7] = {3, -1, 0, 9, 8, INT32_MAX, 3};
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
        const lay_case *c = &cases[ci];
        int64_t o[4];
        out_shape(c, o);
        size_t n = op_n4(c->ne), no = op_n4(o);
        float *x = duet_test_rand(n, 1 + ci, -3, 3);
        float *al = duet_test_rand((size_t)c->ne[1], 100 + ci, c->f[0] ? -1.0f : 0.2f, c->f[0] ? 1.0f : 2.0f);
        float *bt = duet_test_rand((size_t)c->ne[1], 200 + ci, c->f[0] ? -1.0f : 0.2f, c->f[0] ? 1.0f : 2.0f);
        int32_t cids[7];
        for (int i = 0; i < 7; i++) /* keep the out-of-range ones out of range for this V */
            cids[i] = ids[i] == 9 ? (int32_t)c->ne[1] : ids[i] == 8 ? (int32_t)c->ne[1] - 1 : ids[i];
        if (c->kind == DUET_OP_GET_ROWS) op_round(x, n, c->dt);
        float *want = malloc(no * sizeof *want), *cpu = NULL;
        naive(c, x, al, bt, cids, want);
        bool exact = c->kind != DUET_OP_SNAKE_BETA;
        char what[160];
        snprintf(what, sizeof what, "%s case %zu [%lld %lld %lld %lld] f %d %d %d %s", duet_op_name(c->kind),
                 ci, (long long)c->ne[0], (long long)c->ne[1], (long long)c->ne[2],
                 (long long)c->ne[3], c->f[0], c->f[1], c->f[2], duet_dtype_name(c->dt));
        for (int b = 0; b < nb; b++)
            cpu = op_check(what, bes, b, run(bes[b], c, x, al, bt, cids), want, cpu, no,
                           exact ? 0.0 : 1e-10, exact ? 0.0 : 1e-8);
        if (c->kind == DUET_OP_GET_ROWS && cpu && o[1] >= 2) /* id -1 gives a zero row */
            T_CHECK(cpu[c->ne[0]] == 0.0f && cpu[2 * c->ne[0] - 1] == 0.0f);
        free(cpu);
        free(want);
        free(x);
        free(al);
        free(bt);
    }
    round_trip(bes, nb);
    return duet_test_end(bes, nb);
}
