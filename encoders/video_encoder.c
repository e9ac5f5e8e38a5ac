/* duet — the video VAE encoder for one reference image (see video_encoder.h): loading (the
 * architecture read from the weights, then a strict load), planning per image size, and the
 * forward pass of Encoder3d on a single frame followed by WanVAE_.conv1's mean half and the
 * latent normalization. Mirrors Wan-Video/Wan2.2 wan/modules/vae2_2.py as restated by
 * tools/duet_tiny/video_vae.py. encoders/ may only call core/, so the few layer helpers it
 * shares in spirit with video/vae_decoder.c are its own (and simpler: one frame needs no
 * causal caches). Activations are [W, H, T = 1, C] views of planned slots. */
#include "video_encoder.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/ops.h"

#define MAX_LEVELS 8
#define MAX_RES 8
#define N_SLOTS 6
#define NORM_EPS 1e-24f /* RMS_norm = F.normalize (eps 1e-12 on the norm) * sqrt(C): see vae */
#define MAX_SIDE (1 << 20)
#define NAME_LEN DUET_NAME_MAX

#define TRY(e)                                                                                 \
    do {                                                                                       \
        duet_status s_ = (e);                                                                  \
        if (s_ != DUET_OK) return s_;                                                          \
    } while (0)

typedef struct {
    duet_tensor *w;        /* [kw, kh, kt, Cin, Cout]; a Conv2d's [kw, kh, Cin, Cout] */
    duet_tensor *b;        /* [Cout] */
    int64_t k[3];          /* kw, kh, kt */
} enc_conv;

typedef struct {
    int64_t cin, cout;
    duet_tensor *gamma1;   /* residual.0.gamma [cin, 1, 1, 1] as [cin] */
    enc_conv conv1;        /* residual.2 [cout, cin, 3, 3, 3] */
    duet_tensor *gamma2;   /* residual.3.gamma [cout, 1, 1, 1] */
    enc_conv conv2;        /* residual.6 [cout, cout, 3, 3, 3] */
    enc_conv shortcut;     /* shortcut [cout, cin, 1, 1, 1] when cin != cout */
} enc_res;

typedef struct {
    int64_t c;
    duet_tensor *gamma;    /* norm.gamma [c, 1, 1] as [c] */
    duet_tensor *qkv_w;    /* to_qkv.weight [3c, c, 1, 1] as [c, 3c] */
    duet_tensor *qkv_b;    /* to_qkv.bias [3c] */
    duet_tensor *proj_w;   /* proj.weight [c, c, 1, 1] as [c, c] */
    duet_tensor *proj_b;   /* proj.bias [c] */
} enc_attn;

/* Down_ResidualBlock N: downsamples.N.downsamples.{0..n_res-1}, then the Resample. */
typedef struct {
    int64_t cin, cout;
    int n_res;
    enc_res res[MAX_RES];
    bool down, t_down;
    enc_conv resample;     /* downsamples.n_res.resample.1 [cout, cout, 3, 3] (Conv2d) */
    enc_conv time_conv;    /* downsamples.n_res.time_conv [cout, cout, 3, 1, 1]: unused */
} enc_level;

struct duet_video_encoder {
    duet_backend *be;
    duet_arena *arena;
    duet_video_encoder_info info;
    enc_conv conv1;        /* encoder.conv1 [dim, 3 p p, 3, 3, 3] */
    enc_level level[MAX_LEVELS];
    enc_res mid0;          /* encoder.middle.0 */
    enc_attn attn;         /* encoder.middle.1 */
    enc_res mid2;          /* encoder.middle.2 */
    duet_tensor *head_gamma; /* encoder.head.0.gamma [c_last, 1, 1, 1] */
    enc_conv head;         /* encoder.head.2 [2z, c_last, 3, 3, 3] */
    enc_conv mu;           /* conv1 [2z, 2z, 1, 1, 1]: the first z output channels */
    duet_tensor *inv_std;  /* 1 / latent_std, [1, 1, 1, z] */
    duet_tensor *shift;    /* -latent_mean / latent_std, [1, 1, 1, z] */
};

struct duet_video_encoder_session {
    const duet_video_encoder *e;
    int64_t height, width;
    duet_arena *arena;
    duet_tensor *image;    /* [width, height, 1, 3] in [-1, 1] */
    float *host;           /* the same on the host */
    duet_tensor *slot[N_SLOTS];
    bool busy[N_SLOTS];
    int64_t slot_elems;
};

/* ================================================================ loading */

typedef struct {
    const duet_safetensors *st;
    const char *prefix;
    duet_dtype weight_dtype;
    duet_arena *arena;
    duet_backend *be;
    const char **used;
    size_t n_used, cap;
} loader;

duet_video_encoder_load_params duet_video_encoder_default_load_params(void) {
    duet_video_encoder_load_params p = {.weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

static const duet_safetensors_tensor *find(const loader *ld, const char *fmt, ...) {
    char full[NAME_LEN];
    int n = snprintf(full, sizeof full, "%s", ld->prefix);
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(full + n, sizeof full - (size_t)n, fmt, ap);
    va_end(ap);
    return m >= 0 && m < (int)sizeof full - n ? duet_safetensors_find(ld->st, full) : NULL;
}

static int64_t pt_dim(const duet_safetensors_tensor *t, int i) {
    return t && i < t->n_dims ? t->ne[t->n_dims - 1 - i] : 0;
}

/* prefix + name with PyTorch shape (outermost first); matrices keep the file's dtype unless
 * forced. */
static duet_status load(loader *ld, const char *name, bool matrix, int n_dims,
                        const int64_t *shape, duet_tensor **out) {
    char full[NAME_LEN];
    int len = snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    if (len < 0 || (size_t)len >= sizeof full) return DUET_ERR_INVALID_ARG;
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

/* <name>.weight [cout, cin, kt, k, k] (kt == 0: a Conv2d [cout, cin, k, k], kept 4-D for
 * conv2d) and <name>.bias. */
static duet_status load_conv(loader *ld, const char *name, int64_t cout, int64_t cin, int64_t kt,
                             int64_t k, enc_conv *c) {
    char wn[NAME_LEN], bn[NAME_LEN];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    const int64_t w5[5] = {cout, cin, kt, k, k}, w4[4] = {cout, cin, k, k}, bs[1] = {cout};
    duet_status s = kt ? load(ld, wn, true, 5, w5, &c->w) : load(ld, wn, true, 4, w4, &c->w);
    if (s == DUET_OK) s = load(ld, bn, false, 1, bs, &c->b);
    c->k[0] = c->k[1] = k;
    c->k[2] = kt ? kt : 1;
    return s;
}

static duet_status load_gamma(loader *ld, const char *name, int64_t c, int n_dims,
                              duet_tensor **out) {
    const int64_t shape[4] = {c, 1, 1, 1}, ne[1] = {c};
    duet_status s = load(ld, name, false, n_dims, shape, out);
    return s == DUET_OK ? reshape(ld, out, 1, ne) : s;
}

static duet_status load_res(loader *ld, const char *base, int64_t cin, int64_t cout, enc_res *r) {
    char n[NAME_LEN];
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

static duet_status load_attn(loader *ld, const char *base, int64_t c, enc_attn *a) {
    char n[NAME_LEN];
    const int64_t qkv[4] = {3 * c, c, 1, 1}, proj[4] = {c, c, 1, 1}, qb[1] = {3 * c},
                  pb[1] = {c}, qkv2[2] = {c, 3 * c}, proj2[2] = {c, c};
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

static duet_status missing(const loader *ld, const char *name) {
    DUET_LOGE("%s: tensor %s%s not found (needed to read the VAE encoder's layout)",
              duet_safetensors_name(ld->st), ld->prefix, name);
    return DUET_ERR_NOT_FOUND;
}

/* Levels, blocks, widths and resampling from the names present; AvgDown3D's channel groups
 * must be its 2 x 2 (x time) blocks: cout = cin ft when down, cout = cin otherwise. */
static duet_status read_layout(const loader *ld, duet_video_encoder *e) {
    const duet_safetensors_tensor *mean = find(ld, "latent_mean"), *c1;
    if (!mean) return missing(ld, "latent_mean");
    if (!(c1 = find(ld, "encoder.conv1.weight"))) return missing(ld, "encoder.conv1.weight");
    duet_video_encoder_info *in = &e->info;
    in->z_dim = pt_dim(mean, 0);
    in->base_dim = pt_dim(c1, 0);
    in->patch = (int64_t)lround(sqrt((double)pt_dim(c1, 1) / 3.0));
    in->spatial_factor = in->patch;
    while (in->n_levels < MAX_LEVELS &&
           find(ld, "encoder.downsamples.%d.downsamples.0.residual.0.gamma", in->n_levels))
        in->n_levels++;
    if (!in->n_levels) return missing(ld, "encoder.downsamples.0.downsamples.0.residual.0.gamma");
    int64_t cin = in->base_dim;
    for (int i = 0; i < in->n_levels; i++) {
        enc_level *l = &e->level[i];
        while (l->n_res < MAX_RES &&
               find(ld, "encoder.downsamples.%d.downsamples.%d.residual.0.gamma", i, l->n_res))
            l->n_res++;
        l->cin = cin;
        l->cout = cin = pt_dim(find(ld, "encoder.downsamples.%d.downsamples.0.residual.2.weight",
                                    i), 0);
        l->down = find(ld, "encoder.downsamples.%d.downsamples.%d.resample.1.weight", i, l->n_res);
        l->t_down = find(ld, "encoder.downsamples.%d.downsamples.%d.time_conv.weight", i, l->n_res);
        in->spatial_factor *= l->down ? 2 : 1;
        if (l->cout != l->cin * (l->t_down ? 2 : 1) || (l->t_down && !l->down)) {
            DUET_LOGE("%s: %sencoder.downsamples.%d: an AvgDown3D from %lld to %lld channels "
                      "(%s) is not supported", duet_safetensors_name(ld->st), ld->prefix, i,
                      (long long)l->cin, (long long)l->cout,
                      l->t_down ? "2x in time" : "no time factor");
            return l->cout ? DUET_ERR_UNSUPPORTED : DUET_ERR_FORMAT;
        }
    }
    if (in->z_dim < 1 || 3 * in->patch * in->patch != pt_dim(c1, 1)) {
        DUET_LOGE("%s: %sencoder.conv1.weight: %lld input channels are not 3 p p",
                  duet_safetensors_name(ld->st), ld->prefix, (long long)pt_dim(c1, 1));
        return DUET_ERR_FORMAT;
    }
    return DUET_OK;
}

static duet_status load_levels(loader *ld, duet_video_encoder *e) {
    duet_status s = DUET_OK;
    char base[NAME_LEN];
    for (int i = 0; i < e->info.n_levels && s == DUET_OK; i++) {
        enc_level *l = &e->level[i];
        for (int k = 0; k < l->n_res && s == DUET_OK; k++) {
            snprintf(base, sizeof base, "encoder.downsamples.%d.downsamples.%d", i, k);
            s = load_res(ld, base, k ? l->cout : l->cin, l->cout, &l->res[k]);
        }
        snprintf(base, sizeof base, "encoder.downsamples.%d.downsamples.%d.resample.1", i,
                 l->n_res);
        if (s == DUET_OK && l->down) s = load_conv(ld, base, l->cout, l->cout, 0, 3, &l->resample);
        snprintf(base, sizeof base, "encoder.downsamples.%d.downsamples.%d.time_conv", i,
                 l->n_res);
        if (s == DUET_OK && l->t_down)
            s = load_conv(ld, base, l->cout, l->cout, 3, 1, &l->time_conv);
    }
    return s;
}

/* 1 / std and -mean / std, computed in double on the host, as [1, 1, 1, z]. */
static duet_status load_stats(loader *ld, duet_video_encoder *e) {
    const int64_t z = e->info.z_dim, zs[1] = {z};
    duet_tensor *mean = NULL, *std = NULL;
    duet_status s = load(ld, "latent_mean", false, 1, zs, &mean);
    if (s == DUET_OK) s = load(ld, "latent_std", false, 1, zs, &std);
    float *h = s == DUET_OK ? duet_malloc((size_t)(4 * z) * sizeof *h) : NULL;
    if (s == DUET_OK && !h) s = DUET_ERR_OUT_OF_MEMORY;
    if (s == DUET_OK) s = duet_tensor_get_f32(mean, h);
    if (s == DUET_OK) s = duet_tensor_get_f32(std, h + z);
    for (int64_t i = 0; s == DUET_OK && i < z; i++) {
        h[2 * z + i] = (float)(1.0 / h[z + i]);
        h[3 * z + i] = (float)(-(double)h[i] / h[z + i]);
    }
    if (s == DUET_OK) {
        e->inv_std = duet_tensor_new4(ld->arena, ld->be, DUET_F32, 1, 1, 1, z);
        e->shift = duet_tensor_new4(ld->arena, ld->be, DUET_F32, 1, 1, 1, z);
        s = e->inv_std && e->shift ? duet_tensor_set_f32(e->inv_std, h + 2 * z)
                                   : DUET_ERR_OUT_OF_MEMORY;
    }
    if (s == DUET_OK) s = duet_tensor_set_f32(e->shift, h + 3 * z);
    duet_free(h);
    return s;
}

static duet_status load_all(loader *ld, duet_video_encoder *e) {
    const duet_video_encoder_info *in = &e->info;
    const int64_t z = in->z_dim, p = in->patch;
    const int64_t cl = e->level[in->n_levels - 1].cout;
    duet_status s = load_stats(ld, e);
    if (s == DUET_OK) s = load_conv(ld, "encoder.conv1", in->base_dim, 3 * p * p, 3, 3, &e->conv1);
    if (s == DUET_OK) s = load_levels(ld, e);
    if (s == DUET_OK) s = load_res(ld, "encoder.middle.0", cl, cl, &e->mid0);
    if (s == DUET_OK) s = load_attn(ld, "encoder.middle.1", cl, &e->attn);
    if (s == DUET_OK) s = load_res(ld, "encoder.middle.2", cl, cl, &e->mid2);
    if (s == DUET_OK) s = load_gamma(ld, "encoder.head.0.gamma", cl, 4, &e->head_gamma);
    if (s == DUET_OK) s = load_conv(ld, "encoder.head.2", 2 * z, cl, 3, 3, &e->head);
    if (s == DUET_OK) s = load_conv(ld, "conv1", 2 * z, 2 * z, 1, 1, &e->mu);
    if (s == DUET_OK) { /* the mean half: output channels [0, z) lead in memory */
        const int64_t ne[5] = {1, 1, 1, 2 * z, z};
        duet_tensor *w = duet_view(ld->arena, e->mu.w, 5, ne, e->mu.w->nb, 0);
        duet_tensor *b = duet_slice(ld->arena, e->mu.b, 0, 0, z);
        e->mu.w = w;
        e->mu.b = b;
        s = w && b ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    }
    return s;
}

static duet_status check_unused(const loader *ld) {
    static const char *const owned[] = {"encoder.", "conv1.", "latent_mean", "latent_std"};
    size_t np = strlen(ld->prefix), n_bad = 0;
    for (size_t i = 0; i < duet_safetensors_count(ld->st); i++) {
        const char *name = duet_safetensors_get(ld->st, i)->name;
        if (strncmp(name, ld->prefix, np)) continue;
        bool mine = false, used = false;
        for (size_t k = 0; k < sizeof owned / sizeof owned[0]; k++)
            mine |= !strncmp(name + np, owned[k], strlen(owned[k]));
        for (size_t k = 0; mine && !used && k < ld->n_used; k++) used = ld->used[k] == name;
        if (mine && !used && n_bad++ < 8)
            DUET_LOGE("%s: tensor %s: not used by the VAE encoder", duet_safetensors_name(ld->st),
                      name);
    }
    if (n_bad > 8) DUET_LOGE("%s: ... %zu unused tensors in all", duet_safetensors_name(ld->st),
                             n_bad);
    return n_bad ? DUET_ERR_FORMAT : DUET_OK;
}

duet_status duet_video_encoder_load(const duet_safetensors *st, const char *prefix,
                                    duet_backend *be, const duet_video_encoder_load_params *p,
                                    duet_video_encoder **out) {
    duet_video_encoder_load_params lp = p ? *p : duet_video_encoder_default_load_params();
    if (out) *out = NULL;
    if (!st || !prefix || !be || !out || strlen(prefix) > 32 ||
        (lp.weight_dtype != DUET_DTYPE_COUNT && lp.weight_dtype != DUET_F32 &&
         lp.weight_dtype != DUET_F16 && lp.weight_dtype != DUET_BF16)) {
        DUET_LOGE("duet_video_encoder_load: bad arguments");
        return DUET_ERR_INVALID_ARG;
    }
    duet_video_encoder *e = duet_calloc(1, sizeof *e);
    loader ld = {st, prefix, lp.weight_dtype, NULL, be, NULL, 0, duet_safetensors_count(st)};
    ld.used = duet_malloc((ld.cap ? ld.cap : 1) * sizeof *ld.used);
    if (!e || !ld.used || !(e->arena = duet_arena_new(0))) {
        duet_free(ld.used);
        duet_free(e);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    e->be = be;
    ld.arena = e->arena;
    duet_status s = read_layout(&ld, e);
    if (s == DUET_OK) s = load_all(&ld, e);
    if (s == DUET_OK) s = check_unused(&ld);
    duet_free(ld.used);
    if (s != DUET_OK) {
        DUET_LOGE("%s: the VAE encoder's weights under \"%s\" do not load (%s)",
                  duet_safetensors_name(st), prefix, duet_status_str(s));
        duet_video_encoder_free(&e);
        return s;
    }
    *out = e;
    return DUET_OK;
}

void duet_video_encoder_free(duet_video_encoder **e) {
    if (!e || !*e) return;
    duet_arena_free(&(*e)->arena);
    duet_free(*e);
    *e = NULL;
}

duet_video_encoder_info duet_video_encoder_get_info(const duet_video_encoder *e) {
    duet_video_encoder_info none = {0};
    return e ? e->info : none;
}

/* ================================================================ planning */

static void need(int64_t *max, int64_t n) {
    if (n > *max) *max = n;
}

static int64_t largest_activation(const duet_video_encoder *e, int64_t w, int64_t h) {
    const duet_video_encoder_info *in = &e->info;
    int64_t max = 0;
    w /= in->patch, h /= in->patch;
    need(&max, 3 * in->patch * in->patch * w * h);
    int64_t c = in->base_dim;
    for (int i = 0; i < in->n_levels; i++) {
        const enc_level *l = &e->level[i];
        need(&max, (l->cin > l->cout ? l->cin : l->cout) * w * h);
        if (l->down) w /= 2, h /= 2;
        c = l->cout;
    }
    need(&max, 3 * c * w * h);
    need(&max, 2 * in->z_dim * w * h);
    return max;
}

duet_status duet_video_encoder_session_new(const duet_video_encoder *e, int64_t height,
                                           int64_t width, duet_video_encoder_session **out) {
    if (out) *out = NULL;
    if (!e || !out) {
        DUET_LOGE("duet_video_encoder_session_new: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    const int64_t f = e->info.spatial_factor;
    if (height < f || width < f || height % f || width % f || height > MAX_SIDE ||
        width > MAX_SIDE) {
        DUET_LOGE("video encoder: image %lld x %lld (width x height) must be positive multiples "
                  "of %lld up to %d", (long long)width, (long long)height, (long long)f,
                  MAX_SIDE);
        return DUET_ERR_INVALID_ARG;
    }
    duet_video_encoder_session *s = duet_calloc(1, sizeof *s);
    if (!s || !(s->arena = duet_arena_new(0))) {
        duet_free(s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s->e = e;
    s->height = height;
    s->width = width;
    s->slot_elems = largest_activation(e, width, height);
    s->image = duet_tensor_new4(s->arena, e->be, DUET_F32, width, height, 1, 3);
    s->host = duet_malloc((size_t)(3 * width * height) * sizeof(float));
    bool ok = s->image && s->host;
    for (int i = 0; ok && i < N_SLOTS; i++)
        ok = (s->slot[i] = duet_tensor_new4(s->arena, e->be, DUET_F32, s->slot_elems, 1, 1, 1));
    if (!ok) {
        DUET_LOGE("video encoder: cannot plan %lld x %lld images", (long long)width,
                  (long long)height);
        duet_video_encoder_session_free(&s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    duet_tensor_set_name(s->image, "video_encoder.image");
    *out = s;
    return DUET_OK;
}

void duet_video_encoder_session_free(duet_video_encoder_session **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free((*s)->host);
    duet_free(*s);
    *s = NULL;
}

/* ================================================================ forward */

typedef struct {
    duet_tensor t;
    int slot;
} act;

static duet_tensor view(const duet_tensor *base, int n_dims, const int64_t *ne, const size_t *nb,
                        size_t offset) {
    duet_tensor v = *base;
    v.n_dims = n_dims;
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        v.ne[i] = i < n_dims ? ne[i] : 1;
        v.nb[i] = i < n_dims ? nb[i] : nb[n_dims - 1] * (size_t)ne[n_dims - 1];
    }
    v.offset = base->offset + offset;
    return v;
}

/* A contiguous [ne0, ne1, ne2, ne3] view of a free slot. */
static act take(duet_video_encoder_session *s, int64_t ne0, int64_t ne1, int64_t ne2,
                int64_t ne3) {
    act a = {.slot = -1};
    for (int i = 0; i < N_SLOTS && a.slot < 0; i++)
        if (!s->busy[i]) a.slot = i;
    DUET_ASSERT(a.slot >= 0 && ne0 * ne1 * ne2 * ne3 <= s->slot_elems); /* planned */
    s->busy[a.slot] = true;
    const size_t f = sizeof(float);
    const int64_t ne[4] = {ne0, ne1, ne2, ne3};
    const size_t nb[4] = {f, f * (size_t)ne0, f * (size_t)(ne0 * ne1),
                          f * (size_t)(ne0 * ne1 * ne2)};
    a.t = view(s->slot[a.slot], 4, ne, nb, 0);
    return a;
}

static void give(duet_video_encoder_session *s, act *a) {
    if (a->slot >= 0) s->busy[a->slot] = false;
    a->slot = -1;
}

/* CausalConv3d on one frame: zeros in front (kt - 1 frames), symmetric spatial zeros. */
static duet_status conv(duet_tensor *dst, const duet_tensor *x, const enc_conv *c) {
    const int st[3] = {1, 1, 1};
    return duet_conv3d(dst, x, c->w, c->b, NULL, st, (int)(c->k[0] - 1) / 2,
                       (int)(c->k[1] - 1) / 2, (int)(c->k[2] - 1));
}

/* RMS_norm over channels into a channel-innermost copy [C, W, H, T]. */
static duet_status channel_norm(duet_video_encoder_session *s, const duet_tensor *x,
                                const duet_tensor *gamma, act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = x->ne[3];
    *out = take(s, c, w, h, t);
    const int64_t ne[4] = {c, w, h, t};
    const size_t nb[4] = {x->nb[3], x->nb[0], x->nb[1], x->nb[2]};
    duet_tensor xt = view(x, 4, ne, nb, 0);
    TRY(duet_copy(&out->t, &xt));
    return duet_rmsnorm(&out->t, &out->t, gamma, NORM_EPS);
}

static duet_status norm_silu(duet_video_encoder_session *s, const duet_tensor *x,
                             const duet_tensor *gamma, act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = x->ne[3];
    const size_t f = sizeof(float);
    act n;
    TRY(channel_norm(s, x, gamma, &n));
    *out = take(s, w, h, t, c);
    const int64_t ne[4] = {w, h, t, c};
    const size_t nb[4] = {c * f, c * w * f, c * w * h * f, f};
    duet_tensor back = view(&n.t, 4, ne, nb, 0);
    duet_status st = duet_unary(&out->t, &back, DUET_UNARY_SILU);
    give(s, &n);
    return st;
}

static duet_status res_forward(duet_video_encoder_session *s, const enc_res *r,
                               const duet_tensor *x, act *out) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2];
    act a, mid;
    TRY(norm_silu(s, x, r->gamma1, &a));
    mid = take(s, w, h, t, r->cout);
    TRY(conv(&mid.t, &a.t, &r->conv1));
    give(s, &a);
    TRY(norm_silu(s, &mid.t, r->gamma2, &a));
    give(s, &mid);
    *out = take(s, w, h, t, r->cout);
    TRY(conv(&out->t, &a.t, &r->conv2));
    give(s, &a);
    if (!r->shortcut.w) return duet_add(&out->t, &out->t, x);
    act sc = take(s, w, h, t, r->cout);
    TRY(conv(&sc.t, x, &r->shortcut));
    TRY(duet_add(&out->t, &out->t, &sc.t));
    give(s, &sc);
    return DUET_OK;
}

/* AttentionBlock in place: one head of width C over the frame's pixels. */
static duet_status attn_forward(duet_video_encoder_session *s, const enc_attn *at,
                                duet_tensor *x) {
    const int64_t w = x->ne[0], h = x->ne[1], t = x->ne[2], c = at->c, hw = w * h;
    const size_t f = sizeof(float);
    act n, qkv, o, proj;
    TRY(channel_norm(s, x, at->gamma, &n));
    qkv = take(s, 3 * c, hw * t, 1, 1);
    const int64_t ne2[2] = {c, hw * t};
    duet_tensor n2 = view(&n.t, 2, ne2, n.t.nb, 0);
    TRY(duet_matmul(&qkv.t, &n2, at->qkv_w, at->qkv_b, false));
    give(s, &n);
    const int64_t ne[4] = {c, 1, hw, t};
    const size_t nb[4] = {f, 3 * c * f, 3 * c * f, 3 * c * hw * f};
    duet_tensor q = view(&qkv.t, 4, ne, nb, 0), k = view(&qkv.t, 4, ne, nb, c * f);
    duet_tensor v = view(&qkv.t, 4, ne, nb, 2 * c * f);
    o = take(s, c, 1, hw, t);
    TRY(duet_attention(&o.t, &q, &k, &v, NULL, 1.0f / sqrtf((float)c)));
    give(s, &qkv);
    proj = take(s, c, hw * t, 1, 1);
    duet_tensor o2 = view(&o.t, 2, ne2, o.t.nb, 0);
    TRY(duet_matmul(&proj.t, &o2, at->proj_w, at->proj_b, false));
    give(s, &o);
    const int64_t xe[4] = {w, h, t, c};
    const size_t xb[4] = {c * f, c * w * f, c * w * h * f, f};
    duet_tensor back = view(&proj.t, 4, xe, xb, 0);
    TRY(duet_add(x, x, &back));
    give(s, &proj);
    return DUET_OK;
}

/* AvgDown3D of one frame, added to y [W/2, H/2, 1, cout]: each input channel's 2 x 2 average;
 * with a time factor of 2 the frame is padded with a zero frame in front, so output channel
 * 2 c averages zeros and 2 c + 1 takes channel c. */
static duet_status avg_down(duet_video_encoder_session *s, const enc_level *l,
                            const duet_tensor *x, duet_tensor *y) {
    const int64_t w = x->ne[0], h = x->ne[1], wo = w / 2, ho = h / 2, c = l->cin;
    const size_t f = sizeof(float);
    act pool = take(s, wo, ho, 1, c);
    const int64_t ne[4] = {wo, ho, 1, c};
    const size_t nb[4] = {2 * f, 2 * w * f, w * h * f, w * h * f};
    duet_tensor v[4];
    for (int i = 0; i < 4; i++) v[i] = view(x, 4, ne, nb, (size_t)((i / 2) * w + i % 2) * f);
    TRY(duet_add(&pool.t, &v[0], &v[1]));
    TRY(duet_add(&pool.t, &pool.t, &v[2]));
    TRY(duet_add(&pool.t, &pool.t, &v[3]));
    TRY(duet_scale(&pool.t, &pool.t, 0.25f, 0.0f));
    if (!l->t_down) {
        TRY(duet_add(y, y, &pool.t));
    } else {
        const size_t ynb[4] = {f, wo * f, wo * ho * f, 2 * wo * ho * f};
        duet_tensor odd = view(y, 4, ne, ynb, (size_t)(wo * ho) * f);
        act sum = take(s, wo, ho, 1, c);
        TRY(duet_add(&sum.t, &odd, &pool.t));
        TRY(duet_copy(&odd, &sum.t));
        give(s, &sum);
    }
    give(s, &pool);
    return DUET_OK;
}

/* Down_ResidualBlock i on one frame. Consumes *x; the result replaces it. */
static duet_status down_level(duet_video_encoder_session *s, int i, act *x) {
    const enc_level *l = &s->e->level[i];
    act in = *x, cur = *x;
    for (int k = 0; k < l->n_res; k++) {
        act next;
        TRY(res_forward(s, &l->res[k], &cur.t, &next));
        if (cur.slot != in.slot) give(s, &cur);
        cur = next;
    }
    if (!l->down) { /* AvgDown3D(c, c, 1, 1) is the identity */
        TRY(duet_add(&cur.t, &cur.t, &in.t));
    } else {
        /* ZeroPad2d((0, 1, 0, 1)) + Conv2d stride 2; a one-frame [W, H, 1, C] is conv2d's
         * [W, H, C, 1]. A downsample3d's time conv needs three frames: one passes through. */
        const int64_t w = cur.t.ne[0], h = cur.t.ne[1], c = l->cout;
        act y = take(s, w / 2, h / 2, 1, c);
        const int64_t xe[4] = {w, h, c, 1}, ye[4] = {w / 2, h / 2, c, 1};
        duet_tensor x2 = view(&cur.t, 4, xe, cur.t.nb, 0), y2 = view(&y.t, 4, ye, y.t.nb, 0);
        const int pad[4] = {0, 1, 0, 1};
        TRY(duet_conv2d(&y2, &x2, l->resample.w, l->resample.b, 2, 2, pad));
        if (cur.slot != in.slot) give(s, &cur);
        TRY(avg_down(s, l, &in.t, &y.t));
        cur = y;
    }
    if (cur.slot != in.slot) give(s, &in);
    *x = cur;
    return DUET_OK;
}

static duet_status upload_image(duet_video_encoder_session *s, const uint8_t *rgb) {
    const int64_t plane = s->width * s->height;
    for (int64_t i = 0; i < plane; i++)
        for (int c = 0; c < 3; c++) s->host[c * plane + i] = rgb[3 * i + c] / 127.5f - 1.0f;
    return duet_tensor_set_f32(s->image, s->host);
}

/* Patchify, conv1 and the levels. */
static duet_status encode_body(duet_video_encoder_session *s, act *x) {
    const duet_video_encoder *e = s->e;
    const int64_t p = e->info.patch, w = s->width / p, h = s->height / p;
    act a = take(s, w, h, 1, 3 * p * p);
    TRY(duet_pixel_unshuffle(&a.t, s->image, (int)p));
    *x = take(s, w, h, 1, e->info.base_dim);
    TRY(conv(&x->t, &a.t, &e->conv1));
    give(s, &a);
    for (int i = 0; i < e->info.n_levels; i++) TRY(down_level(s, i, x));
    act b;
    TRY(res_forward(s, &e->mid0, &x->t, &b));
    give(s, x);
    TRY(attn_forward(s, &e->attn, &b.t));
    TRY(res_forward(s, &e->mid2, &b.t, x));
    give(s, &b);
    return DUET_OK;
}

duet_status duet_video_encoder_encode(duet_video_encoder_session *s, const uint8_t *rgb,
                                      duet_tensor *dst) {
    if (!s || !rgb || !dst) {
        DUET_LOGE("duet_video_encoder_encode: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    const duet_video_encoder *e = s->e;
    const int64_t sf = e->info.spatial_factor, w = s->width / sf, h = s->height / sf;
    const int64_t z = e->info.z_dim;
    if (dst->dtype != DUET_F32 || dst->ne[0] != w || dst->ne[1] != h || dst->ne[2] != 1 ||
        dst->ne[3] != z || dst->ne[4] != 1) {
        char sh[96];
        DUET_LOGE("video encoder: dst %s %s must be f32 [%lld, %lld, 1, %lld] ([z, 1, h, w])",
                  dst->name, duet_shape_str(dst, sh, sizeof sh), (long long)w, (long long)h,
                  (long long)z);
        return DUET_ERR_INVALID_ARG;
    }
    memset(s->busy, 0, sizeof s->busy);
    TRY(upload_image(s, rgb));
    act x, a, y;
    TRY(encode_body(s, &x));
    TRY(norm_silu(s, &x.t, e->head_gamma, &a));
    give(s, &x);
    y = take(s, w, h, 1, 2 * z);
    TRY(conv(&y.t, &a.t, &e->head));
    give(s, &a);
    act mu = take(s, w, h, 1, z);
    TRY(conv(&mu.t, &y.t, &e->mu));
    give(s, &y);
    TRY(duet_affine(&mu.t, &mu.t, e->inv_std, e->shift)); /* (mu - mean) / std */
    TRY(duet_copy(dst, &mu.t));
    give(s, &mu);
    return DUET_OK;
}
