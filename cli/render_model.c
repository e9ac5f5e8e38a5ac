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
#include "core/log.h"

static bool file_exists(const char *dir, const char *name, char *path, size_t n) {
    snprintf(path, n, "%s/%s", dir, name);
    struct stat sb;
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "duet render: model file missing: %s\n", path);
        return false;
    }
    return true;
}

static bool resolve_model(const duet_job *job, duet_render_model *m) {
    const char *env = getenv("DUET_MODELS");
    if (job->model_is_path) snprintf(m->dir, sizeof m->dir, "%s", job->model);
    else snprintf(m->dir, sizeof m->dir, "%s/%s", env && *env ? env : "models", job->model);
    struct stat sb;
    if (stat(m->dir, &sb) || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr,
                "duet render: model '%s' not found (looked for the folder %s; set DUET_MODELS "
                "or export one with tools/duet_tiny/export.py)\n", job->model, m->dir);
        return false;
    }
    return true;
}

/* The "mel", "audio_vae" and "vocoder" parts of config.json. */
static bool load_audio_config(const char *path, duet_audio_config *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char *buf = duet_malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    bool ok = buf && duet_audio_config_parse(buf, n, path, out) == DUET_OK;
    duet_free(buf);
    return ok;
}

/* The encoders some shot needs: the video VAE encoder for an image or a continuation (the
 * previous shot's last frame is encoded), the audio encoder for reference audio. */
static bool load_encoders(const duet_job *job, duet_render_model *m) {
    bool need_v = false, need_a = false;
    for (int i = 0; i < job->n_shots; i++) {
        need_v |= job->shots[i].image_path != NULL || job->shots[i].continues;
        need_a |= job->shots[i].audio_path != NULL;
    }
    if (need_v && duet_video_encoder_load(m->st, "video_vae.", m->be, NULL, &m->venc) != DUET_OK)
        return false;
    if (need_a && duet_audio_encoder_load(&m->acfg, m->st, m->be, NULL, &m->aenc) != DUET_OK)
        return false;
    return true;
}

bool duet_render_model_load(const duet_render_args *a, const duet_job *job, duet_backend *be,
                            duet_render_model *m) {
    char p[4200];
    if (!resolve_model(job, m)) return false;
    bool ok = file_exists(m->dir, "config.json", p, sizeof p) &&
              duet_dit_config_load(p, &m->cfg) == DUET_OK &&
              file_exists(m->dir, "tokenizer.model", p, sizeof p) &&
              duet_tokenizer_load(p, &m->tok) == DUET_OK &&
              file_exists(m->dir, "model.safetensors", p, sizeof p) &&
              duet_safetensors_open(p, &m->st) == DUET_OK;
    if (!ok) return false;
    duet_render_progress(a, -1, "load", "start");
    duet_dit_load_params lp = duet_dit_default_load_params();
    snprintf(p, sizeof p, "%s/config.json", m->dir);
    m->be = be;
    ok = duet_dit_load(&m->cfg, m->st, be, &lp, &m->dit) == DUET_OK &&
         duet_text_encoder_config_load(p, &m->tcfg) == DUET_OK &&
         duet_text_encoder_load(&m->tcfg, m->st, "text_encoder.", be, NULL, &m->text) ==
             DUET_OK &&
         duet_text_encoder_session_new(m->text, m->tcfg.text_len, &m->text_s) == DUET_OK &&
         duet_vae_load(m->st, "video_vae.", be, NULL, &m->vae) == DUET_OK &&
         load_audio_config(p, &m->acfg) &&
         duet_audio_vae_decoder_load(&m->acfg.vae, m->st, be, NULL, &m->adec) == DUET_OK &&
         duet_vocoder_load(&m->acfg.vocoder, m->st, be, NULL, &m->voc) == DUET_OK &&
         load_encoders(job, m);
    duet_render_progress(a, -1, "load", ok ? "done" : "failed");
    return ok;
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
}
