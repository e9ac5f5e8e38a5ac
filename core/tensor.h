/* duet — tensors: dtype, shape (ne, innermost first), byte strides (nb), a backend buffer.
 * Views share storage. Tensor metadata lives in an arena (core/arena.h) and is freed with it;
 * the arena also owns the buffers of tensors created through it. */
#ifndef DUET_TENSOR_H
#define DUET_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

#define DUET_MAX_DIMS 5
#define DUET_NAME_MAX 96

typedef enum {
    DUET_F32 = 0,
    DUET_F16 = 1,
    DUET_BF16 = 2,
    DUET_I32 = 3,
    DUET_DTYPE_COUNT = 4,
} duet_dtype;

typedef struct duet_backend duet_backend;
typedef struct duet_arena duet_arena;

/* A device (or host) allocation owned by a backend. `host` is non-NULL when the bytes are
 * directly addressable by the CPU (CPU backend); `priv` is the backend's own handle. */
typedef struct duet_buffer {
    duet_backend *backend;
    size_t nbytes;
    void *host;
    void *priv;
} duet_buffer;

typedef struct duet_tensor {
    duet_dtype dtype;
    int n_dims;                 /* 1..DUET_MAX_DIMS; ne[i] == 1 for i >= n_dims */
    int64_t ne[DUET_MAX_DIMS];  /* element counts, innermost first */
    size_t nb[DUET_MAX_DIMS];   /* byte strides */
    duet_buffer *buf;
    size_t offset;              /* bytes from the start of buf to element 0 */
    char name[DUET_NAME_MAX];
} duet_tensor;

size_t duet_dtype_size(duet_dtype t);
const char *duet_dtype_name(duet_dtype t);

int64_t duet_nelements(const duet_tensor *t);
/* Bytes spanned from element 0 to one past the last element (strides respected). */
size_t duet_span_bytes(const duet_tensor *t);
bool duet_is_contiguous(const duet_tensor *t);
bool duet_same_shape(const duet_tensor *a, const duet_tensor *b);
/* "[4, 3, 2]" style, innermost first; writes at most n bytes. Returns buf. */
const char *duet_shape_str(const duet_tensor *t, char *buf, size_t n);

/* New contiguous tensor with a fresh buffer on `be`; the arena owns both. NULL on failure
 * (logged). Contents are undefined. */
duet_tensor *duet_tensor_new(duet_arena *a, duet_backend *be, duet_dtype t, int n_dims,
                             const int64_t *ne);
/* Convenience for 1..4 dims; unused trailing sizes are 1. */
duet_tensor *duet_tensor_new4(duet_arena *a, duet_backend *be, duet_dtype t, int64_t ne0,
                              int64_t ne1, int64_t ne2, int64_t ne3);

/* A view by value (no arena), for hot loops: ne/nb for n_dims dims, 1 beyond; asserts that it
 * fits the source's buffer. */
duet_tensor duet_view_at(const duet_tensor *src, int n_dims, const int64_t *ne, const size_t *nb,
                         size_t offset_bytes);
/* Views (no copy). NULL with a log message if the request does not fit the source. */
duet_tensor *duet_view(duet_arena *a, const duet_tensor *src, int n_dims, const int64_t *ne,
                       const size_t *nb, size_t offset_bytes);
duet_tensor *duet_reshape(duet_arena *a, const duet_tensor *src, int n_dims, const int64_t *ne);
/* perm[i] = which source dim becomes dim i. */
duet_tensor *duet_permute(duet_arena *a, const duet_tensor *src, const int *perm);
duet_tensor *duet_slice(duet_arena *a, const duet_tensor *src, int dim, int64_t start,
                        int64_t len);
void duet_tensor_set_name(duet_tensor *t, const char *name);

/* Host <-> backend transfers of a contiguous tensor. Upload converts from `src_dtype`
 * (f32/f16/bf16 -> f32/f16/bf16; i32 -> i32) and has consumed `data` when it returns.
 * Download syncs the backend first (all recorded ops complete) and converts to `dst_dtype`. */
duet_status duet_tensor_upload(duet_tensor *t, const void *data, duet_dtype src_dtype);
duet_status duet_tensor_download(const duet_tensor *t, void *data, duet_dtype dst_dtype);
/* Convenience: f32 in/out. */
duet_status duet_tensor_set_f32(duet_tensor *t, const float *data);
duet_status duet_tensor_get_f32(const duet_tensor *t, float *data);

/* Scalar conversions (round-to-nearest-even for narrowing). */
uint16_t duet_f32_to_f16(float f);
float duet_f16_to_f32(uint16_t h);
uint16_t duet_f32_to_bf16(float f);
float duet_bf16_to_f32(uint16_t h);
/* Convert n elements between dtypes (f32/f16/bf16, or i32 -> i32). */
duet_status duet_convert(void *dst, duet_dtype dst_t, const void *src, duet_dtype src_t,
                         size_t n);

#endif
