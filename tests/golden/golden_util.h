/* duet — helpers the golden tests share (tests/golden/test_*.c): opening a golden safetensors
 * file written by a script in tools/golden/, host copies of its tensors, comparisons that
 * print the normalized mean squared error and fail through duet_test_close (worst element and
 * both values), capturing the library's log to check that an error names its cause, and the
 * "every allocation fails in turn" loop. Every failure is counted in duet_test_failures. */
#ifndef DUET_GOLDEN_UTIL_H
#define DUET_GOLDEN_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include "core/backend.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"
#include "harness.h"

/* Opens `path`; on failure prints that it cannot (and that `script` regenerates it), counts a
 * failure and returns false. */
bool duet_golden_open(const char *path, const char *script, duet_safetensors **st);

/* A host copy of tensor `name` (the file's mapping may be unaligned): dtype DUET_F32 or
 * DUET_I32, or DUET_DTYPE_COUNT for either; n_want elements, or any number when 0. *n_out (may
 * be NULL) gets the element count. NULL, with a failure counted and the file and tensor named,
 * when absent or unlike that. Free with free(). */
void *duet_golden_read(const duet_safetensors *st, const char *name, duet_dtype dtype,
                       size_t n_want, size_t *n_out);
/* The same as floats: f32 copied, i32 converted. */
float *duet_golden_floats(const duet_safetensors *st, const char *name, size_t n_want);

/* sum (got - want)^2 / max(sum want^2, 1e-30). */
double duet_golden_nmse(const float *got, const float *want, size_t n);
/* Prints "name: nmse E (limit L)" and checks with duet_test_close. */
bool duet_golden_report(const char *name, const float *got, const float *want, size_t n,
                        double tol);
/* A backend tensor of n elements against host values. */
bool duet_golden_compare_tensor(const char *name, const duet_tensor *t, const float *want,
                                size_t n, double tol);
/* Host values, or a backend tensor, against the file's f32 tensor `ref`, reported as
 * "label ref"; a count that differs from the reference's is a failure. */
bool duet_golden_compare_host(const duet_safetensors *st, const char *label, const float *got,
                              size_t n, const char *ref, double tol);
bool duet_golden_compare(const duet_safetensors *st, const char *label, const duet_tensor *t,
                         const char *ref, double tol);

/* A copy of a golden file with changes, for the malformed-weights checks. */
typedef struct {
    const char *drop;    /* left out */
    const char *narrow;  /* one element narrower in its innermost dim (its data is larger: fine) */
    const char *extra;   /* a copy of the first tensor under this name */
    const char *replace; /* data replaced by `data` (same size) */
    const void *data;
} duet_golden_variant;

/* Writes st's tensors, changed as v says, to `path`; false when it cannot. */
bool duet_golden_write_variant(const duet_safetensors *st, const char *path,
                               const duet_golden_variant *v);

/* Log capture: messages up to warnings are echoed as "(expected)" and kept; capture_end stops
 * and is true when one of them contains `needle` (else prints a failure line; the caller
 * T_CHECKs it). */
void duet_golden_capture_begin(void);
bool duet_golden_capture_end(const char *needle);
/* A log sink that drops everything. */
void duet_golden_quiet(duet_log_level level, const char *msg, void *user);

/* Runs attempt(user, be) with host allocation n failing (core/alloc.h), n = 0, 1, ... until
 * it succeeds or max_points attempts; the log is silenced meanwhile. Each failing attempt must
 * end in DUET_ERR_OUT_OF_MEMORY (or DUET_ERR_DEVICE_OOM when device_oom_ok), else a failure
 * is counted. Returns the number of failure points passed, or -1 (a failure counted) when the
 * last attempt did not succeed either. */
long duet_golden_alloc_failures(duet_status (*attempt)(void *user, duet_backend *be), void *user,
                                duet_backend *be, long max_points, bool device_oom_ok);

#endif
