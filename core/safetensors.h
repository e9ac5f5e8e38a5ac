/* duet — safetensors files: a validating reader (mmap, header checked completely at open),
 * lookup by name, upload to a backend with dtype conversion, and a small atomic writer.
 * Every checkpoint, golden reference and `duet dit` output goes through here.
 * Format (huggingface/safetensors): u64 little-endian header length N, N bytes of JSON
 * {"name": {"dtype": "F32", "shape": [rows, cols], "data_offsets": [begin, end]}, ...,
 *  "__metadata__": {"key": "value"}}, then the data section; offsets are relative to it and
 * shapes are row-major (outermost first). duet's ne[] is innermost first: the reverse. */
#ifndef DUET_SAFETENSORS_H
#define DUET_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "status.h"
#include "tensor.h"

/* Largest header accepted at open (the format itself caps it at 100 MB too). */
#define DUET_SAFETENSORS_MAX_HEADER ((uint64_t)100 * 1000 * 1000)

typedef struct duet_safetensors duet_safetensors;

/* One tensor of an open file. Valid until duet_safetensors_close(). */
typedef struct duet_safetensors_tensor {
    const char *name;
    duet_dtype dtype;          /* F32, F16, BF16 or I32 */
    int n_dims;                /* 1..DUET_MAX_DIMS; a 0-dim scalar (shape []) reads as [1] */
    int64_t ne[DUET_MAX_DIMS]; /* innermost first (reverse of the file's shape); 1 beyond
                                  n_dims; may be 0 (empty tensor) */
    const void *data;          /* into the mapping, read-only; may be unaligned */
    size_t nbytes;             /* == product(ne) * duet_dtype_size(dtype) */
    size_t data_offset;        /* bytes from the start of the data section */
} duet_safetensors_tensor;

/* Maps `path` read-only and validates the whole header: length, JSON syntax (duplicate keys
 * rejected), `__metadata__` (string values only), per tensor exactly dtype/shape/data_offsets,
 * known and supported dtype, at most DUET_MAX_DIMS non-negative dims, size == end - begin
 * (overflow checked), offsets inside the data section, no two byte ranges overlapping.
 * Returns DUET_OK, DUET_ERR_IO (cannot open/stat/map; message names the path),
 * DUET_ERR_FORMAT (malformed; message names the file and, where there is one, the tensor),
 * DUET_ERR_OUT_OF_MEMORY or DUET_ERR_INVALID_ARG. *out is NULL on failure.
 * Note: if another process truncates the file while it is mapped, reads may fault (SIGBUS). */
duet_status duet_safetensors_open(const char *path, duet_safetensors **out);

/* Same checks on a file image in memory; `name` is used in messages (may be NULL). The
 * buffer is not copied: it must stay valid and unchanged until duet_safetensors_close(). */
duet_status duet_safetensors_open_memory(const void *buf, size_t len, const char *name,
                                         duet_safetensors **out);

/* Unmaps and frees. Accepts NULL; clears *st. */
void duet_safetensors_close(duet_safetensors **st);

/* The name used in messages: the path, or open_memory's name. */
const char *duet_safetensors_name(const duet_safetensors *st);

/* Tensors in the order the header lists them. get() returns NULL when i >= count. */
size_t duet_safetensors_count(const duet_safetensors *st);
const duet_safetensors_tensor *duet_safetensors_get(const duet_safetensors *st, size_t i);
/* Position of t in header order (t from get() or find() of this file); SIZE_MAX otherwise. */
size_t duet_safetensors_index(const duet_safetensors *st, const duet_safetensors_tensor *t);
/* Binary search by exact name; NULL (nothing logged) when absent. */
const duet_safetensors_tensor *duet_safetensors_find(const duet_safetensors *st,
                                                     const char *name);

/* `__metadata__` entries. metadata() returns the value of `key` or NULL; metadata_at()
 * returns DUET_ERR_NOT_FOUND when i >= metadata_count. */
const char *duet_safetensors_metadata(const duet_safetensors *st, const char *key);
size_t duet_safetensors_metadata_count(const duet_safetensors *st);
duet_status duet_safetensors_metadata_at(const duet_safetensors *st, size_t i,
                                         const char **key, const char **value);

/* Creates tensor `name` in `arena` on `be` with dtype `want` (file's shape) and uploads its
 * data, converting f32/f16/bf16 into each other (i32 only to i32). The tensor is named
 * after the checkpoint entry. Returns DUET_OK, DUET_ERR_NOT_FOUND (no such tensor; logged),
 * DUET_ERR_INVALID_ARG (conversion not possible), DUET_ERR_UNSUPPORTED (empty tensor),
 * DUET_ERR_DEVICE_OOM / DUET_ERR_OUT_OF_MEMORY / DUET_ERR_BACKEND from allocation and
 * upload. *out is NULL on failure. Not thread-safe against other users of `be`. */
duet_status duet_safetensors_load(const duet_safetensors *st, const char *name,
                                  duet_arena *arena, duet_backend *be, duet_dtype want,
                                  duet_tensor **out);
/* As load, and the file's shape must equal ne[0..n_dims) (innermost first; trailing 1s on
 * either side are ignored, so [3072, 2] matches a file's [1, 2, 3072]). The tensor gets the
 * caller's n_dims. DUET_ERR_FORMAT, naming both shapes, on mismatch. */
duet_status duet_safetensors_load_shaped(const duet_safetensors *st, const char *name,
                                         duet_arena *arena, duet_backend *be, duet_dtype want,
                                         int n_dims, const int64_t *ne, duet_tensor **out);

/* One tensor to write from host memory: contiguous, dtype F32/F16/BF16/I32, shape ne[] innermost
 * first (written to the file reversed, row-major). data may be NULL only if it has 0 elements. */
typedef struct duet_safetensors_entry {
    const char *name;
    duet_dtype dtype;
    int n_dims;
    int64_t ne[DUET_MAX_DIMS];
    const void *data;
} duet_safetensors_entry;

typedef struct duet_safetensors_kv {
    const char *key;
    const char *value;
} duet_safetensors_kv;

/* Writes the tensors (laid out in the given order) and optional metadata to path + ".tmp",
 * flushes it to disk and renames it over `path`, so `path` is either the old file or the
 * complete new one. The header is padded with spaces so the data section starts 8-byte
 * aligned. Returns DUET_OK, DUET_ERR_INVALID_ARG (bad entry, duplicate or reserved name),
 * DUET_ERR_IO (message names the path) or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_safetensors_write(const char *path, const duet_safetensors_entry *tensors,
                                   size_t n_tensors, const duet_safetensors_kv *metadata,
                                   size_t n_metadata);

#endif
