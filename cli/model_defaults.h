/* duet render — a model folder's own clip and sampler settings: config.json's "clip" and
 * "sampler" sections (written by tools/duet_tiny/export.py and tools/convert_ovi.py). They
 * give a job its defaults and limits (frame size, frame rate, shot length, steps, guidance)
 * and the sampler what the script cannot set (solver, schedule shift, skip-layer guidance,
 * the negative prompts used when a script gives none).
 *
 * "clip": fps, n_frames, size (required: the frame rate, the frame count and the square frame
 *   side the model was trained at); optional limits: size_multiple (16), min_size
 *   (size / 2 rounded down to the multiple), max_size (2 * size), max_seconds (n_frames / fps),
 *   target_area_px (none): the frame area the model was trained at; width x height must then
 *   be within 10 % of it (Ovi warns beyond that and snaps to it, ovi/ovi_fusion_engine.py).
 * "sampler": solver ("unipc" | "euler"), steps, shift, video_guidance_scale,
 *   audio_guidance_scale (required); slg_layer (-1: off), video_negative_prompt,
 *   audio_negative_prompt ("") optional. */
#ifndef DUET_MODEL_DEFAULTS_H
#define DUET_MODEL_DEFAULTS_H

#include "cli/job.h"
#include "core/status.h"
#include "diffusion/sampler.h"

typedef struct {
    int fps, n_frames, size;        /* as trained */
    int size_multiple, min_size, max_size;
    int64_t target_area;            /* 0: none */
    double max_seconds;
    duet_solver solver;
    int steps;
    double shift;
    float video_guidance, audio_guidance;
    int slg_layer;                  /* -1: off */
    char *video_negative, *audio_negative; /* never NULL after a successful load */
} duet_model_defaults;

/* Reads `config_path` (a model folder's config.json). Returns DUET_OK; DUET_ERR_IO (cannot
 * read); DUET_ERR_FORMAT (not JSON, a section or field missing or out of range: logged with
 * the file, section and field); DUET_ERR_OUT_OF_MEMORY. *out is zeroed on failure. */
duet_status duet_model_defaults_load(const char *config_path, duet_model_defaults *out);

void duet_model_defaults_free(duet_model_defaults *m);

/* The job defaults and limits for this model: frame size, fps (the only rate accepted),
 * steps, guidance and shot length come from m; the rest (seed, step and guidance caps, shot
 * count, prompt length) stay as in *d. */
void duet_model_defaults_apply(const duet_model_defaults *m, duet_job_defaults *d);

/* The folder a job's model names: a path as given, else $DUET_MODELS/<name> (default
 * models/<name>). Writes it to dir (n bytes); false if it does not fit. */
bool duet_model_dir(const char *model, bool is_path, char *dir, size_t n);

/* duet_job_tiny_defaults() whose model hook reads the named model's config.json and applies
 * its clip and sampler settings (a missing folder or a bad config is reported at the script's
 * "model" field). */
duet_job_defaults duet_render_job_defaults(void);

#endif
