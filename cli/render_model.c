/* duet render — the model a job runs: looked up by name or path, then its parts loaded once
 * for the whole job from one model.safetensors (export.py's layout, tools/duet_tiny/export.py):
 * config.json (DiT, text encoder, mel / audio VAE / vocoder sizes), tokenizer.model, and the
 * tensors under video_model. / audio_model. (the joint DiT), text_encoder., video_vae. (the
 * decoder; the encoder half too when a shot has an image or continues), audio_vae. and
 * vocoder.. The encoders are loaded only when some shot needs them, so a text-only job never
 * pays for them (Ovi's Wan VAE encoder is large). */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli/render.h"
#include "core/alloc.h"
#include "core/json_util.h"
#include "core/log.h"

static duet_status file_exists(const char *dir, const char *name, char *path, size_t n) {
    snprintf(path, n, "%s/%s", dir, name);
    struct stat sb;
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "duet render: model file missing: %s\n", path);
        return DUET_ERR_NOT_FOUND;
    }
    return DUET_OK;
}

static duet_status resolve_model(const duet_job *job, duet_render_model *m) {
    struct stat sb;
    if (!duet_model_dir(job->model, job->model_is_path, m->dir, sizeof m->dir) ||
        stat(m->dir, &sb) || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr,
                "duet render: model '%s' not found (looked for the folder %s; set DUET_MODELS "
                "or export one with tools/duet_tiny/export.py)\n", job->model, m->dir);
        return DUET_ERR_NOT_FOUND;
    }
    return DUET_OK;
}

/* The "mel", "audio_vae" and "vocoder" parts of config.json. */
static duet_status load_audio_config(const char *path, duet_audio_config *out) {
    char *buf = NULL;
    size_t n = 0;
    duet_status st = duet_json_read_file(path, "model config", 1 << 20, &buf, &n);
    if (st == DUET_OK) st = duet_audio_config_parse(buf, n, path, out);
    duet_free(buf);
    return st;
}

/* The sampler's skip-layer block must exist in the DiT. */
static duet_status check_sampler(const char *path, const duet_render_model *m) {
    if (m->defaults.slg_layer < m->cfg.video.n_layers) return DUET_OK;
    fprintf(stderr, "duet render: %s: sampler.slg_layer %d: the DiT has %lld blocks\n", path,
            m->defaults.slg_layer, (long long)m->cfg.video.n_layers);
    return DUET_ERR_FORMAT;
}

/* The encoders some shot needs: the video VAE encoder for an image or a continuation (the
 * previous shot's last frame is encoded), the audio encoder for reference audio. */
static duet_status load_encoders(const duet_job *job, duet_render_model *m) {
    bool need_v = false, need_a = false;
    for (int i = 0; i < job->n_shots; i++) {
        need_v |= job->shots[i].image_path != NULL || job->shots[i].continues;
        need_a |= job->shots[i].audio_path != NULL;
    }
    duet_status st = DUET_OK;
    if (need_v) st = duet_video_encoder_load(m->st, "video_vae.", m->be, NULL, &m->venc);
    if (st == DUET_OK && need_a)
        st = duet_audio_encoder_load(&m->acfg, m->st, m->be, NULL, &m->aenc);
    return st;
}

/* Config and tokenizer: the files read before any weight. */
static duet_status load_files(duet_render_model *m, char *p, size_t n) {
    duet_status st = file_exists(m->dir, "config.json", p, n);
    if (st == DUET_OK) st = duet_model_defaults_load(p, &m->defaults);
    if (st == DUET_OK) st = duet_dit_config_load(p, &m->cfg);
    if (st == DUET_OK) st = check_sampler(p, m);
    if (st == DUET_OK) st = duet_text_encoder_config_load(p, &m->tcfg);
    if (st == DUET_OK) st = load_audio_config(p, &m->acfg);
    if (st == DUET_OK) st = file_exists(m->dir, "tokenizer.model", p, n);
    if (st == DUET_OK) st = duet_tokenizer_load(p, &m->tok);
    if (st == DUET_OK) st = file_exists(m->dir, "model.safetensors", p, n);
    if (st == DUET_OK) st = duet_safetensors_open(p, &m->st);
    return st;
}

duet_status duet_render_model_load(const duet_render_args *a, const duet_job *job,
                                   duet_backend *be, duet_render_model *m) {
    char p[4200];
    duet_status st = resolve_model(job, m);
    if (st == DUET_OK) st = load_files(m, p, sizeof p);
    if (st != DUET_OK) return st;
    duet_render_progress(a, -1, "load", "start");
    duet_dit_load_params lp = duet_dit_default_load_params();
    m->be = be;
    st = duet_dit_load(&m->cfg, m->st, be, &lp, &m->dit);
    if (st == DUET_OK)
        st = duet_text_encoder_load(&m->tcfg, m->st, "text_encoder.", be, NULL, &m->text);
    if (st == DUET_OK) st = duet_text_encoder_session_new(m->text, m->tcfg.text_len, &m->text_s);
    if (st == DUET_OK) st = duet_vae_load(m->st, "video_vae.", be, NULL, &m->vae);
    if (st == DUET_OK) st = duet_audio_vae_decoder_load(&m->acfg.vae, m->st, be, NULL, &m->adec);
    if (st == DUET_OK) st = duet_vocoder_load(&m->acfg.vocoder, m->st, be, NULL, &m->voc);
    if (st == DUET_OK) st = load_encoders(job, m);
    duet_render_progress(a, -1, "load", st == DUET_OK ? "done" : "failed");
    return st;
}

void duet_render_model_free(duet_render_model *m) {
    duet_text_encoder_session_free(&m->text_s);
    duet_text_encoder_free(&m->text);
    duet_video_encoder_free(&m->venc);
    duet_audio_encoder_free(&m->aenc);
    duet_vae_free(&m->vae);
    duet_audio_vae_decoder_free(&m->adec);
    duet_vocoder_free(&m->voc);
    duet_dit_free(&m->dit);
    duet_tokenizer_free(&m->tok);
    duet_safetensors_close(&m->st);
    duet_model_defaults_free(&m->defaults);
}
