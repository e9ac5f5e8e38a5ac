/* duet — Ovi's fusion block: loading the four modules Ovi adds to Wan's cross-attention, their
 * activations, and the cross-attention that reads both the text and the other tower. The rest
 * of the block is diffusion/wan_block.c. Mirrors FusionModel in character-ai/Ovi
 * ovi/modules/fusion.py (inject_cross_attention_kv_projections,
 * single_fusion_cross_attention_forward); see dit_fusion_block.h for the equations. */
#include "dit_fusion_block.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/ops.h"

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

duet_status duet_fusion_block_load(duet_fusion_block *blk, const duet_wan_block_params *p,
                                   duet_weights *w) {
    if (!blk || !p || !w) {
        DUET_LOGE("duet_fusion_block_load: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    memset(blk, 0, sizeof *blk);
    duet_status s = duet_wan_block_load(&blk->wan, p, w);
    const int64_t mat[2] = {p->dim, p->dim}, vec[1] = {p->dim};
    const struct {
        const char *name;
        bool linear;
        duet_tensor **out;
    } extra[] = {
        {"cross_attn.k_fusion.weight", true, &blk->k_fusion_w},
        {"cross_attn.k_fusion.bias", false, &blk->k_fusion_b},
        {"cross_attn.v_fusion.weight", true, &blk->v_fusion_w},
        {"cross_attn.v_fusion.bias", false, &blk->v_fusion_b},
        {"cross_attn.pre_attn_norm_fusion.weight", false, &blk->pre_norm_w},
        {"cross_attn.pre_attn_norm_fusion.bias", false, &blk->pre_norm_b},
        {"cross_attn.norm_k_fusion.weight", false, &blk->norm_k_fusion_w},
    };
    for (size_t i = 0; s == DUET_OK && i < sizeof extra / sizeof extra[0]; i++)
        s = extra[i].linear ? duet_weights_load(w, DUET_WEIGHT_MATRIX, 2, mat, extra[i].out,
                                                "%s", extra[i].name)
                            : duet_weights_load(w, DUET_WEIGHT_F32, 1, vec, extra[i].out, "%s",
                                                extra[i].name);
    if (s != DUET_OK) memset(blk, 0, sizeof *blk);
    return s;
}

static duet_tensor *act(duet_arena *a, duet_backend *be, int64_t rows, int64_t n,
                        const char *name) {
    duet_tensor *t = duet_tensor_new4(a, be, DUET_F32, rows, n, 1, 1);
    if (t) duet_tensor_set_name(t, name);
    return t;
}

static duet_tensor *heads_view(duet_arena *a, const duet_tensor *t, int64_t n_heads) {
    if (!t) return NULL;
    const int64_t ne[3] = {t->ne[0] / n_heads, n_heads, t->ne[1]};
    return duet_reshape(a, t, 3, ne);
}

duet_status duet_fusion_scratch_init(duet_fusion_scratch *s, const duet_wan_block_params *p,
                                     int64_t n_tokens, int64_t n_context, int64_t n_other,
                                     duet_arena *arena, duet_backend *be) {
    if (!s || !p || n_other <= 0) {
        DUET_LOGE("duet_fusion_scratch_init: bad arguments (Lo %lld)", (long long)n_other);
        return DUET_ERR_INVALID_ARG;
    }
    memset(s, 0, sizeof *s);
    TRY(duet_wan_block_scratch_init(&s->wan, p, n_tokens, n_context, arena, be));
    s->n_other = n_other;
    s->other_h = act(arena, be, p->dim, n_other, "fusion.other_h");
    s->fk = act(arena, be, p->dim, n_other, "fusion.k");
    s->fv = act(arena, be, p->dim, n_other, "fusion.v");
    s->fus = act(arena, be, p->dim, n_tokens, "fusion.attn");
    s->fk_heads = heads_view(arena, s->fk, p->n_heads);
    s->fv_heads = heads_view(arena, s->fv, p->n_heads);
    s->fus_heads = heads_view(arena, s->fus, p->n_heads);
    if (!s->other_h || !s->fk_heads || !s->fv_heads || !s->fus_heads)
        return DUET_ERR_OUT_OF_MEMORY;
    return DUET_OK;
}

duet_status duet_fusion_block_kv(const duet_fusion_block *blk, duet_fusion_scratch *s,
                                 const duet_tensor *other, const duet_tensor *rope_other) {
    if (!blk || !s || !other || !rope_other || other->ne[0] != blk->wan.p.dim ||
        other->ne[1] != s->n_other) {
        DUET_LOGE("fusion block: the other stream must be [%lld, %lld]",
                  (long long)(blk ? blk->wan.p.dim : 0), (long long)(s ? s->n_other : 0));
        return DUET_ERR_INVALID_ARG;
    }
    /* t = pre_attn_norm_fusion(other); k = RoPE(norm_k_fusion(k_fusion t)); v = v_fusion t */
    TRY(duet_layernorm(s->other_h, other, blk->pre_norm_w, blk->pre_norm_b,
                       DUET_FUSION_NORM_EPS));
    TRY(duet_matmul(s->fk, s->other_h, blk->k_fusion_w, blk->k_fusion_b, false));
    TRY(duet_rmsnorm(s->fk, s->fk, blk->norm_k_fusion_w, DUET_FUSION_NORM_EPS));
    TRY(duet_rope(s->fk_heads, s->fk_heads, rope_other));
    return duet_matmul(s->fv, s->other_h, blk->v_fusion_w, blk->v_fusion_b, false);
}

duet_status duet_fusion_block_cross_attn(const duet_fusion_block *blk, duet_fusion_scratch *s,
                                         duet_tensor *x, const duet_tensor *context,
                                         const duet_tensor *rope) {
    const duet_wan_attn_weights *w = &blk->wan.cross_attn;
    duet_wan_block_scratch *ws = &s->wan;
    const float eps = blk->wan.p.eps;
    if (!x || !context || !rope || x->ne[0] != ws->p.dim || x->ne[1] != ws->n_tokens ||
        context->ne[0] != ws->p.dim || context->ne[1] != ws->n_context) {
        DUET_LOGE("fusion block: x must be [%lld, %lld] and context [%lld, %lld]",
                  (long long)ws->p.dim, (long long)ws->n_tokens, (long long)ws->p.dim,
                  (long long)ws->n_context);
        return DUET_ERR_INVALID_ARG;
    }
    TRY(duet_layernorm(ws->h, x, blk->wan.norm3_w, blk->wan.norm3_b, eps));
    TRY(duet_matmul(ws->q, ws->h, w->q_w, w->q_b, false));
    TRY(duet_rmsnorm(ws->q, ws->q, w->norm_q_w, eps));
    TRY(duet_matmul(ws->ctx_k, context, w->k_w, w->k_b, false));
    TRY(duet_rmsnorm(ws->ctx_k, ws->ctx_k, w->norm_k_w, eps));
    TRY(duet_matmul(ws->ctx_v, context, w->v_w, w->v_b, false));
    const float scale = 1.0f / sqrtf((float)(ws->p.dim / ws->p.n_heads));
    /* text part: q without RoPE, every (zero-padded) context row counts (Ovi passes
     * context_lens = None) */
    TRY(duet_attention(ws->attn_heads, ws->q_heads, ws->ctx_k_heads, ws->ctx_v_heads, NULL,
                       scale));
    /* fusion part: the same q, now rotated with this tower's positions */
    TRY(duet_rope(ws->q_heads, ws->q_heads, rope));
    TRY(duet_attention(s->fus_heads, ws->q_heads, s->fk_heads, s->fv_heads, NULL, scale));
    TRY(duet_add(ws->attn, ws->attn, s->fus));
    TRY(duet_matmul(ws->y, ws->attn, w->o_w, w->o_b, false));
    return duet_add(x, x, ws->y);
}
