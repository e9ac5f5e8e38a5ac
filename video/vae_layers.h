/* duet — the layers the video VAE's decoder (video/vae_*.c) and encoder
 * (encoders/video_encoder.c) share, and their strict weight loader: CausalConv3d with its
 * feature cache, RMS_norm + SiLU, ResidualBlock and AttentionBlock of Wan-Video/Wan2.2
 * wan/modules/vae2_2.py (restated by tools/duet_tiny/video_vae.py), planned activation slots,
 * and loading them by Wan's names with the shapes the architecture needs (core/weights.h).
 * Not a public header: only the two VAE halves include it. Activations are conv3d's
 * [W, H, T, C] (core/ops.h); channel-wise work uses a channel-innermost copy [C, W, H, T]. */
#ifndef DUET_VAE_LAYERS_H
#define DUET_VAE_LAYERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"
#include "core/weights.h"

#define VAE_MAX_RES 8
/* Activation buffers: a level holds its input (for the shortcut) while a residual block or
 * the attention works on four more. */
#define VAE_N_SLOTS 6
/* RMS_norm is F.normalize(x) sqrt(C) gamma = x / sqrt(mean(x^2)) gamma; F.normalize clamps
 * the norm at 1e-12, which this eps on the mean square matches in effect (it only matters for
 * an all-zero row, which stays zero). */
#define VAE_NORM_EPS 1e-24f

#define VAE_TRY(e)                                                                             \
    do {                                                                                       \
        duet_status s_ = (e);                                                                  \
        if (s_ != DUET_OK) return s_;                                                          \
    } while (0)

/* A convolution: w [kw, kh, kt, Cin, Cout] (a Conv2d kernel viewed with kt = 1), b [Cout]. */
typedef struct {
    duet_tensor *w;
    duet_tensor *b;
    int64_t k[3];      /* kw, kh, kt */
    int64_t cin, cout;
} vae_conv;

/* ResidualBlock: RMS_norm, SiLU, CausalConv3d k3, RMS_norm, SiLU, (Dropout), CausalConv3d k3,
 * plus a 1x1x1 shortcut conv when the width changes. */
typedef struct {
    int64_t cin, cout;
    duet_tensor *gamma1;  /* residual.0.gamma [cin, 1, 1, 1], kept as [cin] */
    vae_conv conv1;       /* residual.2.{weight [cout, cin, 3, 3, 3], bias} */
    duet_tensor *gamma2;  /* residual.3.gamma [cout, 1, 1, 1] */
    vae_conv conv2;       /* residual.6.{weight [cout, cout, 3, 3, 3], bias} */
    vae_conv shortcut;    /* shortcut.{weight [cout, cin, 1, 1, 1], bias}; w NULL: identity */
} vae_res;

/* AttentionBlock: single-head self-attention over the pixels of each frame. */
typedef struct {
    int64_t c;
    duet_tensor *gamma;   /* norm.gamma [c, 1, 1], kept as [c] */
    duet_tensor *qkv_w;   /* to_qkv.weight [3c, c, 1, 1], kept as the matmul operand [c, 3c] */
    duet_tensor *qkv_b;   /* to_qkv.bias [3c] */
    duet_tensor *proj_w;  /* proj.weight [c, c, 1, 1], as [c, c] */
    duet_tensor *proj_b;  /* proj.bias [c] */
} vae_attn;

/* Causal caches of one residual block's two convolutions (NULL: zeros before the input, as
 * for a single image). */
typedef struct {
    duet_tensor *c1, *c2;
} vae_res_cache;

/* ---------------------------------------------------------------- loading */

/* Loading goes through core/weights.h (prefix + Wan's names, shapes in PyTorch order, the
 * record of used tensors); these read the shared layers' tensors under `name` / `base`. */
/* <name>.weight [cout, cin, kt, k, k] (kt == 0: a Conv2d's [cout, cin, k, k], viewed as
 * kt = 1) and <name>.bias [cout]. */
duet_status duet_vae_load_conv(duet_weights *ld, const char *name, int64_t cout, int64_t cin,
                               int64_t kt, int64_t k, vae_conv *c);
/* RMS_norm gamma [c, 1, 1, 1] (n_dims 4) or [c, 1, 1] (3, images=True), kept as [c]. */
duet_status duet_vae_load_gamma(duet_weights *ld, const char *name, int64_t c, int n_dims,
                                duet_tensor **out);
duet_status duet_vae_load_res(duet_weights *ld, const char *base, int64_t cin, int64_t cout,
                              vae_res *r);
duet_status duet_vae_load_attn(duet_weights *ld, const char *base, int64_t c, vae_attn *a);

/* ---------------------------------------------------------------- forward */

/* Activation buffers of one plan, each `elems` f32; taken and given back, never allocated
 * while running. */
typedef struct {
    duet_tensor *slot[VAE_N_SLOTS];
    bool busy[VAE_N_SLOTS];
    int64_t elems;
} vae_slots;

/* An activation: a contiguous view of slot `slot` (-1 once given back). */
typedef struct {
    duet_tensor t;
    int slot;
} vae_act;

/* Allocates the slots in `arena` on `be`, named <name>.slotN. DUET_OK or
 * DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_vae_slots_new(vae_slots *s, duet_arena *arena, duet_backend *be, int64_t elems,
                               const char *name);
/* Marks every slot free (start of a forward pass). */
void duet_vae_slots_reset(vae_slots *s);
/* A contiguous [ne0, ne1, ne2, ne3] view of a free slot; asserts that the plan provided one. */
vae_act duet_vae_take(vae_slots *s, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3);
void duet_vae_give(vae_slots *s, vae_act *a);

/* Frames [t0, t0 + n) of a [W, H, T, C] tensor (strided when C > 1). */
duet_tensor duet_vae_frames(const duet_tensor *x, int64_t t0, int64_t n);

/* CausalConv3d, stride 1: time padding from `cache` (the previous chunk's last kt - 1 input
 * frames, which it then keeps) or zeros when cache is NULL; symmetric spatial zeros. */
duet_status duet_vae_causal_conv(duet_tensor *dst, const duet_tensor *x, const vae_conv *c,
                                 duet_tensor *cache);
/* RMS_norm over channels: x [W, H, T, C] -> a channel-innermost [C, W, H, T] normalized copy
 * scaled by gamma, in a taken slot (*out). */
duet_status duet_vae_channel_norm(vae_slots *s, const duet_tensor *x, const duet_tensor *gamma,
                                  vae_act *out);
/* SiLU(RMS_norm(x)) back in [W, H, T, C], in a taken slot. */
duet_status duet_vae_norm_silu(vae_slots *s, const duet_tensor *x, const duet_tensor *gamma,
                               vae_act *out);
/* ResidualBlock: out = conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x); x stays.
 * cache may be NULL (no earlier frames). */
duet_status duet_vae_res_forward(vae_slots *s, const vae_res *r, vae_res_cache *cache,
                                 const duet_tensor *x, vae_act *out);
/* AttentionBlock, in place: x += proj(attn(q, k, v)) per frame, one head of width C over the
 * frame's W H pixels; q, k, v = to_qkv(norm(x)) split along channels. */
duet_status duet_vae_attn_forward(vae_slots *s, const vae_attn *at, duet_tensor *x);

#endif
