/* duet — Vulkan device memory: sub-allocation and its limits. Checked: a freed range is
 * handed out again (same block, same offset); freeing neighbours coalesces them so a buffer
 * of their combined size fits where they were; allocate/free cycles do not grow the memory
 * held; a buffer larger than a block gets a dedicated block that is released when freed;
 * a buffer larger than maxStorageBufferRange serves ops on views near its end, and an op on
 * a view spanning more than that range fails cleanly;
 * an absurd request fails with DUET_ERR_DEVICE_OOM and a message naming the size asked and
 * the memory free, and the backend keeps working afterwards. */
#include "vk_test.h"

static duet_buffer *alloc(duet_backend *be, size_t n) {
    duet_buffer *b = NULL;
    T_CHECK_OK(be->vt->buffer_alloc(be, n, &b));
    return b;
}

static void where(const duet_buffer *b, size_t *blk, size_t *off) {
    *blk = *off = (size_t)-1;
    if (b) T_CHECK_OK(duet_vk_buffer_location(b, blk, off));
}

static void reuse(duet_backend *be) {
    duet_buffer *a = alloc(be, 1 << 20), *b = alloc(be, 1 << 20), *c = alloc(be, 1 << 20);
    duet_buffer *d = alloc(be, 1000);
    size_t ba, oa, bb, ob, bc, oc;
    where(a, &ba, &oa);
    where(b, &bb, &ob);
    where(c, &bc, &oc);
    T_CHECK(ba == bb && bb == bc && oa < ob && ob < oc); /* sub-allocated from one block */
    be->vt->buffer_free(be, b);
    duet_buffer *b2 = alloc(be, 1 << 20);
    size_t bb2, ob2;
    where(b2, &bb2, &ob2);
    T_CHECK(bb2 == bb && ob2 == ob); /* the freed range is reused */
    /* free all three neighbours: one hole of 3 MiB at a's offset */
    be->vt->buffer_free(be, a);
    be->vt->buffer_free(be, c);
    be->vt->buffer_free(be, b2);
    duet_buffer *big = alloc(be, 3 << 20);
    size_t bg, og;
    where(big, &bg, &og);
    T_CHECK(bg == ba && og == oa);
    be->vt->buffer_free(be, big);
    be->vt->buffer_free(be, d);
}

static void cycles(duet_backend *be) {
    duet_vk_stats s0 = vk_test_stats(be);
    duet_buffer *bufs[100];
    size_t held = 0;
    for (int round = 0; round < 5; round++) {
        for (int i = 0; i < 100; i++) bufs[i] = alloc(be, 1000 + 37 * (size_t)i);
        duet_vk_stats s = vk_test_stats(be);
        if (round == 0) held = s.reserved_bytes;
        T_CHECK(s.reserved_bytes == held);
        for (int i = 0; i < 100; i += 2) be->vt->buffer_free(be, bufs[i]);
        for (int i = 1; i < 100; i += 2) be->vt->buffer_free(be, bufs[i]);
    }
    duet_vk_stats s1 = vk_test_stats(be);
    T_CHECK(s1.used_bytes == s0.used_bytes);
    T_CHECK(s1.reserved_bytes <= held);
}

static void dedicated(duet_backend *be) {
    duet_vk_stats s0 = vk_test_stats(be);
    size_t n = s0.block_bytes + 4096;
    duet_buffer *b = alloc(be, n);
    duet_vk_stats s1 = vk_test_stats(be);
    T_CHECK(s1.n_blocks == s0.n_blocks + 1 && s1.reserved_bytes >= s0.reserved_bytes + n);
    /* usable up to its last byte */
    float x[4] = {1, 2, 3, 4}, y[4];
    T_CHECK_OK(be->vt->upload(be, b, n - sizeof x, x, sizeof x));
    T_CHECK_OK(be->vt->download(be, b, n - sizeof x, y, sizeof y));
    T_CHECK(memcmp(x, y, sizeof x) == 0);
    be->vt->buffer_free(be, b);
    duet_vk_stats s2 = vk_test_stats(be);
    T_CHECK(s2.n_blocks == s0.n_blocks && s2.reserved_bytes == s0.reserved_bytes);
}

/* A buffer larger than maxStorageBufferRange: ops on views near its end work (the binding is
 * a window at the view's offset); an op on a view spanning more than the range fails with
 * DUET_ERR_UNSUPPORTED instead of binding a truncated range. Only where the range is small
 * enough to test cheaply (lavapipe: 128 MiB). */
static void beyond_binding_range(duet_backend *be) {
    duet_vk_stats s = vk_test_stats(be);
    if (s.max_binding_bytes > ((size_t)512 << 20)) {
        fprintf(stderr,
                "note: maxStorageBufferRange is %zu MiB; large-buffer window case not run\n",
                s.max_binding_bytes >> 20);
        return;
    }
    duet_arena *a = duet_arena_new(0);
    int64_t n = (int64_t)(s.max_binding_bytes / 4) + (16 << 20); /* range + 64 MiB */
    duet_tensor *big = duet_tensor_new4(a, be, DUET_F32, n, 1, 1, 1);
    T_CHECK(big != NULL);
    if (!big) return;
    duet_tensor *tail = duet_slice(a, big, 0, n - 1000, 1000);
    duet_tensor *head = duet_slice(a, big, 0, 0, 1000);
    float *x = duet_test_rand(1000, 9, -1, 1), want[1000];
    T_CHECK_OK(duet_tensor_set_f32(tail, x));
    T_CHECK_OK(duet_scale(head, tail, 3.0f, 1.0f)); /* windows at both ends of the buffer */
    for (int i = 0; i < 1000; i++) want[i] = 3.0f * x[i] + 1.0f;
    float *got = vk_test_get(head);
    duet_test_close("op on views at both ends of a buffer beyond maxStorageBufferRange", got, want,
                    1000, 0);
    T_CHECK(duet_scale(big, big, 1.0f, 0.0f) == DUET_ERR_UNSUPPORTED);
    free(got);
    free(x);
    duet_arena_free(&a);
}

static char last_error[1024];
static void capture(duet_log_level level, const char *msg, void *user) {
    (void)user;
    if (level == DUET_LOG_ERROR && !last_error[0])
        snprintf(last_error, sizeof last_error, "%s", msg);
    fprintf(stderr, "(logged) %s\n", msg);
}

static void oom(duet_backend *be) {
    last_error[0] = 0;
    duet_log_set_callback(capture, NULL);
    duet_buffer *b = NULL;
    size_t absurd = (size_t)1 << 40; /* 1 TiB */
    duet_status st = be->vt->buffer_alloc(be, absurd, &b);
    duet_log_set_callback(NULL, NULL);
    T_CHECK(st == DUET_ERR_DEVICE_OOM && b == NULL);
    T_CHECK(strstr(last_error, "1048576.0 MiB") != NULL); /* how much was asked */
    T_CHECK(strstr(last_error, "free") != NULL);          /* and what is free */
    /* still usable */
    duet_arena *a = duet_arena_new(0);
    int64_t ne[1] = {100};
    float *x = duet_test_rand(100, 1, -1, 1), want[100];
    duet_tensor *t = vk_test_f32(a, be, 1, ne, x, "after_oom");
    T_CHECK_OK(duet_scale(t, t, 2.0f, 0.0f));
    for (int i = 0; i < 100; i++) want[i] = 2.0f * x[i];
    float *got = vk_test_get(t);
    duet_test_close("op after an OOM", got, want, 100, 0);
    free(got);
    free(x);
    duet_arena_free(&a);
    /* through the tensor API: NULL, nothing leaked */
    duet_vk_stats s0 = vk_test_stats(be);
    duet_arena *a2 = duet_arena_new(0);
    T_CHECK(duet_tensor_new4(a2, be, DUET_F32, (int64_t)1 << 38, 1, 1, 1) == NULL);
    duet_arena_free(&a2);
    duet_vk_stats s1 = vk_test_stats(be);
    T_CHECK(s1.used_bytes == s0.used_bytes && s1.reserved_bytes == s0.reserved_bytes);
}

int main(void) {
    duet_backend *be = vk_test_open(false);
    reuse(be);
    cycles(be);
    dedicated(be);
    beyond_binding_range(be);
    oom(be);
    return duet_test_end(&be, 1);
}
