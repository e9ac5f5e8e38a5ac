/* duet — the audio VAE's internals shared by audio/audio_vae.c (loading, planning, the MP
 * layers) and the two halves' forward passes (audio/vae_encoder.c, audio/vae_decoder.c).
 * Not a public header. */
#ifndef DUET_AUDIO_VAE_INTERNAL_H
#define DUET_AUDIO_VAE_INTERNAL_H

#include <stdbool.h>

#include "audio/audio_vae.h"
#include "core/arena.h"

/* Attention blocks use one head (MMAudio's AttnBlock1D default). */
#define DUET_AVAE_MP_EPS 1e-4f   /* mp_normalize's eps, added to the rms */
#define DUET_AVAE_MP_SUM_T 0.3f  /* mp_sum blend of every residual */
#define DUET_AVAE_SILU_DIV 0.596f

/* One ResnetBlock1D. */
typedef struct {
    int64_t cin, cout;
    duet_tensor *conv1; /* *.conv1.weight [cout, cin, k] */
    duet_tensor *conv2; /* *.conv2.weight [cout, cout, k] */
    duet_tensor *nin;   /* *.nin_shortcut.weight [cout, cin, 1]; NULL when cin == cout */
} duet_avae_block;

/* One AttnBlock1D. */
typedef struct {
    int64_t c;
    duet_tensor *qkv;  /* *.qkv.weight [3 c, c, 1] (output channel 3 i + j: part j of channel i) */
    duet_tensor *proj; /* *.proj_out.weight [c, c, 1] */
} duet_avae_attn;

typedef struct {
    int n_blocks;      /* encoder n_res_blocks, decoder n_res_blocks + 1 */
    bool has_attn;
    duet_avae_block block[DUET_AUDIO_VAE_MAX_RES_BLOCKS];
    duet_avae_attn attn[DUET_AUDIO_VAE_MAX_RES_BLOCKS];
    duet_tensor *down1; /* encoder down.I.downsample.conv1.weight [c, c, 1], or NULL */
    duet_tensor *down2; /* encoder down.I.downsample.conv2.weight [c, c, 1] */
    duet_tensor *up;    /* decoder up.I.upsample.conv.weight [c, c, 3], or NULL */
} duet_avae_level;

/* Constant operand of the normalization for rows of c channels (see norm_factor). */
typedef struct {
    int64_t c;
    duet_tensor *w2; /* [c, 2] (matmul weight, innermost first): zeros, then sqrt(2) / c */
} duet_avae_norm_const;

/* One half's weights. */
typedef struct {
    duet_audio_vae_config cfg;
    bool decoder;
    duet_backend *be;
    duet_arena *arena;          /* every tensor and buffer below */
    duet_tensor *conv_in;       /* conv_in.weight: encoder [hidden, data_dim, k],
                                   decoder [hidden ch_mult[-1], embed_dim, k] */
    duet_avae_level level[DUET_AUDIO_VAE_MAX_LEVELS];
    duet_avae_block mid1, mid2; /* mid.block_1, mid.block_2 */
    duet_avae_attn mid_attn;    /* mid.attn_1 */
    duet_tensor *conv_out;      /* encoder: conv_out.weight [2 embed, c_last, k] viewed as its
                                   first embed output channels (the mean); decoder
                                   [data_dim, hidden, k] */
    float gain;                 /* 1 + learnable_gain */
    duet_tensor *stat_scale;    /* [1, data_dim]: encoder 1 / data_std, decoder data_std */
    duet_tensor *stat_shift;    /* [1, data_dim]: encoder -data_mean / data_std, decoder
                                   data_mean */
    int n_norm;
    duet_avae_norm_const norm[DUET_AUDIO_VAE_MAX_LEVELS + 1];
    duet_tensor *norm_bias;     /* [2] {2^-40, sqrt(2) eps} */
    duet_tensor *norm_w;        /* [2] {2^40, 0} */
} duet_avae_model;

struct duet_audio_vae_encoder {
    duet_avae_model m;
};

struct duet_audio_vae_decoder {
    duet_avae_model m;
};

struct duet_audio_vae_session {
    const duet_avae_model *m;
    int64_t n_in;       /* mel frames (encoder) or latents (decoder) */
    int64_t n_out;      /* latents (encoder) or mel frames (decoder) */
    duet_arena *arena;  /* every activation */
    /* flat f32 buffers, viewed per layer at evaluation time */
    duet_tensor *x;     /* the residual stream */
    duet_tensor *xn;    /* normalized block input */
    duet_tensor *a, *b; /* temporaries */
    duet_tensor *qkv;   /* attention projections */
    duet_tensor *r;     /* [2, Lmax] normalization rows */
    duet_tensor *rn;    /* [2, Lmax]: row 0 = 1 / (eps + rms) per frame */
    duet_tensor *in;    /* encoder: normalized mel [T, data_dim]; decoder: latent [L, embed] */
    duet_tensor *out;   /* encoder: mean [L, embed]; decoder: unused */
};

/* audio_vae.c */
duet_status duet_avae_load(duet_avae_model *m, const duet_audio_vae_config *cfg,
                           const duet_safetensors *st, duet_backend *be,
                           const duet_audio_vae_load_params *p, bool decoder);
void duet_avae_release(duet_avae_model *m);
/* t is an f32 tensor of exactly [ne0, ne1] (an encode/decode argument check). */
bool duet_avae_is_f32_2d(const duet_tensor *t, int64_t ne0, int64_t ne1);
duet_status duet_avae_session_new(const duet_avae_model *m, int64_t n_in,
                                  duet_audio_vae_session **out);

/* A contiguous [ne0, ne1] (or [ne0, ne1, ne2, ne3]) view of a flat buffer, built on the
 * stack; the op that uses it checks it against the buffer. */
duet_tensor duet_avae_view(const duet_tensor *buf, int64_t ne0, int64_t ne1);
duet_tensor duet_avae_view4(const duet_tensor *buf, const int64_t ne[4]);
/* A 2-D view with explicit byte strides and offset. */
duet_tensor duet_avae_strided(const duet_tensor *buf, int64_t ne0, int64_t ne1, size_t nb0,
                              size_t nb1, size_t offset);

/* The layers, on the session's residual stream x [L, C] (conv layout). */
duet_status duet_avae_resblock(duet_audio_vae_session *s, const duet_avae_block *b, int64_t L);
duet_status duet_avae_attention(duet_audio_vae_session *s, const duet_avae_attn *w, int64_t L);
duet_status duet_avae_clamp(duet_audio_vae_session *s, int64_t L, int64_t C);
duet_status duet_avae_mp_silu(duet_tensor *dst, const duet_tensor *x);
duet_status duet_avae_downsample(duet_audio_vae_session *s, const duet_avae_level *lv,
                                 int64_t L, int64_t C);
duet_status duet_avae_upsample(duet_audio_vae_session *s, const duet_avae_level *lv, int64_t L,
                               int64_t C);
/* mid.block_1, mid.attn_1, mid.block_2, clamp. */
duet_status duet_avae_mid(duet_audio_vae_session *s, int64_t L);

#define DUET_AVAE_TRY(expr)                                                                    \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

#endif
