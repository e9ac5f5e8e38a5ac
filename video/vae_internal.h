/* duet — the video VAE decoder's internals shared by video/vae_*.c: the weights (read by
 * vae_load.c), the planned run state (vae_session.c) and the forward pass (vae_decoder.c).
 * Not a public header. Layout of every activation: conv3d's [W, H, T, C] (core/ops.h). */
#ifndef DUET_VAE_INTERNAL_H
#define DUET_VAE_INTERNAL_H

#include <stdbool.h>

#include "core/arena.h"
#include "video/vae.h"

#define VAE_MAX_LEVELS 8
#define VAE_MAX_RES 8
/* Activation buffers of one chunk: an up level holds its input (for the shortcut) while a
 * residual block or the attention works on four more. */
#define VAE_N_SLOTS 6
/* RMS_norm is F.normalize(x) sqrt(C) gamma = x / sqrt(mean(x^2)) gamma; F.normalize clamps
 * the norm at 1e-12, which this eps on the mean square matches in effect (it only matters for
 * an all-zero row, which stays zero). */
#define VAE_NORM_EPS 1e-24f

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

/* Up_ResidualBlock N: upsamples.N.upsamples.{0..n_res-1} residual blocks, then (up) the
 * Resample at index n_res; the DupUp3D shortcut (no parameters) when up. */
typedef struct {
    int64_t cin, cout;
    int n_res;
    vae_res res[VAE_MAX_RES];
    bool up;              /* spatial 2x (Resample) and the DupUp3D shortcut */
    bool t_up;            /* temporal 2x: Resample "upsample3d" */
    vae_conv resample;    /* upsamples.n_res.resample.1.{weight [cout, cout, 3, 3], bias} */
    vae_conv time_conv;   /* upsamples.n_res.time_conv.{weight [2 cout, cout, 3, 1, 1], bias} */
} vae_level;

struct duet_vae {
    duet_backend *be;
    duet_arena *arena;    /* every weight tensor and its buffer */
    duet_vae_info info;
    int64_t c0;           /* width of conv1, the middle and level 0's input */
    duet_tensor *mean;    /* latent_mean [z], viewed [1, 1, 1, z] */
    duet_tensor *std;     /* latent_std [z], viewed [1, 1, 1, z] */
    vae_conv conv2;       /* conv2.{weight [z, z, 1, 1, 1], bias} */
    vae_conv conv1;       /* decoder.conv1.{weight [c0, z, 3, 3, 3], bias} */
    vae_res mid0;         /* decoder.middle.0 */
    vae_attn attn;        /* decoder.middle.1 */
    vae_res mid2;         /* decoder.middle.2 */
    vae_level level[VAE_MAX_LEVELS]; /* decoder.upsamples.N */
    duet_tensor *head_gamma; /* decoder.head.0.gamma [c_last, 1, 1, 1] */
    vae_conv head;        /* decoder.head.2.{weight [3 p p, c_last, 3, 3, 3], bias} */
};

/* Causal caches of one residual block's two convolutions. */
typedef struct {
    duet_tensor *c1, *c2;
} vae_res_cache;

struct duet_vae_session {
    const duet_vae *m;
    int64_t h, w;              /* latent cells */
    duet_arena *arena;         /* caches, slots, zeros */
    /* Causal caches [W, H, kt - 1, Cin]: the last input frames of each conv with a time
     * kernel, zeros before chunk 0. */
    duet_tensor *conv1_cache;
    vae_res_cache mid[2];
    vae_res_cache res[VAE_MAX_LEVELS][VAE_MAX_RES];
    duet_tensor *time_cache[VAE_MAX_LEVELS];
    duet_tensor *head_cache;
    duet_tensor *caches[4 + 2 * VAE_MAX_LEVELS * (VAE_MAX_RES + 1) + 2]; /* all of the above */
    int n_caches;
    duet_tensor *zeros;        /* as many zeros as the largest cache (copied in at chunk 0) */
    duet_tensor *slot[VAE_N_SLOTS]; /* activation buffers, each slot_elems f32 */
    bool busy[VAE_N_SLOTS];
    int64_t slot_elems;
    duet_tensor pixels;        /* view of a slot: the last chunk's [W, H, T, 3] */
    float *host;               /* [3 * H * W * temporal_factor]: downloaded pixels */
    int64_t next_index;        /* the chunk decode_chunk accepts next (besides 0) */
};

/* vae_session.c: a contiguous [ne0, ne1, ne2, ne3] view of a free slot (its index in *slot);
 * -1 / a zeroed tensor when none is free (a planning bug: asserted by the caller). */
duet_tensor duet_vae_take(duet_vae_session *s, const int64_t ne[4], int *slot);
void duet_vae_give(duet_vae_session *s, int slot);

/* A view built on the stack (no arena): ne/nb for n_dims dims, 1 beyond. */
duet_tensor duet_vae_view(const duet_tensor *base, int n_dims, const int64_t *ne,
                          const size_t *nb, size_t offset_bytes);

#endif
