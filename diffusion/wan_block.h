/* duet — one Wan DiT block: the transformer block of Wan2.1/Wan2.2 and of each Ovi tower.
 * The joint DiT (diffusion/) runs a stack of these; Ovi interleaves the sub-steps of its two
 * towers, so each residual step is also callable on its own.
 *
 * Upstream: Wan-Video/Wan2.2 wan/modules/model.py, WanAttentionBlock.forward and the modules
 * it calls (WanSelfAttention, WanCrossAttention, WanRMSNorm, WanLayerNorm, rope_apply);
 * Ovi's ovi/modules/model.py has the same block with its modulation under
 * "modulation.modulation". Per token l (Wan2.2 modulation is per token):
 *
 *   m = modulation + e0[l]     chunks 0..5: shift_sa, scale_sa, gate_sa, shift_ff, scale_ff,
 *                              gate_ff
 *   x += SA(LN(x) (1 + scale_sa) + shift_sa) * gate_sa
 *   x += CA(norm3(x), context)
 *   x += FFN(LN(x) (1 + scale_ff) + shift_ff) * gate_ff
 *
 * SA: q = RMSNorm(Wq h), k = RMSNorm(Wk h) (over the full dim, before the split into heads),
 * v = Wv h; 3-D RoPE on q and k; softmax(q k^T / sqrt(head_dim)) v; Wo. CA: the same without
 * RoPE, keys and values from the context. FFN: Linear, GELU (tanh), Linear. LN: LayerNorm
 * without affine; norm3: LayerNorm with affine. Every norm uses eps (1e-6).
 *
 * Layouts (core/ops.h, innermost first): x [dim, L], e0 [dim, 6, L], context [dim, Lc],
 * rope table [head_dim, L]. One sequence (batch 1). */
#ifndef DUET_WAN_BLOCK_H
#define DUET_WAN_BLOCK_H

#include <stdint.h>

#include "core/arena.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/weights.h"

typedef struct {
    int64_t dim;      /* model width: 3072 (Wan2.2-TI2V-5B, Ovi), 1536 (Wan2.1-T2V-1.3B) */
    int64_t ffn_dim;  /* 14336 (5B, Ovi), 8960 (1.3B) */
    int64_t n_heads;  /* 24 (5B, Ovi), 12 (1.3B); head_dim = dim / n_heads */
    float eps;        /* every LayerNorm and RMSNorm: 1e-6 */
} duet_wan_block_params;

/* Wan2.2-TI2V-5B / Ovi video tower sizes. */
duet_wan_block_params duet_wan_block_default_params(void);

/* Projections and q/k norms of one attention (self_attn or cross_attn). */
typedef struct {
    duet_tensor *q_w;      /* blocks.N.<attn>.q.weight [dim, dim] */
    duet_tensor *q_b;      /* blocks.N.<attn>.q.bias [dim] */
    duet_tensor *k_w;      /* blocks.N.<attn>.k.weight [dim, dim] */
    duet_tensor *k_b;      /* blocks.N.<attn>.k.bias [dim] */
    duet_tensor *v_w;      /* blocks.N.<attn>.v.weight [dim, dim] */
    duet_tensor *v_b;      /* blocks.N.<attn>.v.bias [dim] */
    duet_tensor *o_w;      /* blocks.N.<attn>.o.weight [dim, dim] */
    duet_tensor *o_b;      /* blocks.N.<attn>.o.bias [dim] */
    duet_tensor *norm_q_w; /* blocks.N.<attn>.norm_q.weight [dim] */
    duet_tensor *norm_k_w; /* blocks.N.<attn>.norm_k.weight [dim] */
} duet_wan_attn_weights;

/* One block's weights (immutable after loading; shared by every run). Shapes in PyTorch
 * order as in the checkpoint. Linear weights are in the dtype asked of the loader (f32, f16
 * or bf16); everything else is f32. */
typedef struct duet_wan_block {
    duet_wan_block_params p;
    duet_tensor *modulation;          /* blocks.N.modulation [1, 6, dim]
                                         (Ovi: blocks.N.modulation.modulation) */
    duet_wan_attn_weights self_attn;  /* blocks.N.self_attn.* */
    duet_tensor *norm3_w;             /* blocks.N.norm3.weight [dim] */
    duet_tensor *norm3_b;             /* blocks.N.norm3.bias [dim] */
    duet_wan_attn_weights cross_attn; /* blocks.N.cross_attn.* */
    duet_tensor *ffn0_w;              /* blocks.N.ffn.0.weight [ffn_dim, dim] */
    duet_tensor *ffn0_b;              /* blocks.N.ffn.0.bias [ffn_dim] */
    duet_tensor *ffn2_w;              /* blocks.N.ffn.2.weight [dim, ffn_dim] */
    duet_tensor *ffn2_b;              /* blocks.N.ffn.2.bias [dim] */
} duet_wan_block;

/* Loads the tensors named w's prefix + Wan's names (prefix e.g. "blocks.3." or
 * "video_model.blocks.3.") onto w's backend into w's arena, recording them as used. Linear
 * weights keep the file's dtype unless w forces one; all other tensors are f32. Returns
 * DUET_OK, DUET_ERR_INVALID_ARG (bad arguments), DUET_ERR_NOT_FOUND (a tensor is missing),
 * DUET_ERR_FORMAT (a shape does not fit p), each logged with the tensor's name, or an
 * allocation/upload error. On failure *blk is cleared (what was already allocated stays in
 * the arena). */
duet_status duet_wan_block_load(duet_wan_block *blk, const duet_wan_block_params *p,
                                duet_weights *w);

/* Activations of one block for a fixed token count, allocated once and reused by every block
 * and every step (blocks run one after another). The views are made here so that a forward
 * pass allocates nothing. */
typedef struct duet_wan_block_scratch {
    duet_wan_block_params p;
    int64_t n_tokens;          /* L */
    int64_t n_context;         /* Lc */
    duet_tensor *mod;          /* [dim, 6, L] modulation + e0 */
    duet_tensor *shift_sa, *scale_sa, *gate_sa, *shift_ff, *scale_ff, *gate_ff; /* [dim, L]
                                  views of mod's six chunks */
    duet_tensor *h;            /* [dim, L] normalized (and modulated) input of a sub-layer */
    duet_tensor *q, *k, *v;    /* [dim, L] */
    duet_tensor *attn;         /* [dim, L] attention output, heads concatenated */
    duet_tensor *y;            /* [dim, L] sub-layer output before the residual add */
    duet_tensor *ctx_k, *ctx_v;/* [dim, Lc] cross-attention keys and values */
    duet_tensor *q_heads, *k_heads, *v_heads, *attn_heads; /* [head_dim, heads, L] views */
    duet_tensor *ctx_k_heads, *ctx_v_heads;                /* [head_dim, heads, Lc] views */
    duet_tensor *ffn_hidden;   /* [ffn_dim, L] */
} duet_wan_block_scratch;

/* Allocates the scratch on `be`; it belongs to `arena`. Returns DUET_OK,
 * DUET_ERR_INVALID_ARG (sizes) or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_wan_block_scratch_init(duet_wan_block_scratch *s, const duet_wan_block_params *p,
                                        int64_t n_tokens, int64_t n_context, duet_arena *arena,
                                        duet_backend *be);

/* The whole block: x [dim, L] is updated in place. e0 [dim, 6, L] is the time projection per
 * token (time_projection output, without the block's modulation), context [dim, Lc] the
 * embedded text, rope [head_dim, L] the 3-D RoPE table of the latent grid (duet_rope_table_3d
 * in core/rope.h, theta 10000). Ops are recorded on x's backend; results are ready
 * when the backend syncs. Returns DUET_OK or the first failing op's status. Not thread-safe
 * for one scratch. */
duet_status duet_wan_block_forward(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                   duet_tensor *x, const duet_tensor *e0,
                                   const duet_tensor *context, const duet_tensor *rope);

/* The same forward in its steps, for callers that interleave blocks (Ovi) or check each
 * residual: modulation must run first (it fills s->mod from e0); each residual step updates
 * x in place. */
duet_status duet_wan_block_modulation(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                      const duet_tensor *e0);
duet_status duet_wan_block_self_attn(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                     duet_tensor *x, const duet_tensor *rope);
duet_status duet_wan_block_cross_attn(const duet_wan_block *blk, duet_wan_block_scratch *s,
                                      duet_tensor *x, const duet_tensor *context);
duet_status duet_wan_block_ffn(const duet_wan_block *blk, duet_wan_block_scratch *s,
                               duet_tensor *x);

#endif
