/* duet — the video VAE decoder's internals shared by video/vae_*.c: the weights (read by
 * vae_load.c), the planned run state (vae_session.c) and the forward pass (vae_decoder.c).
 * The layers it shares with the encoder are in vae_layers.h. Not a public header. Layout of
 * every activation: conv3d's [W, H, T, C] (core/ops.h). */
#ifndef DUET_VAE_INTERNAL_H
#define DUET_VAE_INTERNAL_H

#include <stdbool.h>

#include "core/arena.h"
#include "video/vae.h"
#include "video/vae_layers.h"

#define VAE_MAX_LEVELS 8

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
    vae_slots slots;           /* activation buffers */
    duet_tensor pixels;        /* view of a slot: the last chunk's [W, H, T, 3] */
    float *host;               /* [3 * H * W * temporal_factor]: downloaded pixels */
    int64_t next_index;        /* the chunk decode_chunk accepts next (besides 0) */
};

#endif
