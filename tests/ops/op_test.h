/* duet — helpers shared by the op tests: operands stored in awkward layouts (swapped dims
 * seen through a permute, padded dims seen through a slice with NaN in the padding), result
 * download, rounding of weights to their storage dtype, and the two-level comparison every
 * op test makes: the CPU backend against a naive host reference, every other backend against
 * the CPU result. Header-only (static inline) so each test stays one file. */
#ifndef DUET_OP_TEST_H
#define DUET_OP_TEST_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

typedef enum {
    OP_CONTIG = 0, /* plain contiguous tensor */
    OP_SWAP01,     /* stored with dims 0 and 1 swapped, viewed through duet_permute */
    OP_SWAP12,     /* stored with dims 1 and 2 swapped */
    OP_PAD0,       /* stored 3 wider in dim 0, viewed through duet_slice (NaN padding) */
    OP_PAD1,       /* stored 3 wider in dim 1 */
    OP_LAYOUT_COUNT
} op_layout;

static inline const char *op_layout_name(op_layout l) {
    static const char *const n[OP_LAYOUT_COUNT] = {"contig", "swap01", "swap12", "pad0", "pad1"};
    return n[l];
}

static inline size_t op_n4(const int64_t ne[4]) { return (size_t)(ne[0] * ne[1] * ne[2] * ne[3]); }

/* A tensor of logical shape ne[4] holding `data` (logical, contiguous order) stored per layout.
 * Padding is filled with NaN so a kernel that reads outside the view poisons its result. */
static inline duet_tensor *op_tensor(duet_arena *a, duet_backend *be, op_layout L,
                                     const int64_t ne[4], const float *data, const char *name) {
    if (L == OP_CONTIG) return duet_test_tensor(a, be, DUET_F32, 4, ne, data, name);
    int64_t pne[4] = {ne[0], ne[1], ne[2], ne[3]};
    int perm[4] = {0, 1, 2, 3};
    int pad_dim = -1;
    if (L == OP_SWAP01 || L == OP_SWAP12) {
        int d = L == OP_SWAP01 ? 0 : 1;
        pne[d] = ne[d + 1];
        pne[d + 1] = ne[d];
        perm[d] = d + 1;
        perm[d + 1] = d;
    } else {
        pad_dim = L == OP_PAD0 ? 0 : 1;
        pne[pad_dim] += 3;
    }
    float *p = malloc(op_n4(pne) * sizeof *p);
    for (size_t i = 0; i < op_n4(pne); i++) p[i] = NAN;
    for (int64_t i3 = 0; i3 < ne[3]; i3++)
        for (int64_t i2 = 0; i2 < ne[2]; i2++)
            for (int64_t i1 = 0; i1 < ne[1]; i1++)
                for (int64_t i0 = 0; i0 < ne[0]; i0++) {
                    int64_t j[4] = {i0, i1, i2, i3}, k[4];
                    for (int d = 0; d < 4; d++) k[d] = j[perm[d]];
                    if (pad_dim >= 0) k[pad_dim] += 1;
                    size_t pi = (size_t)(k[0] + pne[0] * (k[1] + pne[1] * (k[2] + pne[2] * k[3])));
                    p[pi] = data[i0 + ne[0] * (i1 + ne[1] * (i2 + ne[2] * i3))];
                }
    duet_tensor *base = duet_test_tensor(a, be, DUET_F32, 4, pne, p, name);
    free(p);
    duet_tensor *v = pad_dim >= 0 ? duet_slice(a, base, pad_dim, 1, ne[pad_dim])
                                  : duet_permute(a, base, perm);
    if (!v) abort();
    duet_tensor_set_name(v, name);
    return v;
}

/* Download t as f32 into a fresh malloc'd array. */
static inline float *op_download(const duet_tensor *t) {
    size_t n = (size_t)duet_nelements(t);
    float *out = malloc((n ? n : 1) * sizeof *out);
    T_CHECK_OK(duet_tensor_get_f32(t, out));
    return out;
}

/* Round values to what a tensor of dtype t stores (the backends see the rounded weights). */
static inline void op_round(float *w, size_t n, duet_dtype t) {
    for (size_t i = 0; i < n; i++) {
        if (t == DUET_F16) w[i] = duet_f16_to_f32(duet_f32_to_f16(w[i]));
        if (t == DUET_BF16) w[i] = duet_bf16_to_f32(duet_f32_to_bf16(w[i]));
    }
}

/* Backend b's result `got` for case `what`: backend 0 (CPU) is compared with the naive
 * reference at tol_naive, any other with the CPU result at tol_cpu. Takes ownership of got:
 * returns it (the new CPU result) when b == 0, frees it and returns cpu otherwise. */
static inline float *op_check(const char *what, duet_backend **bes, int b, float *got,
                              const float *naive, float *cpu, size_t n, double tol_naive,
                              double tol_cpu) {
    char name[256];
    snprintf(name, sizeof name, "%s on %s", what, duet_backend_name(bes[b]));
    if (b == 0) {
        duet_test_close(name, got, naive, n, tol_naive);
        return got;
    }
    if (cpu) duet_test_close(name, got, cpu, n, tol_cpu);
    free(got);
    return cpu;
}

#endif
