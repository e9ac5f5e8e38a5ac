/* duet — one joint evaluation of the audio-video DiT: inputs checked, both towers embedded,
 * the fusion blocks run in Ovi's interleaved order, heads applied. Mirrors FusionModel.forward
 * and single_fusion_block_forward in character-ai/Ovi ovi/modules/fusion.py (see dit.h). */
#include "diffusion/dit.h"

#include <stdio.h>

#include "core/log.h"
#include "core/ops.h"
#include "dit_internal.h"

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

duet_dit_inputs duet_dit_default_inputs(void) {
    duet_dit_inputs in = {.skip_layer = -1};
    return in;
}

/* t must be contiguous f32 of exactly `want` (innermost first, n_dims entries). */
static bool check_tensor(const char *what, const duet_tensor *t, const duet_dit_session *s,
                         int n_dims, const int64_t *want) {
    bool ok = t && t->dtype == DUET_F32 && duet_is_contiguous(t) && t->buf &&
              t->buf->backend == s->m->be;
    for (int i = 0; ok && i < DUET_MAX_DIMS; i++) ok = t->ne[i] == (i < n_dims ? want[i] : 1);
    if (!ok) {
        char got[96] = "NULL", exp[96];
        size_t n = (size_t)snprintf(exp, sizeof exp, "[");
        for (int i = 0; i < n_dims && n < sizeof exp; i++)
            n += (size_t)snprintf(exp + n, sizeof exp - n, "%s%lld", i ? ", " : "",
                                  (long long)want[i]);
        if (n < sizeof exp) snprintf(exp + n, sizeof exp - n, "]");
        if (t) duet_shape_str(t, got, sizeof got);
        DUET_LOGE("dit: %s must be contiguous f32 %s on the model's backend (innermost first); "
                  "got %s %s", what, exp, t ? duet_dtype_name(t->dtype) : "", got);
    }
    return ok;
}

static bool check_context(const char *what, const duet_tensor *t, const duet_dit_session *s,
                          const duet_dit_tower_config *c) {
    const int64_t n = t ? t->ne[1] : 0;
    if (t && (n < 1 || n > c->text_len)) {
        DUET_LOGE("dit: %s has %lld rows; the model takes 1 to %lld", what, (long long)n,
                  (long long)c->text_len);
        return false;
    }
    const int64_t ne[2] = {c->text_dim, n};
    return check_tensor(what, t, s, 2, ne);
}

static duet_status check_inputs(const duet_dit_session *s, const duet_dit_inputs *in,
                                const duet_tensor *out_video, const duet_tensor *out_audio) {
    const duet_dit_config *cfg = &s->m->cfg;
    const duet_dit_shape *sh = &s->shape;
    const int64_t v_in[4] = {sh->video_w, sh->video_h, sh->video_frames, cfg->video.in_dim};
    const int64_t v_out[4] = {sh->video_w, sh->video_h, sh->video_frames, cfg->video.out_dim};
    const int64_t a_in[2] = {cfg->audio.in_dim, sh->audio_len};
    const int64_t a_out[2] = {cfg->audio.out_dim, sh->audio_len};
    bool ok = check_tensor("video input", in->video, s, 4, v_in) &&
              check_tensor("audio input", in->audio, s, 2, a_in) &&
              check_context("video context", in->context_video, s, &cfg->video) &&
              check_context("audio context", in->context_audio, s, &cfg->audio) &&
              check_tensor("video output", out_video, s, 4, v_out) &&
              check_tensor("audio output", out_audio, s, 2, a_out);
    if (ok && (!in->t_video || !in->t_audio)) {
        DUET_LOGE("dit: per-token timesteps t_video and t_audio are required");
        ok = false;
    }
    if (ok && (in->skip_layer < -1 || in->skip_layer >= cfg->video.n_layers)) {
        DUET_LOGE("dit: skip_layer %d is out of range (-1 for none, or 0 to %lld)",
                  in->skip_layer, (long long)cfg->video.n_layers - 1);
        ok = false;
    }
    if (ok && (out_video->buf == in->video->buf || out_audio->buf == in->audio->buf ||
               out_video->buf == out_audio->buf)) {
        DUET_LOGE("dit: outputs must not share storage with the latents or each other");
        ok = false;
    }
    return ok ? DUET_OK : DUET_ERR_INVALID_ARG;
}

/* One fusion layer: both towers' block i, in Ovi's order. */
static duet_status fusion_layer(duet_dit_session *s, int64_t i) {
    duet_dit_tower_run *v = &s->run[DUET_DIT_VIDEO], *a = &s->run[DUET_DIT_AUDIO];
    const duet_fusion_block *vb = &v->w->blocks[i], *ab = &a->w->blocks[i];
    TRY(duet_wan_block_modulation(&ab->wan, &a->blk.wan, a->e0));
    TRY(duet_wan_block_self_attn(&ab->wan, &a->blk.wan, a->x, a->rope));
    TRY(duet_wan_block_modulation(&vb->wan, &v->blk.wan, v->e0));
    TRY(duet_wan_block_self_attn(&vb->wan, &v->blk.wan, v->x, v->rope));
    /* The video tower attends to the audio stream as it is now (upstream keeps og_audio);
     * its fusion keys are taken before the audio cross-attention moves the stream on. */
    TRY(duet_fusion_block_kv(vb, &v->blk, a->x, a->rope));
    TRY(duet_fusion_block_kv(ab, &a->blk, v->x, v->rope));
    TRY(duet_fusion_block_cross_attn(ab, &a->blk, a->x, a->ctx, a->rope));
    TRY(duet_wan_block_ffn(&ab->wan, &a->blk.wan, a->x));
    TRY(duet_fusion_block_cross_attn(vb, &v->blk, v->x, v->ctx, v->rope));
    return duet_wan_block_ffn(&vb->wan, &v->blk.wan, v->x);
}

duet_status duet_dit_eval(duet_dit_session *s, const duet_dit_inputs *in,
                          duet_tensor *out_video, duet_tensor *out_audio) {
    if (!s || !in) {
        DUET_LOGE("duet_dit_eval: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    TRY(check_inputs(s, in, out_video, out_audio));
    duet_dit_tower_run *v = &s->run[DUET_DIT_VIDEO], *a = &s->run[DUET_DIT_AUDIO];
    TRY(duet_dit_embed_video(v, s->grid, in->video));
    TRY(duet_dit_embed_audio(a, in->audio));
    TRY(duet_dit_embed_time(v, in->t_video));
    TRY(duet_dit_embed_time(a, in->t_audio));
    TRY(duet_dit_embed_text(v, in->context_video));
    TRY(duet_dit_embed_text(a, in->context_audio));
    for (int64_t i = 0; i < s->m->cfg.video.n_layers; i++)
        if (i != in->skip_layer) TRY(fusion_layer(s, i));
    TRY(duet_dit_head_video(v, s->grid, out_video));
    return duet_dit_head_audio(a, out_audio);
}
