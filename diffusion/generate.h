/* duet — the generation loop of one shot: seeded noise, then for every step of the schedule a
 * guided joint DiT evaluation and one sampler step per modality, with tokens given clean kept
 * fixed. The video and audio latents it leaves go to the VAE decoders.
 *
 * Upstream: character-ai/Ovi ovi/ovi_fusion_engine.py OviFusionEngine.generate (the sampling
 * loop), as restated and generalised by tools/duet_tiny/sample.py generate:
 *   noise    video [C, F, H, W] and audio [L, C] from duet's seeded generator (noise.h; Ovi
 *            draws them with torch.randn, which no C program reproduces)
 *   step i   given latents written over the sample; per-token timesteps: the sampler's
 *            timestep i, 0 for tokens given clean;
 *            v+ = DiT(x, t, positive text) (the positive embedding serves both towers);
 *            unless both guidance scales are 1: v- = DiT(x, t, video negative / audio
 *            negative text, block slg_layer skipped when slg_layer > 0, as Ovi);
 *            v = v- + s (v+ - v-) with s_video, s_audio; one sampler step per modality
 *   end      given latents written over the result once more.
 * Clean tokens (t = 0, overwritten every step): the first n latent frames of the video (n = 1:
 * Ovi's image-to-video, and duet render's `continue`, which gives the previous shot's last
 * frame as frame 0; n > 1: several leading frames, sample.py's --lead-video) and the
 * first n audio tokens (n = L: sample.py's lip-sync to given audio; duet-tiny was trained with
 * the whole audio given, never a part).
 * Nothing is allocated per step: a call plans its samplers, guidance buffers and host arrays
 * once, then runs. */
#ifndef DUET_GENERATE_H
#define DUET_GENERATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "diffusion/dit.h"
#include "diffusion/sampler.h"

/* Called after each completed step (step = 1..n_steps) once the backend has finished it;
 * return false to stop (duet_generate then returns DUET_ERR_CANCELLED). */
typedef bool (*duet_generate_progress_fn)(int step, int n_steps, void *user_data);

typedef struct {
    duet_solver solver;     /* DUET_SOLVER_UNIPC */
    int n_steps;            /* 30 (duet-tiny; Ovi 50) */
    double shift;           /* 2.0 (duet-tiny; Ovi 5.0) */
    float video_guidance;   /* 4.0 (Ovi's s_video) */
    float audio_guidance;   /* 3.0 (Ovi's s_audio) */
    int slg_layer;          /* -1: off (duet-tiny). A block index > 0 skips that block in the
                               unconditional pass (Ovi 11); 0 is off too, as in Ovi */
    uint64_t seed;          /* 0 */
    duet_generate_progress_fn progress; /* optional */
    void *progress_user_data;
} duet_generate_params;

/* duet-tiny's sampler settings (above). */
duet_generate_params duet_generate_default_params(void);

/* Conditioning. Tensors f32 on the model's backend. Text rows as duet_dit_inputs takes them:
 * [text_dim, n] with 1 <= n <= text_len. */
typedef struct {
    const duet_tensor *context;           /* the prompt (both towers). Required */
    const duet_tensor *context_video_neg; /* video negative prompt; required unless both
                                             guidance scales are 1 */
    const duet_tensor *context_audio_neg; /* audio negative prompt; same */
    const duet_tensor *video_given;       /* [W, H, n, C] the first n latent frames, given
                                             clean (any strides), or NULL */
    const duet_tensor *audio_given;       /* [C, n] the first n audio latent tokens, given
                                             clean (any strides), or NULL */
} duet_generate_inputs;

/* Runs one shot on session `s` of model `m` (the session must have been made from `m`).
 * video [W, H, F, C] and audio [C, L] (PyTorch [C, F, H, W] and [L, C]; contiguous f32 on the
 * model's backend, sizes of the session; the model's in_dim must equal its out_dim) receive
 * the noise, then hold the sample as it is denoised, and the final latents on return (ready:
 * the backend has been synced). p may be NULL (defaults).
 * Returns DUET_OK; DUET_ERR_INVALID_ARG (parameters, shapes; logged before any work);
 * DUET_ERR_CANCELLED (the progress callback returned false; video and audio hold the sample
 * of the last completed step, given latents not rewritten); DUET_ERR_OUT_OF_MEMORY (a host
 * or device allocation failed; logged); or the status of a failing DiT evaluation or op.
 * Not thread-safe for one session or backend. */
duet_status duet_generate(const duet_dit *m, duet_dit_session *s, const duet_generate_params *p,
                          const duet_generate_inputs *in, duet_tensor *video, duet_tensor *audio);

#endif
