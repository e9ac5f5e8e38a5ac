/* duet — the audio encoder: reference audio (mono PCM at the mel's rate, 16 kHz) -> log-mel
 * (audio/mel.h, on the host) -> audio VAE encoder (audio/audio_vae.h) -> latents [20, L] at
 * 31.25 Hz, the clean audio tokens the DiT keeps fixed for lip-sync to given audio.
 *
 * Upstream: MMAudio's FeaturesUtils / AutoEncoderModule.encode as Ovi vendors them (its
 * mel_converter, then the VAE encoder's Gaussian); duet takes the posterior mean, as
 * AudioVAE.encode in tools/duet_tiny/audio.py does, so a reference encodes deterministically.
 * Resample reference audio to the mel's rate first (audio/resample.h); audio longer than the
 * session's length is the caller's to cut. */
#ifndef DUET_AUDIO_ENCODER_H
#define DUET_AUDIO_ENCODER_H

#include <stdint.h>

#include "audio/audio_config.h"
#include "audio/audio_vae.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct duet_audio_encoder duet_audio_encoder;
typedef struct duet_audio_encoder_session duet_audio_encoder_session;

/* Builds the mel tables from cfg->mel and loads the VAE encoder (cfg->vae; see
 * duet_audio_vae_encoder_load for p, the checks and the return codes). cfg is checked with
 * duet_audio_config_check first (DUET_ERR_INVALID_ARG). *out NULL on failure. Keeps `be`. */
duet_status duet_audio_encoder_load(const duet_audio_config *cfg, const duet_safetensors *st,
                                    duet_backend *be, const duet_audio_vae_load_params *p,
                                    duet_audio_encoder **out);
/* Accepts NULL; clears *e. Sessions must be freed first. */
void duet_audio_encoder_free(duet_audio_encoder **e);

/* Plans the encoding of n_samples samples: the host mel buffer, the device mel and the VAE
 * session. Returns DUET_OK, DUET_ERR_INVALID_ARG (too short for one mel frame or a latent;
 * logged), DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM. */
duet_status duet_audio_encoder_session_new(const duet_audio_encoder *e, int64_t n_samples,
                                           duet_audio_encoder_session **out);
/* Accepts NULL; clears *s. */
void duet_audio_encoder_session_free(duet_audio_encoder_session **s);
/* Mel frames and latents of the session's length. */
int64_t duet_audio_encoder_session_mel_frames(const duet_audio_encoder_session *s);
int64_t duet_audio_encoder_session_latents(const duet_audio_encoder_session *s);

/* pcm[0..n_samples) (host, n_samples = the session's) -> latent [embed_dim, L] f32 on the
 * encoder's backend (the DiT's layout). The mel is computed on the host and uploaded; the VAE
 * ops are recorded, results ready when the backend syncs. Returns DUET_OK,
 * DUET_ERR_INVALID_ARG (lengths, shapes; logged), or the first failing step's status. */
duet_status duet_audio_encode(duet_audio_encoder_session *s, const float *pcm,
                              int64_t n_samples, duet_tensor *latent);

#endif
