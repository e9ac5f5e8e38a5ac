/* duet — strict loading of a module's weights from a safetensors file by checkpoint name.
 * Every model loader (diffusion/, video/, audio/, encoders/) reads its tensors through here:
 * prefix + name, the shape checked in PyTorch order (outermost first, as checkpoints and the
 * modules' struct comments write it), matrices kept in the file's float dtype unless the
 * caller forces one (everything else becomes f32), and a record of which tensors were read,
 * so that a module can refuse tensors under its names that it did not use: a checkpoint
 * with more blocks or extra parts than the config says is an error, not silence. */
#ifndef DUET_WEIGHTS_H
#define DUET_WEIGHTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "arena.h"
#include "backend.h"
#include "safetensors.h"
#include "status.h"
#include "tensor.h"

typedef enum {
    DUET_WEIGHT_F32,    /* biases, norms, tables: always f32 */
    DUET_WEIGHT_MATRIX, /* linear and conv kernels: the file's dtype or the forced one */
} duet_weight_kind;

typedef struct duet_weights {
    const duet_safetensors *st;
    const char *what;           /* the module, for messages ("video VAE decoder") */
    char prefix[DUET_NAME_MAX]; /* prepended to every name */
    duet_dtype matrix_dtype;    /* DUET_DTYPE_COUNT: as stored; or F32, F16, BF16 */
    duet_arena *arena;          /* receives every tensor (the caller's) */
    duet_backend *be;
    uint8_t *used;              /* one flag per tensor of st, shared with sub-loaders */
    bool owns_used;
} duet_weights;

/* Starts loading `what` from st under `prefix` into arena on be. Checks the arguments
 * (logged: "what: bad arguments"): st, prefix, arena, be non-NULL, prefix shorter than
 * DUET_NAME_MAX, matrix_dtype DUET_DTYPE_COUNT, F32, F16 or BF16. Returns DUET_OK,
 * DUET_ERR_INVALID_ARG or DUET_ERR_OUT_OF_MEMORY; nothing to close on error. */
duet_status duet_weights_open(duet_weights *w, const char *what, const duet_safetensors *st,
                              const char *prefix, duet_arena *arena, duet_backend *be,
                              duet_dtype matrix_dtype);
/* Frees the record of used tensors (a root's; a sub-loader owns nothing). Accepts NULL. */
void duet_weights_close(duet_weights *w);

/* A loader for a part: the parent's prefix + printf(fmt, ...) ("blocks.3."), sharing the
 * parent's record, arena and dtype. Valid while the parent is open; needs no close.
 * DUET_ERR_INVALID_ARG (logged) when the prefix would be too long. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
duet_status duet_weights_sub(const duet_weights *parent, duet_weights *child, const char *fmt,
                             ...);

/* The file's tensor prefix + printf(fmt, ...); NULL when absent (nothing logged). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
const duet_safetensors_tensor *duet_weights_find(const duet_weights *w, const char *fmt, ...);
/* Dim i of a file tensor in PyTorch order (outermost first); 0 if it has fewer or t is NULL. */
int64_t duet_weights_pt_dim(const duet_safetensors_tensor *t, int i);
/* Logs that prefix + name, needed to read the module's layout, is missing;
 * DUET_ERR_NOT_FOUND. */
duet_status duet_weights_missing(const duet_weights *w, const char *name);
/* Records that t (a tensor of w's file) was used by some means other than load(). */
void duet_weights_mark_used(duet_weights *w, const duet_safetensors_tensor *t);

/* Loads prefix + printf(fmt, ...) with PyTorch shape `shape` (n_dims, outermost first) as
 * `kind` says and records it as used. Returns DUET_OK, DUET_ERR_NOT_FOUND (absent; logged),
 * DUET_ERR_FORMAT (wrong shape; both logged), DUET_ERR_INVALID_ARG (name too long, or an
 * I32 tensor where floats are needed) or an allocation/upload error. *out NULL on failure. */
#if defined(__GNUC__)
__attribute__((format(printf, 6, 7)))
#endif
duet_status duet_weights_load(duet_weights *w, duet_weight_kind kind, int n_dims,
                              const int64_t *shape, duet_tensor **out, const char *fmt, ...);
/* *t becomes a view of itself with shape ne (innermost first, same element count). */
duet_status duet_weights_reshape(duet_weights *w, duet_tensor **t, int n_dims,
                                 const int64_t *ne);

/* Every tensor under w's prefix whose remaining name starts with one of `owned` (all of them
 * when n_owned is 0) must have been loaded: each one that was not is logged (the first 8,
 * then a count) as "FILE: tensor NAME: not used by the WHAT (DETAIL)" and the result is
 * DUET_ERR_FORMAT. detail describes the config the module was built for ("4 layers");
 * may be NULL. */
duet_status duet_weights_check_unused(const duet_weights *w, const char *const *owned,
                                      size_t n_owned, const char *detail);

#endif
