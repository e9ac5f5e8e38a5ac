/* duet — shared test helpers: checks that print what failed, comparison of float arrays by
 * normalized mean squared error with the worst element reported, deterministic random data,
 * and opening the backends under test (Vulkan with validation layers on). */
#ifndef DUET_TEST_HARNESS_H
#define DUET_TEST_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/arena.h"
#include "core/backend.h"
#include "core/log.h"
#include "core/ops.h"
#include "core/tensor.h"

extern int duet_test_failures;

#define T_CHECK(cond)                                                                          \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond);                   \
            duet_test_failures++;                                                              \
        }                                                                                      \
    } while (0)
/* T_CHECK that also prints a printf-style explanation when it fails. */
#define T_CHECK_MSG(cond, ...)                                                                 \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                   \
            fprintf(stderr, __VA_ARGS__);                                                      \
            fputc('\n', stderr);                                                               \
            duet_test_failures++;                                                              \
        }                                                                                      \
    } while (0)
#define T_CHECK_OK(expr)                                                                       \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) {                                                                  \
            fprintf(stderr, "FAIL %s:%d: %s returned %s\n", __FILE__, __LINE__, #expr,         \
                    duet_status_str(st_));                                                     \
            duet_test_failures++;                                                              \
        }                                                                                      \
    } while (0)

/* Compare n floats: fails (and prints name, nmse, worst index and both values) when any value
 * of `got` is NaN/Inf where `want` is finite, or when
 * nmse = sum (got - want)^2 / max(sum want^2, tiny) exceeds max_nmse. Returns true on pass. */
bool duet_test_close(const char *name, const float *got, const float *want, size_t n,
                     double max_nmse);

/* Deterministic uniform [lo, hi) floats from a seed (xorshift). */
void duet_test_fill(float *x, size_t n, uint64_t seed, float lo, float hi);
/* Allocate n floats filled from seed (caller frees with free()). */
float *duet_test_rand(size_t n, uint64_t seed, float lo, float hi);

/* Backends under test. Index 0 is always the CPU backend; index 1 Vulkan if it opens. When
 * $DUET_TEST_REQUIRE_VULKAN is set (CI sets it), failing to open Vulkan is a test failure,
 * never a skip. Vulkan is opened with validation layers on: call duet_test_end() last, which
 * fails the test if any validation message was seen. */
int duet_test_backends(duet_backend **out, int max);
/* Frees the backends, checks validation counters, prints a summary; returns the exit code. */
int duet_test_end(duet_backend **bes, int n);

/* Tensor with data uploaded from f32 host values (converted to dtype). */
duet_tensor *duet_test_tensor(duet_arena *a, duet_backend *be, duet_dtype t, int n_dims,
                              const int64_t *ne, const float *data, const char *name);

#endif
