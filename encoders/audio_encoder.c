/* duet — reference audio -> audio latents (see audio_encoder.h): the host log-mel of
 * audio/mel.c uploaded into the audio VAE encoder of audio/vae_encoder.c. Mirrors MMAudio's
 * encode path (mel_converter, then the VAE's posterior mean) as restated in
 * tools/duet_tiny/audio.py; tested by tests/golden/test_audio.c. */
#include "audio_encoder.h"

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"

struct duet_audio_encoder {
    duet_audio_config cfg;
    duet_backend *be;
    duet_mel *mel;
    duet_audio_vae_encoder *vae;
};

struct duet_audio_encoder_session {
    const duet_audio_encoder *e;
    int64_t n_samples, n_frames, n_latents;
    float *host_mel;                  /* [n_mels, T] */
    duet_arena *arena;
    duet_tensor *mel;                 /* [T, n_mels] on the backend */
    duet_audio_vae_session *vae;
};

duet_status duet_audio_encoder_load(const duet_audio_config *cfg, const duet_safetensors *st,
                                    duet_backend *be, const duet_audio_vae_load_params *p,
                                    duet_audio_encoder **out) {
    if (out) *out = NULL;
    if (!cfg || !st || !be || !out) {
        DUET_LOGE("duet_audio_encoder_load: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    duet_status s = duet_audio_config_check(cfg);
    if (s != DUET_OK) return s;
    duet_audio_encoder *e = duet_calloc(1, sizeof *e);
    if (!e) return DUET_ERR_OUT_OF_MEMORY;
    e->cfg = *cfg;
    e->be = be;
    s = duet_mel_new(&cfg->mel, &e->mel);
    if (s == DUET_OK) s = duet_audio_vae_encoder_load(&cfg->vae, st, be, p, &e->vae);
    if (s != DUET_OK) {
        duet_audio_encoder_free(&e);
        return s;
    }
    *out = e;
    return DUET_OK;
}

void duet_audio_encoder_free(duet_audio_encoder **e) {
    if (!e || !*e) return;
    duet_audio_vae_encoder_free(&(*e)->vae);
    duet_mel_free(&(*e)->mel);
    duet_free(*e);
    *e = NULL;
}

duet_status duet_audio_encoder_session_new(const duet_audio_encoder *e, int64_t n_samples,
                                           duet_audio_encoder_session **out) {
    if (out) *out = NULL;
    const int64_t n_frames = e ? duet_mel_n_frames(e->mel, n_samples) : -1;
    const int64_t n_lat = n_frames > 0 ? duet_audio_vae_latent_len(&e->cfg.vae, n_frames) : -1;
    if (!out || n_lat < 1) {
        DUET_LOGE("duet_audio_encoder_session_new: %lld samples are too few for one latent",
                  (long long)n_samples);
        return DUET_ERR_INVALID_ARG;
    }
    duet_audio_encoder_session *s = duet_calloc(1, sizeof *s);
    if (!s) return DUET_ERR_OUT_OF_MEMORY;
    s->e = e;
    s->n_samples = n_samples;
    s->n_frames = n_frames;
    s->n_latents = n_lat;
    const int64_t n_mels = e->cfg.mel.n_mels;
    duet_status st = DUET_ERR_OUT_OF_MEMORY;
    s->host_mel = duet_malloc((size_t)(n_frames * n_mels) * sizeof *s->host_mel);
    if (s->host_mel && (s->arena = duet_arena_new(0)) &&
        (s->mel = duet_tensor_new4(s->arena, e->be, DUET_F32, n_frames, n_mels, 1, 1)))
        st = duet_audio_vae_encoder_session_new(e->vae, n_frames, &s->vae);
    if (st != DUET_OK) {
        duet_audio_encoder_session_free(&s);
        return st;
    }
    duet_tensor_set_name(s->mel, "audio_encoder.mel");
    *out = s;
    return DUET_OK;
}

void duet_audio_encoder_session_free(duet_audio_encoder_session **s) {
    if (!s || !*s) return;
    duet_audio_vae_session_free(&(*s)->vae);
    duet_arena_free(&(*s)->arena);
    duet_free((*s)->host_mel);
    duet_free(*s);
    *s = NULL;
}

int64_t duet_audio_encoder_session_mel_frames(const duet_audio_encoder_session *s) {
    return s ? s->n_frames : -1;
}

int64_t duet_audio_encoder_session_latents(const duet_audio_encoder_session *s) {
    return s ? s->n_latents : -1;
}

duet_status duet_audio_encode(duet_audio_encoder_session *s, const float *pcm,
                              int64_t n_samples, duet_tensor *latent) {
    if (!s || !pcm || n_samples != s->n_samples) {
        DUET_LOGE("duet_audio_encode: the session encodes %lld samples, got %lld",
                  s ? (long long)s->n_samples : 0, (long long)n_samples);
        return DUET_ERR_INVALID_ARG;
    }
    duet_status st = duet_mel_compute(s->e->mel, pcm, n_samples, s->host_mel, s->n_frames);
    if (st == DUET_OK) st = duet_tensor_set_f32(s->mel, s->host_mel);
    if (st == DUET_OK) st = duet_audio_vae_encode(s->vae, s->mel, latent);
    return st;
}
