/* duet — the audio VAE's decoder half: the DiT's audio latents -> log10 mel (un-normalized with
 * the per-bin statistics), which audio/vocoder.c turns into PCM. Mirrors Decoder1D and
 * AudioVAE.decode of hkchengrex/MMAudio autoencoder/vae.py as restated in
 * tools/duet_tiny/audio.py; layers in audio_vae.c, equations in audio_vae.h. */
#include <string.h>

#include "audio_vae_internal.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/ops.h"

duet_status duet_audio_vae_decoder_load(const duet_audio_vae_config *cfg,
                                        const duet_safetensors *st, duet_backend *be,
                                        const duet_audio_vae_load_params *p,
                                        duet_audio_vae_decoder **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    duet_audio_vae_decoder *d = duet_calloc(1, sizeof *d);
    if (!d) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s = duet_avae_load(&d->m, cfg, st, be, p, true);
    if (s != DUET_OK) {
        duet_free(d);
        return s;
    }
    *out = d;
    return DUET_OK;
}

void duet_audio_vae_decoder_free(duet_audio_vae_decoder **d) {
    if (!d || !*d) return;
    duet_avae_release(&(*d)->m);
    duet_free(*d);
    *d = NULL;
}

duet_status duet_audio_vae_decoder_session_new(const duet_audio_vae_decoder *d,
                                               int64_t n_latents, duet_audio_vae_session **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    if (!d) {
        DUET_LOGE("duet_audio_vae_decoder_session_new: NULL decoder");
        return DUET_ERR_INVALID_ARG;
    }
    return duet_avae_session_new(&d->m, n_latents, out);
}

/* conv_in, the middle, then the levels from the last: blocks (each followed by its attention
 * and the clamp) and the upsample; the result stays in s->x [T, hidden ch_mult[0]]. */
static duet_status decoder_body(duet_audio_vae_session *s) {
    const duet_avae_model *m = s->m;
    const duet_audio_vae_config *c = &m->cfg;
    int64_t L = s->n_in, ch = m->mid1.cin;
    duet_tensor in = duet_avae_view(s->in, L, c->embed_dim), x = duet_avae_view(s->x, L, ch);
    DUET_AVAE_TRY(duet_conv1d(&x, &in, m->conv_in, NULL, 1, (int)(c->kernel_size / 2), 1));
    DUET_AVAE_TRY(duet_avae_mid(s, L));
    for (int i = c->n_levels - 1; i >= 0; i--) {
        const duet_avae_level *lv = &m->level[i];
        for (int j = 0; j < lv->n_blocks; j++) {
            DUET_AVAE_TRY(duet_avae_resblock(s, &lv->block[j], L));
            ch = lv->block[j].cout;
            if (lv->has_attn) DUET_AVAE_TRY(duet_avae_attention(s, &lv->attn[j], L));
            DUET_AVAE_TRY(duet_avae_clamp(s, L, ch));
        }
        if (lv->up) {
            DUET_AVAE_TRY(duet_avae_upsample(s, lv, L, ch));
            L *= 2;
        }
    }
    return DUET_OK;
}

duet_status duet_audio_vae_decode(duet_audio_vae_session *s, const duet_tensor *latent,
                                  duet_tensor *mel) {
    if (s && !s->m->decoder) {
        DUET_LOGE("duet_audio_vae_decode: the session belongs to the encoder");
        return DUET_ERR_INVALID_ARG;
    }
    if (!s || !duet_avae_is_f32_2d(latent, s->m->cfg.embed_dim, s->n_in) ||
        !duet_avae_is_f32_2d(mel, s->n_out, s->m->cfg.data_dim) || !duet_is_contiguous(mel)) {
        DUET_LOGE("duet_audio_vae_decode: needs latent [%lld, %lld] and "
                  "contiguous mel [%lld, %lld] f32", s ? (long long)s->m->cfg.embed_dim : 0,
                  s ? (long long)s->n_in : 0, s ? (long long)s->n_out : 0,
                  s ? (long long)s->m->cfg.data_dim : 0);
        return DUET_ERR_INVALID_ARG;
    }
    const duet_avae_model *m = s->m;
    const duet_audio_vae_config *c = &m->cfg;
    const int64_t L = s->n_in, T = s->n_out, ch = c->hidden_dim * c->ch_mult[0];
    /* the DiT's [embed, L] -> [L, embed] */
    duet_tensor in = duet_avae_view(s->in, L, c->embed_dim);
    duet_tensor lat_t = duet_avae_strided(latent, L, c->embed_dim, latent->nb[1], latent->nb[0],
                                          0);
    DUET_AVAE_TRY(duet_copy(&in, &lat_t));
    DUET_AVAE_TRY(decoder_body(s));
    duet_tensor x = duet_avae_view(s->x, T, ch), a = duet_avae_view(s->a, T, ch);
    DUET_AVAE_TRY(duet_avae_mp_silu(&a, &x));
    DUET_AVAE_TRY(duet_conv1d(mel, &a, m->conv_out, NULL, 1, (int)(c->kernel_size / 2), 1));
    DUET_AVAE_TRY(duet_scale(mel, mel, m->gain, 0.0f));
    return duet_affine(mel, mel, m->stat_scale, m->stat_shift);
}
