/* duet — the CPU backend's matrix products: OpenBLAS sgemm, split across duet's own pool.
 *
 * OpenBLAS is set to one thread (duet_cpu_backend_new) and each product is cut into blocks of
 * C's columns (or rows, when C is taller than wide), one single-threaded cblas_sgemm per pool
 * thread. Why not OpenBLAS's own threads: between calls its workers spin in sched_yield for
 * a while, and on a machine with as many cores as threads they take those cores from duet's
 * pool, which runs the elementwise ops, attention and im2col in between (perf on the 2-core
 * VM: about a quarter of all samples in sched_yield; docs/benchmarks.md). */
#include <cblas.h>

#include "cpu_kernels.h"

/* Products below this many multiply-adds run as one call: waking the pool costs more. */
#define SPLIT_MIN_MACS ((int64_t)1 << 20)
#define BLOCK_ALIGN 16 /* block edges on multiples of this (sgemm kernels' register tiles) */

typedef struct {
    CBLAS_TRANSPOSE ta, tb;
    int64_t M, N, K, block;
    int split_n; /* 1: blocks of columns; 0: blocks of rows */
    float alpha, beta;
    const float *A, *B;
    float *C;
    int64_t lda, ldb, ldc;
} gemm_job;

static void gemm_blocks(void *ctx, int64_t begin, int64_t end) {
    const gemm_job *j = ctx;
    for (int64_t b = begin; b < end; b++) {
        int64_t i0 = b * j->block, n = (j->split_n ? j->N : j->M) - i0;
        if (n > j->block) n = j->block;
        if (n <= 0) continue;
        const float *A = j->A, *B = j->B;
        float *C = j->C;
        int64_t M = j->M, N = j->N;
        if (j->split_n) { /* columns i0.. of op(B) and C */
            B += j->tb == CblasNoTrans ? i0 : i0 * j->ldb;
            C += i0;
            N = n;
        } else {          /* rows i0.. of op(A) and C */
            A += j->ta == CblasNoTrans ? i0 * j->lda : i0;
            C += i0 * j->ldc;
            M = n;
        }
        cblas_sgemm(CblasRowMajor, j->ta, j->tb, (int)M, (int)N, (int)j->K, j->alpha, A,
                    (int)j->lda, B, (int)j->ldb, j->beta, C, (int)j->ldc);
    }
}

void duet_cpu_sgemm(duet_cpu_ctx *c, CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int64_t M,
                    int64_t N, int64_t K, float alpha, const float *A, int64_t lda,
                    const float *B, int64_t ldb, float beta, float *C, int64_t ldc) {
    int64_t parts = c->n_threads;
    int split_n = N >= M;
    int64_t len = split_n ? N : M;
    if (parts > len / BLOCK_ALIGN) parts = len / BLOCK_ALIGN;
    if (parts <= 1 || M * N * K < SPLIT_MIN_MACS) {
        cblas_sgemm(CblasRowMajor, ta, tb, (int)M, (int)N, (int)K, alpha, A, (int)lda, B,
                    (int)ldb, beta, C, (int)ldc);
        return;
    }
    int64_t block = (len + parts - 1) / parts;
    block = (block + BLOCK_ALIGN - 1) / BLOCK_ALIGN * BLOCK_ALIGN;
    gemm_job j = {ta, tb, M, N, K, block, split_n, alpha, beta, A, B, C, lda, ldb, ldc};
    duet_parallel_for(c->pool, (len + block - 1) / block, 1, gemm_blocks, &j);
}
