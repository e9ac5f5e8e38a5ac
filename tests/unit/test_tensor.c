/* duet — unit tests for tensor metadata: dtype conversions (round trips, rounding, specials),
 * views (slice, permute, reshape), contiguity, arena-owned buffers and failing allocations. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "harness.h"

static void test_f16(void) {
    /* exact values round-trip */
    const float exact[] = {0.0f, -0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.9604645e-08f};
    for (size_t i = 0; i < sizeof exact / sizeof *exact; i++)
        T_CHECK(duet_f16_to_f32(duet_f32_to_f16(exact[i])) == exact[i]);
    T_CHECK(duet_f32_to_f16(1.0f) == 0x3c00);
    T_CHECK(duet_f32_to_f16(65520.0f) == 0x7c00);                 /* rounds to inf */
    T_CHECK(duet_f32_to_f16(1.0f + 1.0f / 2048.0f) == 0x3c00);    /* tie -> even */
    T_CHECK(duet_f32_to_f16(1.0f + 3.0f / 2048.0f) == 0x3c02);    /* tie -> even (up) */
    T_CHECK(isnan(duet_f16_to_f32(duet_f32_to_f16(NAN))));
    T_CHECK(isinf(duet_f16_to_f32(duet_f32_to_f16(-INFINITY))));
    /* every f16 bit pattern that is finite round-trips through f32 */
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        if (((h >> 10) & 0x1f) == 0x1f) continue;
        if (duet_f32_to_f16(duet_f16_to_f32((uint16_t)h)) != h) bad++;
    }
    T_CHECK(bad == 0);
}

static void test_bf16(void) {
    T_CHECK(duet_f32_to_bf16(1.0f) == 0x3f80);
    T_CHECK(duet_bf16_to_f32(0x3f80) == 1.0f);
    T_CHECK(duet_f32_to_bf16(1.00390625f) == 0x3f80); /* tie -> even */
    T_CHECK(duet_f32_to_bf16(1.01171875f) == 0x3f82); /* tie -> even (up) */
    T_CHECK(isnan(duet_bf16_to_f32(duet_f32_to_bf16(NAN))));
    int bad = 0;
    for (uint32_t h = 0; h < 0x10000; h++) {
        float f = duet_bf16_to_f32((uint16_t)h);
        if (isnan(f)) continue;
        if (duet_f32_to_bf16(f) != h) bad++;
    }
    T_CHECK(bad == 0);
}

static void test_views(duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    T_CHECK(a != NULL);
    float data[24];
    for (int i = 0; i < 24; i++) data[i] = (float)i;
    int64_t ne[3] = {4, 3, 2};
    duet_tensor *t = duet_test_tensor(a, be, DUET_F32, 3, ne, data, "t");
    T_CHECK(duet_is_contiguous(t) && duet_nelements(t) == 24);
    duet_tensor *s = duet_slice(a, t, 1, 1, 2); /* rows 1..2 of each matrix */
    T_CHECK(s && s->ne[1] == 2 && !duet_is_contiguous(s));
    int perm[3] = {1, 0, 2};
    duet_tensor *p = duet_permute(a, t, perm);
    T_CHECK(p && p->ne[0] == 3 && p->nb[0] == 16);
    duet_tensor *c = duet_tensor_new(a, be, DUET_F32, 3, p->ne);
    T_CHECK_OK(duet_copy(c, p));
    float out[24];
    T_CHECK_OK(duet_tensor_get_f32(c, out));
    /* c[i0, i1, i2] = t[i1, i0, i2] */
    T_CHECK(out[1] == 4.0f && out[3] == 1.0f && out[12] == 12.0f);
    int64_t ne2[2] = {12, 2};
    T_CHECK(duet_reshape(a, t, 2, ne2) != NULL);
    duet_log_set_level(DUET_LOG_ERROR - 1); /* the next calls log errors on purpose */
    T_CHECK(duet_reshape(a, s, 2, ne2) == NULL);           /* not contiguous */
    T_CHECK(duet_slice(a, t, 1, 2, 2) == NULL);            /* out of range */
    int64_t bad_ne[2] = {5, 5};
    T_CHECK(duet_reshape(a, t, 2, bad_ne) == NULL);
    duet_log_set_level(DUET_LOG_WARN);
    duet_arena_free(&a);
    T_CHECK(a == NULL);
    duet_arena_free(&a); /* NULL is accepted */
}

static void test_alloc_failure(duet_backend *be) {
    /* Each allocation in turn fails; nothing may crash or leak (ASan checks the latter). */
    for (long k = 0; k < 8; k++) {
        duet_log_set_level(DUET_LOG_ERROR - 1);
        duet_alloc_fail_after(k);
        duet_arena *a = duet_arena_new(0);
        int64_t ne[2] = {8, 8};
        duet_tensor *t = a ? duet_tensor_new(a, be, DUET_F32, 2, ne) : NULL;
        float buf[64] = {0};
        if (t) (void)duet_tensor_upload(t, buf, DUET_F32);
        duet_alloc_fail_after(-1);
        duet_log_set_level(DUET_LOG_WARN);
        duet_arena_free(&a);
    }
}

int main(void) {
    test_f16();
    test_bf16();
    duet_backend *bes[2];
    int n = duet_test_backends(bes, 2);
    for (int i = 0; i < n; i++) {
        test_views(bes[i]);
        test_alloc_failure(bes[i]);
    }
    return duet_test_end(bes, n);
}
