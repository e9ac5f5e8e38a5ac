/* duet — CPU backend internals: the context every kernel receives, addressing helpers, and
 * one entry point per op family. These plain-C kernels are the reference every other backend
 * is tested against; OpenBLAS takes the large matrix products. */
#ifndef DUET_CPU_KERNELS_H
#define DUET_CPU_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include <cblas.h>

#include "../ops.h"
#include "threadpool.h"

typedef struct duet_cpu_ctx {
    duet_threadpool *pool;
    int n_threads;
    /* growable scratch for converted weights etc.; kernels must not keep pointers into it
     * across ops */
    void *scratch;
    size_t scratch_nbytes;
} duet_cpu_ctx;

/* Grow the scratch area to at least n bytes; NULL on allocation failure. */
void *duet_cpu_scratch(duet_cpu_ctx *c, size_t nbytes);

/* Address of element (i0, i1, i2, i3, i4) of t. */
static inline void *duet_cpu_at(const duet_tensor *t, int64_t i0, int64_t i1, int64_t i2,
                                int64_t i3, int64_t i4) {
    return (char *)t->buf->host + t->offset + (size_t)i0 * t->nb[0] + (size_t)i1 * t->nb[1] +
           (size_t)i2 * t->nb[2] + (size_t)i3 * t->nb[3] + (size_t)i4 * t->nb[4];
}

/* cblas_sgemm (row-major) run on the pool in blocks of C: OpenBLAS itself is single-threaded
 * in the CPU backend (cpu_gemm.c says why). */
void duet_cpu_sgemm(duet_cpu_ctx *c, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M,
                    int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float beta, float *C, int64_t ldc);

/* n contiguous f16 or bf16 values of src widened into dst as f32, on the pool. */
void duet_cpu_widen(duet_cpu_ctx *c, float *dst, const void *src, duet_dtype t, int64_t n);

/* Load any float dtype element as f32. */
float duet_cpu_load(const void *p, duet_dtype t);

/* Each returns DUET_OK, DUET_ERR_UNSUPPORTED or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_cpu_copy(duet_cpu_ctx *c, const duet_op *op);
duet_status duet_cpu_matmul(duet_cpu_ctx *c, const duet_op *op);
duet_status duet_cpu_elementwise(duet_cpu_ctx *c, const duet_op *op); /* ADD..GATED_ADD, UNARY, SWIGLU, SCALE */
duet_status duet_cpu_rowwise(duet_cpu_ctx *c, const duet_op *op);     /* LAYERNORM, RMSNORM, SOFTMAX, ROPE */
duet_status duet_cpu_attention(duet_cpu_ctx *c, const duet_op *op);
duet_status duet_cpu_conv(duet_cpu_ctx *c, const duet_op *op);        /* CONV1D/T1D/2D/3D */
duet_status duet_cpu_layout(duet_cpu_ctx *c, const duet_op *op);      /* UPSAMPLE, SHUFFLES, SNAKE, GET_ROWS */

#endif
