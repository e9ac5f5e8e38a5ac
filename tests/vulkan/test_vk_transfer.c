/* duet — Vulkan uploads and downloads through the staging ring. Checked (all exact): one
 * tensor of 2.5x the staging size up and down (three chunks each way); a download of a
 * region that starts mid-buffer; 2000 small uploads of different sizes recorded without a
 * sync (the ring wraps several times) interleaved with ops that read them; f16/bf16 tensors
 * with odd element counts (2-byte tails) converted on upload and download; uploads into a
 * view at an unaligned offset leave its neighbours untouched. */
#include "vk_test.h"

static void large(duet_backend *be) {
    duet_vk_stats s = vk_test_stats(be);
    size_t n = s.staging_bytes / 4 * 5 / 2 + 7; /* 2.5 chunks, plus a ragged tail */
    duet_arena *a = duet_arena_new(0);
    int64_t ne[1] = {(int64_t)n};
    float *x = duet_test_rand(n, 11, -100, 100);
    duet_tensor *t = vk_test_f32(a, be, 1, ne, x, "big");
    float *got = vk_test_get(t);
    T_CHECK(memcmp(got, x, n * sizeof *x) == 0);
    /* a window starting one element in and ending one before the end */
    duet_tensor *v = duet_slice(a, t, 0, 1, (int64_t)n - 2);
    float *gv = vk_test_get(v);
    T_CHECK(memcmp(gv, x + 1, (n - 2) * sizeof *x) == 0);
    duet_vk_stats s1 = vk_test_stats(be);
    fprintf(stderr, "large: %zu floats (%.1f MiB, staging %.1f MiB), %zu submissions\n", n,
            (double)n * 4 / 1048576.0, (double)s.staging_bytes / 1048576.0,
            s1.n_submits - s.n_submits);
    T_CHECK(s1.n_submits - s.n_submits >= 6); /* >= 3 chunks up, 3 down */
    free(got);
    free(gv);
    free(x);
    duet_arena_free(&a);
}

/* Many small uploads (sizes 1..5999 floats) into tensors, each followed by an op that reads
 * it into an accumulator: the ring wraps; every upload must land before its reader runs and
 * must not be overwritten in staging before the GPU copied it. */
static void many_small(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    const int64_t len = 6000;
    int64_t ne[1] = {len};
    float *acc = calloc((size_t)len, sizeof *acc), *x = malloc((size_t)len * sizeof *x);
    duet_tensor *tacc = vk_test_f32(a, be, 1, ne, acc, "acc");
    duet_tensor *tx = vk_test_f32(a, be, 1, ne, acc, "x");
    duet_vk_stats s0 = vk_test_stats(be);
    size_t bytes = 0;
    for (int i = 0; i < 2000; i++) {
        int64_t m = 1 + (i * 7919) % (len - 1);
        duet_test_fill(x, (size_t)m, 100 + (uint64_t)i, -1, 1);
        duet_tensor *part = duet_slice(a, tx, 0, 0, m);
        T_CHECK_OK(duet_tensor_set_f32(part, x));
        duet_tensor *accp = duet_slice(a, tacc, 0, 0, m);
        T_CHECK_OK(duet_add(accp, accp, part));
        for (int64_t j = 0; j < m; j++) acc[j] += x[j];
        bytes += (size_t)m * 4;
    }
    float *got = vk_test_get(tacc);
    duet_test_close("accumulated small uploads", got, acc, (size_t)len, 1e-12);
    duet_vk_stats s1 = vk_test_stats(be);
    fprintf(stderr, "many small: %.1f MiB through a %.1f MiB ring in %zu submissions\n",
            (double)bytes / 1048576.0, (double)s0.staging_bytes / 1048576.0,
            s1.n_submits - s0.n_submits);
    T_CHECK(bytes > s0.staging_bytes);          /* the ring did wrap */
    T_CHECK(s1.n_submits - s0.n_submits < 200); /* batched, not one submission per upload */
    free(got);
    free(acc);
    free(x);
    duet_arena_free(&a);
}

static void half_types(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    const duet_dtype types[2] = {DUET_F16, DUET_BF16};
    for (int k = 0; k < 2; k++) {
        int64_t ne[2] = {13, 7}; /* 91 elements: an odd number of 2-byte values */
        float *x = duet_test_rand(91, 20 + (uint64_t)k, -3, 3);
        uint16_t *h = malloc(91 * sizeof *h), *back = malloc(91 * sizeof *back);
        duet_tensor *t = duet_test_tensor(a, be, types[k], 2, ne, x, duet_dtype_name(types[k]));
        T_CHECK_OK(duet_convert(h, types[k], x, DUET_F32, 91));
        T_CHECK_OK(duet_tensor_download(t, back, types[k]));
        T_CHECK(memcmp(h, back, 91 * sizeof *h) == 0);
        /* f32 download converts back exactly from the stored 16-bit values */
        float *want = malloc(91 * sizeof *want), *got = vk_test_get(t);
        T_CHECK_OK(duet_convert(want, DUET_F32, h, types[k], 91));
        T_CHECK(memcmp(got, want, 91 * sizeof *got) == 0);
        free(x);
        free(h);
        free(back);
        free(want);
        free(got);
    }
    duet_arena_free(&a);
}

static void unaligned_upload(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[1] = {64};
    float *x = duet_test_rand(64, 30, -1, 1), *y = duet_test_rand(5, 31, 5, 6);
    duet_tensor *t = vk_test_f32(a, be, 1, ne, x, "t");
    duet_tensor *v = duet_slice(a, t, 0, 3, 5); /* bytes 12..32: not 16-byte aligned */
    T_CHECK_OK(duet_tensor_set_f32(v, y));
    memcpy(x + 3, y, 5 * sizeof *y);
    float *got = vk_test_get(t);
    T_CHECK(memcmp(got, x, 64 * sizeof *x) == 0);
    /* 16-bit: an upload of 3 values at element offset 5 (byte 10) */
    duet_tensor *h = duet_test_tensor(a, be, DUET_F16, 1, ne, x, "h");
    duet_tensor *hv = duet_slice(a, h, 0, 5, 3);
    T_CHECK_OK(duet_tensor_set_f32(hv, y));
    float *hg = vk_test_get(h);
    for (int i = 0; i < 64; i++) {
        float want = duet_f16_to_f32(duet_f32_to_f16(i >= 5 && i < 8 ? y[i - 5] : x[i]));
        if (hg[i] != want) {
            fprintf(stderr, "FAIL f16 view upload: element %d is %g, want %g\n", i, hg[i], want);
            duet_test_failures++;
            break;
        }
    }
    free(hg);
    free(got);
    free(x);
    free(y);
    duet_arena_free(&a);
}

int main(void) {
    duet_backend *be = vk_test_open(false);
    large(be);
    many_small(be);
    half_types(be);
    unaligned_upload(be);
    return duet_test_end(&be, 1);
}
