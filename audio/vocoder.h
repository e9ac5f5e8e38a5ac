/* duet — the vocoder: log10 mel [T, 80] -> mono PCM [T hop] in [-1, 1] at 16 kHz, the last step
 * of the soundtrack (DiT audio latents -> audio/audio_vae.h decoder -> mel -> here -> mux/).
 *
 * Upstream: BigVGAN v1 (NVIDIA/BigVGAN bigvgan.py as vendored by MMAudio, ext/bigvgan), as
 * restated in tools/duet_tiny/audio.py (Vocoder) and tested against it:
 *   x = conv_pre(mel)                                  Conv1d k7 p3
 *   per upsampler i: x = ups[i](x)                     ConvTranspose1d k_i, stride u_i,
 *                                                      padding (k_i - u_i) / 2; channels / 2
 *                    x = mean over the AMP blocks j of resblocks[i n_k + j](x)
 *   AMPBlock1 (kernel k, dilations d_0..): for each d: x += c2(snake(c1(snake(x))))
 *                    with c1 Conv1d k dilation d padding (k d - d) / 2, c2 Conv1d k p (k-1)/2,
 *                    activations 2n and 2n + 1 of the block
 *   out = tanh(conv_post(snake(x)))                    Conv1d k7 p3 to one channel
 * SnakeBeta: x + sin^2(exp(alpha) x) / (exp(beta) + 1e-9) per channel (log scale; plain
 * alpha, beta when snake_logscale is false). tanh keeps the output inside [-1, 1].
 * With config "antialias": true (the released BigVGAN / MMAudio 16 kHz checkpoints, e.g. Ovi's
 * best_netG.pt) every SnakeBeta above, activation_post included, is BigVGAN's Activation1d
 * (alias_free_torch/act.py, ratio 2, 12 taps), per channel with one shared filter:
 *   UpSample1d (resample.py): repeat each edge sample 5 times outward (replicate pad),
 *     transposed conv stride 2 with upsample.filter, times 2, crop 15 in front -> 2 L samples;
 *   SnakeBeta;
 *   DownSample1d (resample.py, its LowPassFilter1d in filter.py): repeat the edge samples 5
 *     times in front and 6 behind, conv (cross-correlation) stride 2 with
 *     downsample.lowpass.filter -> L samples.
 * The filters (kaiser-windowed sinc, cutoff 0.25, half width 0.3, unit sum: filter.py
 * kaiser_sinc_filter1d) are read from the checkpoint, where BigVGAN keeps them as registered
 * buffers, not recomputed: a converter passes the keys through unchanged, and loading is strict
 * about them (with antialias on, a missing filter is DUET_ERR_NOT_FOUND and a misshapen one
 * DUET_ERR_FORMAT, named; with it off, filters in the file are refused as unused). They are
 * used as stored, so any 12-tap filter runs, symmetric or not. Built from core ops: the
 * depthwise convs are one-channel duet_conv1d / duet_conv_transpose1d with the channels as
 * batch, the replicate padding copies of stride-0 views; about 8 ops per activation.
 *
 * Layouts (innermost first): mel [T, num_mels] (PyTorch [num_mels, T]), pcm [T hop].
 * Checkpoint names under the prefix ("vocoder." by default), PyTorch shapes:
 *   conv_pre.{weight [C0, num_mels, 7], bias}   ups.I.0.{weight [C, C / 2, k], bias}
 *   resblocks.R.convs{1,2}.D.{weight [C, C, k], bias}   resblocks.R.activations.A.act.{alpha,
 *   beta} [C]   activation_post.act.{alpha, beta}   conv_post.{weight [1, C, 7], bias [1]}
 *   antialias only: resblocks.R.activations.A.upsample.filter [1, 1, 12],
 *   resblocks.R.activations.A.downsample.lowpass.filter [1, 1, 12], and the same two under
 *   activation_post. (any float dtype; used in f32)
 * (weight norm folded, as duet-tiny's export and BigVGAN's remove_weight_norm leave them). */
#ifndef DUET_VOCODER_H
#define DUET_VOCODER_H

#include <stdint.h>

#include "audio/audio_config.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct duet_vocoder duet_vocoder;
typedef struct duet_vocoder_session duet_vocoder_session;

typedef struct {
    const char *prefix;       /* checkpoint prefix; NULL = "vocoder." */
    duet_dtype weight_dtype;  /* DUET_DTYPE_COUNT (default): kernels as stored; or DUET_F32,
                                 DUET_F16, DUET_BF16. Biases, snake parameters and the
                                 antialias filters stay f32. */
} duet_vocoder_load_params;

duet_vocoder_load_params duet_vocoder_default_load_params(void);

/* Loads the weights under the prefix from `st` onto `be`, checked strictly against cfg: a
 * missing tensor (DUET_ERR_NOT_FOUND), a wrong shape or a tensor under the prefix the model
 * does not use (DUET_ERR_FORMAT) is refused and logged with its name. p may be NULL. Returns
 * those, DUET_ERR_INVALID_ARG (bad config; logged), DUET_ERR_OUT_OF_MEMORY /
 * DUET_ERR_DEVICE_OOM or a backend error; *out NULL on failure. Keeps `be` (which must outlive
 * it), not `st` or `cfg`. Not thread-safe against other users of `be`. */
duet_status duet_vocoder_load(const duet_vocoder_config *cfg, const duet_safetensors *st,
                              duet_backend *be, const duet_vocoder_load_params *p,
                              duet_vocoder **out);
/* Accepts NULL; clears *v. Sessions must be freed first. */
void duet_vocoder_free(duet_vocoder **v);

/* Samples produced for n_mel_frames frames (n_mel_frames x product of the rates); -1 when out
 * of range. */
int64_t duet_vocoder_n_samples(const duet_vocoder_config *cfg, int64_t n_mel_frames);

/* Plans a run of n_mel_frames frames (every activation allocated here). Returns DUET_OK,
 * DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM; *out NULL on failure. */
duet_status duet_vocoder_session_new(const duet_vocoder *v, int64_t n_mel_frames,
                                     duet_vocoder_session **out);
/* Accepts NULL; clears *s. */
void duet_vocoder_session_free(duet_vocoder_session **s);

/* mel [T, num_mels] f32 contiguous -> pcm [T hop] f32 contiguous (or any shape of that many
 * contiguous elements), both on the model's backend. Ops are recorded; results are ready when
 * the backend syncs. Returns DUET_OK, DUET_ERR_INVALID_ARG (shapes; logged) or the first
 * failing op's status. One thread at a time per session. */
duet_status duet_vocoder_eval(duet_vocoder_session *s, const duet_tensor *mel, duet_tensor *pcm);

#endif
