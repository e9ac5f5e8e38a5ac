/* duet — the backend interface. A backend owns buffers and runs ops on them; dispatch of every
 * op lives in core/ops.c, which validates arguments once and then calls run_op. Backends:
 * CPU (core/cpu/, the reference) and Vulkan (core/vulkan/). Model code never includes this
 * header's implementations, only core/ops.h and core/tensor.h. */
#ifndef DUET_BACKEND_H
#define DUET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "ops.h"
#include "status.h"
#include "tensor.h"

typedef enum {
    DUET_BACKEND_CPU = 0,
    DUET_BACKEND_VULKAN = 1,
    DUET_BACKEND_AUTO = 2, /* Vulkan on a GPU if one is usable, else CPU (a software Vulkan
                              device such as lavapipe is chosen only when asked for by
                              index or $DUET_DEVICE: the CPU backend is much faster) */
    DUET_BACKEND_KIND_COUNT = 3,
} duet_backend_kind;

typedef struct {
    duet_backend_kind kind;
    int n_threads;      /* CPU: worker threads, 0 = all cores */
    int device_index;   /* Vulkan: -1 = $DUET_DEVICE if set, else prefer a discrete GPU */
    bool validation;    /* Vulkan: enable validation layers; messages are logged as errors
                           and counted (duet_backend_validation_errors) */
    bool profile;       /* record per-op timings (Vulkan timestamp queries; CPU wall clock) */
} duet_backend_params;

duet_backend_params duet_backend_default_params(void);

/* Parse "cpu" | "vulkan" | "auto"; DUET_ERR_INVALID_ARG otherwise. */
duet_status duet_backend_kind_parse(const char *s, duet_backend_kind *out);

/* Creates a backend. Returns DUET_OK, DUET_ERR_UNSUPPORTED (no Vulkan device/loader),
 * DUET_ERR_INVALID_ARG (bad device index), DUET_ERR_OUT_OF_MEMORY or DUET_ERR_BACKEND.
 * A backend is not thread-safe: use one per thread. */
duet_status duet_backend_new(const duet_backend_params *p, duet_backend **out);
/* Waits for outstanding work and releases the backend. Accepts NULL; clears *be. All buffers
 * must have been freed before (free the arenas first). */
void duet_backend_free(duet_backend **be);

const char *duet_backend_name(const duet_backend *be);
duet_backend_kind duet_backend_get_kind(const duet_backend *be);
/* Submits recorded work and waits for it. */
duet_status duet_backend_sync(duet_backend *be);
/* Number of validation-layer messages seen so far (0 when validation is off). */
long duet_backend_validation_errors(const duet_backend *be);

typedef struct {
    duet_op_kind kind;
    double elapsed_us;
} duet_op_timing;

/* Per-op timings since the last call (needs params.profile). Syncs first. Returns how many
 * were written to `out` (at most max). */
size_t duet_backend_read_timings(duet_backend *be, duet_op_timing *out, size_t max);

/* ---- for backend implementations only ---- */

typedef struct duet_backend_vtable {
    duet_status (*buffer_alloc)(duet_backend *be, size_t nbytes, duet_buffer **out);
    void (*buffer_free)(duet_backend *be, duet_buffer *buf);
    /* Copy bytes into/out of a buffer. download must see the results of all earlier ops. */
    duet_status (*upload)(duet_backend *be, duet_buffer *buf, size_t offset, const void *src,
                          size_t nbytes);
    duet_status (*download)(duet_backend *be, const duet_buffer *buf, size_t offset, void *dst,
                            size_t nbytes);
    /* op has been validated by core/ops.c. UNSUPPORTED if the backend lacks it. */
    duet_status (*run_op)(duet_backend *be, const duet_op *op);
    duet_status (*sync)(duet_backend *be);
    size_t (*read_timings)(duet_backend *be, duet_op_timing *out, size_t max);
    void (*destroy)(duet_backend *be);
} duet_backend_vtable;

struct duet_backend {
    const duet_backend_vtable *vt;
    duet_backend_kind kind;
    char name[128];
    long validation_errors;
    bool software_device; /* a Vulkan device that runs on the CPU (lavapipe) */
    void *ctx; /* the implementation's state */
};

duet_status duet_cpu_backend_new(const duet_backend_params *p, duet_backend **out);
duet_status duet_vulkan_backend_new(const duet_backend_params *p, duet_backend **out);

#endif
