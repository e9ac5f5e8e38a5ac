/* duet render — what the files of the render command share (cli/, not a library API):
 *   cmd_render.c    arguments, progress lines, the summary, the outputs (MP4, --wav)
 *   render_model.c  finding and loading the model a job names (one load per job)
 *   render_refs.c   reference images and audio: decoded and fitted to the job before the model
 *                   loads, encoded to clean latents per shot
 *   render_shot.c   one shot: text -> DiT sampling with its given latents -> frames and sound
 *   render_clip.c   the shots joined into one clip (mux/assemble.h) and streamed to the MP4
 * Geometry and rates are duet-tiny's (tools/duet_tiny/config.py) and Ovi's alike: 16 kHz audio,
 * 512 samples per audio latent token, 16 x 16 pixels per latent cell, 4 frames per latent frame
 * after the first. Frame size, frame rate, steps and the sampler come from the model's
 * config.json (model_defaults.h). */
#ifndef DUET_RENDER_H
#define DUET_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "audio/audio_config.h"
#include "audio/audio_vae.h"
#include "audio/vocoder.h"
#include "cli/job.h"
#include "cli/model_defaults.h"
#include "core/arena.h"
#include "core/backend.h"
#include "core/safetensors.h"
#include "core/tensor.h"
#include "diffusion/dit.h"
#include "diffusion/dit_config.h"
#include "encoders/audio_encoder.h"
#include "encoders/text_encoder.h"
#include "encoders/tokenizer.h"
#include "encoders/video_encoder.h"
#include "video/vae.h"

#define DUET_RENDER_RATE_HZ 16000      /* mel, audio VAE, vocoder and the soundtrack */
#define DUET_RENDER_TOKEN_SAMPLES 512  /* audio samples per audio latent token */
#define DUET_RENDER_MAX_PROMPT_IDS 512 /* duet-tiny's text length (sample.py truncates too) */

typedef struct {
    const char *job, *output, *frames_dir, *wav;
    duet_backend_params backend;
    long long seed;  /* -1: the script's */
    int steps;       /* 0: the script's */
    int scale;       /* integer enlargement of the MP4's frames (1: none) */
    bool quiet, json;
} duet_render_args;

/* The loaded model (duet_model-like; loaded once per job). The two encoders are loaded only
 * when a shot needs them (venc: an image or a continuation; aenc: reference audio). */
typedef struct {
    char dir[4096];
    duet_model_defaults defaults; /* config.json "clip" and "sampler" */
    duet_dit_config cfg;
    duet_safetensors *st;
    duet_tokenizer *tok;
    duet_dit *dit;
    duet_text_encoder_config tcfg;
    duet_text_encoder *text;
    duet_text_encoder_session *text_s;
    duet_backend *be;
    duet_vae *vae;
    duet_video_encoder *venc;
    duet_audio_config acfg;
    duet_audio_vae_decoder *adec;
    duet_audio_encoder *aenc;
    duet_vocoder *voc;
} duet_render_model;

/* Per-shot stages timed for the summary, in pipeline order. */
typedef enum {
    DUET_RENDER_ST_TOKENIZE,
    DUET_RENDER_ST_TEXT,
    DUET_RENDER_ST_REFERENCE,
    DUET_RENDER_ST_SAMPLE,
    DUET_RENDER_ST_VIDEO_VAE,
    DUET_RENDER_ST_AUDIO_VAE,
    DUET_RENDER_ST_VOCODER,
    DUET_RENDER_ST_COUNT,
} duet_render_stage;

/* Stage names as progress lines and the summary print them. */
extern const char *const duet_render_stage_names[DUET_RENDER_ST_COUNT];

/* Per-shot record for the summary: seed, steps, seconds per stage (-1: not run). */
typedef struct {
    uint64_t seed;
    int steps;
    double t[DUET_RENDER_ST_COUNT];
} duet_render_record;

/* A shot's references, decoded and fitted before the model loads. */
typedef struct {
    uint8_t *image;    /* job width x height RGB8 (centre-cropped and scaled), or NULL */
    float *audio;      /* mono at DUET_RENDER_RATE_HZ, or NULL */
    int64_t n_audio;
} duet_render_refs;

/* What a shot leaves for the clip. */
typedef struct {
    uint8_t *rgb;      /* the shot's n_frames frames, job width x height RGB8 */
    int64_t n_frames;
    float *pcm;        /* its sound from its first frame's time, at DUET_RENDER_RATE_HZ; may
                          run on past its last frame (the assembler uses that at cuts) */
    int64_t n_samples;
} duet_render_shot_out;

/* cmd_render.c. A progress line for a stage of shot `shot` (< 0: of the whole job); state is
 * "start", "done" or "failed". JSON lines on stdout with --progress=json, else a line on a
 * terminal's stderr unless --quiet. */
void duet_render_progress(const duet_render_args *a, int shot, const char *stage,
                          const char *state);
double duet_render_now_s(void);

/* render_model.c. Looks the job's model up ($DUET_MODELS/<name>, else models/<name>; a path as
 * given) and loads everything the job needs on `be`. Messages name the missing file or part;
 * returns the failing part's status (DUET_ERR_NOT_FOUND for a missing folder or file).
 * duet_render_model_free accepts a partly loaded model. */
duet_status duet_render_model_load(const duet_render_args *a, const duet_job *job, duet_backend *be,
                            duet_render_model *m);
void duet_render_model_free(duet_render_model *m);

/* render_refs.c. Decodes every shot's image and audio into refs[n_shots] (zeroed by the
 * caller), fitted to the job: images centre-cropped and scaled to width x height, audio
 * resampled to 16 kHz. Reports every bad file (not only the first); false if any. */
bool duet_render_refs_load(const duet_render_args *a, const duet_job *job,
                           duet_render_refs *refs);
void duet_render_refs_free(duet_render_refs *refs, int n_shots);
/* One RGB8 frame of the job's size -> clean latent frame [w, h, 1, z] in `ar` (video VAE
 * encoder). The backend is synced. */
duet_status duet_render_encode_frame(const duet_render_model *m, const duet_job *job,
                                     const uint8_t *rgb, duet_arena *ar, duet_tensor **out);
/* lead[0..n_lead) then pcm[0..n_pcm), padded with zeros or cut to n_tokens tokens of audio,
 * -> clean audio latents [C, n_tokens] in `ar` (audio encoder). The backend is synced. */
duet_status duet_render_encode_audio(const duet_render_model *m, const float *lead,
                                     int64_t n_lead, const float *pcm, int64_t n_pcm,
                                     int64_t n_tokens, duet_arena *ar, duet_tensor **out);

/* render_shot.c. Renders shot i into outs[i] (outs[i - 1] is read for a continuation) and
 * times its stages into *rec. Progress lines as it goes; --frames PNGs are written here. */
duet_status duet_render_shot(const duet_render_args *a, const duet_render_model *m,
                             const duet_job *job, int i, const duet_render_refs *refs,
                             duet_render_shot_out *outs, duet_render_record *rec);

/* render_clip.c. Frames shot i shares with shot i - 1 (its crossfade in; 0 for a cut). */
int64_t duet_render_overlap_frames(const duet_job *job, int i);
/* The soundtrack of the whole clip (cuts smoothed, crossfades over their overlap) into *pcm
 * (duet_free it). */
duet_status duet_render_clip_audio(const duet_job *job, const duet_render_shot_out *outs,
                                   float **pcm, int64_t *n_samples);
/* The clip's frames (dissolves in overlaps) and the soundtrack to an MP4 at `path` (H.264 +
 * AAC, frames enlarged `scale` times); *n_frames gets the clip's frame count. */
duet_status duet_render_clip_write(const char *path, const duet_job *job, int scale,
                                   const duet_render_shot_out *outs, const float *pcm,
                                   int64_t n_samples, int64_t *n_frames);

#endif
