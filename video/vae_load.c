/* duet — loading the video VAE decoder's weights: the architecture is read from the names and
 * shapes present (levels, residual blocks per level, widths, temporal upsampling), then every
 * tensor is loaded with the shape that architecture needs and nothing under the decoder's
 * names may be left unused. Mirrors the parameter layout of Decoder3d and WanVAE_.conv2 in
 * Wan-Video/Wan2.2 wan/modules/vae2_2.py (tools/duet_tiny/video_vae.py restates it). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "vae_internal.h"

#define NAME_MAX_LEN DUET_NAME_MAX

typedef struct {
    const duet_safetensors *st;
    const char *prefix;
    duet_dtype weight_dtype; /* DUET_DTYPE_COUNT: as stored */
    duet_arena *arena;
    duet_backend *be;
    const char **used;       /* names loaded (pointers into st) */
    size_t n_used, cap;
} loader;

duet_vae_load_params duet_vae_default_load_params(void) {
    duet_vae_load_params p = {.weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

/* prefix + printf(fmt, ...) into full; false when it does not fit. */
static bool full_name(const loader *ld, char *full, const char *fmt, va_list ap) {
    int n = snprintf(full, NAME_MAX_LEN, "%s", ld->prefix);
    if (n < 0 || n >= NAME_MAX_LEN) return false;
    int m = vsnprintf(full + n, NAME_MAX_LEN - (size_t)n, fmt, ap);
    return m >= 0 && m < NAME_MAX_LEN - n;
}

static const duet_safetensors_tensor *find(const loader *ld, const char *fmt, ...) {
    char full[NAME_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    bool ok = full_name(ld, full, fmt, ap);
    va_end(ap);
    return ok ? duet_safetensors_find(ld->st, full) : NULL;
}

/* Dim i of a file tensor in PyTorch order (outermost first); 0 if it has fewer dims. */
static int64_t pt_dim(const duet_safetensors_tensor *t, int i) {
    return i < t->n_dims ? t->ne[t->n_dims - 1 - i] : 0;
}

/* Loads prefix + name with PyTorch shape `shape` (n_dims, outermost first). Matrices (conv
 * kernels, 1x1 projections) keep the file's dtype unless the caller forces one. */
static duet_status load(loader *ld, const char *name, bool matrix, int n_dims,
                        const int64_t *shape, duet_tensor **out) {
    char full[NAME_MAX_LEN];
    int len = snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    if (len < 0 || (size_t)len >= sizeof full) {
        DUET_LOGE("vae: tensor name %s%s is too long", ld->prefix, name);
        return DUET_ERR_INVALID_ARG;
    }
    const duet_safetensors_tensor *t = duet_safetensors_find(ld->st, full);
    duet_dtype dt = DUET_F32;
    if (matrix && t && t->dtype != DUET_I32)
        dt = ld->weight_dtype != DUET_DTYPE_COUNT ? ld->weight_dtype : t->dtype;
    int64_t ne[DUET_MAX_DIMS];
    for (int i = 0; i < n_dims; i++) ne[i] = shape[n_dims - 1 - i];
    duet_status s = duet_safetensors_load_shaped(ld->st, full, ld->arena, ld->be, dt, n_dims, ne,
                                                 out);
    if (s == DUET_OK && ld->n_used < ld->cap) ld->used[ld->n_used++] = t->name;
    return s;
}

static duet_status reshape(loader *ld, duet_tensor **t, int n_dims, const int64_t *ne) {
    duet_tensor *v = duet_reshape(ld->arena, *t, n_dims, ne);
    if (!v) return DUET_ERR_OUT_OF_MEMORY;
    *t = v;
    return DUET_OK;
}

/* <name>.weight [cout, cin, kt, kh, kw] (or a Conv2d's [cout, cin, kh, kw] when kt == 0,
 * viewed as kt = 1) and <name>.bias [cout]. */
static duet_status load_conv(loader *ld, const char *name, int64_t cout, int64_t cin, int64_t kt,
                             int64_t k, vae_conv *c) {
    char wn[NAME_MAX_LEN], bn[NAME_MAX_LEN];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    const int64_t w5[5] = {cout, cin, kt, k, k}, w4[4] = {cout, cin, k, k}, bs[1] = {cout};
    duet_status s = kt ? load(ld, wn, true, 5, w5, &c->w) : load(ld, wn, true, 4, w4, &c->w);
    if (s == DUET_OK && !kt) {
        const int64_t ne[5] = {k, k, 1, cin, cout};
        s = reshape(ld, &c->w, 5, ne);
    }
    if (s == DUET_OK) s = load(ld, bn, false, 1, bs, &c->b);
    c->k[0] = c->k[1] = k;
    c->k[2] = kt ? kt : 1;
    c->cin = cin;
    c->cout = cout;
    return s;
}

/* RMS_norm gamma [c, 1, 1, 1] (images=False) or [c, 1, 1] (images=True), kept as [c]. */
static duet_status load_gamma(loader *ld, const char *name, int64_t c, int n_dims,
                              duet_tensor **out) {
    const int64_t shape[4] = {c, 1, 1, 1}, ne[1] = {c};
    duet_status s = load(ld, name, false, n_dims, shape, out);
    return s == DUET_OK ? reshape(ld, out, 1, ne) : s;
}

static duet_status load_res(loader *ld, const char *base, int64_t cin, int64_t cout,
                            vae_res *r) {
    char n[NAME_MAX_LEN];
    r->cin = cin;
    r->cout = cout;
    snprintf(n, sizeof n, "%s.residual.0.gamma", base);
    duet_status s = load_gamma(ld, n, cin, 4, &r->gamma1);
    snprintf(n, sizeof n, "%s.residual.2", base);
    if (s == DUET_OK) s = load_conv(ld, n, cout, cin, 3, 3, &r->conv1);
    snprintf(n, sizeof n, "%s.residual.3.gamma", base);
    if (s == DUET_OK) s = load_gamma(ld, n, cout, 4, &r->gamma2);
    snprintf(n, sizeof n, "%s.residual.6", base);
    if (s == DUET_OK) s = load_conv(ld, n, cout, cout, 3, 3, &r->conv2);
    snprintf(n, sizeof n, "%s.shortcut", base);
    if (s == DUET_OK && cin != cout) s = load_conv(ld, n, cout, cin, 1, 1, &r->shortcut);
    return s;
}

static duet_status load_attn(loader *ld, const char *base, int64_t c, vae_attn *a) {
    char n[NAME_MAX_LEN];
    const int64_t qkv[4] = {3 * c, c, 1, 1}, proj[4] = {c, c, 1, 1}, qb[1] = {3 * c},
                  pb[1] = {c};
    const int64_t qkv2[2] = {c, 3 * c}, proj2[2] = {c, c};
    a->c = c;
    snprintf(n, sizeof n, "%s.norm.gamma", base);
    duet_status s = load_gamma(ld, n, c, 3, &a->gamma);
    snprintf(n, sizeof n, "%s.to_qkv.weight", base);
    if (s == DUET_OK) s = load(ld, n, true, 4, qkv, &a->qkv_w);
    if (s == DUET_OK) s = reshape(ld, &a->qkv_w, 2, qkv2);
    snprintf(n, sizeof n, "%s.to_qkv.bias", base);
    if (s == DUET_OK) s = load(ld, n, false, 1, qb, &a->qkv_b);
    snprintf(n, sizeof n, "%s.proj.weight", base);
    if (s == DUET_OK) s = load(ld, n, true, 4, proj, &a->proj_w);
    if (s == DUET_OK) s = reshape(ld, &a->proj_w, 2, proj2);
    snprintf(n, sizeof n, "%s.proj.bias", base);
    if (s == DUET_OK) s = load(ld, n, false, 1, pb, &a->proj_b);
    return s;
}

/* ---------------------------------------------------------------- architecture */

static duet_status missing(const loader *ld, const char *name) {
    DUET_LOGE("%s: tensor %s%s not found (needed to read the VAE decoder's layout)",
              duet_safetensors_name(ld->st), ld->prefix, name);
    return DUET_ERR_NOT_FOUND;
}

/* Levels, residual blocks, widths and resampling from the names present. */
static duet_status read_layout(const loader *ld, duet_vae *m) {
    const duet_safetensors_tensor *mean = find(ld, "latent_mean");
    const duet_safetensors_tensor *c1 = find(ld, "decoder.conv1.weight");
    if (!mean) return missing(ld, "latent_mean");
    if (!c1) return missing(ld, "decoder.conv1.weight");
    m->info.z_dim = pt_dim(mean, 0);
    m->c0 = pt_dim(c1, 0);
    int n = 0;
    while (n < VAE_MAX_LEVELS && find(ld, "decoder.upsamples.%d.upsamples.0.residual.0.gamma", n))
        n++;
    if (n == 0) return missing(ld, "decoder.upsamples.0.upsamples.0.residual.0.gamma");
    m->info.n_levels = n;
    int64_t cin = m->c0;
    m->info.spatial_factor = 1;
    m->info.temporal_factor = 1;
    for (int i = 0; i < n; i++) {
        vae_level *l = &m->level[i];
        while (l->n_res < VAE_MAX_RES &&
               find(ld, "decoder.upsamples.%d.upsamples.%d.residual.0.gamma", i, l->n_res))
            l->n_res++;
        const duet_safetensors_tensor *w =
            find(ld, "decoder.upsamples.%d.upsamples.0.residual.2.weight", i);
        if (!w) {
            char nm[NAME_MAX_LEN];
            snprintf(nm, sizeof nm, "decoder.upsamples.%d.upsamples.0.residual.2.weight", i);
            return missing(ld, nm);
        }
        l->cin = cin;
        l->cout = cin = pt_dim(w, 0);
        l->up = find(ld, "decoder.upsamples.%d.upsamples.%d.resample.1.weight", i, l->n_res);
        l->t_up = find(ld, "decoder.upsamples.%d.upsamples.%d.time_conv.weight", i, l->n_res);
        m->info.spatial_factor *= l->up ? 2 : 1;
        m->info.temporal_factor *= l->t_up ? 2 : 1;
    }
    m->info.base_dim = cin;
    m->info.n_res_blocks = m->level[0].n_res;
    const duet_safetensors_tensor *head = find(ld, "decoder.head.2.weight");
    if (!head) return missing(ld, "decoder.head.2.weight");
    m->info.patch = 1;
    while (3 * (m->info.patch + 1) * (m->info.patch + 1) <= pt_dim(head, 0)) m->info.patch++;
    m->info.spatial_factor *= m->info.patch;
    return DUET_OK;
}

/* DupUp3D picks input channel co g + (offset g) / N for output channel co and the offset
 * inside its ft x 2 x 2 block (g = cin / cout, N = 4 ft): duet implements g dividing N. */
static duet_status check_layout(const loader *ld, const duet_vae *m) {
    const duet_vae_info *in = &m->info;
    bool ok = in->z_dim >= 1 && m->c0 >= 1 && in->base_dim >= 1 &&
              3 * in->patch * in->patch == pt_dim(find(ld, "decoder.head.2.weight"), 0);
    for (int i = 0; ok && i < in->n_levels; i++) {
        const vae_level *l = &m->level[i];
        int64_t n = (l->t_up ? 2 : 1) * 4;
        ok = l->cout >= 1 && (!l->t_up || l->up);
        if (ok && l->up && (l->cin % l->cout || n % (l->cin / l->cout))) {
            DUET_LOGE("%s: %sdecoder.upsamples.%d: a DupUp3D from %lld to %lld channels is not "
                      "supported (the ratio must divide %lld)", duet_safetensors_name(ld->st),
                      ld->prefix, i, (long long)l->cin, (long long)l->cout, (long long)n);
            return DUET_ERR_UNSUPPORTED;
        }
    }
    if (!ok) {
        DUET_LOGE("%s: %sdecoder.*: not a Wan2.2 VAE decoder layout (head channels, widths or a "
                  "time_conv without resample)", duet_safetensors_name(ld->st), ld->prefix);
        return DUET_ERR_FORMAT;
    }
    return DUET_OK;
}

static duet_status load_levels(loader *ld, duet_vae *m) {
    duet_status s = DUET_OK;
    char base[NAME_MAX_LEN];
    for (int i = 0; i < m->info.n_levels && s == DUET_OK; i++) {
        vae_level *l = &m->level[i];
        for (int k = 0; k < l->n_res && s == DUET_OK; k++) {
            snprintf(base, sizeof base, "decoder.upsamples.%d.upsamples.%d", i, k);
            s = load_res(ld, base, k ? l->cout : l->cin, l->cout, &l->res[k]);
        }
        snprintf(base, sizeof base, "decoder.upsamples.%d.upsamples.%d.resample.1", i, l->n_res);
        if (s == DUET_OK && l->up) s = load_conv(ld, base, l->cout, l->cout, 0, 3, &l->resample);
        snprintf(base, sizeof base, "decoder.upsamples.%d.upsamples.%d.time_conv", i, l->n_res);
        if (s == DUET_OK && l->t_up)
            s = load_conv(ld, base, 2 * l->cout, l->cout, 3, 1, &l->time_conv);
    }
    return s;
}

static duet_status load_all(loader *ld, duet_vae *m) {
    const int64_t z = m->info.z_dim, zs[1] = {z}, z4[4] = {1, 1, 1, z};
    duet_status s = load(ld, "latent_mean", false, 1, zs, &m->mean);
    if (s == DUET_OK) s = reshape(ld, &m->mean, 4, z4);
    if (s == DUET_OK) s = load(ld, "latent_std", false, 1, zs, &m->std);
    if (s == DUET_OK) s = reshape(ld, &m->std, 4, z4);
    if (s == DUET_OK) s = load_conv(ld, "conv2", z, z, 1, 1, &m->conv2);
    if (s == DUET_OK) s = load_conv(ld, "decoder.conv1", m->c0, z, 3, 3, &m->conv1);
    if (s == DUET_OK) s = load_res(ld, "decoder.middle.0", m->c0, m->c0, &m->mid0);
    if (s == DUET_OK) s = load_attn(ld, "decoder.middle.1", m->c0, &m->attn);
    if (s == DUET_OK) s = load_res(ld, "decoder.middle.2", m->c0, m->c0, &m->mid2);
    if (s == DUET_OK) s = load_levels(ld, m);
    const int64_t cl = m->info.base_dim, p = m->info.patch;
    if (s == DUET_OK) s = load_gamma(ld, "decoder.head.0.gamma", cl, 4, &m->head_gamma);
    if (s == DUET_OK) s = load_conv(ld, "decoder.head.2", 3 * p * p, cl, 3, 3, &m->head);
    return s;
}

/* Every tensor under the decoder's names must have been loaded. */
static duet_status check_unused(const loader *ld) {
    static const char *const owned[] = {"decoder.", "conv2.", "latent_mean", "latent_std"};
    size_t np = strlen(ld->prefix), n_bad = 0;
    for (size_t i = 0; i < duet_safetensors_count(ld->st); i++) {
        const char *name = duet_safetensors_get(ld->st, i)->name;
        if (strncmp(name, ld->prefix, np)) continue;
        bool mine = false, used = false;
        for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
            mine |= !strncmp(name + np, owned[k], strlen(owned[k]));
        for (size_t k = 0; mine && !used && k < ld->n_used; k++) used = ld->used[k] == name;
        if (mine && !used && n_bad++ < 8)
            DUET_LOGE("%s: tensor %s: not used by the VAE decoder", duet_safetensors_name(ld->st),
                      name);
    }
    if (n_bad > 8) DUET_LOGE("%s: ... %zu unused tensors in all", duet_safetensors_name(ld->st),
                             n_bad);
    return n_bad ? DUET_ERR_FORMAT : DUET_OK;
}

static duet_status load_model(loader *ld, duet_vae *m) {
    duet_status s = read_layout(ld, m);
    if (s == DUET_OK) s = check_layout(ld, m);
    if (s == DUET_OK) s = load_all(ld, m);
    if (s == DUET_OK) s = check_unused(ld);
    return s;
}

duet_status duet_vae_load(const duet_safetensors *st, const char *prefix, duet_backend *be,
                          const duet_vae_load_params *p, duet_vae **out) {
    duet_vae_load_params lp = p ? *p : duet_vae_default_load_params();
    if (out) *out = NULL;
    if (!st || !prefix || !be || !out || strlen(prefix) > 32 ||
        (lp.weight_dtype != DUET_DTYPE_COUNT && lp.weight_dtype != DUET_F32 &&
         lp.weight_dtype != DUET_F16 && lp.weight_dtype != DUET_BF16)) {
        DUET_LOGE("duet_vae_load: bad arguments");
        return DUET_ERR_INVALID_ARG;
    }
    duet_vae *m = duet_calloc(1, sizeof *m);
    loader ld = {st, prefix, lp.weight_dtype, NULL, be, NULL, 0, duet_safetensors_count(st)};
    ld.used = duet_malloc((ld.cap ? ld.cap : 1) * sizeof *ld.used);
    if (!m || !ld.used || !(m->arena = duet_arena_new(0))) {
        duet_free(ld.used);
        duet_free(m);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    m->be = be;
    ld.arena = m->arena;
    duet_status s = load_model(&ld, m);
    duet_free(ld.used);
    if (s != DUET_OK) {
        DUET_LOGE("%s: the VAE decoder's weights under \"%s\" do not load (%s)",
                  duet_safetensors_name(st), prefix, duet_status_str(s));
        duet_vae_free(&m);
        return s;
    }
    *out = m;
    return DUET_OK;
}

void duet_vae_free(duet_vae **m) {
    if (!m || !*m) return;
    duet_arena_free(&(*m)->arena);
    duet_free(*m);
    *m = NULL;
}

duet_vae_info duet_vae_get_info(const duet_vae *m) {
    duet_vae_info none = {0};
    return m ? m->info : none;
}

int64_t duet_vae_frames_out(const duet_vae *m, int64_t n_latent_frames) {
    if (!m || n_latent_frames < 1) return 0;
    return 1 + m->info.temporal_factor * (n_latent_frames - 1);
}
