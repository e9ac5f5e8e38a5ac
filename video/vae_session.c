/* duet — planning video VAE decoding for one latent size: the causal caches of every
 * convolution with a time kernel (Wan's feat_cache, CACHE_T = 2 frames) and a few activation
 * buffers ("slots") as large as the biggest activation of a chunk, allocated once; the chunks
 * that follow (vae_decoder.c) take and give back slots and allocate nothing. Sizes follow
 * Decoder3d in Wan-Video/Wan2.2 wan/modules/vae2_2.py: a later chunk is one latent frame that
 * each temporal upsample doubles. */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "vae_internal.h"

/* Latent sides beyond this are refused (a 16x VAE would make 1M-pixel-wide frames). */
#define MAX_LATENT_SIDE 65536

static duet_tensor *cache_new(duet_vae_session *s, int64_t w, int64_t h, const vae_conv *c,
                              const char *what) {
    duet_tensor *t = duet_tensor_new4(s->arena, s->m->be, DUET_F32, w, h, c->k[2] - 1, c->cin);
    if (!t) return NULL;
    char name[DUET_NAME_MAX];
    snprintf(name, sizeof name, "vae.cache.%s", what);
    duet_tensor_set_name(t, name);
    s->caches[s->n_caches++] = t;
    return t;
}

static bool plan_res_cache(duet_vae_session *s, int64_t w, int64_t h, const vae_res *r,
                           vae_res_cache *c, const char *what) {
    char n1[64], n2[64];
    snprintf(n1, sizeof n1, "%s.conv1", what);
    snprintf(n2, sizeof n2, "%s.conv2", what);
    c->c1 = cache_new(s, w, h, &r->conv1, n1);
    c->c2 = cache_new(s, w, h, &r->conv2, n2);
    return c->c1 && c->c2;
}

static duet_status plan_caches(duet_vae_session *s) {
    const duet_vae *m = s->m;
    int64_t w = s->w, h = s->h;
    bool ok = (s->conv1_cache = cache_new(s, w, h, &m->conv1, "conv1")) != NULL &&
              plan_res_cache(s, w, h, &m->mid0, &s->mid[0], "middle.0") &&
              plan_res_cache(s, w, h, &m->mid2, &s->mid[1], "middle.2");
    for (int i = 0; ok && i < m->info.n_levels; i++) {
        const vae_level *l = &m->level[i];
        for (int k = 0; ok && k < l->n_res; k++) {
            char what[48];
            snprintf(what, sizeof what, "up%d.res%d", i, k);
            ok = plan_res_cache(s, w, h, &l->res[k], &s->res[i][k], what);
        }
        if (ok && l->t_up)
            ok = (s->time_cache[i] = cache_new(s, w, h, &l->time_conv, "time")) != NULL;
        if (l->up) w *= 2, h *= 2;
    }
    if (ok) ok = (s->head_cache = cache_new(s, w, h, &m->head, "head")) != NULL;
    return ok ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

static void need(int64_t *max, int64_t n) {
    if (n > *max) *max = n;
}

/* The largest activation of a later chunk (chunk 0 has one frame everywhere: smaller). */
static int64_t largest_activation(const duet_vae *m, int64_t w, int64_t h) {
    int64_t max = 0, t = 1;
    need(&max, m->info.z_dim * w * h);
    need(&max, 3 * m->c0 * w * h); /* attention's q, k, v */
    for (int i = 0; i < m->info.n_levels; i++) {
        const vae_level *l = &m->level[i];
        need(&max, (l->cin > l->cout ? l->cin : l->cout) * w * h * t);
        if (!l->up) continue;
        if (l->t_up) {
            need(&max, 2 * l->cout * w * h * t);
            t *= 2;
        }
        w *= 2, h *= 2;
        need(&max, l->cout * w * h * t);
    }
    need(&max, m->head.cout * w * h * t);
    return max;
}

static duet_status plan(duet_vae_session *s) {
    const duet_vae *m = s->m;
    duet_status st = plan_caches(s);
    if (st != DUET_OK) return st;
    int64_t zmax = 0;
    for (int i = 0; i < s->n_caches; i++) need(&zmax, duet_nelements(s->caches[i]));
    s->zeros = duet_tensor_new4(s->arena, m->be, DUET_F32, zmax, 1, 1, 1);
    if (!s->zeros) return DUET_ERR_OUT_OF_MEMORY;
    st = duet_vae_slots_new(&s->slots, s->arena, m->be, largest_activation(m, s->w, s->h), "vae");
    if (st != DUET_OK) return st;
    const int64_t px = m->info.spatial_factor * m->info.spatial_factor * s->w * s->h;
    s->host = duet_malloc((size_t)(3 * px * m->info.temporal_factor) * sizeof(float));
    float *z = duet_calloc((size_t)zmax, sizeof(float));
    if (!s->host || !z) {
        duet_free(z);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    duet_tensor_set_name(s->zeros, "vae.zeros");
    st = duet_tensor_set_f32(s->zeros, z);
    duet_free(z);
    return st;
}

duet_status duet_vae_session_new(const duet_vae *m, int64_t latent_h, int64_t latent_w,
                                 duet_vae_session **out) {
    if (out) *out = NULL;
    if (!m || !out) {
        DUET_LOGE("duet_vae_session_new: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    if (latent_h < 1 || latent_w < 1 || latent_h > MAX_LATENT_SIDE ||
        latent_w > MAX_LATENT_SIDE) {
        DUET_LOGE("vae: latent size %lld x %lld out of range [1, %d]", (long long)latent_h,
                  (long long)latent_w, MAX_LATENT_SIDE);
        return DUET_ERR_INVALID_ARG;
    }
    duet_vae_session *s = duet_calloc(1, sizeof *s);
    if (!s || !(s->arena = duet_arena_new(0))) {
        duet_free(s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s->m = m;
    s->h = latent_h;
    s->w = latent_w;
    duet_status st = plan(s);
    if (st != DUET_OK) {
        DUET_LOGE("vae: cannot plan decoding of %lld x %lld latents (%s)", (long long)latent_h,
                  (long long)latent_w, duet_status_str(st));
        duet_vae_session_free(&s);
        return st;
    }
    *out = s;
    return DUET_OK;
}

void duet_vae_session_free(duet_vae_session **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free((*s)->host);
    duet_free(*s);
    *s = NULL;
}
