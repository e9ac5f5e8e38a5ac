/* duet — the audio VAE's encoder half: normalized log-mel -> latent posterior mean, the clean
 * audio tokens a reference clip gives the DiT (encoders/audio_encoder.c runs it after the mel).
 * Mirrors Encoder1D and AudioVAE.encode of hkchengrex/MMAudio autoencoder/vae.py as restated in
 * tools/duet_tiny/audio.py; layers in audio_vae.c, equations in audio_vae.h. */
#include <string.h>

#include "audio_vae_internal.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/ops.h"

duet_status duet_audio_vae_encoder_load(const duet_audio_vae_config *cfg,
                                        const duet_safetensors *st, duet_backend *be,
                                        const duet_audio_vae_load_params *p,
                                        duet_audio_vae_encoder **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    duet_audio_vae_encoder *e = duet_calloc(1, sizeof *e);
    if (!e) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s = duet_avae_load(&e->m, cfg, st, be, p, false);
    if (s != DUET_OK) {
        duet_free(e);
        return s;
    }
    *out = e;
    return DUET_OK;
}

void duet_audio_vae_encoder_free(duet_audio_vae_encoder **e) {
    if (!e || !*e) return;
    duet_avae_release(&(*e)->m);
    duet_free(*e);
    *e = NULL;
}

duet_status duet_audio_vae_encoder_session_new(const duet_audio_vae_encoder *e,
                                               int64_t n_mel_frames,
                                               duet_audio_vae_session **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    if (!e) {
        DUET_LOGE("duet_audio_vae_encoder_session_new: NULL encoder");
        return DUET_ERR_INVALID_ARG;
    }
    return duet_avae_session_new(&e->m, n_mel_frames, out);
}

/* conv_in, then per level the blocks (each followed by its attention and the clamp) and the
 * downsample, then the middle; the result stays in s->x [L, C_last]. */
static duet_status encoder_body(duet_audio_vae_session *s) {
    const duet_avae_model *m = s->m;
    const duet_audio_vae_config *c = &m->cfg;
    int64_t L = s->n_in, ch = c->hidden_dim;
    duet_tensor in = duet_avae_view(s->in, L, c->data_dim), x = duet_avae_view(s->x, L, ch);
    DUET_AVAE_TRY(duet_conv1d(&x, &in, m->conv_in, NULL, 1, (int)(c->kernel_size / 2), 1));
    for (int i = 0; i < c->n_levels; i++) {
        const duet_avae_level *lv = &m->level[i];
        for (int j = 0; j < lv->n_blocks; j++) {
            DUET_AVAE_TRY(duet_avae_resblock(s, &lv->block[j], L));
            ch = lv->block[j].cout;
            if (lv->has_attn) DUET_AVAE_TRY(duet_avae_attention(s, &lv->attn[j], L));
            DUET_AVAE_TRY(duet_avae_clamp(s, L, ch));
        }
        if (lv->down1) {
            DUET_AVAE_TRY(duet_avae_downsample(s, lv, L, ch));
            L /= 2;
        }
    }
    return duet_avae_mid(s, L);
}

duet_status duet_audio_vae_encode(duet_audio_vae_session *s, const duet_tensor *mel,
                                  duet_tensor *latent) {
    if (s && s->m->decoder) {
        DUET_LOGE("duet_audio_vae_encode: the session belongs to the decoder");
        return DUET_ERR_INVALID_ARG;
    }
    if (!s || !duet_avae_is_f32_2d(mel, s->n_in, s->m->cfg.data_dim) ||
        !duet_avae_is_f32_2d(latent, s->m->cfg.embed_dim, s->n_out)) {
        DUET_LOGE("duet_audio_vae_encode: needs mel [%lld, %lld] and latent "
                  "[%lld, %lld] f32", s ? (long long)s->n_in : 0,
                  s ? (long long)s->m->cfg.data_dim : 0, s ? (long long)s->m->cfg.embed_dim : 0,
                  s ? (long long)s->n_out : 0);
        return DUET_ERR_INVALID_ARG;
    }
    const duet_avae_model *m = s->m;
    const duet_audio_vae_config *c = &m->cfg;
    const int64_t L = s->n_out, ch = m->mid1.cout;
    duet_tensor in = duet_avae_view(s->in, s->n_in, c->data_dim);
    DUET_AVAE_TRY(duet_affine(&in, mel, m->stat_scale, m->stat_shift));
    DUET_AVAE_TRY(encoder_body(s));
    duet_tensor x = duet_avae_view(s->x, L, ch), a = duet_avae_view(s->a, L, ch);
    duet_tensor mean = duet_avae_view(s->out, L, c->embed_dim);
    DUET_AVAE_TRY(duet_avae_mp_silu(&a, &x));
    DUET_AVAE_TRY(duet_conv1d(&mean, &a, m->conv_out, NULL, 1, (int)(c->kernel_size / 2), 1));
    DUET_AVAE_TRY(duet_scale(&mean, &mean, m->gain, 0.0f));
    /* [L, embed] -> the DiT's [embed, L] */
    const size_t f = sizeof(float);
    duet_tensor mean_t = duet_avae_strided(s->out, c->embed_dim, L, f * (size_t)L, f, 0);
    return duet_copy(latent, &mean_t);
}
