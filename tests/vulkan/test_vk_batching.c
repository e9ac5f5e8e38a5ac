/* duet — Vulkan recording and submission: hundreds of ops recorded before one download give
 * the results of running them one by one. Checked: a chain of dependent in-place ops crossing
 * several batch submissions (results vs host, NMSE 1e-10; one barrier per dependent op, and
 * submissions every VK_SUBMIT_AFTER dispatches, never one per op); independent ops from a
 * shared source recorded without barriers between them; a chain over partially overlapping
 * views of one buffer at unaligned offsets (barriers by range overlap); per-op timestamps
 * when profiling. Runs with push descriptors and 16-bit storage, then with both turned off
 * (descriptor pool path). */
#include <math.h>

#include "vk_test.h"

#define N 1000

static void chain(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[2] = {N / 10, 10}, rne[1] = {N / 10};
    float *x = duet_test_rand(N, 1, -1, 1), *r = duet_test_rand(N / 10, 2, -0.01f, 0.01f);
    duet_tensor *tx = vk_test_f32(a, be, 2, ne, x, "x");
    duet_tensor *tr = vk_test_f32(a, be, 1, rne, r, "row");
    duet_vk_stats s0 = vk_test_stats(be);
    const int n_ops = 300;
    for (int i = 0; i < n_ops; i++) {
        if (i % 2)
            T_CHECK_OK(duet_scale(tx, tx, 0.999f, 0.001f));
        else
            T_CHECK_OK(duet_add(tx, tx, tr)); /* row broadcast over dim 1 */
        for (int j = 0; j < N; j++) x[j] = i % 2 ? x[j] * 0.999f + 0.001f : x[j] + r[j % (N / 10)];
    }
    float *got = vk_test_get(tx);
    duet_vk_stats s1 = vk_test_stats(be);
    duet_test_close("chain of 300 dependent in-place ops", got, x, N, 1e-10);
    size_t subs = s1.n_submits - s0.n_submits, bars = s1.n_barriers - s0.n_barriers;
    fprintf(stderr, "chain: %zu dispatches, %zu submissions, %zu barriers\n",
            s1.n_dispatches - s0.n_dispatches, subs, bars);
    T_CHECK(s1.n_dispatches - s0.n_dispatches == (size_t)n_ops);
    T_CHECK(subs >= 4 && subs <= 8); /* 300 / 64 batches plus the download's submission */
    T_CHECK(bars >= (size_t)n_ops);  /* every op reads what the previous one wrote */
    free(got);
    free(x);
    free(r);
    duet_arena_free(&a);
}

static void independent(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[1] = {4096};
    float *x = duet_test_rand(4096, 3, -2, 2);
    duet_tensor *src = vk_test_f32(a, be, 1, ne, x, "src");
    enum { K = 40 };
    duet_tensor *dst[K];
    for (int k = 0; k < K; k++) dst[k] = vk_test_f32(a, be, 1, ne, NULL, "dst");
    T_CHECK_OK(duet_backend_sync(be));
    duet_vk_stats s0 = vk_test_stats(be);
    for (int k = 0; k < K; k++) T_CHECK_OK(duet_scale(dst[k], src, (float)k, 1.0f));
    duet_vk_stats s1 = vk_test_stats(be);
    /* The first dispatch opens a command buffer (one full barrier); the others only read src
     * and write disjoint ranges, so no barrier separates them. */
    fprintf(stderr, "independent: %zu barriers for %d ops\n", s1.n_barriers - s0.n_barriers, K);
    T_CHECK(s1.n_barriers - s0.n_barriers <= 1);
    float *want = malloc(4096 * sizeof *want);
    for (int k = 0; k < K; k++) {
        for (int i = 0; i < 4096; i++) want[i] = x[i] * (float)k + 1.0f;
        float *got = vk_test_get(dst[k]);
        duet_test_close("independent scale", got, want, 4096, 1e-12);
        free(got);
    }
    free(want);
    free(x);
    duet_arena_free(&a);
}

/* Views of n elements at offsets that are multiples of n/2 inside one buffer of 4n: each op
 * reads one view and writes another disjoint one, while consecutive ops overlap partially, so
 * only range tracking (not whole-buffer tracking) can order them correctly. */
static void overlapping_views(duet_backend *be) {
    const int64_t n = 300, h2 = n / 2;
    duet_arena *a = duet_arena_new(0);
    int64_t ne[1] = {4 * n};
    float *h = duet_test_rand((size_t)(4 * n), 4, -1, 1);
    duet_tensor *buf = vk_test_f32(a, be, 1, ne, h, "buf");
    float *tmp = malloc((size_t)n * sizeof *tmp);
    for (int i = 0; i < 80; i++) {
        int64_t od = (int64_t)((i * 3) % 7) * h2, os = -1;
        for (int k = 0; k < 7 && os < 0; k++) { /* first offset from (5i + 2) mod 7 on, disjoint */
            int64_t cand = (int64_t)((i * 5 + 2 + k) % 7) * h2;
            if (cand + n <= od || od + n <= cand) os = cand;
        }
        duet_tensor *dst = duet_slice(a, buf, 0, od, n), *src = duet_slice(a, buf, 0, os, n);
        T_CHECK_OK(duet_scale(dst, src, 0.5f, (float)i));
        for (int64_t j = 0; j < n; j++) tmp[j] = h[os + j] * 0.5f + (float)i;
        memcpy(h + od, tmp, (size_t)n * sizeof *tmp);
    }
    float *got = vk_test_get(buf);
    duet_test_close("chain over partially overlapping views", got, h, (size_t)(4 * n), 1e-12);
    free(got);
    free(tmp);
    free(h);
    duet_arena_free(&a);
}

static void profile(void) {
    duet_backend *be = vk_test_open(true);
    duet_arena *a = duet_arena_new(0);
    int64_t ne[2] = {64, 64};
    float *x = duet_test_rand(64 * 64, 5, -1, 1);
    duet_tensor *t = vk_test_f32(a, be, 2, ne, x, "x"), *y = vk_test_f32(a, be, 2, ne, NULL, "y");
    duet_op_timing tm[16];
    duet_backend_read_timings(be, tm, 16); /* drop anything from the uploads */
    T_CHECK_OK(duet_scale(y, t, 2.0f, 0.0f));
    T_CHECK_OK(duet_matmul(y, t, t, NULL, false));
    T_CHECK_OK(duet_softmax(y, y, 1.0f));
    size_t n = duet_backend_read_timings(be, tm, 16);
    T_CHECK(n == 3);
    const duet_op_kind want[3] = {DUET_OP_SCALE, DUET_OP_MATMUL, DUET_OP_SOFTMAX};
    double total = 0;
    for (size_t i = 0; i < n && i < 3; i++) {
        fprintf(stderr, "timing %zu: %s %.1f us\n", i, duet_op_name(tm[i].kind), tm[i].elapsed_us);
        T_CHECK(tm[i].kind == want[i]);
        T_CHECK(isfinite(tm[i].elapsed_us) && tm[i].elapsed_us >= 0);
        total += tm[i].elapsed_us;
    }
    T_CHECK(total > 0);
    T_CHECK(duet_backend_read_timings(be, tm, 16) == 0);
    free(x);
    duet_arena_free(&a);
    duet_test_end(&be, 1);
}

static void run_all(const char *config) {
    duet_backend *be = vk_test_open(false);
    duet_vk_stats s = vk_test_stats(be);
    fprintf(stderr, "config %s: push descriptors %d, 16-bit storage %d\n", config,
            s.push_descriptors, s.storage_16bit);
    chain(be);
    independent(be);
    overlapping_views(be);
    duet_test_end(&be, 1);
}

int main(void) {
    run_all("default");
    profile();
    setenv("DUET_VK_PUSH_DESCRIPTORS", "0", 1);
    setenv("DUET_VK_16BIT", "0", 1);
    run_all("descriptor pools, no 16-bit storage");
    duet_backend *be = vk_test_open(false);
    duet_vk_stats s = vk_test_stats(be);
    T_CHECK(!s.push_descriptors && !s.storage_16bit);
    duet_test_end(&be, 1);
    return duet_test_failures ? 1 : 0;
}
