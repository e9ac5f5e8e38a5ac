/* duet — the video VAE decoder's forward pass: one latent frame per chunk through Decoder3d,
 * with causal caches carried between chunks, then unpatchify; and the whole-clip decode to
 * RGB8. Mirrors WanVAE_.decode / Decoder3d.forward of Wan-Video/Wan2.2 wan/modules/vae2_2.py
 * as restated by tools/duet_tiny/video_vae.py (Resample upsample3d/upsample2d,
 * Up_ResidualBlock with DupUp3D; ResidualBlock, AttentionBlock and CausalConv3d are the layers
 * shared with the encoder, in vae_layers.c). Every activation is a [W, H, T, C] view of a
 * planned slot (vae_session.c). */
#include <math.h>

#include "core/log.h"
#include "core/ops.h"
#include "vae_internal.h"

/* DupUp3D, added to y: output channel co at offset (a, b, d) of its ft x 2 x 2 block takes
 * input channel co g + (r g) / N, r = (a 2 + b) 2 + d, N = 4 ft, g = cin / cout (repeat_interleave
 * then channel-to-space/time). Chunk 0 drops the first ft - 1 frames. */
static duet_status dup_up(duet_vae_session *s, const vae_level *l, const duet_tensor *x,
                          bool first, duet_tensor *y) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], ft = l->t_up ? 2 : 1, fs = 2;
    const int64_t n = ft * fs * fs, g = l->cin / l->cout, drop = first ? ft - 1 : 0;
    const int64_t wo = w * fs, ho = h * fs, to = t * ft - drop;
    DUET_ASSERT(y->ne[0] == wo && y->ne[1] == ho && y->ne[2] == to);
    const size_t f = sizeof(float);
    vae_act sc = duet_vae_take(&s->slots, wo, ho, to, l->cout);
    for (int64_t r = 0; r < n; r++) {
        const int64_t a = r / (fs * fs), b = (r / fs) % fs, d = r % fs;
        const int64_t t0 = a < drop ? (drop - a + ft - 1) / ft : 0, nt = t - t0;
        if (nt <= 0) continue;
        const int64_t ne[4] = {w, h, nt, l->cout};
        const size_t dnb[4] = {fs * f, fs * wo * f, ft * wo * ho * f, wo * ho * to * f};
        const size_t snb[4] = {f, w * f, w * h * f, g * w * h * t * f};
        duet_tensor dv = duet_view_at(&sc.t, 4, ne, dnb,
                                      (size_t)((t0 * ft + a - drop) * wo * ho + b * wo + d) * f);
        const int64_t src_c = r * g / n;
        duet_tensor sv = duet_view_at(x, 4, ne, snb, (size_t)((t0 + src_c * t) * w * h) * f);
        VAE_TRY(duet_copy(&dv, &sv));
    }
    VAE_TRY(duet_add(y, y, &sc.t));
    duet_vae_give(&s->slots, &sc);
    return DUET_OK;
}

/* Resample upsample3d's time step (later chunks): a causal (3, 1, 1) conv to 2 C channels whose
 * halves become frames 2 t and 2 t + 1. Consumes *x. */
static duet_status time_up(duet_vae_session *s, const vae_level *l, duet_tensor *cache,
                           vae_act *x) {
    const int64_t w = x->t.ne[0], h = x->t.ne[1], t = x->t.ne[2], c = l->cout;
    const size_t f = sizeof(float);
    vae_act tc = duet_vae_take(&s->slots, w, h, t, 2 * c);
    VAE_TRY(duet_vae_causal_conv(&tc.t, &x->t, &l->time_conv, cache));
    duet_vae_give(&s->slots, x);
    *x = duet_vae_take(&s->slots, w, h, 2 * t, c);
    const int64_t ne[5] = {w, h, t, 2, c};
    const size_t snb[5] = {f, w * f, w * h * f, c * w * h * t * f, w * h * t * f};
    const size_t dnb[5] = {f, w * f, 2 * w * h * f, w * h * f, 2 * t * w * h * f};
    duet_tensor sv = duet_view_at(&tc.t, 5, ne, snb, 0), dv = duet_view_at(&x->t, 5, ne, dnb, 0);
    VAE_TRY(duet_copy(&dv, &sv));
    duet_vae_give(&s->slots, &tc);
    return DUET_OK;
}

/* Up_ResidualBlock i. Consumes *x; the result replaces it. */
static duet_status up_level(duet_vae_session *s, int i, bool first, vae_act *x) {
    const vae_level *l = &s->m->level[i];
    vae_act in = *x, cur = *x;
    for (int k = 0; k < l->n_res; k++) {
        vae_act next;
        VAE_TRY(duet_vae_res_forward(&s->slots, &l->res[k], &s->res[i][k], &cur.t, &next));
        if (cur.slot != in.slot) duet_vae_give(&s->slots, &cur);
        cur = next;
    }
    if (!l->up) {
        if (cur.slot != in.slot) duet_vae_give(&s->slots, &in);
        *x = cur;
        return DUET_OK;
    }
    if (l->t_up && !first) VAE_TRY(time_up(s, l, s->time_cache[i], &cur));
    const int64_t w = cur.t.ne[0], h = cur.t.ne[1], t = cur.t.ne[2], c = l->cout;
    vae_act up = duet_vae_take(&s->slots, 2 * w, 2 * h, t, c);
    const int factor[3] = {2, 2, 1};
    VAE_TRY(duet_upsample_nearest(&up.t, &cur.t, factor));
    if (cur.slot != in.slot) duet_vae_give(&s->slots, &cur);
    vae_act y = duet_vae_take(&s->slots, 2 * w, 2 * h, t, c);
    VAE_TRY(duet_vae_causal_conv(&y.t, &up.t, &l->resample, NULL));
    duet_vae_give(&s->slots, &up);
    VAE_TRY(dup_up(s, l, &in.t, first, &y.t));
    duet_vae_give(&s->slots, &in);
    *x = y;
    return DUET_OK;
}

static duet_status check_latents(const duet_vae_session *s, const duet_tensor *lat,
                                 int64_t index) {
    char sh[96];
    if (lat->dtype != DUET_F32 || lat->ne[0] != s->w || lat->ne[1] != s->h ||
        lat->ne[3] != s->m->info.z_dim || lat->ne[4] != 1 || lat->ne[2] < 1) {
        DUET_LOGE("vae: latents %s %s must be f32 [%lld, %lld, F, %lld] ([z, F, h, w])",
                  lat->name, duet_shape_str(lat, sh, sizeof sh), (long long)s->w,
                  (long long)s->h, (long long)s->m->info.z_dim);
        return DUET_ERR_INVALID_ARG;
    }
    if (index < 0 || index >= lat->ne[2] || (index != 0 && index != s->next_index)) {
        DUET_LOGE("vae: chunk %lld out of order (next is %lld, or 0 to start over; %lld latent "
                  "frames)", (long long)index, (long long)s->next_index, (long long)lat->ne[2]);
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

static duet_status reset_caches(duet_vae_session *s) {
    for (int i = 0; i < s->n_caches; i++) {
        duet_tensor *c = s->caches[i];
        duet_tensor z = duet_view_at(s->zeros, 4, c->ne, c->nb, 0);
        VAE_TRY(duet_copy(c, &z));
    }
    return DUET_OK;
}

/* conv2, decoder.conv1 and the middle on latent frame `index`. */
static duet_status head_in(duet_vae_session *s, const duet_tensor *lat, int64_t index, vae_act *x) {
    const duet_vae *m = s->m;
    vae_act a = duet_vae_take(&s->slots, s->w, s->h, 1, m->info.z_dim);
    duet_tensor frame = duet_vae_frames(lat, index, 1);
    VAE_TRY(duet_affine(&a.t, &frame, m->std, m->mean)); /* un-normalize */
    vae_act b = duet_vae_take(&s->slots, s->w, s->h, 1, m->info.z_dim);
    VAE_TRY(duet_vae_causal_conv(&b.t, &a.t, &m->conv2, NULL));
    duet_vae_give(&s->slots, &a);
    a = duet_vae_take(&s->slots, s->w, s->h, 1, m->c0);
    VAE_TRY(duet_vae_causal_conv(&a.t, &b.t, &m->conv1, s->conv1_cache));
    duet_vae_give(&s->slots, &b);
    VAE_TRY(duet_vae_res_forward(&s->slots, &m->mid0, &s->mid[0], &a.t, &b));
    duet_vae_give(&s->slots, &a);
    VAE_TRY(duet_vae_attn_forward(&s->slots, &m->attn, &b.t));
    VAE_TRY(duet_vae_res_forward(&s->slots, &m->mid2, &s->mid[1], &b.t, x));
    duet_vae_give(&s->slots, &b);
    return DUET_OK;
}

duet_status duet_vae_decode_chunk(duet_vae_session *s, const duet_tensor *latents,
                                  int64_t index, const duet_tensor **pixels) {
    if (!s || !latents || !pixels) {
        DUET_LOGE("duet_vae_decode_chunk: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    *pixels = NULL;
    VAE_TRY(check_latents(s, latents, index));
    const duet_vae *m = s->m;
    const bool first = index == 0;
    s->next_index = -1; /* until this chunk completes */
    duet_vae_slots_reset(&s->slots);
    if (first) VAE_TRY(reset_caches(s));
    vae_act x;
    VAE_TRY(head_in(s, latents, index, &x));
    for (int i = 0; i < m->info.n_levels; i++) VAE_TRY(up_level(s, i, first, &x));
    vae_act a;
    VAE_TRY(duet_vae_norm_silu(&s->slots, &x.t, m->head_gamma, &a));
    duet_vae_give(&s->slots, &x);
    const int64_t w = a.t.ne[0], h = a.t.ne[1], t = a.t.ne[2], p = m->info.patch;
    vae_act y = duet_vae_take(&s->slots, w, h, t, m->head.cout);
    VAE_TRY(duet_vae_causal_conv(&y.t, &a.t, &m->head, s->head_cache));
    duet_vae_give(&s->slots, &a);
    vae_act px = duet_vae_take(&s->slots, w * p, h * p, t, 3);
    VAE_TRY(duet_pixel_shuffle(&px.t, &y.t, (int)p)); /* unpatchify */
    duet_vae_give(&s->slots, &y);
    s->pixels = px.t;
    s->next_index = index + 1;
    *pixels = &s->pixels;
    return DUET_OK;
}

void duet_vae_pixels_to_rgb8(const float *pixels, int64_t w, int64_t h, int64_t t,
                             uint8_t *rgb) {
    const int64_t plane = w * h;
    for (int64_t f = 0; f < t; f++)
        for (int64_t i = 0; i < plane; i++)
            for (int64_t c = 0; c < 3; c++) {
                float v = pixels[(c * t + f) * plane + i];
                v = v > 1.0f ? 1.0f : (v >= -1.0f ? v : -1.0f); /* NaN -> -1 */
                rgb[(f * plane + i) * 3 + c] = (uint8_t)nearbyintf((v + 1.0f) * 127.5f);
            }
}

duet_status duet_vae_decode(duet_vae_session *s, const duet_tensor *latents, uint8_t *rgb,
                            size_t rgb_nbytes) {
    if (!s || !latents || !rgb) {
        DUET_LOGE("duet_vae_decode: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    const duet_vae_info *in = &s->m->info;
    const int64_t n = latents->ne[2], fw = s->w * in->spatial_factor;
    const int64_t fh = s->h * in->spatial_factor;
    const size_t frame = (size_t)(fw * fh * 3);
    const size_t need = (size_t)duet_vae_frames_out(s->m, n) * frame;
    if (rgb_nbytes < need) {
        DUET_LOGE("vae: RGB buffer of %zu bytes, %lld frames of %lld x %lld need %zu",
                  rgb_nbytes, (long long)duet_vae_frames_out(s->m, n), (long long)fw,
                  (long long)fh, need);
        return DUET_ERR_INVALID_ARG;
    }
    for (int64_t i = 0; i < n; i++) {
        const duet_tensor *px = NULL;
        VAE_TRY(duet_vae_decode_chunk(s, latents, i, &px));
        VAE_TRY(duet_tensor_get_f32(px, s->host));
        const int64_t f0 = i ? 1 + in->temporal_factor * (i - 1) : 0;
        duet_vae_pixels_to_rgb8(s->host, fw, fh, px->ne[2], rgb + (size_t)f0 * frame);
    }
    return DUET_OK;
}
