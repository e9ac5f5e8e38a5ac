/* duet — sizes of the audio side of a model: the log-mel settings, the audio VAE (MMAudio's 1-D
 * magnitude-preserving VAE) and the vocoder (BigVGAN v1), read from the "mel", "audio_vae" and
 * "vocoder" objects of a model's config.json (duet-tiny's export writes them with these field
 * names: tools/duet_tiny/config.py MEL, _AUDIO_VAE, _VOCODER). Used by audio/audio_vae.h,
 * audio/vocoder.h and encoders/audio_encoder.h to build and check the modules.
 *
 * Upstream: MMAudio's autoencoder/vae.py (VAE_16k: data_dim 80, embed_dim 20, hidden_dim 384,
 * ch_mult (1, 2, 4), num_res_blocks 2, attn_layers [3], down_layers [0], kernel 3,
 * clip_act 256), NVIDIA BigVGAN's config fields (upsample_rates, upsample_kernel_sizes,
 * upsample_initial_channel, resblock, resblock_kernel_sizes, resblock_dilation_sizes,
 * activation, snake_logscale) and MMAudio's mel_converter.py. */
#ifndef DUET_AUDIO_CONFIG_H
#define DUET_AUDIO_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/mel.h"
#include "core/status.h"

#define DUET_AUDIO_VAE_MAX_LEVELS 8
#define DUET_AUDIO_VAE_MAX_RES_BLOCKS 8
#define DUET_VOCODER_MAX_UPS 8
#define DUET_VOCODER_MAX_KERNELS 4
#define DUET_VOCODER_MAX_DILATIONS 4

typedef struct {
    int64_t data_dim;     /* mel bins in and out (80) */
    int64_t embed_dim;    /* latent channels (20) */
    int64_t hidden_dim;   /* width of level 0 (MMAudio 16k 384, duet-tiny 32) */
    int n_levels;         /* len(ch_mult) */
    int64_t ch_mult[DUET_AUDIO_VAE_MAX_LEVELS]; /* level i has hidden_dim ch_mult[i] channels */
    int64_t n_res_blocks; /* num_res_blocks per encoder level (the decoder has one more) */
    uint32_t attn_levels; /* bit i: attn_layers holds i (attention after each block of level i) */
    uint32_t down_levels; /* bit i: down_layers holds i (x2 down after encoder level i; the
                             decoder upsamples after its level i + 1) */
    int64_t kernel_size;  /* odd (3) */
    float clip_act;       /* activations clamped to [-clip_act, clip_act] (256) */
} duet_audio_vae_config;

typedef struct {
    int64_t num_mels;                                  /* 80 */
    int n_ups;                                         /* len(upsample_rates) */
    int64_t upsample_rates[DUET_VOCODER_MAX_UPS];      /* product = hop (256) */
    int64_t upsample_kernel_sizes[DUET_VOCODER_MAX_UPS];
    int64_t upsample_initial_channel;                  /* halved by every upsampler */
    int n_kernels;                                     /* len(resblock_kernel_sizes) */
    int64_t resblock_kernel_sizes[DUET_VOCODER_MAX_KERNELS];              /* [3, 7, 11] */
    int n_dilations;                                   /* per kernel, the same for all */
    int64_t resblock_dilations[DUET_VOCODER_MAX_KERNELS][DUET_VOCODER_MAX_DILATIONS];
    bool snake_logscale;                               /* alpha, beta stored as logs */
    bool antialias;    /* BigVGAN's Activation1d around every SnakeBeta: kaiser-sinc x2
                          upsample, activation, x2 downsample (filters from the checkpoint;
                          see audio/vocoder.h). The released BigVGAN / MMAudio form; duet-tiny
                          trains without. */
} duet_vocoder_config;

typedef struct {
    duet_mel_params mel;
    duet_audio_vae_config vae;
    duet_vocoder_config vocoder;
} duet_audio_config;

/* MMAudio's 16 kHz VAE (what Ovi uses). */
duet_audio_vae_config duet_audio_vae_default_config(void);
/* BigVGAN v1 at MMAudio's 16 kHz sizes: rates [4, 4, 2, 2, 2, 2], kernels [8, 8, 4, 4, 4, 4],
 * 1536 channels, AMP blocks [3, 7, 11] x [1, 3, 5], SnakeBeta log scale, anti-aliased
 * activations on (as the released checkpoint was trained). */
duet_vocoder_config duet_vocoder_default_config(void);

/* Range checks of one part (logged; DUET_ERR_INVALID_ARG or DUET_OK). hop: the mel hop the
 * upsample rates must multiply to, or 0 to skip that check. */
duet_status duet_audio_vae_config_check(const duet_audio_vae_config *c);
duet_status duet_vocoder_config_check(const duet_vocoder_config *c, int hop);

/* Checks a configuration's ranges and consistency (mel bins equal across the three, rates
 * whose product is the mel hop, odd kernels, (kernel - rate) even for the upsamplers, channels
 * divisible by 2^n_ups). Logs the first problem and returns DUET_ERR_INVALID_ARG, else DUET_OK. */
duet_status duet_audio_config_check(const duet_audio_config *c);

/* Reads the "mel", "audio_vae" and "vocoder" objects of a config.json in memory (other
 * top-level keys are ignored); `name` stands for the file in messages (may be NULL). Every
 * size field is required; "audio_vae.weights" must be "mp_baked" if present (duet-tiny's
 * export; a converter for MMAudio's checkpoint bakes the MP weights too), "vocoder.resblock"
 * "1", "vocoder.activation" "snakebeta", "vocoder.snake_logscale" defaults to true and
 * "vocoder.antialias" to false (duet-tiny's form; a converted BigVGAN / MMAudio checkpoint
 * says true, and its filter tensors are refused as unused when it does not).
 * Returns DUET_OK, DUET_ERR_FORMAT (bad JSON, a field missing, mistyped or out of range;
 * logged as "name: vocoder.upsample_rates: ..."), DUET_ERR_UNSUPPORTED (a valid upstream
 * setting duet does not implement) or DUET_ERR_INVALID_ARG. *out is written only on success.
 * Thread-safe. */
duet_status duet_audio_config_parse(const char *text, size_t len, const char *name,
                                    duet_audio_config *out);

#endif
