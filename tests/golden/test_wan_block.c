/* duet — golden test of one Wan DiT block (diffusion/wan_block.c) against the PyTorch
 * reference written by tools/golden/wan_block.py (tests/golden/wan_block.safetensors: random
 * weights with Wan's names, dim 64, 2 heads of 32, FFN 128, a 3x4x5 latent grid, 7 text
 * tokens; computed in float64). On every backend under test:
 *   - f32 weights, step by step: x after self-attention, after cross-attention and after the
 *     FFN against the reference's after_self_attn, after_cross_attn and out;
 *   - f16 and bf16 Linear weights through duet_wan_block_forward, against out_f16w / out_bf16w
 *     (the reference recomputed with those weights rounded the same way).
 * Tolerances (normalized mean squared error): CPU_NMSE for f32 arithmetic on the CPU, GPU_NMSE
 * on Vulkan (other summation orders, hardware exp); measured: ~3e-14 on both (lavapipe).
 * Both limits are far below the difference a wrong dtype makes (out_f16w differs from out by
 * 5e-8, out_bf16w by 3e-6) and below what the subtlest semantic mistakes tried produce
 * (GELU-erf for GELU-tanh: 4e-9; eps 1e-5 for 1e-6: 2e-4; RoPE, norm or modulation mix-ups:
 * 1e-4 to 1e-1). Each residual step moves x by more than 1e-2, checked below. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rope.h"
#include "core/safetensors.h"
#include "diffusion/wan_block.h"
#include "golden_util.h"
#include "harness.h"

#define CPU_NMSE 1e-10
#define GPU_NMSE 1e-9

static const char *const golden_path = DUET_TEST_DATA_DIR "/golden/wan_block.safetensors";

typedef struct {
    duet_wan_block_params p;
    int64_t grid[3];   /* F, H, W */
    int64_t n_tokens;  /* F H W */
    int64_t n_context;
} golden_sizes;

/* The block's sizes from the file: the grid from the i32 tensor grid_sizes, widths from the
 * weights' shapes, the head count from the metadata (no shape shows it). */
static bool read_sizes(const duet_safetensors *st, golden_sizes *g) {
    const duet_safetensors_tensor *grid = duet_safetensors_find(st, "grid_sizes");
    const duet_safetensors_tensor *ffn0 = duet_safetensors_find(st, "blocks.0.ffn.0.weight");
    const duet_safetensors_tensor *ctx = duet_safetensors_find(st, "context");
    const char *heads = duet_safetensors_metadata(st, "num_heads");
    bool ok = grid && grid->dtype == DUET_I32 && grid->nbytes == 3 * sizeof(int32_t) && ffn0 &&
              ctx && heads;
    if (ok) {
        int32_t fhw[3];
        memcpy(fhw, grid->data, sizeof fhw);
        g->p = duet_wan_block_default_params();
        g->p.dim = ffn0->ne[0];
        g->p.ffn_dim = ffn0->ne[1];
        g->p.n_heads = atoi(heads);
        for (int i = 0; i < 3; i++) g->grid[i] = fhw[i];
        g->n_tokens = g->grid[0] * g->grid[1] * g->grid[2];
        g->n_context = ctx->ne[1];
        ok = g->n_tokens > 0 && g->p.n_heads > 0 && ctx->ne[0] == g->p.dim;
    }
    if (!ok) fprintf(stderr, "FAIL: %s: grid_sizes, sizes or num_heads missing\n", golden_path);
    T_CHECK(ok);
    return ok;
}

/* Inputs on `be` in the block's layouts (the file's [1, ...] batch dim dropped):
 * x [dim, L], e0 [dim, 6, L], context [dim, Lc]. */
static bool load_input(const duet_safetensors *st, const char *name, duet_arena *a,
                       duet_backend *be, int n_dims, const int64_t *ne, duet_tensor **out) {
    return duet_safetensors_load_shaped(st, name, a, be, DUET_F32, n_dims, ne, out) == DUET_OK;
}

/* Wan's 3-D RoPE table for the golden grid, uploaded to `be`. */
static duet_tensor *rope_table(const golden_sizes *g, duet_arena *a, duet_backend *be) {
    const int64_t head_dim = g->p.dim / g->p.n_heads;
    const int64_t ne[2] = {head_dim, g->n_tokens};
    float *table = malloc((size_t)(head_dim * g->n_tokens) * sizeof *table);
    duet_tensor *t = NULL;
    if (table && duet_rope_table_3d(table, (int)head_dim, (int)g->grid[0], (int)g->grid[1],
                                    (int)g->grid[2], 10000.0) == DUET_OK)
        t = duet_test_tensor(a, be, DUET_F32, 2, ne, table, "rope");
    free(table);
    return t;
}

static void compare(const char *what, const char *be_name, duet_tensor *x, const float *want,
                    size_t n, double tol) {
    char name[160];
    snprintf(name, sizeof name, "wan_block %s on %s", what, be_name);
    duet_golden_compare_tensor(name, x, want, n, tol);
}

typedef struct {
    const char *names[3];  /* reference after each residual step (NULL: not checked) */
    const float *want[3];
} references;

/* Loads the block with `dtype` Linear weights on `be` and runs it, step by step when
 * `stepwise` (checking x after each residual), else through duet_wan_block_forward. */
static void run(const duet_safetensors *st, const golden_sizes *g, duet_backend *be,
                duet_dtype dtype, bool stepwise, const references *ref, double tol) {
    duet_arena *a = duet_arena_new(0);
    duet_wan_block blk;
    duet_wan_block_scratch s;
    const int64_t dim = g->p.dim, L = g->n_tokens;
    const int64_t x_ne[2] = {dim, L}, e0_ne[3] = {dim, 6, L}, ctx_ne[2] = {dim, g->n_context};
    duet_tensor *x = NULL, *e0 = NULL, *ctx = NULL, *rope = rope_table(g, a, be);
    char what[64];
    duet_weights w;
    bool ready = duet_weights_open(&w, "Wan block", st, "blocks.0.", a, be, dtype) == DUET_OK &&
                 duet_wan_block_load(&blk, &g->p, &w) == DUET_OK &&
                 duet_wan_block_scratch_init(&s, &g->p, L, g->n_context, a, be) == DUET_OK &&
                 load_input(st, "x", a, be, 2, x_ne, &x) &&
                 load_input(st, "e0", a, be, 3, e0_ne, &e0) &&
                 load_input(st, "context", a, be, 2, ctx_ne, &ctx) && rope;
    T_CHECK(ready);
    if (!ready) goto done;
    if (stepwise) {
        T_CHECK_OK(duet_wan_block_modulation(&blk, &s, e0));
        T_CHECK_OK(duet_wan_block_self_attn(&blk, &s, x, rope));
        snprintf(what, sizeof what, "%s weights, %s", duet_dtype_name(dtype), ref->names[0]);
        compare(what, duet_backend_name(be), x, ref->want[0], (size_t)(dim * L), tol);
        T_CHECK_OK(duet_wan_block_cross_attn(&blk, &s, x, ctx));
        snprintf(what, sizeof what, "%s weights, %s", duet_dtype_name(dtype), ref->names[1]);
        compare(what, duet_backend_name(be), x, ref->want[1], (size_t)(dim * L), tol);
        T_CHECK_OK(duet_wan_block_ffn(&blk, &s, x));
    } else {
        T_CHECK_OK(duet_wan_block_forward(&blk, &s, x, e0, ctx, rope));
    }
    snprintf(what, sizeof what, "%s weights, %s", duet_dtype_name(dtype), ref->names[2]);
    compare(what, duet_backend_name(be), x, ref->want[2], (size_t)(dim * L), tol);
done:
    duet_weights_close(&w);
    duet_arena_free(&a);
}

/* A block whose sizes do not fit the checkpoint is refused, naming the tensor. */
static void check_wrong_sizes(const duet_safetensors *st, const golden_sizes *g,
                              duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    duet_wan_block blk;
    duet_wan_block_params p = g->p;
    p.ffn_dim += 1;
    fprintf(stderr, "expect an error about blocks.0.ffn.0.weight:\n");
    duet_weights w;
    T_CHECK_OK(duet_weights_open(&w, "Wan block", st, "blocks.0.", a, be, DUET_F32));
    T_CHECK(duet_wan_block_load(&blk, &p, &w) == DUET_ERR_FORMAT);
    T_CHECK(blk.modulation == NULL);
    duet_weights_close(&w);
    duet_arena_free(&a);
}

int main(void) {
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    duet_safetensors *st = NULL;
    if (nb < 1 || !duet_golden_open(golden_path, "tools/golden/wan_block.py", &st))
        return duet_test_end(bes, nb);
    golden_sizes g;
    const char *names[] = {"x", "after_self_attn", "after_cross_attn", "out", "out_f16w",
                           "out_bf16w"};
    float *host[6] = {0};
    size_t n[6] = {0};
    bool ok = read_sizes(st, &g);
    for (int i = 0; ok && i < 6; i++) {
        host[i] = duet_golden_read(st, names[i], DUET_F32, 0, &n[i]);
        ok = host[i] && n[i] == (size_t)(g.p.dim * g.n_tokens);
    }
    T_CHECK(ok);
    if (ok) {
        /* The reference must be worth matching: every residual step moves x. */
        for (int i = 1; i < 4; i++) T_CHECK(duet_golden_nmse(host[i], host[i - 1], n[i]) > 1e-2);
        check_wrong_sizes(st, &g, bes[0]);
        const references f32 = {{names[1], names[2], names[3]}, {host[1], host[2], host[3]}};
        const references f16 = {{NULL, NULL, names[4]}, {NULL, NULL, host[4]}};
        const references bf16 = {{NULL, NULL, names[5]}, {NULL, NULL, host[5]}};
        for (int b = 0; b < nb; b++) {
            double tol = duet_backend_get_kind(bes[b]) == DUET_BACKEND_CPU ? CPU_NMSE : GPU_NMSE;
            run(st, &g, bes[b], DUET_F32, true, &f32, tol);
            run(st, &g, bes[b], DUET_F16, false, &f16, tol);
            run(st, &g, bes[b], DUET_BF16, false, &bf16, tol);
        }
    }
    for (int i = 0; i < 6; i++) free(host[i]);
    duet_safetensors_close(&st);
    return duet_test_end(bes, nb);
}
