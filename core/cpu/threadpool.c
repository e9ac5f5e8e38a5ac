/* duet — fixed thread pool: workers wait on a condition variable for a job (a range function),
 * take chunks by atomic counter, and the caller joins in and waits for completion. */
#include "threadpool.h"

#include <pthread.h>
#include <stdatomic.h>

#include "../alloc.h"

struct duet_threadpool {
    int n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t cv_job, cv_done;
    unsigned long generation;
    int quit;
    /* the current job */
    duet_range_fn fn;
    void *ctx;
    int64_t n, chunk;
    atomic_llong next;
    int active;
};

static void run_chunks(duet_threadpool *tp) {
    for (;;) {
        int64_t b = atomic_fetch_add(&tp->next, tp->chunk);
        if (b >= tp->n) break;
        int64_t e = b + tp->chunk < tp->n ? b + tp->chunk : tp->n;
        tp->fn(tp->ctx, b, e);
    }
}

static void *worker(void *arg) {
    duet_threadpool *tp = arg;
    unsigned long seen = 0;
    pthread_mutex_lock(&tp->mu);
    for (;;) {
        while (!tp->quit && tp->generation == seen) pthread_cond_wait(&tp->cv_job, &tp->mu);
        if (tp->quit) break;
        seen = tp->generation;
        pthread_mutex_unlock(&tp->mu);
        run_chunks(tp);
        pthread_mutex_lock(&tp->mu);
        if (--tp->active == 0) pthread_cond_signal(&tp->cv_done);
    }
    pthread_mutex_unlock(&tp->mu);
    return NULL;
}

duet_threadpool *duet_threadpool_new(int n_threads) {
    if (n_threads < 1) n_threads = 1;
    duet_threadpool *tp = duet_calloc(1, sizeof *tp);
    if (!tp) return NULL;
    tp->n_threads = n_threads;
    pthread_mutex_init(&tp->mu, NULL);
    pthread_cond_init(&tp->cv_job, NULL);
    pthread_cond_init(&tp->cv_done, NULL);
    if (n_threads > 1) {
        tp->threads = duet_calloc((size_t)n_threads - 1, sizeof *tp->threads);
        if (!tp->threads) goto fail;
        for (int i = 0; i < n_threads - 1; i++)
            if (pthread_create(&tp->threads[i], NULL, worker, tp) != 0) {
                tp->n_threads = i + 1;
                goto fail;
            }
    }
    return tp;
fail:
    duet_threadpool_free(&tp);
    return NULL;
}

void duet_threadpool_free(duet_threadpool **ptp) {
    if (!ptp || !*ptp) return;
    duet_threadpool *tp = *ptp;
    pthread_mutex_lock(&tp->mu);
    tp->quit = 1;
    pthread_cond_broadcast(&tp->cv_job);
    pthread_mutex_unlock(&tp->mu);
    for (int i = 0; tp->threads && i < tp->n_threads - 1; i++) pthread_join(tp->threads[i], NULL);
    duet_free(tp->threads);
    pthread_mutex_destroy(&tp->mu);
    pthread_cond_destroy(&tp->cv_job);
    pthread_cond_destroy(&tp->cv_done);
    duet_free(tp);
    *ptp = NULL;
}

int duet_threadpool_size(const duet_threadpool *tp) { return tp ? tp->n_threads : 1; }

void duet_parallel_for(duet_threadpool *tp, int64_t n, int64_t min_chunk, duet_range_fn fn,
                       void *ctx) {
    if (n <= 0) return;
    if (min_chunk < 1) min_chunk = 1;
    if (!tp || tp->n_threads == 1 || n <= min_chunk) {
        fn(ctx, 0, n);
        return;
    }
    int64_t chunk = (n + 4 * tp->n_threads - 1) / (4 * tp->n_threads);
    if (chunk < min_chunk) chunk = min_chunk;
    pthread_mutex_lock(&tp->mu);
    tp->fn = fn;
    tp->ctx = ctx;
    tp->n = n;
    tp->chunk = chunk;
    atomic_store(&tp->next, 0);
    tp->active = tp->n_threads - 1;
    tp->generation++;
    pthread_cond_broadcast(&tp->cv_job);
    pthread_mutex_unlock(&tp->mu);
    run_chunks(tp);
    pthread_mutex_lock(&tp->mu);
    while (tp->active > 0) pthread_cond_wait(&tp->cv_done, &tp->mu);
    pthread_mutex_unlock(&tp->mu);
}
