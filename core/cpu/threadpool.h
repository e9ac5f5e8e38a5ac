/* duet — a small fixed thread pool for the CPU backend's parallel loops. */
#ifndef DUET_THREADPOOL_H
#define DUET_THREADPOOL_H

#include <stdint.h>

typedef struct duet_threadpool duet_threadpool;

/* fn(ctx, begin, end) handles items [begin, end). */
typedef void (*duet_range_fn)(void *ctx, int64_t begin, int64_t end);

/* n_threads total workers including the caller (>= 1). NULL on failure. */
duet_threadpool *duet_threadpool_new(int n_threads);
void duet_threadpool_free(duet_threadpool **tp);
int duet_threadpool_size(const duet_threadpool *tp);
/* Splits [0, n) into contiguous chunks, at least min_chunk items each, and runs them on the
 * pool; returns when all are done. tp may be NULL (runs inline). */
void duet_parallel_for(duet_threadpool *tp, int64_t n, int64_t min_chunk, duet_range_fn fn,
                       void *ctx);

#endif
