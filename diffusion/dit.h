/* duet — the joint audio-video diffusion transformer of Ovi's family: a video tower and an audio
 * tower (each a Wan2.2 DiT) whose blocks run in pairs and attend to each other's stream. One
 * evaluation maps noisy latents, per-token timesteps and text to flow-matching velocities; the
 * sampler (diffusion/) calls it twice per step (conditional, and unconditional with a skipped
 * block) and mixes the results.
 *
 * Upstream: character-ai/Ovi ovi/modules/fusion.py (FusionModel.forward and
 * single_fusion_block_forward) over two ovi/modules/model.py WanModel towers
 * (prepare_transformer_block_kwargs, post_transformer_block_out); the project's PyTorch
 * statement is tools/duet_tiny/dit.py and the golden test tools/golden/ovi_dit.py. Per tower:
 *
 *   x    = patch embedding (video: Conv3d k = stride = (1, 2, 2), as a matmul over patches;
 *          audio: Conv1d k7 p3 + SiLU, then SwiGLU of bias-free Conv1d k7 p3 w1, w3, w2)
 *   e    = time_embedding(sinusoid(t)) per token (Linear, SiLU, Linear); e0 = time_projection(e)
 *          (SiLU, Linear -> 6 dim). Tokens given clean have t = 0.
 *   ctx  = text_embedding(context zero-padded to text_len rows) (Linear, GELU-tanh, Linear)
 *   for each layer i != skip_layer, both towers (fusion.py order):
 *          audio self-attn; video self-attn; audio cross-attn (text + video) + FFN;
 *          video cross-attn (text + the audio stream as it was after its self-attn) + FFN
 *   out  = head: Linear(LN(x) (1 + (m1 + e)) + (m0 + e)) with m = head.modulation; video
 *          unpatchified to [C, F, H, W]
 * RoPE: video 3-D (core/rope.h duet_rope_table_3d, theta 10000); audio 1-D at positions
 * n * temporal_rope_scaling_factor over the temporal pairs only (duet_rope_table_1d).
 *
 * Model vs run state: a duet_dit (weights, immutable, one per backend) serves many
 * duet_dit_sessions; a session holds every activation and RoPE table for one set of sizes,
 * planned when it is created, so an evaluation allocates nothing. Batch 1. Everything is
 * computed in f32; matrix and kernel weights stay in the file's dtype (f32, f16, bf16) unless
 * the load parameters ask for another. */
#ifndef DUET_DIT_H
#define DUET_DIT_H

#include <stdint.h>

#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"
#include "diffusion/dit_config.h"

typedef struct duet_dit duet_dit;
typedef struct duet_dit_session duet_dit_session;

typedef struct {
    /* DUET_DTYPE_COUNT (default): every matrix and kernel as the file stores it (a block's
     * Linear weights all take the dtype of its self_attn.q.weight); DUET_F32, DUET_F16 or
     * DUET_BF16: converted to that. Biases, norms and modulation tables are always f32. */
    duet_dtype weight_dtype;
} duet_dit_load_params;

duet_dit_load_params duet_dit_default_load_params(void);

/* Loads both towers' weights from `st` under the prefixes "video_model." and "audio_model."
 * with Ovi's checkpoint names, and checks them strictly against `cfg`: a missing tensor
 * (DUET_ERR_NOT_FOUND), a wrong shape, or a tensor under either prefix that the model does
 * not use (DUET_ERR_FORMAT) is refused and logged with the tensor's name. Tensors under other
 * prefixes (text_encoder., video_vae., ... in a bundle) are not looked at. Weights are
 * uploaded to `be` once. p may be NULL (defaults). Returns DUET_OK, those errors,
 * DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY or a backend error; *out is NULL on failure.
 * The model keeps `be` (which must outlive it) but not `st` or `cfg`. Not thread-safe
 * against other users of `be`. */
duet_status duet_dit_load(const duet_dit_config *cfg, const duet_safetensors *st,
                          duet_backend *be, const duet_dit_load_params *p, duet_dit **out);
/* Releases the weights. Accepts NULL; clears *m. Sessions must be freed first. */
void duet_dit_free(duet_dit **m);
const duet_dit_config *duet_dit_get_config(const duet_dit *m);
duet_backend *duet_dit_get_backend(const duet_dit *m);

/* Sizes of one run: the video latent [C = video.in_dim, F, H, W] (H and W multiples of the
 * patch size) and the audio latent [L, audio.in_dim]. */
typedef struct {
    int64_t video_frames; /* F */
    int64_t video_h;      /* H */
    int64_t video_w;      /* W */
    int64_t audio_len;    /* L */
} duet_dit_shape;

/* Plans a run: allocates every activation on the model's backend and uploads the RoPE
 * tables. Returns DUET_OK, DUET_ERR_INVALID_ARG (sizes that do not fit the model; logged),
 * DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM or a backend error; *out NULL on failure. */
duet_status duet_dit_session_new(const duet_dit *m, const duet_dit_shape *shape,
                                 duet_dit_session **out);
/* Accepts NULL; clears *s. */
void duet_dit_session_free(duet_dit_session **s);

/* Token counts: video F (H / ph) (W / pw) in (f, h, w) order, of which the first
 * tokens_per_frame belong to latent frame 0; audio L. */
int64_t duet_dit_session_video_tokens(const duet_dit_session *s);
int64_t duet_dit_session_video_tokens_per_frame(const duet_dit_session *s);
int64_t duet_dit_session_audio_tokens(const duet_dit_session *s);

/* Per-token timesteps for the common cases: every token at t, except the tokens of the first
 * n_clean_frames latent frames, which are given clean (t = 0; Ovi's first_frame_is_clean is
 * n_clean_frames = 1). t_video holds duet_dit_session_video_tokens values, t_audio
 * duet_dit_session_audio_tokens. */
void duet_dit_fill_timesteps(const duet_dit_session *s, float t, int64_t n_clean_frames,
                             float *t_video, float *t_audio);

/* The inputs of one evaluation. Tensors live on the model's backend, f32, contiguous. */
typedef struct {
    const duet_tensor *video;         /* [W, H, F, video.in_dim]: PyTorch [C, F, H, W] */
    const duet_tensor *audio;         /* [audio.in_dim, L]: PyTorch [L, C] */
    const duet_tensor *context_video; /* [video.text_dim, n], 1 <= n <= video.text_len:
                                         PyTorch [n, text_dim], the text encoder's rows */
    const duet_tensor *context_audio; /* the same for the audio tower (may be the same) */
    const float *t_video;             /* host, one timestep per video token (0..1000) */
    const float *t_audio;             /* host, one per audio token */
    int skip_layer;                   /* -1: none; else this block is skipped in both towers
                                         (skip-layer guidance; Ovi skips slg_layer only when
                                         it is > 0, a choice left to the sampler) */
} duet_dit_inputs;

/* All NULL, skip_layer -1. */
duet_dit_inputs duet_dit_default_inputs(void);

/* One joint evaluation. out_video [W, H, F, video.out_dim] and out_audio [audio.out_dim, L]
 * (f32, contiguous, on the model's backend; PyTorch [C, F, H, W] and [L, C]) receive the
 * velocity predictions; they must not alias the inputs. Ops are recorded on the backend;
 * results are ready when it syncs (duet_tensor_download syncs). Each tower's timesteps may
 * hold at most 64 distinct values (the time MLP runs once per distinct value).
 * Returns DUET_OK, DUET_ERR_INVALID_ARG (shapes, skip_layer out of range; logged),
 * DUET_ERR_UNSUPPORTED (too many distinct timesteps) or the first failing op's status.
 * Not thread-safe for one session; sessions of one model on one backend run one at a time. */
duet_status duet_dit_eval(duet_dit_session *s, const duet_dit_inputs *in,
                          duet_tensor *out_video, duet_tensor *out_audio);

#endif
