/* duet — the validation plumbing of the Vulkan backend: the backend opens with
 * VK_LAYER_KHRONOS_validation and a debug messenger; a message sent through the messenger is
 * logged as an error naming its text and counted by duet_backend_validation_errors; a
 * workload touching every op family (plus the descriptor-pool and 16-bit fallback paths in
 * the other vulkan tests) ends with zero messages. */
#include "vk_test.h"

static int n_errors;
static char seen[512];

static void capture(duet_log_level level, const char *msg, void *user) {
    (void)user;
    if (level != DUET_LOG_ERROR) return;
    n_errors++;
    snprintf(seen, sizeof seen, "%s", msg);
}

static void workload(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    int64_t ne[4] = {16, 2, 8, 1}, rne[2] = {16, 8}, wne[3] = {3, 2, 4}, one[1] = {16};
    float *x = duet_test_rand(256, 1, -1, 1), *r = duet_test_rand(128, 2, -1, 1);
    duet_tensor *q = vk_test_f32(a, be, 4, ne, x, "q"), *o = vk_test_f32(a, be, 4, ne, NULL, "o");
    duet_tensor *tab = vk_test_f32(a, be, 2, rne, r, "tab");
    duet_tensor *w16 = duet_test_tensor(a, be, DUET_F16, 2, rne, r, "w16");
    duet_tensor *cw = duet_test_tensor(a, be, DUET_BF16, 3, wne, r, "convw");
    duet_tensor *g = vk_test_f32(a, be, 1, one, x, "gain");
    int64_t mne[2] = {8, 16}, cne[3] = {14, 4, 8};
    duet_tensor *mm = vk_test_f32(a, be, 2, mne, NULL, "mm");
    duet_tensor *q2 = duet_reshape(a, q, 2, (int64_t[]){16, 16});
    duet_tensor *cx = duet_reshape(a, q, 3, (int64_t[]){16, 2, 8});
    duet_tensor *co = vk_test_f32(a, be, 3, cne, NULL, "conv");
    T_CHECK_OK(duet_rope(o, q, tab));
    T_CHECK_OK(duet_attention(o, q, o, q, NULL, 0.25f));
    T_CHECK_OK(duet_layernorm(o, o, g, g, 1e-5f));
    T_CHECK_OK(duet_unary(o, o, DUET_UNARY_GELU_ERF));
    T_CHECK_OK(duet_matmul(mm, q2, w16, NULL, false));
    T_CHECK_OK(duet_conv1d(co, cx, cw, NULL, 1, 0, 1));
    T_CHECK_OK(duet_copy(w16, tab));
    T_CHECK_OK(duet_backend_sync(be));
    free(x);
    free(r);
    duet_arena_free(&a);
}

int main(void) {
    duet_backend *be = vk_test_open(false);
    T_CHECK(strstr(duet_backend_name(be), "validation") != NULL);
    workload(be);
    T_CHECK(duet_backend_validation_errors(be) == 0);
    long before = duet_backend_validation_errors(be);
    duet_log_set_callback(capture, NULL);
    T_CHECK_OK(duet_vk_submit_debug_message(be, "duet test message 4711"));
    duet_log_set_callback(NULL, NULL);
    T_CHECK(duet_backend_validation_errors(be) == before + 1);
    T_CHECK(n_errors == 1 && strstr(seen, "duet test message 4711") != NULL);
    be->validation_errors = before; /* the injected message was expected */
    return duet_test_end(&be, 1);
}
