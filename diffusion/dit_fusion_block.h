/* duet — Ovi's fusion block: Wan's DiT block (diffusion/wan_block.h) whose cross-attention also
 * attends to the other tower's stream. The joint DiT (diffusion/dit.c) runs one of these per
 * tower per layer, interleaved; self-attention and the FFN are Wan's steps unchanged.
 *
 * Upstream: character-ai/Ovi ovi/modules/fusion.py, FusionModel.
 * inject_cross_attention_kv_projections (the four added modules) and
 * single_fusion_cross_attention_forward (their use). With h = norm3(x):
 *
 *   q   = RMSNorm_q(Wq h)                                  (shared by both attentions)
 *   txt = Attn(q, RMSNorm_k(Wk ctx), Wv ctx)                no RoPE, every context row
 *   t   = pre_attn_norm_fusion(other)                       affine LayerNorm, eps 1e-6
 *   fus = Attn(RoPE_self(q), RoPE_other(norm_k_fusion(k_fusion t)), v_fusion t)
 *   x  += Wo(txt + fus)                                     no gate
 *
 * norm_k_fusion is an RMSNorm over the full width with eps 1e-6 and pre_attn_norm_fusion a
 * LayerNorm with eps 1e-6, whatever the tower's eps (upstream hard-codes both).
 * Layouts as wan_block.h: x [dim, L], other [dim, Lo], context [dim, Lc], rope tables
 * [head_dim, L] and [head_dim, Lo]. */
#ifndef DUET_DIT_FUSION_BLOCK_H
#define DUET_DIT_FUSION_BLOCK_H

#include "diffusion/wan_block.h"

/* eps of pre_attn_norm_fusion and norm_k_fusion (fixed upstream). */
#define DUET_FUSION_NORM_EPS 1e-6f

typedef struct {
    duet_wan_block wan;          /* blocks.N.*: Wan's block (modulation.modulation in Ovi) */
    duet_tensor *k_fusion_w;     /* blocks.N.cross_attn.k_fusion.weight [dim, dim] */
    duet_tensor *k_fusion_b;     /* blocks.N.cross_attn.k_fusion.bias [dim] */
    duet_tensor *v_fusion_w;     /* blocks.N.cross_attn.v_fusion.weight [dim, dim] */
    duet_tensor *v_fusion_b;     /* blocks.N.cross_attn.v_fusion.bias [dim] */
    duet_tensor *pre_norm_w;     /* blocks.N.cross_attn.pre_attn_norm_fusion.weight [dim] */
    duet_tensor *pre_norm_b;     /* blocks.N.cross_attn.pre_attn_norm_fusion.bias [dim] */
    duet_tensor *norm_k_fusion_w;/* blocks.N.cross_attn.norm_k_fusion.weight [dim] */
} duet_fusion_block;

/* Loads w's prefix + names (e.g. "video_model.blocks.3.") as duet_wan_block_load does, plus
 * the fusion tensors: Linear weights in the file's dtype unless w forces one, the rest f32.
 * Returns DUET_OK or the errors of duet_wan_block_load (each logged with the tensor's name).
 * On failure *blk is cleared. */
duet_status duet_fusion_block_load(duet_fusion_block *blk, const duet_wan_block_params *p,
                                   duet_weights *w);

/* Wan's scratch for the block's own tokens, plus the fusion keys and values over the other
 * tower's Lo tokens. Allocated once per run size; views made here. */
typedef struct {
    duet_wan_block_scratch wan;
    int64_t n_other;             /* Lo */
    duet_tensor *other_h;        /* [dim, Lo] pre_attn_norm_fusion(other) */
    duet_tensor *fk, *fv;        /* [dim, Lo] fusion keys (normalized, rotated) and values */
    duet_tensor *fk_heads, *fv_heads;   /* [head_dim, heads, Lo] views */
    duet_tensor *fus, *fus_heads;/* [dim, L] fusion attention output, and its heads view */
} duet_fusion_scratch;

/* Returns DUET_OK, DUET_ERR_INVALID_ARG (sizes) or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_fusion_scratch_init(duet_fusion_scratch *s, const duet_wan_block_params *p,
                                     int64_t n_tokens, int64_t n_context, int64_t n_other,
                                     duet_arena *arena, duet_backend *be);

/* Fusion keys and values from the other tower's stream: fills s->fk and s->fv. Run it while
 * `other` holds the stream this block must see (Ovi: the video tower attends to the audio
 * stream after the audio self-attention, before the audio cross-attention changes it). */
duet_status duet_fusion_block_kv(const duet_fusion_block *blk, duet_fusion_scratch *s,
                                 const duet_tensor *other, const duet_tensor *rope_other);

/* x += Wo(text attention + fusion attention), using the keys of duet_fusion_block_kv. */
duet_status duet_fusion_block_cross_attn(const duet_fusion_block *blk, duet_fusion_scratch *s,
                                         duet_tensor *x, const duet_tensor *context,
                                         const duet_tensor *rope);

#endif
