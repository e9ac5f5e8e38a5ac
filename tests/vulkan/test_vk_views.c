/* duet — Vulkan ops on views whose offsets are not multiples of the binding alignment (16+
 * bytes): the backend binds from the offset rounded down and passes the remainder in
 * elements. Checked against host loops, with 16-bit storage and with the packed 32-bit-word
 * fallback: f32 -> f16/bf16 copies into views at odd element offsets (2-byte aligned; the
 * neighbouring halves must survive) and back from transposed 16-bit views (exact); matmul with
 * x, an f16 weight and dst all at unaligned offsets (NMSE 1e-10 vs double); get_rows from a
 * bf16 table view at an odd offset (exact); add and rmsnorm with every operand offset. */
#include <math.h>

#include "vk_test.h"

static void check_exact(const char *what, const float *got, const float *want, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (memcmp(&got[i], &want[i], sizeof *got) != 0) {
            fprintf(stderr, "FAIL %s: element %zu is %.9g, want %.9g\n", what, i, got[i], want[i]);
            duet_test_failures++;
            return;
        }
}

static float rt(float v, duet_dtype t) {
    return t == DUET_F16 ? duet_f16_to_f32(duet_f32_to_f16(v))
                         : duet_bf16_to_f32(duet_f32_to_bf16(v));
}

/* f32 [5, 3] -> slice of a 16-bit [5, 8] buffer starting at element 5 + 1 (odd), then the
 * 16-bit view transposed back to f32. */
static void copies(duet_backend *be, duet_dtype t) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[2] = {5, 3}, bne[2] = {5, 8};
    float *x = duet_test_rand(15, 40, -2, 2), *base = duet_test_rand(40, 41, -1, 1);
    duet_tensor *src = vk_test_f32(a, be, 2, ne, x, "src");
    duet_tensor *buf = duet_test_tensor(a, be, t, 2, bne, base, "buf16");
    /* a [5, 3] view at element offset 6 with row stride 10 (every other row of 5, shifted) */
    size_t nb[2] = {2, 20};
    duet_tensor *dst = duet_view(a, buf, 2, ne, nb, 12);
    T_CHECK_OK(duet_copy(dst, src));
    float *want = malloc(40 * sizeof *want);
    for (int i = 0; i < 40; i++) want[i] = rt(base[i], t);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 5; c++) want[6 + r * 10 + c] = rt(x[r * 5 + c], t);
    float *got = vk_test_get(buf);
    check_exact(t == DUET_F16 ? "f32 -> f16 strided view" : "f32 -> bf16 strided view", got, want,
                40);
    /* back: the same view, permuted, into f32 [3, 5] */
    int perm[2] = {1, 0};
    int64_t tne[2] = {3, 5};
    duet_tensor *back = vk_test_f32(a, be, 2, tne, NULL, "back");
    T_CHECK_OK(duet_copy(back, duet_permute(a, dst, perm)));
    float *gb = vk_test_get(back), wb[15];
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 5; c++) wb[c * 3 + r] = rt(x[r * 5 + c], t);
    check_exact("16-bit transposed view -> f32", gb, wb, 15);
    free(gb);
    free(got);
    free(want);
    free(x);
    free(base);
    duet_arena_free(&a);
}

static void matmul(duet_backend *be) {
    const int64_t K = 21, M = 9, N = 7;
    duet_arena *a = duet_arena_new(0);
    int64_t xne[2] = {K, M + 1}, wne[2] = {K, N + 1}, dne[2] = {N, M + 1};
    float *x = duet_test_rand((size_t)(K * (M + 1)), 50, -1, 1);
    float *w = duet_test_rand((size_t)(K * (N + 1)), 51, -1, 1);
    duet_tensor *tx = vk_test_f32(a, be, 2, xne, x, "x");
    duet_tensor *tw = duet_test_tensor(a, be, DUET_F16, 2, wne, w, "w16");
    duet_tensor *td = vk_test_f32(a, be, 2, dne, NULL, "d");
    /* row 1 onwards: x at 84 bytes, w at 42 bytes (2 mod 4), dst at 28 bytes */
    duet_tensor *xv = duet_slice(a, tx, 1, 1, M), *wv = duet_slice(a, tw, 1, 1, N);
    duet_tensor *dv = duet_slice(a, td, 1, 1, M);
    T_CHECK_OK(duet_matmul(dv, xv, wv, NULL, false));
    float *got = vk_test_get(dv), want[9 * 7];
    for (int64_t m = 0; m < M; m++)
        for (int64_t n = 0; n < N; n++) {
            double s = 0;
            for (int64_t k = 0; k < K; k++)
                s += (double)x[(m + 1) * K + k] * rt(w[(n + 1) * K + k], DUET_F16);
            want[m * N + n] = (float)s;
        }
    duet_test_close("matmul on unaligned views, f16 weight at an odd offset", got, want,
                    (size_t)(M * N), 1e-10);
    free(got);
    free(x);
    free(w);
    duet_arena_free(&a);
}

static void get_rows(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t tne[2] = {7, 11}, ine[1] = {6}, dne[2] = {7, 6};
    float *tab = duet_test_rand(77, 60, -1, 1);
    duet_tensor *tt = duet_test_tensor(a, be, DUET_BF16, 2, tne, tab, "table");
    duet_tensor *tv = duet_slice(a, tt, 1, 1, 10); /* element offset 7: byte 14 */
    int32_t ids[6] = {0, 9, 3, -1, 10, 4};
    duet_tensor *ti = duet_tensor_new(a, be, DUET_I32, 1, ine);
    T_CHECK_OK(duet_tensor_upload(ti, ids, DUET_I32));
    duet_tensor *d = vk_test_f32(a, be, 2, dne, NULL, "rows");
    T_CHECK_OK(duet_get_rows(d, tv, ti));
    float *got = vk_test_get(d), want[42];
    for (int r = 0; r < 6; r++)
        for (int c = 0; c < 7; c++)
            want[r * 7 + c] =
                ids[r] >= 0 && ids[r] < 10 ? rt(tab[(ids[r] + 1) * 7 + c], DUET_BF16) : 0.0f;
    check_exact("get_rows from a bf16 view at an odd offset", got, want, 42);
    free(got);
    free(tab);
    duet_arena_free(&a);
}

static void add_norm(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[2] = {13, 6};
    float *x = duet_test_rand(78, 70, -1, 1), *y = duet_test_rand(78, 71, -1, 1);
    duet_tensor *tx = vk_test_f32(a, be, 2, ne, x, "x"), *ty = vk_test_f32(a, be, 2, ne, y, "y");
    duet_tensor *td = vk_test_f32(a, be, 2, ne, NULL, "d");
    duet_tensor *xv = duet_slice(a, tx, 1, 1, 4), *yv = duet_slice(a, ty, 1, 2, 4);
    duet_tensor *dv = duet_slice(a, td, 1, 1, 4); /* offsets 52, 104, 52 bytes */
    T_CHECK_OK(duet_add(dv, xv, yv));
    T_CHECK_OK(duet_rmsnorm(dv, dv, NULL, 1e-6f));
    float *got = vk_test_get(dv), want[52];
    for (int r = 0; r < 4; r++) {
        double ss = 0;
        for (int c = 0; c < 13; c++) {
            want[r * 13 + c] = x[(r + 1) * 13 + c] + y[(r + 2) * 13 + c];
            ss += (double)want[r * 13 + c] * want[r * 13 + c];
        }
        float inv = (float)(1.0 / sqrt(ss / 13 + 1e-6));
        for (int c = 0; c < 13; c++) want[r * 13 + c] *= inv;
    }
    duet_test_close("add + rmsnorm on unaligned views", got, want, 52, 1e-10);
    free(got);
    free(x);
    free(y);
    duet_arena_free(&a);
}

static void run(void) {
    duet_backend *be = vk_test_open(false);
    copies(be, DUET_F16);
    copies(be, DUET_BF16);
    matmul(be);
    get_rows(be);
    add_norm(be);
    duet_test_end(&be, 1);
}

int main(void) {
    run();
    setenv("DUET_VK_16BIT", "0", 1); /* the packed fallback: 16-bit values in 32-bit words */
    run();
    return duet_test_failures ? 1 : 0;
}
