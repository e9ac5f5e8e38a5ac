/* duet — the audio VAE: normalized log-mel [T, 80] <-> latents [20, T / 2] at 31.25 Hz. The
 * encoder turns reference audio's mel into clean latent tokens for the DiT (through
 * encoders/audio_encoder.h); the decoder turns the DiT's audio latents back into a log-mel for
 * the vocoder (audio/vocoder.h).
 *
 * Upstream: MMAudio's autoencoder/vae.py and vae_modules.py (Encoder1D, Decoder1D of EDM2
 * magnitude-preserving layers), restated in tools/duet_tiny/audio.py and tested against it
 * (tools/golden/audio.py). Per layer:
 *   mp_normalize(x) = x / (1e-4 + rms over channels)    mp_silu(x) = silu(x) / 0.596
 *   mp_sum(a, b, t) = ((1 - t) a + t b) / sqrt((1 - t)^2 + t^2), t = 0.3
 *   res block: x = mp_normalize(x); h = conv2(mp_silu(conv1(mp_silu(x))));
 *              out = mp_sum(nin_shortcut(x) or x, h)
 *   attention (1 head over all channels): qkv = conv1x1 (output channels interleave q, k, v),
 *              each mp_normalized over channels, softmax(q k^T / sqrt(C)) v, proj_out,
 *              out = mp_sum(x, .)
 *   downsample: conv1x1, average pool 2 (a trailing odd frame is dropped), conv1x1;
 *   upsample: nearest x2, conv k3; after every block (and the middle): clamp(+-clip_act)
 *   encoder: conv_in; per level: blocks (+ attention), clamp, downsample; middle: block,
 *            attention, block, clamp; conv_out(mp_silu(h)) * (1 + learnable_gain); the first
 *            embed_dim channels (the posterior mean) are the latent
 *   decoder: conv_in; middle; levels from the last: blocks (+ attention), clamp, upsample;
 *            conv_out(mp_silu(h)) * (1 + learnable_gain)
 * Convolutions have no bias; their weights are stored in MMAudio's "weight norm removed" form
 * (normalize(w) / sqrt(fan_in), what duet-tiny's export writes; a converter for MMAudio's
 * v1-16.pth must bake them) and used as they are. The encoder's input is normalized by the
 * per-bin statistics data_mean, data_std; the decoder's output is un-normalized with them.
 *
 * Layouts (innermost first): mel [T, data_dim] (PyTorch [data_dim, T]); latents in the DiT's
 * layout [embed_dim, L] (PyTorch [L, embed_dim], what the audio tower reads and writes).
 *
 * Checkpoint names under the prefix ("audio_vae." by default), PyTorch shapes:
 *   data_mean, data_std [1, data_dim, 1]
 *   {encoder,decoder}.conv_in.weight, .conv_out.weight, .learnable_gain []
 *   encoder.down.I.block.J.{conv1,conv2,nin_shortcut}.weight, encoder.down.I.attn.J.{qkv,
 *   proj_out}.weight, encoder.down.I.downsample.{conv1,conv2}.weight, decoder.up.I.block.J...,
 *   decoder.up.I.upsample.conv.weight, {encoder,decoder}.mid.{block_1,attn_1,block_2}...
 *
 * Why the normalization is built the long way: core/ops.h has RMSNorm (x / sqrt(ms + eps))
 * but neither a reciprocal nor a square root, and MMAudio adds its eps outside the root
 * (x / (eps + rms)), which differs by ~1e-4 relative at unit scale. The factor
 * 1 / (eps + rms) is computed exactly with ops (audio_vae.c, norm_factor). Likewise the clamp
 * is built from SiLU (exact to float32 outside 1e-4 of the bound). A CLAMP unary and a
 * reciprocal in core/ops.h would shorten both. */
#ifndef DUET_AUDIO_VAE_H
#define DUET_AUDIO_VAE_H

#include <stdint.h>

#include "audio/audio_config.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct duet_audio_vae_encoder duet_audio_vae_encoder;
typedef struct duet_audio_vae_decoder duet_audio_vae_decoder;
typedef struct duet_audio_vae_session duet_audio_vae_session;

typedef struct {
    const char *prefix;       /* checkpoint prefix; NULL = "audio_vae." */
    duet_dtype weight_dtype;  /* DUET_DTYPE_COUNT (default): kernels as the file stores them;
                                 DUET_F32, DUET_F16 or DUET_BF16: converted. Statistics and the
                                 gain are always f32. */
} duet_audio_vae_load_params;

duet_audio_vae_load_params duet_audio_vae_default_load_params(void);

/* Load one half's weights (prefix + "encoder." or "decoder.", plus data_mean and data_std)
 * from `st` onto `be` and check them strictly against cfg: a missing tensor
 * (DUET_ERR_NOT_FOUND), a wrong shape, or a tensor under prefix + "encoder." (resp.
 * "decoder.") that the model does not use (DUET_ERR_FORMAT) is refused and logged with its
 * name. p may be NULL (defaults). Returns those, DUET_ERR_INVALID_ARG (a bad config, logged),
 * DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM or a backend error; *out is NULL on failure.
 * The model keeps `be` (which must outlive it), not `st` or `cfg`. Not thread-safe against
 * other users of `be`. */
duet_status duet_audio_vae_encoder_load(const duet_audio_vae_config *cfg,
                                        const duet_safetensors *st, duet_backend *be,
                                        const duet_audio_vae_load_params *p,
                                        duet_audio_vae_encoder **out);
duet_status duet_audio_vae_decoder_load(const duet_audio_vae_config *cfg,
                                        const duet_safetensors *st, duet_backend *be,
                                        const duet_audio_vae_load_params *p,
                                        duet_audio_vae_decoder **out);
/* Accept NULL; clear the pointer. Sessions must be freed first. */
void duet_audio_vae_encoder_free(duet_audio_vae_encoder **e);
void duet_audio_vae_decoder_free(duet_audio_vae_decoder **d);

/* Latents for n_mel_frames mel frames (halved, rounded down, at each downsample), and mel
 * frames for n_latents latents (doubled at each upsample); -1 for sizes out of range. */
int64_t duet_audio_vae_latent_len(const duet_audio_vae_config *cfg, int64_t n_mel_frames);
int64_t duet_audio_vae_mel_len(const duet_audio_vae_config *cfg, int64_t n_latents);

/* Plan one run size: every activation is allocated here on the model's backend, so encode /
 * decode allocate nothing. Returns DUET_OK, DUET_ERR_INVALID_ARG (a size that leaves no frame
 * at some level; logged), DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM. *out NULL on failure.
 * A session is used by one thread at a time; sessions of one model share its backend. */
duet_status duet_audio_vae_encoder_session_new(const duet_audio_vae_encoder *e,
                                               int64_t n_mel_frames,
                                               duet_audio_vae_session **out);
duet_status duet_audio_vae_decoder_session_new(const duet_audio_vae_decoder *d,
                                               int64_t n_latents, duet_audio_vae_session **out);
/* Accepts NULL; clears *s. */
void duet_audio_vae_session_free(duet_audio_vae_session **s);

/* mel [T, data_dim] f32 (a log10 mel as audio/mel.h computes it; T = the session's
 * n_mel_frames) -> latent [embed_dim, L] f32 contiguous (the posterior mean). Both on the
 * model's backend; ops are recorded, results ready when the backend syncs
 * (duet_tensor_download syncs). Returns DUET_OK, DUET_ERR_INVALID_ARG (wrong session kind or
 * shapes; logged) or the first failing op's status. */
duet_status duet_audio_vae_encode(duet_audio_vae_session *s, const duet_tensor *mel,
                                  duet_tensor *latent);
/* latent [embed_dim, L] f32 (L = the session's n_latents) -> mel [T, data_dim] f32
 * contiguous, un-normalized log10 mel for the vocoder. As encode otherwise. */
duet_status duet_audio_vae_decode(duet_audio_vae_session *s, const duet_tensor *latent,
                                  duet_tensor *mel);

#endif
