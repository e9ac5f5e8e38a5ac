/* duet — COPY on Vulkan against host loops, exact: 5-D tensors seen through a permutation
 * (no dimension folds away) copied into a strided view of a larger destination, for every
 * f32/f16/bf16 source/destination pair and for i32 (raw bits, NaN payloads included), with
 * 16-bit storage and with the packed 32-bit-word fallback (16-bit stores by atomics), and a
 * view with a stride-0 (broadcast) dimension as the source, and the rounding of edge values
 * (subnormals, ties, overflow, NaN) bit for bit against core/tensor.c. The neighbours of the destination
 * view must keep their values. */
#include "vk_test.h"

static const int64_t NE[5] = {3, 4, 2, 5, 3}; /* the logical shape copied */
static const int PERM[5] = {2, 0, 4, 1, 3};   /* the source is stored as NE permuted */

static float rt(float v, duet_dtype t) {
    if (t == DUET_F16) return duet_f16_to_f32(duet_f32_to_f16(v));
    if (t == DUET_BF16) return duet_bf16_to_f32(duet_f32_to_bf16(v));
    return v;
}

static size_t lin(const int64_t *ne, const int64_t *i) {
    return (size_t)(i[0] + ne[0] * (i[1] + ne[1] * (i[2] + ne[2] * (i[3] + ne[3] * i[4]))));
}

/* Source stored as [NE[PERM^-1]] so that permuting it by PERM gives shape NE; destination:
 * a [NE] view with dim 1 padded by 2 (rows 1.. of a [3, 6, 2, 5, 3] tensor). */
static void one(duet_backend *be, duet_dtype st, duet_dtype dt) {
    duet_arena *a = duet_arena_new(0);
    int64_t sne[5], dne[5] = {NE[0], NE[1] + 2, NE[2], NE[3], NE[4]};
    for (int d = 0; d < 5; d++) sne[PERM[d]] = NE[d];
    size_t n = 360, nd = 540;
    float *x = duet_test_rand(n, 80 + (uint64_t)st * 3 + (uint64_t)dt, -3, 3);
    float *base = duet_test_rand(nd, 90, -1, 1);
    duet_tensor *src = duet_test_tensor(a, be, st, 5, sne, x, "src");
    duet_tensor *dfull = duet_test_tensor(a, be, dt, 5, dne, base, "dst");
    duet_tensor *sv = duet_permute(a, src, PERM);
    duet_tensor *dv = duet_slice(a, dfull, 1, 1, NE[1]);
    T_CHECK_OK(duet_copy(dv, sv));
    float *want = malloc(nd * sizeof *want), *got = vk_test_get(dfull);
    for (size_t i = 0; i < nd; i++) want[i] = rt(base[i], dt);
    int64_t i[5], si[5], di[5];
    for (i[4] = 0; i[4] < NE[4]; i[4]++)
        for (i[3] = 0; i[3] < NE[3]; i[3]++)
            for (i[2] = 0; i[2] < NE[2]; i[2]++)
                for (i[1] = 0; i[1] < NE[1]; i[1]++)
                    for (i[0] = 0; i[0] < NE[0]; i[0]++) {
                        for (int d = 0; d < 5; d++) si[PERM[d]] = i[d];
                        memcpy(di, i, sizeof di);
                        di[1] += 1;
                        want[lin(dne, di)] = rt(rt(x[lin(sne, si)], st), dt);
                    }
    char what[96];
    snprintf(what, sizeof what, "copy %s -> %s, 5-D permuted into a view", duet_dtype_name(st),
             duet_dtype_name(dt));
    for (size_t k = 0; k < nd; k++)
        if (memcmp(&got[k], &want[k], sizeof *got)) {
            fprintf(stderr, "FAIL %s: element %zu is %.9g, want %.9g\n", what, k, got[k], want[k]);
            duet_test_failures++;
            break;
        }
    free(x);
    free(base);
    free(want);
    free(got);
    duet_arena_free(&a);
}

static void raw_i32(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[2] = {5, 7};
    int32_t x[35], got[35];
    for (int k = 0; k < 35; k++) x[k] = (int32_t)(0x7fc00001u + (uint32_t)k * 0x01010101u);
    duet_tensor *s = duet_tensor_new(a, be, DUET_I32, 2, ne);
    duet_tensor *d = duet_tensor_new(a, be, DUET_I32, 2, ne);
    T_CHECK_OK(duet_tensor_upload(s, x, DUET_I32));
    T_CHECK_OK(duet_copy(d, s));
    T_CHECK_OK(duet_tensor_download(d, got, DUET_I32));
    T_CHECK(memcmp(x, got, sizeof x) == 0);
    duet_arena_free(&a);
}

/* src [4] seen as [4, 6] with stride 0 in dim 1: every row is the same. */
static void broadcast_source(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne1[1] = {4}, ne2[2] = {4, 6};
    float x[4] = {1.5f, -2.0f, 3.25f, 7.0f}, want[24];
    duet_tensor *s = vk_test_f32(a, be, 1, ne1, x, "row");
    size_t nb[2] = {4, 0};
    duet_tensor *sv = duet_view(a, s, 2, ne2, nb, 0);
    duet_tensor *d = vk_test_f32(a, be, 2, ne2, NULL, "rows");
    T_CHECK(sv != NULL);
    if (sv) T_CHECK_OK(duet_copy(d, sv));
    for (int k = 0; k < 24; k++) want[k] = x[k % 4];
    float *got = vk_test_get(d);
    duet_test_close("copy from a stride-0 view", got, want, 24, 0);
    free(got);
    duet_arena_free(&a);
}

/* f32 -> f16/bf16 rounding of edge values must match core/tensor.c bit for bit: signed
 * zeros, f16 subnormals and the ties below the smallest one, the largest finite values and
 * the first that overflow, infinities, NaN, f32 subnormals and round-to-even ties. */
static void special_values(duet_backend *be) {
    const float v[] = {0.0f, -0.0f, 1e-8f, -5.9604645e-8f, 2.9802322e-8f, 2.9802326e-8f,
                       8.940697e-8f, 6.1035156e-5f, 6.1e-5f, 65504.0f, 65519.99f, 65520.0f,
                       -1e10f, 1.0f / 0.0f, -1.0f / 0.0f, 0.0f / 0.0f, 1e-40f, -3e-39f,
                       1.00048828125f, 1.00146484375f, 3.0e38f, 1.0039062f, 1.0117188f,
                       -2.3509886e-38f};
    enum { N = sizeof v / sizeof *v };
    duet_arena *a = duet_arena_new(0);
    int64_t ne[1] = {N};
    duet_tensor *s = vk_test_f32(a, be, 1, ne, v, "special");
    const duet_dtype t[2] = {DUET_F16, DUET_BF16};
    for (int k = 0; k < 2; k++) {
        duet_tensor *d = duet_tensor_new(a, be, t[k], 1, ne);
        T_CHECK_OK(duet_copy(d, s));
        uint16_t got[N], want[N];
        T_CHECK_OK(duet_tensor_download(d, got, t[k]));
        T_CHECK_OK(duet_convert(want, t[k], v, DUET_F32, N));
        for (int i = 0; i < N; i++)
            if (got[i] != want[i]) {
                fprintf(stderr, "FAIL f32 -> %s of %.9g: 0x%04x, want 0x%04x\n",
                        duet_dtype_name(t[k]), (double)v[i], got[i], want[i]);
                duet_test_failures++;
            }
    }
    duet_arena_free(&a);
}

static void run(void) {
    duet_backend *be = vk_test_open(false);
    const duet_dtype t[3] = {DUET_F32, DUET_F16, DUET_BF16};
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) one(be, t[i], t[j]);
    raw_i32(be);
    broadcast_source(be);
    special_values(be);
    duet_test_end(&be, 1);
}

int main(void) {
    run();
    setenv("DUET_VK_16BIT", "0", 1);
    run();
    return duet_test_failures ? 1 : 0;
}
