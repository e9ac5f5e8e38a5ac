/* duet — the video VAE decoder's forward pass: one latent frame per chunk through Decoder3d,
 * with causal caches carried between chunks, then unpatchify; and the whole-clip decode to
 * RGB8. Mirrors WanVAE_.decode / Decoder3d.forward of Wan-Video/Wan2.2 wan/modules/vae2_2.py
 * as restated by tools/duet_tiny/video_vae.py (ResidualBlock, AttentionBlock, Resample
 * upsample3d/upsample2d, Up_ResidualBlock with DupUp3D, CausalConv3d). Every activation is a
 * [W, H, T, C] view of a planned slot (vae_session.c); channel-wise RMS_norm and the 1x1
 * attention projections work on a channel-innermost copy [C, W, H, T]. */
#include <math.h>
#include <string.h>

#include "core/log.h"
#include "core/ops.h"
#include "vae_internal.h"

#define TRY(e)                                                                                 \
    do {                                                                                       \
        duet_status s_ = (e);                                                                  \
        if (s_ != DUET_OK) return s_;                                                          \
    } while (0)

/* An activation: a contiguous view of slot `slot`. */
typedef struct {
    duet_tensor t;
    int slot;
} act;

static act take(duet_vae_session *s, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    const int64_t ne[4] = {ne0, ne1, ne2, ne3};
    act a;
    a.t = duet_vae_take(s, ne, &a.slot);
    DUET_ASSERT(a.slot >= 0); /* the plan provides a free slot of this size */
    return a;
}

static void give(duet_vae_session *s, act *a) {
    duet_vae_give(s, a->slot);
    a->slot = -1;
}

/* Frames [t0, t0 + n) of a [W, H, T, C] tensor (strided when C > 1). */
static duet_tensor frames(const duet_tensor *x, int64_t t0, int64_t n) {
    const int64_t ne[4] = {x->ne[0], x->ne[1], n, x->ne[3]};
    return duet_vae_view(x, 4, ne, x->nb, (size_t)t0 * x->nb[2]);
}

/* The cache keeps the last Tc frames of [cache, x] along time (Wan's feat_cache). */
static duet_status update_cache(duet_tensor *cache, const duet_tensor *x) {
    const int64_t tc = cache->ne[2], t = x->ne[2];
    if (t >= tc) {
        duet_tensor src = frames(x, t - tc, tc);
        return duet_copy(cache, &src);
    }
    DUET_ASSERT(tc <= 2 * t); /* the shift below must not overlap itself */
    duet_tensor keep_dst = frames(cache, 0, tc - t), keep_src = frames(cache, t, tc - t);
    duet_tensor tail = frames(cache, tc - t, t);
    TRY(duet_copy(&keep_dst, &keep_src));
    return duet_copy(&tail, x);
}

/* CausalConv3d: time padding from the cache (the previous chunk's last frames, zeros before
 * the first) when the kernel looks back, symmetric spatial zeros; stride 1. */
static duet_status causal_conv(duet_tensor *dst, const duet_tensor *x, const vae_conv *c,
                               duet_tensor *cache) {
    const int st[3] = {1, 1, 1};
    TRY(duet_conv3d(dst, x, c->w, c->b, cache, st, (int)(c->k[0] - 1) / 2,
                    (int)(c->k[1] - 1) / 2, (int)(c->k[2] - 1)));
    return cache ? update_cache(cache, x) : DUET_OK;
}

/* RMS_norm over channels: x [W, H, T, C] -> a channel-innermost [C, W, H, T] normalized copy
 * scaled by gamma (returned in *out). */
static duet_status channel_norm(duet_vae_session *s, const duet_tensor *x,
                                const duet_tensor *gamma, act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = x->ne[3];
    *out = take(s, c, w, h, t);
    const int64_t ne[4] = {c, w, h, t};
    const size_t nb[4] = {x->nb[3], x->nb[0], x->nb[1], x->nb[2]};
    duet_tensor xt = duet_vae_view(x, 4, ne, nb, 0);
    TRY(duet_copy(&out->t, &xt));
    return duet_rmsnorm(&out->t, &out->t, gamma, VAE_NORM_EPS);
}

/* SiLU(RMS_norm(x)) back in [W, H, T, C] (the SiLU reads the channel-innermost copy). */
static duet_status norm_silu(duet_vae_session *s, const duet_tensor *x,
                             const duet_tensor *gamma, act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = x->ne[3];
    act n;
    TRY(channel_norm(s, x, gamma, &n));
    *out = take(s, w, h, t, c);
    const int64_t ne[4] = {w, h, t, c};
    const size_t f = sizeof(float);
    const size_t nb[4] = {f * (size_t)c, f * (size_t)(c * w), f * (size_t)(c * w * h), f};
    duet_tensor back = duet_vae_view(&n.t, 4, ne, nb, 0);
    duet_status st = duet_unary(&out->t, &back, DUET_UNARY_SILU);
    give(s, &n);
    return st;
}

/* ResidualBlock: out = conv2(silu(norm2(conv1(silu(norm1(x)))))) + shortcut(x). x stays. */
static duet_status res_forward(duet_vae_session *s, const vae_res *r, vae_res_cache *c,
                               const duet_tensor *x, act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2];
    act a, mid;
    TRY(norm_silu(s, x, r->gamma1, &a));
    mid = take(s, w, h, t, r->cout);
    TRY(causal_conv(&mid.t, &a.t, &r->conv1, c->c1));
    give(s, &a);
    TRY(norm_silu(s, &mid.t, r->gamma2, &a));
    give(s, &mid);
    *out = take(s, w, h, t, r->cout);
    TRY(causal_conv(&out->t, &a.t, &r->conv2, c->c2));
    give(s, &a);
    if (!r->shortcut.w) return duet_add(&out->t, &out->t, x);
    act sc = take(s, w, h, t, r->cout);
    TRY(causal_conv(&sc.t, x, &r->shortcut, NULL));
    TRY(duet_add(&out->t, &out->t, &sc.t));
    give(s, &sc);
    return DUET_OK;
}

/* AttentionBlock, in place: x += proj(attn(q, k, v)) per frame, one head of width C over the
 * frame's W H pixels; q, k, v = to_qkv(norm(x)) split along channels. */
static duet_status attn_forward(duet_vae_session *s, const vae_attn *at, duet_tensor *x) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = at->c, hw = w * h;
    const size_t f = sizeof(float);
    act n, qkv, o, proj;
    TRY(channel_norm(s, x, at->gamma, &n));
    qkv = take(s, 3 * c, hw * t, 1, 1);
    const int64_t ne2[2] = {c, hw * t};
    duet_tensor n2 = duet_vae_view(&n.t, 2, ne2, n.t.nb, 0);
    TRY(duet_matmul(&qkv.t, &n2, at->qkv_w, at->qkv_b, false));
    give(s, &n);
    const int64_t ne[4] = {c, 1, hw, t};
    const size_t nb[4] = {f, 3 * c * f, 3 * c * f, 3 * c * hw * f};
    duet_tensor q = duet_vae_view(&qkv.t, 4, ne, nb, 0);
    duet_tensor k = duet_vae_view(&qkv.t, 4, ne, nb, c * f);
    duet_tensor v = duet_vae_view(&qkv.t, 4, ne, nb, 2 * c * f);
    o = take(s, c, 1, hw, t);
    TRY(duet_attention(&o.t, &q, &k, &v, NULL, 1.0f / sqrtf((float)c)));
    give(s, &qkv);
    proj = take(s, c, hw * t, 1, 1);
    duet_tensor o2 = duet_vae_view(&o.t, 2, ne2, o.t.nb, 0);
    TRY(duet_matmul(&proj.t, &o2, at->proj_w, at->proj_b, false));
    give(s, &o);
    const int64_t xe[4] = {w, h, t, c};
    const size_t xb[4] = {c * f, c * w * f, c * w * h * f, f};
    duet_tensor back = duet_vae_view(&proj.t, 4, xe, xb, 0);
    TRY(duet_add(x, x, &back));
    give(s, &proj);
    return DUET_OK;
}

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
    act sc = take(s, wo, ho, to, l->cout);
    for (int64_t r = 0; r < n; r++) {
        const int64_t a = r / (fs * fs), b = (r / fs) % fs, d = r % fs;
        const int64_t t0 = a < drop ? (drop - a + ft - 1) / ft : 0, nt = t - t0;
        if (nt <= 0) continue;
        const int64_t ne[4] = {w, h, nt, l->cout};
        const size_t dnb[4] = {fs * f, fs * wo * f, ft * wo * ho * f, wo * ho * to * f};
        const size_t snb[4] = {f, w * f, w * h * f, g * w * h * t * f};
        duet_tensor dv = duet_vae_view(&sc.t, 4, ne, dnb,
                                       (size_t)((t0 * ft + a - drop) * wo * ho + b * wo + d) * f);
        const int64_t src_c = r * g / n;
        duet_tensor sv = duet_vae_view(x, 4, ne, snb, (size_t)((t0 + src_c * t) * w * h) * f);
        TRY(duet_copy(&dv, &sv));
    }
    TRY(duet_add(y, y, &sc.t));
    give(s, &sc);
    return DUET_OK;
}

/* Resample upsample3d's time step (later chunks): a causal (3, 1, 1) conv to 2 C channels whose
 * halves become frames 2 t and 2 t + 1. Consumes *x. */
static duet_status time_up(duet_vae_session *s, const vae_level *l, duet_tensor *cache, act *x) {
    const int64_t w = x->t.ne[0], h = x->t.ne[1], t = x->t.ne[2], c = l->cout;
    const size_t f = sizeof(float);
    act tc = take(s, w, h, t, 2 * c);
    TRY(causal_conv(&tc.t, &x->t, &l->time_conv, cache));
    give(s, x);
    *x = take(s, w, h, 2 * t, c);
    const int64_t ne[5] = {w, h, t, 2, c};
    const size_t snb[5] = {f, w * f, w * h * f, c * w * h * t * f, w * h * t * f};
    const size_t dnb[5] = {f, w * f, 2 * w * h * f, w * h * f, 2 * t * w * h * f};
    duet_tensor sv = duet_vae_view(&tc.t, 5, ne, snb, 0), dv = duet_vae_view(&x->t, 5, ne, dnb, 0);
    TRY(duet_copy(&dv, &sv));
    give(s, &tc);
    return DUET_OK;
}

/* Up_ResidualBlock i. Consumes *x; the result replaces it. */
static duet_status up_level(duet_vae_session *s, int i, bool first, act *x) {
    const vae_level *l = &s->m->level[i];
    act in = *x, cur = *x;
    for (int k = 0; k < l->n_res; k++) {
        act next;
        TRY(res_forward(s, &l->res[k], &s->res[i][k], &cur.t, &next));
        if (cur.slot != in.slot) give(s, &cur);
        cur = next;
    }
    if (!l->up) {
        if (cur.slot != in.slot) give(s, &in);
        *x = cur;
        return DUET_OK;
    }
    if (l->t_up && !first) TRY(time_up(s, l, s->time_cache[i], &cur));
    const int64_t w = cur.t.ne[0], h = cur.t.ne[1], t = cur.t.ne[2], c = l->cout;
    act up = take(s, 2 * w, 2 * h, t, c);
    const int factor[3] = {2, 2, 1};
    TRY(duet_upsample_nearest(&up.t, &cur.t, factor));
    if (cur.slot != in.slot) give(s, &cur);
    act y = take(s, 2 * w, 2 * h, t, c);
    TRY(causal_conv(&y.t, &up.t, &l->resample, NULL));
    give(s, &up);
    TRY(dup_up(s, l, &in.t, first, &y.t));
    give(s, &in);
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
        duet_tensor z = duet_vae_view(s->zeros, 4, c->ne, c->nb, 0);
        TRY(duet_copy(c, &z));
    }
    return DUET_OK;
}

/* conv2, decoder.conv1 and the middle on latent frame `index`. */
static duet_status head_in(duet_vae_session *s, const duet_tensor *lat, int64_t index, act *x) {
    const duet_vae *m = s->m;
    act a = take(s, s->w, s->h, 1, m->info.z_dim);
    duet_tensor frame = frames(lat, index, 1);
    TRY(duet_affine(&a.t, &frame, m->std, m->mean)); /* un-normalize */
    act b = take(s, s->w, s->h, 1, m->info.z_dim);
    TRY(causal_conv(&b.t, &a.t, &m->conv2, NULL));
    give(s, &a);
    a = take(s, s->w, s->h, 1, m->c0);
    TRY(causal_conv(&a.t, &b.t, &m->conv1, s->conv1_cache));
    give(s, &b);
    TRY(res_forward(s, &m->mid0, &s->mid[0], &a.t, &b));
    give(s, &a);
    TRY(attn_forward(s, &m->attn, &b.t));
    TRY(res_forward(s, &m->mid2, &s->mid[1], &b.t, x));
    give(s, &b);
    return DUET_OK;
}

duet_status duet_vae_decode_chunk(duet_vae_session *s, const duet_tensor *latents,
                                  int64_t index, const duet_tensor **pixels) {
    if (!s || !latents || !pixels) {
        DUET_LOGE("duet_vae_decode_chunk: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    *pixels = NULL;
    TRY(check_latents(s, latents, index));
    const duet_vae *m = s->m;
    const bool first = index == 0;
    s->next_index = -1; /* until this chunk completes */
    memset(s->busy, 0, sizeof s->busy);
    if (first) TRY(reset_caches(s));
    act x;
    TRY(head_in(s, latents, index, &x));
    for (int i = 0; i < m->info.n_levels; i++) TRY(up_level(s, i, first, &x));
    act a;
    TRY(norm_silu(s, &x.t, m->head_gamma, &a));
    give(s, &x);
    const int64_t w = a.t.ne[0], h = a.t.ne[1], t = a.t.ne[2], p = m->info.patch;
    act y = take(s, w, h, t, m->head.cout);
    TRY(causal_conv(&y.t, &a.t, &m->head, s->head_cache));
    give(s, &a);
    act px = take(s, w * p, h * p, t, 3);
    TRY(duet_pixel_shuffle(&px.t, &y.t, (int)p)); /* unpatchify */
    give(s, &y);
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
        TRY(duet_vae_decode_chunk(s, latents, i, &px));
        TRY(duet_tensor_get_f32(px, s->host));
        const int64_t f0 = i ? 1 + in->temporal_factor * (i - 1) : 0;
        duet_vae_pixels_to_rgb8(s->host, fw, fh, px->ne[2], rgb + (size_t)f0 * frame);
    }
    return DUET_OK;
}
