/* duet — the CPU backend: host buffers, a thread pool, and dispatch of each op to its plain-C
 * kernel (core/cpu/cpu_*.c). It is the reference implementation for every op. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cblas.h>

#include "../alloc.h"
#include "../backend.h"
#include "../log.h"
#include "cpu_kernels.h"

#define MAX_TIMINGS 4096

typedef struct {
    duet_cpu_ctx k;
    int profile;
    duet_op_timing timings[MAX_TIMINGS];
    size_t n_timings;
} cpu_state;

void *duet_cpu_scratch(duet_cpu_ctx *c, size_t nbytes) {
    if (nbytes <= c->scratch_nbytes) return c->scratch;
    void *p = duet_realloc(c->scratch, nbytes);
    if (!p) return NULL;
    c->scratch = p;
    c->scratch_nbytes = nbytes;
    return p;
}

float duet_cpu_load(const void *p, duet_dtype t) {
    switch (t) {
    case DUET_F16: return duet_f16_to_f32(*(const uint16_t *)p);
    case DUET_BF16: return duet_bf16_to_f32(*(const uint16_t *)p);
    default: return *(const float *)p;
    }
}

static duet_status cpu_buffer_alloc(duet_backend *be, size_t nbytes, duet_buffer **out) {
    duet_buffer *b = duet_calloc(1, sizeof *b);
    if (!b) return DUET_ERR_OUT_OF_MEMORY;
    size_t rounded = (nbytes + 63) & ~(size_t)63;
    b->host = aligned_alloc(64, rounded ? rounded : 64);
    if (!b->host) {
        duet_free(b);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    b->backend = be;
    b->nbytes = nbytes;
    *out = b;
    return DUET_OK;
}

static void cpu_buffer_free(duet_backend *be, duet_buffer *b) {
    (void)be;
    if (!b) return;
    free(b->host);
    duet_free(b);
}

static duet_status cpu_upload(duet_backend *be, duet_buffer *b, size_t off, const void *src,
                              size_t n) {
    (void)be;
    if (off + n > b->nbytes) return DUET_ERR_INVALID_ARG;
    memcpy((char *)b->host + off, src, n);
    return DUET_OK;
}

static duet_status cpu_download(duet_backend *be, const duet_buffer *b, size_t off, void *dst,
                                size_t n) {
    (void)be;
    if (off + n > b->nbytes) return DUET_ERR_INVALID_ARG;
    memcpy(dst, (const char *)b->host + off, n);
    return DUET_OK;
}

static double now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec * 1e-3;
}

static duet_status run(duet_cpu_ctx *c, const duet_op *op) {
    switch (op->kind) {
    case DUET_OP_COPY: return duet_cpu_copy(c, op);
    case DUET_OP_MATMUL: return duet_cpu_matmul(c, op);
    case DUET_OP_ADD:
    case DUET_OP_MUL:
    case DUET_OP_AFFINE:
    case DUET_OP_SCALE:
    case DUET_OP_MODULATE:
    case DUET_OP_GATED_ADD:
    case DUET_OP_UNARY:
    case DUET_OP_SWIGLU: return duet_cpu_elementwise(c, op);
    case DUET_OP_LAYERNORM:
    case DUET_OP_RMSNORM:
    case DUET_OP_SOFTMAX:
    case DUET_OP_ROPE: return duet_cpu_rowwise(c, op);
    case DUET_OP_ATTENTION: return duet_cpu_attention(c, op);
    case DUET_OP_CONV1D:
    case DUET_OP_CONV_TRANSPOSE1D:
    case DUET_OP_CONV2D:
    case DUET_OP_CONV3D: return duet_cpu_conv(c, op);
    case DUET_OP_UPSAMPLE_NEAREST:
    case DUET_OP_PIXEL_UNSHUFFLE:
    case DUET_OP_PIXEL_SHUFFLE:
    case DUET_OP_SNAKE_BETA:
    case DUET_OP_GET_ROWS: return duet_cpu_layout(c, op);
    case DUET_OP_COUNT: break;
    }
    return DUET_ERR_UNSUPPORTED;
}

static duet_status cpu_run_op(duet_backend *be, const duet_op *op) {
    cpu_state *s = be->ctx;
    double t0 = s->profile ? now_us() : 0;
    duet_status st = run(&s->k, op);
    if (s->profile && st == DUET_OK && s->n_timings < MAX_TIMINGS) {
        s->timings[s->n_timings].kind = op->kind;
        s->timings[s->n_timings].elapsed_us = now_us() - t0;
        s->n_timings++;
    }
    return st;
}

static duet_status cpu_sync(duet_backend *be) {
    (void)be;
    return DUET_OK;
}

static size_t cpu_read_timings(duet_backend *be, duet_op_timing *out, size_t max) {
    cpu_state *s = be->ctx;
    size_t n = s->n_timings < max ? s->n_timings : max;
    memcpy(out, s->timings, n * sizeof *out);
    s->n_timings = 0;
    return n;
}

static void cpu_destroy(duet_backend *be) {
    cpu_state *s = be->ctx;
    duet_threadpool_free(&s->k.pool);
    duet_free(s->k.scratch);
    duet_free(s);
    duet_free(be);
}

static const duet_backend_vtable cpu_vt = {
    .buffer_alloc = cpu_buffer_alloc,
    .buffer_free = cpu_buffer_free,
    .upload = cpu_upload,
    .download = cpu_download,
    .run_op = cpu_run_op,
    .sync = cpu_sync,
    .read_timings = cpu_read_timings,
    .destroy = cpu_destroy,
};

duet_status duet_cpu_backend_new(const duet_backend_params *p, duet_backend **out) {
    int n = p->n_threads > 0 ? p->n_threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1) n = 1;
    duet_backend *be = duet_calloc(1, sizeof *be);
    cpu_state *s = duet_calloc(1, sizeof *s);
    if (!be || !s) goto oom;
    s->k.n_threads = n;
    s->k.pool = duet_threadpool_new(n);
    if (!s->k.pool) goto oom;
    s->profile = p->profile;
    openblas_set_num_threads(1); /* products are split across the pool instead (cpu_gemm.c) */
    be->vt = &cpu_vt;
    be->kind = DUET_BACKEND_CPU;
    be->ctx = s;
    snprintf(be->name, sizeof be->name, "cpu (%d threads, OpenBLAS)", n);
    *out = be;
    return DUET_OK;
oom:
    duet_free(s);
    duet_free(be);
    return DUET_ERR_OUT_OF_MEMORY;
}
