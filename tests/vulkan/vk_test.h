/* duet — helpers for the Vulkan backend tests (tests/vulkan): open a Vulkan backend with
 * validation on (exit 77, meson's SKIP, when none opens and $DUET_TEST_REQUIRE_VULKAN is not
 * set: never counted as a pass), fill tensors, read them back. Header-only. */
#ifndef DUET_VK_TEST_H
#define DUET_VK_TEST_H

#include <stdlib.h>
#include <string.h>

#include "core/vulkan/vk_info.h"
#include "harness.h"

#define VK_TEST_SKIP 77

/* A Vulkan backend with validation; optional extra settings via setenv before the call
 * (DUET_VK_16BIT=0, DUET_VK_PUSH_DESCRIPTORS=0). Exits 77 (skip) when unavailable. */
static inline duet_backend *vk_test_open(bool profile) {
    duet_backend_params p = duet_backend_default_params();
    p.kind = DUET_BACKEND_VULKAN;
    p.validation = true;
    p.profile = profile;
    duet_backend *be = NULL;
    duet_status st = duet_backend_new(&p, &be);
    if (st == DUET_OK) {
        fprintf(stderr, "backend: %s\n", duet_backend_name(be));
        return be;
    }
    if (getenv("DUET_TEST_REQUIRE_VULKAN")) {
        fprintf(stderr, "FAIL: DUET_TEST_REQUIRE_VULKAN is set but Vulkan did not open: %s\n",
                duet_status_str(st));
        exit(1);
    }
    fprintf(stderr, "SKIP: no Vulkan backend (%s)\n", duet_status_str(st));
    exit(VK_TEST_SKIP);
}

static inline duet_vk_stats vk_test_stats(const duet_backend *be) {
    duet_vk_stats s;
    memset(&s, 0, sizeof s);
    T_CHECK_OK(duet_vk_get_stats(be, &s));
    return s;
}

/* f32 tensor of shape ne (1..4 dims) filled from data (may be NULL). */
static inline duet_tensor *vk_test_f32(duet_arena *a, duet_backend *be, int n_dims,
                                       const int64_t *ne, const float *data, const char *name) {
    return duet_test_tensor(a, be, DUET_F32, n_dims, ne, data, name);
}

static inline float *vk_test_get(const duet_tensor *t) {
    size_t n = (size_t)duet_nelements(t);
    float *out = malloc((n ? n : 1) * sizeof *out);
    if (!out) abort();
    T_CHECK_OK(duet_tensor_get_f32(t, out));
    return out;
}

#endif
