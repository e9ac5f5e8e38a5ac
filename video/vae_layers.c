/* duet — the video VAE's shared layers and strict weight loader (see vae_layers.h), used by
 * the decoder (video/vae_*.c) and the reference-image encoder (encoders/video_encoder.c).
 * Mirrors ResidualBlock, AttentionBlock, RMS_norm and CausalConv3d (with its feat_cache) of
 * Wan-Video/Wan2.2 wan/modules/vae2_2.py as restated by tools/duet_tiny/video_vae.py. */
#include "vae_layers.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/ops.h"

/* ================================================================ loading */

duet_status duet_vae_load_conv(duet_weights *ld, const char *name, int64_t cout, int64_t cin,
                               int64_t kt, int64_t k, vae_conv *c) {
    const int64_t w5[5] = {cout, cin, kt, k, k}, w4[4] = {cout, cin, k, k}, bs[1] = {cout};
    duet_status s = kt ? duet_weights_load(ld, DUET_WEIGHT_MATRIX, 5, w5, &c->w, "%s.weight", name)
                       : duet_weights_load(ld, DUET_WEIGHT_MATRIX, 4, w4, &c->w, "%s.weight", name);
    if (s == DUET_OK && !kt) {
        const int64_t ne[5] = {k, k, 1, cin, cout};
        s = duet_weights_reshape(ld, &c->w, 5, ne);
    }
    if (s == DUET_OK) s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, bs, &c->b, "%s.bias", name);
    c->k[0] = c->k[1] = k;
    c->k[2] = kt ? kt : 1;
    c->cin = cin;
    c->cout = cout;
    return s;
}

duet_status duet_vae_load_gamma(duet_weights *ld, const char *name, int64_t c, int n_dims,
                                duet_tensor **out) {
    const int64_t shape[4] = {c, 1, 1, 1}, ne[1] = {c};
    duet_status s = duet_weights_load(ld, DUET_WEIGHT_F32, n_dims, shape, out, "%s", name);
    return s == DUET_OK ? duet_weights_reshape(ld, out, 1, ne) : s;
}

duet_status duet_vae_load_res(duet_weights *ld, const char *base, int64_t cin, int64_t cout,
                              vae_res *r) {
    char n[DUET_NAME_MAX];
    r->cin = cin;
    r->cout = cout;
    snprintf(n, sizeof n, "%s.residual.0.gamma", base);
    duet_status s = duet_vae_load_gamma(ld, n, cin, 4, &r->gamma1);
    snprintf(n, sizeof n, "%s.residual.2", base);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, n, cout, cin, 3, 3, &r->conv1);
    snprintf(n, sizeof n, "%s.residual.3.gamma", base);
    if (s == DUET_OK) s = duet_vae_load_gamma(ld, n, cout, 4, &r->gamma2);
    snprintf(n, sizeof n, "%s.residual.6", base);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, n, cout, cout, 3, 3, &r->conv2);
    snprintf(n, sizeof n, "%s.shortcut", base);
    if (s == DUET_OK && cin != cout) s = duet_vae_load_conv(ld, n, cout, cin, 1, 1, &r->shortcut);
    return s;
}

duet_status duet_vae_load_attn(duet_weights *ld, const char *base, int64_t c, vae_attn *a) {
    char n[DUET_NAME_MAX];
    const int64_t qkv[4] = {3 * c, c, 1, 1}, proj[4] = {c, c, 1, 1}, qb[1] = {3 * c},
                  pb[1] = {c}, qkv2[2] = {c, 3 * c}, proj2[2] = {c, c};
    a->c = c;
    snprintf(n, sizeof n, "%s.norm.gamma", base);
    duet_status s = duet_vae_load_gamma(ld, n, c, 3, &a->gamma);
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_MATRIX, 4, qkv, &a->qkv_w, "%s.to_qkv.weight", base);
    if (s == DUET_OK) s = duet_weights_reshape(ld, &a->qkv_w, 2, qkv2);
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, qb, &a->qkv_b, "%s.to_qkv.bias", base);
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_MATRIX, 4, proj, &a->proj_w, "%s.proj.weight", base);
    if (s == DUET_OK) s = duet_weights_reshape(ld, &a->proj_w, 2, proj2);
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, pb, &a->proj_b, "%s.proj.bias", base);
    return s;
}

/* ================================================================ forward */

duet_status duet_vae_slots_new(vae_slots *s, duet_arena *arena, duet_backend *be, int64_t elems,
                               const char *name) {
    memset(s, 0, sizeof *s);
    s->elems = elems;
    for (int i = 0; i < VAE_N_SLOTS; i++) {
        if (!(s->slot[i] = duet_tensor_new4(arena, be, DUET_F32, elems, 1, 1, 1)))
            return DUET_ERR_OUT_OF_MEMORY;
        char full[DUET_NAME_MAX];
        snprintf(full, sizeof full, "%s.slot%d", name, i);
        duet_tensor_set_name(s->slot[i], full);
    }
    return DUET_OK;
}

void duet_vae_slots_reset(vae_slots *s) { memset(s->busy, 0, sizeof s->busy); }

vae_act duet_vae_take(vae_slots *s, int64_t ne0, int64_t ne1, int64_t ne2, int64_t ne3) {
    vae_act a = {.slot = -1};
    for (int i = 0; i < VAE_N_SLOTS && a.slot < 0; i++)
        if (!s->busy[i]) a.slot = i;
    DUET_ASSERT(a.slot >= 0 && ne0 * ne1 * ne2 * ne3 <= s->elems); /* the plan provides it */
    s->busy[a.slot] = true;
    const size_t f = sizeof(float);
    const int64_t ne[4] = {ne0, ne1, ne2, ne3};
    const size_t nb[4] = {f, f * (size_t)ne0, f * (size_t)(ne0 * ne1),
                          f * (size_t)(ne0 * ne1 * ne2)};
    a.t = duet_view_at(s->slot[a.slot], 4, ne, nb, 0);
    return a;
}

void duet_vae_give(vae_slots *s, vae_act *a) {
    if (a->slot >= 0 && a->slot < VAE_N_SLOTS) s->busy[a->slot] = false;
    a->slot = -1;
}

duet_tensor duet_vae_frames(const duet_tensor *x, int64_t t0, int64_t n) {
    const int64_t ne[4] = {x->ne[0], x->ne[1], n, x->ne[3]};
    return duet_view_at(x, 4, ne, x->nb, (size_t)t0 * x->nb[2]);
}

/* The cache keeps the last Tc frames of [cache, x] along time (Wan's feat_cache). */
static duet_status update_cache(duet_tensor *cache, const duet_tensor *x) {
    const int64_t tc = cache->ne[2], t = x->ne[2];
    if (t >= tc) {
        duet_tensor src = duet_vae_frames(x, t - tc, tc);
        return duet_copy(cache, &src);
    }
    DUET_ASSERT(tc <= 2 * t); /* the shift below must not overlap itself */
    duet_tensor keep_dst = duet_vae_frames(cache, 0, tc - t);
    duet_tensor keep_src = duet_vae_frames(cache, t, tc - t);
    duet_tensor tail = duet_vae_frames(cache, tc - t, t);
    VAE_TRY(duet_copy(&keep_dst, &keep_src));
    return duet_copy(&tail, x);
}

duet_status duet_vae_causal_conv(duet_tensor *dst, const duet_tensor *x, const vae_conv *c,
                                 duet_tensor *cache) {
    const int st[3] = {1, 1, 1};
    VAE_TRY(duet_conv3d(dst, x, c->w, c->b, cache, st, (int)(c->k[0] - 1) / 2,
                        (int)(c->k[1] - 1) / 2, (int)(c->k[2] - 1)));
    return cache ? update_cache(cache, x) : DUET_OK;
}

duet_status duet_vae_channel_norm(vae_slots *s, const duet_tensor *x, const duet_tensor *gamma,
                                  vae_act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = x->ne[3];
    *out = duet_vae_take(s, c, w, h, t);
    const int64_t ne[4] = {c, w, h, t};
    const size_t nb[4] = {x->nb[3], x->nb[0], x->nb[1], x->nb[2]};
    duet_tensor xt = duet_view_at(x, 4, ne, nb, 0);
    VAE_TRY(duet_copy(&out->t, &xt));
    return duet_rmsnorm(&out->t, &out->t, gamma, VAE_NORM_EPS);
}

duet_status duet_vae_norm_silu(vae_slots *s, const duet_tensor *x, const duet_tensor *gamma,
                               vae_act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = x->ne[3];
    vae_act n;
    VAE_TRY(duet_vae_channel_norm(s, x, gamma, &n));
    *out = duet_vae_take(s, w, h, t, c);
    const int64_t ne[4] = {w, h, t, c};
    const size_t f = sizeof(float);
    const size_t nb[4] = {f * (size_t)c, f * (size_t)(c * w), f * (size_t)(c * w * h), f};
    duet_tensor back = duet_view_at(&n.t, 4, ne, nb, 0);
    duet_status st = duet_unary(&out->t, &back, DUET_UNARY_SILU);
    duet_vae_give(s, &n);
    return st;
}

duet_status duet_vae_res_forward(vae_slots *s, const vae_res *r, vae_res_cache *cache,
                                 const duet_tensor *x, vae_act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2];
    vae_act a, mid;
    VAE_TRY(duet_vae_norm_silu(s, x, r->gamma1, &a));
    mid = duet_vae_take(s, w, h, t, r->cout);
    VAE_TRY(duet_vae_causal_conv(&mid.t, &a.t, &r->conv1, cache ? cache->c1 : NULL));
    duet_vae_give(s, &a);
    VAE_TRY(duet_vae_norm_silu(s, &mid.t, r->gamma2, &a));
    duet_vae_give(s, &mid);
    *out = duet_vae_take(s, w, h, t, r->cout);
    VAE_TRY(duet_vae_causal_conv(&out->t, &a.t, &r->conv2, cache ? cache->c2 : NULL));
    duet_vae_give(s, &a);
    if (!r->shortcut.w) return duet_add(&out->t, &out->t, x);
    vae_act sc = duet_vae_take(s, w, h, t, r->cout);
    VAE_TRY(duet_vae_causal_conv(&sc.t, x, &r->shortcut, NULL));
    VAE_TRY(duet_add(&out->t, &out->t, &sc.t));
    duet_vae_give(s, &sc);
    return DUET_OK;
}

duet_status duet_vae_attn_forward(vae_slots *s, const vae_attn *at, duet_tensor *x) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = at->c, hw = w * h;
    const size_t f = sizeof(float);
    vae_act n, qkv, o, proj;
    VAE_TRY(duet_vae_channel_norm(s, x, at->gamma, &n));
    qkv = duet_vae_take(s, 3 * c, hw * t, 1, 1);
    const int64_t ne2[2] = {c, hw * t};
    duet_tensor n2 = duet_view_at(&n.t, 2, ne2, n.t.nb, 0);
    VAE_TRY(duet_matmul(&qkv.t, &n2, at->qkv_w, at->qkv_b, false));
    duet_vae_give(s, &n);
    const int64_t ne[4] = {c, 1, hw, t};
    const size_t nb[4] = {f, 3 * c * f, 3 * c * f, 3 * c * hw * f};
    duet_tensor q = duet_view_at(&qkv.t, 4, ne, nb, 0);
    duet_tensor k = duet_view_at(&qkv.t, 4, ne, nb, c * f);
    duet_tensor v = duet_view_at(&qkv.t, 4, ne, nb, 2 * c * f);
    o = duet_vae_take(s, c, 1, hw, t);
    VAE_TRY(duet_attention(&o.t, &q, &k, &v, NULL, 1.0f / sqrtf((float)c)));
    duet_vae_give(s, &qkv);
    proj = duet_vae_take(s, c, hw * t, 1, 1);
    duet_tensor o2 = duet_view_at(&o.t, 2, ne2, o.t.nb, 0);
    VAE_TRY(duet_matmul(&proj.t, &o2, at->proj_w, at->proj_b, false));
    duet_vae_give(s, &o);
    const int64_t xe[4] = {w, h, t, c};
    const size_t xb[4] = {c * f, c * w * f, c * w * h * f, f};
    duet_tensor back = duet_view_at(&proj.t, 4, xe, xb, 0);
    VAE_TRY(duet_add(x, x, &back));
    duet_vae_give(s, &proj);
    return DUET_OK;
}
