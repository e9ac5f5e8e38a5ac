/* duet render — reference images and audio (docs/job-script.md, "image" and "audio"), the
 * clean conditioning of DESIGN.md §1: decoded and fitted to the job before the model loads (so
 * a bad file is reported at once, every one of them), then encoded per shot into the latents
 * the DiT keeps fixed. Mirrors tools/duet_tiny/sample.py generate (cond 'image' and 'audio'):
 *   image  PNG -> RGB8 -> centre crop + bilinear scale to the frame size (video/image_resize.h)
 *          -> video VAE encoder -> latent frame 0 [w, h, 1, z]
 *   audio  WAV (channels averaged) -> 16 kHz (audio/resample.h) -> padded with zeros or cut
 *          to the shot's audio tokens x 512 samples (sample.py pads to its clip the same way)
 *          -> mel + audio VAE encoder -> latents [C, L], the whole track given. */
#include <stdio.h>
#include <string.h>

#include "audio/resample.h"
#include "audio/wav_io.h"
#include "cli/render.h"
#include "core/alloc.h"
#include "core/log.h"
#include "video/image_resize.h"
#include "video/png_io.h"

static bool load_image(const duet_render_args *a, const duet_job *job, int i, uint8_t **out) {
    const char *path = job->shots[i].image_path;
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    if (duet_png_read(path, NULL, &rgb, &w, &h) != DUET_OK) {
        fprintf(stderr, "duet render: shot %d: cannot use image %s\n", i, path);
        return false;
    }
    if (w == job->width && h == job->height) {
        *out = rgb;
        return true;
    }
    uint8_t *fit = duet_malloc((size_t)job->width * (size_t)job->height * 3);
    bool ok = fit && duet_image_resize_crop(rgb, w, h, fit, job->width, job->height) == DUET_OK;
    duet_free(rgb);
    if (!ok) {
        duet_free(fit);
        fprintf(stderr, "duet render: shot %d: cannot scale image %s\n", i, path);
        return false;
    }
    if (!a->quiet && job->size_from_shot == i)
        fprintf(stderr, "duet render: frame size %dx%d from shot %d's image %s (%dx%d: its aspect "
                        "ratio at the model's frame area)\n", job->width, job->height, i, path,
                w, h);
    else if (!a->quiet)
        fprintf(stderr, "duet render: shot %d: image %s is %dx%d: centre-cropped to the frame's "
                        "aspect and scaled to %dx%d\n", i, path, w, h, job->width, job->height);
    *out = fit;
    return true;
}

static bool load_audio(const duet_render_args *a, const duet_job *job, int i, float **out,
                       int64_t *n_out) {
    const char *path = job->shots[i].audio_path;
    float *pcm = NULL;
    int64_t n = 0;
    duet_wav_info info;
    if (duet_wav_read(path, NULL, &pcm, &n, &info) != DUET_OK) {
        fprintf(stderr, "duet render: shot %d: cannot use audio %s\n", i, path);
        return false;
    }
    if (n == 0) {
        fprintf(stderr, "duet render: shot %d: audio %s has no samples\n", i, path);
        duet_free(pcm);
        return false;
    }
    if (info.sample_rate_hz != DUET_RENDER_RATE_HZ) {
        float *r = NULL;
        int64_t nr = 0;
        duet_status st = duet_resample_alloc(pcm, n, info.sample_rate_hz, DUET_RENDER_RATE_HZ,
                                             NULL, &r, &nr);
        duet_free(pcm);
        if (st != DUET_OK) {
            fprintf(stderr, "duet render: shot %d: cannot resample audio %s\n", i, path);
            return false;
        }
        pcm = r;
        n = nr;
    }
    const duet_job_shot *s = &job->shots[i];
    int64_t want = (int64_t)s->n_frames * DUET_RENDER_RATE_HZ / job->fps;
    if (!a->quiet && (n < want - DUET_RENDER_RATE_HZ / job->fps || n > want + DUET_RENDER_RATE_HZ / job->fps))
        fprintf(stderr, "duet render: shot %d: audio %s lasts %.3f s, the shot %.3f s: %s\n", i,
                path, (double)n / DUET_RENDER_RATE_HZ, (double)want / DUET_RENDER_RATE_HZ,
                n < want ? "the rest is silent" : "cut at the shot's end");
    *out = pcm;
    *n_out = n;
    return true;
}

bool duet_render_refs_load(const duet_render_args *a, const duet_job *job,
                           duet_render_refs *refs) {
    bool ok = true;
    for (int i = 0; i < job->n_shots; i++) {
        if (job->shots[i].image_path) ok &= load_image(a, job, i, &refs[i].image);
        if (job->shots[i].audio_path) ok &= load_audio(a, job, i, &refs[i].audio, &refs[i].n_audio);
    }
    return ok;
}

void duet_render_refs_free(duet_render_refs *refs, int n_shots) {
    for (int i = 0; refs && i < n_shots; i++) {
        duet_free(refs[i].image);
        duet_free(refs[i].audio);
        refs[i] = (duet_render_refs){0};
    }
}

duet_status duet_render_encode_frame(const duet_render_model *m, const duet_job *job,
                                     const uint8_t *rgb, duet_arena *ar, duet_tensor **out) {
    duet_video_encoder_info info = duet_video_encoder_get_info(m->venc);
    if (info.z_dim != m->cfg.video.in_dim) {
        fprintf(stderr, "duet render: the video VAE encodes %lld latent channels, the DiT takes "
                        "%lld\n", (long long)info.z_dim, (long long)m->cfg.video.in_dim);
        return DUET_ERR_FORMAT;
    }
    duet_tensor *t = duet_tensor_new4(ar, m->be, DUET_F32, job->width / info.spatial_factor,
                                      job->height / info.spatial_factor, 1, info.z_dim);
    duet_video_encoder_session *s = NULL;
    duet_status st = t ? duet_video_encoder_session_new(m->venc, job->height, job->width, &s)
                       : DUET_ERR_OUT_OF_MEMORY;
    if (st == DUET_OK) st = duet_video_encoder_encode(s, rgb, t);
    if (st == DUET_OK) st = duet_backend_sync(m->be);
    duet_video_encoder_session_free(&s);
    *out = t;
    return st;
}

duet_status duet_render_encode_audio(const duet_render_model *m, const float *lead,
                                     int64_t n_lead, const float *pcm, int64_t n_pcm,
                                     int64_t n_tokens, duet_arena *ar, duet_tensor **out) {
    const int64_t n = n_tokens * DUET_RENDER_TOKEN_SAMPLES;
    float *buf = duet_calloc((size_t)n, sizeof *buf);
    if (!buf) return DUET_ERR_OUT_OF_MEMORY;
    if (n_lead > n) n_lead = n;
    if (n_lead > 0) memcpy(buf, lead, sizeof *buf * (size_t)n_lead);
    if (n_pcm > n - n_lead) n_pcm = n - n_lead;
    if (n_pcm > 0) memcpy(buf + n_lead, pcm, sizeof *buf * (size_t)n_pcm);
    duet_audio_encoder_session *s = NULL;
    duet_status st = duet_audio_encoder_session_new(m->aenc, n, &s);
    if (st == DUET_OK && duet_audio_encoder_session_latents(s) != n_tokens) {
        fprintf(stderr, "duet render: the audio encoder makes %lld latents of %lld samples, the "
                        "DiT expects %lld\n", (long long)duet_audio_encoder_session_latents(s),
                (long long)n, (long long)n_tokens);
        st = DUET_ERR_FORMAT;
    }
    duet_tensor *t = NULL;
    if (st == DUET_OK) {
        t = duet_tensor_new4(ar, m->be, DUET_F32, m->acfg.vae.embed_dim, n_tokens, 1, 1);
        st = t ? duet_audio_encode(s, buf, n, t) : DUET_ERR_OUT_OF_MEMORY;
    }
    if (st == DUET_OK) st = duet_backend_sync(m->be);
    duet_audio_encoder_session_free(&s);
    duet_free(buf);
    *out = t;
    return st;
}
