/* duet — one Wan DiT block built from core ops: loading its weights from a safetensors file,
 * planning its activations once, and the forward pass (modulation, gated self-attention with
 * 3-D RoPE, text cross-attention, gated GELU-tanh FFN). Sits inside the joint DiT
 * (diffusion/). Mirrors WanAttentionBlock in Wan-Video/Wan2.2 wan/modules/model.py; see
 * wan_block.h for the equations and tools/golden/wan_block.py for the reference it is tested
 * against. */
#include "wan_block.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/ops.h"

duet_wan_block_params duet_wan_block_default_params(void) {
    duet_wan_block_params p = {.dim = 3072, .ffn_dim = 14336, .n_heads = 24, .eps = 1e-6f};
    return p;
}

/* ---------------------------------------------------------------- loading */

static duet_status load_vec(duet_weights *w, const char *name, int64_t n, duet_tensor **out) {
    const int64_t shape[1] = {n};
    return duet_weights_load(w, DUET_WEIGHT_F32, 1, shape, out, "%s", name);
}

/* name.weight [n_out, n_in] (PyTorch Linear) and name.bias [n_out]. */
static duet_status load_linear(duet_weights *w, const char *name, int64_t n_out, int64_t n_in,
                               duet_tensor **wt, duet_tensor **b) {
    const int64_t shape[2] = {n_out, n_in}, bs[1] = {n_out};
    duet_status st = duet_weights_load(w, DUET_WEIGHT_MATRIX, 2, shape, wt, "%s.weight", name);
    return st != DUET_OK ? st : duet_weights_load(w, DUET_WEIGHT_F32, 1, bs, b, "%s.bias", name);
}

static duet_status load_attn(duet_weights *w, const char *attn, int64_t dim,
                             duet_wan_attn_weights *a) {
    const struct {
        const char *name;
        duet_tensor **w, **b;
    } linears[4] = {{"q", &a->q_w, &a->q_b}, {"k", &a->k_w, &a->k_b},
                    {"v", &a->v_w, &a->v_b}, {"o", &a->o_w, &a->o_b}};
    char name[64];
    duet_status st = DUET_OK;
    for (int i = 0; i < 4 && st == DUET_OK; i++) {
        snprintf(name, sizeof name, "%s.%s", attn, linears[i].name);
        st = load_linear(w, name, dim, dim, linears[i].w, linears[i].b);
    }
    if (st == DUET_OK) {
        snprintf(name, sizeof name, "%s.norm_q.weight", attn);
        st = load_vec(w, name, dim, &a->norm_q_w);
    }
    if (st == DUET_OK) {
        snprintf(name, sizeof name, "%s.norm_k.weight", attn);
        st = load_vec(w, name, dim, &a->norm_k_w);
    }
    return st;
}

/* Wan names it "modulation"; Ovi wraps it in a module, "modulation.modulation". */
static duet_status load_modulation(duet_weights *w, int64_t dim, duet_tensor **out) {
    const char *name = duet_weights_find(w, "modulation") ? "modulation" : "modulation.modulation";
    const int64_t shape[3] = {1, 6, dim};
    return duet_weights_load(w, DUET_WEIGHT_F32, 3, shape, out, "%s", name);
}

static bool params_ok(const duet_wan_block_params *p) {
    return p && p->dim > 0 && p->ffn_dim > 0 && p->n_heads > 0 && p->dim % p->n_heads == 0 &&
           (p->dim / p->n_heads) % 2 == 0 && p->eps > 0;
}

duet_status duet_wan_block_load(duet_wan_block *blk, const duet_wan_block_params *p,
                                duet_weights *w) {
    if (!blk || !params_ok(p) || !w || !w->st) {
        DUET_LOGE("duet_wan_block_load: bad arguments (prefix %s)", w ? w->prefix : "NULL");
        return DUET_ERR_INVALID_ARG;
    }
    memset(blk, 0, sizeof *blk);
    blk->p = *p;
    const int64_t dim = p->dim;
    duet_status s = load_modulation(w, dim, &blk->modulation);
    if (s == DUET_OK) s = load_attn(w, "self_attn", dim, &blk->self_attn);
    if (s == DUET_OK) s = load_vec(w, "norm3.weight", dim, &blk->norm3_w);
    if (s == DUET_OK) s = load_vec(w, "norm3.bias", dim, &blk->norm3_b);
    if (s == DUET_OK) s = load_attn(w, "cross_attn", dim, &blk->cross_attn);
    if (s == DUET_OK) s = load_linear(w, "ffn.0", p->ffn_dim, dim, &blk->ffn0_w, &blk->ffn0_b);
    if (s == DUET_OK) s = load_linear(w, "ffn.2", dim, p->ffn_dim, &blk->ffn2_w, &blk->ffn2_b);
    if (s != DUET_OK) memset(blk, 0, sizeof *blk);
    return s;
}

/* ---------------------------------------------------------------- scratch */

/* [dim, L] view of chunk c of mod [dim, 6, L]: rows of one chunk lie 6 dim apart. */
static duet_tensor *chunk_view(duet_arena *a, const duet_tensor *mod, int c) {
    const int64_t ne[2] = {mod->ne[0], mod->ne[2]};
    const size_t nb[2] = {mod->nb[0], mod->nb[2]};
    return duet_view(a, mod, 2, ne, nb, (size_t)c * mod->nb[1]);
}

/* [head_dim, heads, L] view of a contiguous [dim, L] activation. */
static duet_tensor *heads_view(duet_arena *a, const duet_tensor *t, int64_t n_heads) {
    const int64_t ne[3] = {t->ne[0] / n_heads, n_heads, t->ne[1]};
    return duet_reshape(a, t, 3, ne);
}

static duet_tensor *act(duet_arena *a, duet_backend *be, int64_t rows, int64_t n,
                        const char *name) {
    duet_tensor *t = duet_tensor_new4(a, be, DUET_F32, rows, n, 1, 1);
    if (t) duet_tensor_set_name(t, name);
    return t;
}

duet_status duet_wan_block_scratch_init(duet_wan_block_scratch *s, const duet_wan_block_params *p,
                                        int64_t n_tokens, int64_t n_context, duet_arena *arena,
                                        duet_backend *be) {
    if (!s || !params_ok(p) || n_tokens <= 0 || n_context <= 0 || !arena || !be) {
        DUET_LOGE("duet_wan_block_scratch_init: bad arguments (L %lld, Lc %lld)",
                  (long long)n_tokens, (long long)n_context);
        return DUET_ERR_INVALID_ARG;
    }
    memset(s, 0, sizeof *s);
    s->p = *p;
    s->n_tokens = n_tokens;
    s->n_context = n_context;
    const int64_t dim = p->dim, L = n_tokens, H = p->n_heads;
    s->mod = duet_tensor_new4(arena, be, DUET_F32, dim, 6, L, 1);
    if (!s->mod) return DUET_ERR_OUT_OF_MEMORY;
    duet_tensor_set_name(s->mod, "wan.mod");
    duet_tensor **chunks[6] = {&s->shift_sa, &s->scale_sa, &s->gate_sa,
                               &s->shift_ff, &s->scale_ff, &s->gate_ff};
    for (int c = 0; c < 6; c++)
        if (!(*chunks[c] = chunk_view(arena, s->mod, c))) return DUET_ERR_OUT_OF_MEMORY;
    s->h = act(arena, be, dim, L, "wan.h");
    s->q = act(arena, be, dim, L, "wan.q");
    s->k = act(arena, be, dim, L, "wan.k");
    s->v = act(arena, be, dim, L, "wan.v");
    s->attn = act(arena, be, dim, L, "wan.attn");
    s->y = act(arena, be, dim, L, "wan.y");
    s->ctx_k = act(arena, be, dim, n_context, "wan.ctx_k");
    s->ctx_v = act(arena, be, dim, n_context, "wan.ctx_v");
    s->ffn_hidden = act(arena, be, p->ffn_dim, L, "wan.ffn_hidden");
    if (!s->h || !s->q || !s->k || !s->v || !s->attn || !s->y || !s->ctx_k || !s->ctx_v ||
        !s->ffn_hidden)
        return DUET_ERR_OUT_OF_MEMORY;
    s->q_heads = heads_view(arena, s->q, H);
    s->k_heads = heads_view(arena, s->k, H);
    s->v_heads = heads_view(arena, s->v, H);
    s->attn_heads = heads_view(arena, s->attn, H);
    s->ctx_k_heads = heads_view(arena, s->ctx_k, H);
    s->ctx_v_heads = heads_view(arena, s->ctx_v, H);
    if (!s->q_heads || !s->k_heads || !s->v_heads || !s->attn_heads || !s->ctx_k_heads ||
        !s->ctx_v_heads)
        return DUET_ERR_OUT_OF_MEMORY;
    return DUET_OK;
}

/* ---------------------------------------------------------------- forward */

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

static duet_status check_x(const duet_wan_block_scratch *s, const duet_tensor *x) {
    if (!x || x->ne[0] != s->p.dim || x->ne[1] != s->n_tokens || duet_nelements(x) !=
                                                                     s->p.dim * s->n_tokens) {
        char sh[96];
        DUET_LOGE("wan block: x must be [%lld, %lld], got %s", (long long)s->p.dim,
                  (long long)s->n_tokens, x ? duet_shape_str(x, sh, sizeof sh) : "NULL");
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

duet_status duet_wan_block_modulation(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                      const duet_tensor *e0) {
    /* m = modulation [dim, 6, 1] + e0 [dim, 6, L]: the module's table broadcasts over tokens
     * (upstream: self.modulation.unsqueeze(0) + e, then chunk(6, dim=2)). */
    return duet_add(s->mod, e0, blk->modulation);
}

duet_status duet_wan_block_self_attn(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                     duet_tensor *x, const duet_tensor *rope) {
    const duet_wan_attn_weights *w = &blk->self_attn;
    const float eps = blk->p.eps;
    TRY(check_x(s, x));
    /* h = LN(x) (1 + scale_sa) + shift_sa */
    TRY(duet_layernorm(s->h, x, NULL, NULL, eps));
    TRY(duet_modulate(s->h, s->h, s->scale_sa, s->shift_sa));
    /* q, k normalized over the whole width before the split into heads, then rotated */
    TRY(duet_matmul(s->q, s->h, w->q_w, w->q_b, false));
    TRY(duet_rmsnorm(s->q, s->q, w->norm_q_w, eps));
    TRY(duet_matmul(s->k, s->h, w->k_w, w->k_b, false));
    TRY(duet_rmsnorm(s->k, s->k, w->norm_k_w, eps));
    TRY(duet_matmul(s->v, s->h, w->v_w, w->v_b, false));
    TRY(duet_rope(s->q_heads, s->q_heads, rope));
    TRY(duet_rope(s->k_heads, s->k_heads, rope));
    const float scale = 1.0f / sqrtf((float)(blk->p.dim / blk->p.n_heads));
    TRY(duet_attention(s->attn_heads, s->q_heads, s->k_heads, s->v_heads, NULL, scale));
    TRY(duet_matmul(s->y, s->attn, w->o_w, w->o_b, false));
    /* x += y * gate_sa */
    return duet_gated_add(x, x, s->y, s->gate_sa);
}

duet_status duet_wan_block_cross_attn(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                      duet_tensor *x, const duet_tensor *context) {
    const duet_wan_attn_weights *w = &blk->cross_attn;
    const float eps = blk->p.eps;
    TRY(check_x(s, x));
    if (!context || context->ne[0] != blk->p.dim || context->ne[1] != s->n_context) {
        DUET_LOGE("wan block: context must be [%lld, %lld]", (long long)blk->p.dim,
                  (long long)s->n_context);
        return DUET_ERR_INVALID_ARG;
    }
    /* h = norm3(x), an affine LayerNorm; no modulation and no gate on this branch */
    TRY(duet_layernorm(s->h, x, blk->norm3_w, blk->norm3_b, eps));
    TRY(duet_matmul(s->q, s->h, w->q_w, w->q_b, false));
    TRY(duet_rmsnorm(s->q, s->q, w->norm_q_w, eps));
    TRY(duet_matmul(s->ctx_k, context, w->k_w, w->k_b, false));
    TRY(duet_rmsnorm(s->ctx_k, s->ctx_k, w->norm_k_w, eps));
    TRY(duet_matmul(s->ctx_v, context, w->v_w, w->v_b, false));
    /* every context row counts: Wan passes no text mask (padded rows included) */
    const float scale = 1.0f / sqrtf((float)(blk->p.dim / blk->p.n_heads));
    TRY(duet_attention(s->attn_heads, s->q_heads, s->ctx_k_heads, s->ctx_v_heads, NULL, scale));
    TRY(duet_matmul(s->y, s->attn, w->o_w, w->o_b, false));
    return duet_add(x, x, s->y);
}

duet_status duet_wan_block_ffn(const duet_wan_block *blk, duet_wan_block_scratch *s,
                               duet_tensor *x) {
    TRY(check_x(s, x));
    /* h = LN(x) (1 + scale_ff) + shift_ff */
    TRY(duet_layernorm(s->h, x, NULL, NULL, blk->p.eps));
    TRY(duet_modulate(s->h, s->h, s->scale_ff, s->shift_ff));
    TRY(duet_matmul(s->ffn_hidden, s->h, blk->ffn0_w, blk->ffn0_b, false));
    TRY(duet_unary(s->ffn_hidden, s->ffn_hidden, DUET_UNARY_GELU_TANH));
    TRY(duet_matmul(s->y, s->ffn_hidden, blk->ffn2_w, blk->ffn2_b, false));
    /* x += y * gate_ff */
    return duet_gated_add(x, x, s->y, s->gate_ff);
}

duet_status duet_wan_block_forward(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                   duet_tensor *x, const duet_tensor *e0,
                                   const duet_tensor *context, const duet_tensor *rope) {
    if (!blk || !s || !e0 || !rope || blk->p.dim != s->p.dim || blk->p.n_heads != s->p.n_heads ||
        blk->p.ffn_dim != s->p.ffn_dim) {
        DUET_LOGE("duet_wan_block_forward: bad arguments (block and scratch sizes differ?)");
        return DUET_ERR_INVALID_ARG;
    }
    TRY(duet_wan_block_modulation(blk, s, e0));
    TRY(duet_wan_block_self_attn(blk, s, x, rope));
    TRY(duet_wan_block_cross_attn(blk, s, x, context));
    return duet_wan_block_ffn(blk, s, x);
}
