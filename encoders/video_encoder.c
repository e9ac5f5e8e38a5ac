/* duet — the video VAE encoder for one reference image (see video_encoder.h): loading (the
 * architecture read from the weights, then a strict load), planning per image size, and the
 * forward pass of Encoder3d on a single frame followed by WanVAE_.conv1's mean half and the
 * latent normalization. Mirrors Wan-Video/Wan2.2 wan/modules/vae2_2.py as restated by
 * tools/duet_tiny/video_vae.py. The layers and the strict loader it shares with the decoder
 * (ResidualBlock, AttentionBlock, CausalConv3d, RMS_norm) are video/vae_layers.h; one frame
 * needs no causal caches. Activations are [W, H, T = 1, C] views of planned slots. */
#include "video_encoder.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/ops.h"
#include "video/vae_layers.h"

#define MAX_LEVELS 8
#define MAX_SIDE (1 << 20)
#define NAME_LEN DUET_NAME_MAX

/* Down_ResidualBlock N: downsamples.N.downsamples.{0..n_res-1}, then the Resample. */
typedef struct {
    int64_t cin, cout;
    int n_res;
    vae_res res[VAE_MAX_RES];
    bool down, t_down;
    vae_conv resample;     /* downsamples.n_res.resample.1 [cout, cout, 3, 3] (Conv2d, kept 4-D) */
    vae_conv time_conv;    /* downsamples.n_res.time_conv [cout, cout, 3, 1, 1]: unused */
} enc_level;

struct duet_video_encoder {
    duet_backend *be;
    duet_arena *arena;
    duet_video_encoder_info info;
    vae_conv conv1;        /* encoder.conv1 [dim, 3 p p, 3, 3, 3] */
    enc_level level[MAX_LEVELS];
    vae_res mid0;          /* encoder.middle.0 */
    vae_attn attn;         /* encoder.middle.1 */
    vae_res mid2;          /* encoder.middle.2 */
    duet_tensor *head_gamma; /* encoder.head.0.gamma [c_last, 1, 1, 1] */
    vae_conv head;         /* encoder.head.2 [2z, c_last, 3, 3, 3] */
    vae_conv mu;           /* conv1 [2z, 2z, 1, 1, 1]: the first z output channels */
    duet_tensor *inv_std;  /* 1 / latent_std, [1, 1, 1, z] */
    duet_tensor *shift;    /* -latent_mean / latent_std, [1, 1, 1, z] */
};

struct duet_video_encoder_session {
    const duet_video_encoder *e;
    int64_t height, width;
    duet_arena *arena;
    duet_tensor *image;    /* [width, height, 1, 3] in [-1, 1] */
    float *host;           /* the same on the host */
    vae_slots slots;       /* activation buffers */
};

/* ================================================================ loading */

duet_video_encoder_load_params duet_video_encoder_default_load_params(void) {
    duet_video_encoder_load_params p = {.weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

/* Levels, blocks, widths and resampling from the names present; AvgDown3D's channel groups
 * must be its 2 x 2 (x time) blocks: cout = cin ft when down, cout = cin otherwise. */
static duet_status read_layout(const duet_weights *ld, duet_video_encoder *e) {
    const duet_safetensors_tensor *mean = duet_weights_find(ld, "latent_mean"), *c1;
    if (!mean) return duet_weights_missing(ld, "latent_mean");
    if (!(c1 = duet_weights_find(ld, "encoder.conv1.weight")))
        return duet_weights_missing(ld, "encoder.conv1.weight");
    duet_video_encoder_info *in = &e->info;
    in->z_dim = duet_weights_pt_dim(mean, 0);
    in->base_dim = duet_weights_pt_dim(c1, 0);
    in->patch = (int64_t)lround(sqrt((double)duet_weights_pt_dim(c1, 1) / 3.0));
    in->spatial_factor = in->patch;
    const char *blk = "encoder.downsamples.%d.downsamples.%d.%s";
    while (in->n_levels < MAX_LEVELS &&
           duet_weights_find(ld, blk, in->n_levels, 0, "residual.0.gamma"))
        in->n_levels++;
    if (!in->n_levels)
        return duet_weights_missing(ld, "encoder.downsamples.0.downsamples.0.residual.0.gamma");
    int64_t cin = in->base_dim;
    for (int i = 0; i < in->n_levels; i++) {
        enc_level *l = &e->level[i];
        while (l->n_res < VAE_MAX_RES &&
               duet_weights_find(ld, blk, i, l->n_res, "residual.0.gamma"))
            l->n_res++;
        l->cin = cin;
        const duet_safetensors_tensor *c2 = duet_weights_find(ld, blk, i, 0, "residual.2.weight");
        l->cout = cin = duet_weights_pt_dim(c2, 0);
        l->down = duet_weights_find(ld, blk, i, l->n_res, "resample.1.weight");
        l->t_down = duet_weights_find(ld, blk, i, l->n_res, "time_conv.weight");
        in->spatial_factor *= l->down ? 2 : 1;
        if (l->cout != l->cin * (l->t_down ? 2 : 1) || (l->t_down && !l->down)) {
            DUET_LOGE("%s: %sencoder.downsamples.%d: an AvgDown3D from %lld to %lld channels "
                      "(%s) is not supported", duet_safetensors_name(ld->st), ld->prefix, i,
                      (long long)l->cin, (long long)l->cout,
                      l->t_down ? "2x in time" : "no time factor");
            return l->cout ? DUET_ERR_UNSUPPORTED : DUET_ERR_FORMAT;
        }
    }
    if (in->z_dim < 1 || 3 * in->patch * in->patch != duet_weights_pt_dim(c1, 1)) {
        DUET_LOGE("%s: %sencoder.conv1.weight: %lld input channels are not 3 p p",
                  duet_safetensors_name(ld->st), ld->prefix, (long long)duet_weights_pt_dim(c1, 1));
        return DUET_ERR_FORMAT;
    }
    return DUET_OK;
}

static duet_status load_levels(duet_weights *ld, duet_video_encoder *e) {
    duet_status s = DUET_OK;
    char base[NAME_LEN];
    for (int i = 0; i < e->info.n_levels && s == DUET_OK; i++) {
        enc_level *l = &e->level[i];
        for (int k = 0; k < l->n_res && s == DUET_OK; k++) {
            snprintf(base, sizeof base, "encoder.downsamples.%d.downsamples.%d", i, k);
            s = duet_vae_load_res(ld, base, k ? l->cout : l->cin, l->cout, &l->res[k]);
        }
        snprintf(base, sizeof base, "encoder.downsamples.%d.downsamples.%d.resample.1", i,
                 l->n_res);
        if (s == DUET_OK && l->down)
            s = duet_vae_load_conv(ld, base, l->cout, l->cout, 0, 3, &l->resample);
        if (s == DUET_OK && l->down) { /* run by conv2d: back to its 4-D [k, k, Cin, Cout] */
            const int64_t ne[4] = {3, 3, l->cout, l->cout};
            s = duet_weights_reshape(ld, &l->resample.w, 4, ne);
        }
        snprintf(base, sizeof base, "encoder.downsamples.%d.downsamples.%d.time_conv", i,
                 l->n_res);
        if (s == DUET_OK && l->t_down)
            s = duet_vae_load_conv(ld, base, l->cout, l->cout, 3, 1, &l->time_conv);
    }
    return s;
}

/* 1 / std and -mean / std, computed in double on the host, as [1, 1, 1, z]. */
static duet_status load_stats(duet_weights *ld, duet_video_encoder *e) {
    const int64_t z = e->info.z_dim, zs[1] = {z};
    duet_tensor *mean = NULL, *std = NULL;
    duet_status s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, zs, &mean, "latent_mean");
    if (s == DUET_OK) s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, zs, &std, "latent_std");
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

static duet_status load_all(duet_weights *ld, duet_video_encoder *e) {
    const duet_video_encoder_info *in = &e->info;
    const int64_t z = in->z_dim, p = in->patch;
    const int64_t cl = e->level[in->n_levels - 1].cout;
    duet_status s = load_stats(ld, e);
    if (s == DUET_OK)
        s = duet_vae_load_conv(ld, "encoder.conv1", in->base_dim, 3 * p * p, 3, 3, &e->conv1);
    if (s == DUET_OK) s = load_levels(ld, e);
    if (s == DUET_OK) s = duet_vae_load_res(ld, "encoder.middle.0", cl, cl, &e->mid0);
    if (s == DUET_OK) s = duet_vae_load_attn(ld, "encoder.middle.1", cl, &e->attn);
    if (s == DUET_OK) s = duet_vae_load_res(ld, "encoder.middle.2", cl, cl, &e->mid2);
    if (s == DUET_OK) s = duet_vae_load_gamma(ld, "encoder.head.0.gamma", cl, 4, &e->head_gamma);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, "encoder.head.2", 2 * z, cl, 3, 3, &e->head);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, "conv1", 2 * z, 2 * z, 1, 1, &e->mu);
    if (s == DUET_OK) { /* the mean half: output channels [0, z) lead in memory */
        const int64_t ne[5] = {1, 1, 1, 2 * z, z};
        duet_tensor *w = duet_view(ld->arena, e->mu.w, 5, ne, e->mu.w->nb, 0);
        duet_tensor *b = duet_slice(ld->arena, e->mu.b, 0, 0, z);
        e->mu.w = w;
        e->mu.b = b;
        e->mu.cout = z;
        s = w && b ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    }
    return s;
}

/* Every tensor under the encoder's names must have been loaded. */
static duet_status check_unused(const duet_weights *ld) {
    static const char *const owned[] = {"encoder.", "conv1.", "latent_mean", "latent_std"};
    return duet_weights_check_unused(ld, owned, sizeof owned / sizeof owned[0], NULL);
}

duet_status duet_video_encoder_load(const duet_safetensors *st, const char *prefix,
                                    duet_backend *be, const duet_video_encoder_load_params *p,
                                    duet_video_encoder **out) {
    duet_video_encoder_load_params lp = p ? *p : duet_video_encoder_default_load_params();
    if (!out) {
        DUET_LOGE("duet_video_encoder_load: bad arguments (out is NULL)");
        return DUET_ERR_INVALID_ARG;
    }
    *out = NULL;
    duet_video_encoder *e = duet_calloc(1, sizeof *e);
    if (!e || !(e->arena = duet_arena_new(0))) {
        duet_free(e);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    e->be = be;
    duet_weights ld;
    duet_status s = duet_weights_open(&ld, "VAE encoder", st, prefix, e->arena, be,
                                      lp.weight_dtype);
    if (s == DUET_OK) {
        s = read_layout(&ld, e);
        if (s == DUET_OK) s = load_all(&ld, e);
        if (s == DUET_OK) s = check_unused(&ld);
        duet_weights_close(&ld);
        if (s != DUET_OK)
            DUET_LOGE("%s: the VAE encoder's weights under \"%s\" do not load (%s)",
                      duet_safetensors_name(st), prefix, duet_status_str(s));
    }
    if (s != DUET_OK) {
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
    s->image = duet_tensor_new4(s->arena, e->be, DUET_F32, width, height, 1, 3);
    s->host = duet_malloc((size_t)(3 * width * height) * sizeof(float));
    bool ok = s->image && s->host &&
              duet_vae_slots_new(&s->slots, s->arena, e->be, largest_activation(e, width, height),
                                 "video_encoder") == DUET_OK;
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

/* AvgDown3D of one frame, added to y [W/2, H/2, 1, cout]: each input channel's 2 x 2 average;
 * with a time factor of 2 the frame is padded with a zero frame in front, so output channel
 * 2 c averages zeros and 2 c + 1 takes channel c. */
static duet_status avg_down(duet_video_encoder_session *s, const enc_level *l,
                            const duet_tensor *x, duet_tensor *y) {
    const int64_t w = x->ne[0], h = x->ne[1], wo = w / 2, ho = h / 2, c = l->cin;
    const size_t f = sizeof(float);
    vae_act pool = duet_vae_take(&s->slots, wo, ho, 1, c);
    const int64_t ne[4] = {wo, ho, 1, c};
    const size_t nb[4] = {2 * f, 2 * w * f, w * h * f, w * h * f};
    duet_tensor v[4];
    for (int i = 0; i < 4; i++)
        v[i] = duet_view_at(x, 4, ne, nb, (size_t)((i / 2) * w + i % 2) * f);
    VAE_TRY(duet_add(&pool.t, &v[0], &v[1]));
    VAE_TRY(duet_add(&pool.t, &pool.t, &v[2]));
    VAE_TRY(duet_add(&pool.t, &pool.t, &v[3]));
    VAE_TRY(duet_scale(&pool.t, &pool.t, 0.25f, 0.0f));
    if (!l->t_down) {
        VAE_TRY(duet_add(y, y, &pool.t));
    } else {
        const size_t ynb[4] = {f, wo * f, wo * ho * f, 2 * wo * ho * f};
        duet_tensor odd = duet_view_at(y, 4, ne, ynb, (size_t)(wo * ho) * f);
        vae_act sum = duet_vae_take(&s->slots, wo, ho, 1, c);
        VAE_TRY(duet_add(&sum.t, &odd, &pool.t));
        VAE_TRY(duet_copy(&odd, &sum.t));
        duet_vae_give(&s->slots, &sum);
    }
    duet_vae_give(&s->slots, &pool);
    return DUET_OK;
}

/* Down_ResidualBlock i on one frame. Consumes *x; the result replaces it. */
static duet_status down_level(duet_video_encoder_session *s, int i, vae_act *x) {
    const enc_level *l = &s->e->level[i];
    vae_act in = *x, cur = *x;
    for (int k = 0; k < l->n_res; k++) {
        vae_act next;
        VAE_TRY(duet_vae_res_forward(&s->slots, &l->res[k], NULL, &cur.t, &next));
        if (cur.slot != in.slot) duet_vae_give(&s->slots, &cur);
        cur = next;
    }
    if (!l->down) { /* AvgDown3D(c, c, 1, 1) is the identity */
        VAE_TRY(duet_add(&cur.t, &cur.t, &in.t));
    } else {
        /* ZeroPad2d((0, 1, 0, 1)) + Conv2d stride 2; a one-frame [W, H, 1, C] is conv2d's
         * [W, H, C, 1]. A downsample3d's time conv needs three frames: one passes through. */
        const int64_t w = cur.t.ne[0], h = cur.t.ne[1], c = l->cout;
        vae_act y = duet_vae_take(&s->slots, w / 2, h / 2, 1, c);
        const int64_t xe[4] = {w, h, c, 1}, ye[4] = {w / 2, h / 2, c, 1};
        duet_tensor x2 = duet_view_at(&cur.t, 4, xe, cur.t.nb, 0);
        duet_tensor y2 = duet_view_at(&y.t, 4, ye, y.t.nb, 0);
        const int pad[4] = {0, 1, 0, 1};
        VAE_TRY(duet_conv2d(&y2, &x2, l->resample.w, l->resample.b, 2, 2, pad));
        if (cur.slot != in.slot) duet_vae_give(&s->slots, &cur);
        VAE_TRY(avg_down(s, l, &in.t, &y.t));
        cur = y;
    }
    if (cur.slot != in.slot) duet_vae_give(&s->slots, &in);
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
static duet_status encode_body(duet_video_encoder_session *s, vae_act *x) {
    const duet_video_encoder *e = s->e;
    const int64_t p = e->info.patch, w = s->width / p, h = s->height / p;
    vae_act a = duet_vae_take(&s->slots, w, h, 1, 3 * p * p);
    VAE_TRY(duet_pixel_unshuffle(&a.t, s->image, (int)p));
    *x = duet_vae_take(&s->slots, w, h, 1, e->info.base_dim);
    VAE_TRY(duet_vae_causal_conv(&x->t, &a.t, &e->conv1, NULL));
    duet_vae_give(&s->slots, &a);
    for (int i = 0; i < e->info.n_levels; i++) VAE_TRY(down_level(s, i, x));
    vae_act b;
    VAE_TRY(duet_vae_res_forward(&s->slots, &e->mid0, NULL, &x->t, &b));
    duet_vae_give(&s->slots, x);
    VAE_TRY(duet_vae_attn_forward(&s->slots, &e->attn, &b.t));
    VAE_TRY(duet_vae_res_forward(&s->slots, &e->mid2, NULL, &b.t, x));
    duet_vae_give(&s->slots, &b);
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
    duet_vae_slots_reset(&s->slots);
    VAE_TRY(upload_image(s, rgb));
    vae_act x, a, y;
    VAE_TRY(encode_body(s, &x));
    VAE_TRY(duet_vae_norm_silu(&s->slots, &x.t, e->head_gamma, &a));
    duet_vae_give(&s->slots, &x);
    y = duet_vae_take(&s->slots, w, h, 1, 2 * z);
    VAE_TRY(duet_vae_causal_conv(&y.t, &a.t, &e->head, NULL));
    duet_vae_give(&s->slots, &a);
    vae_act mu = duet_vae_take(&s->slots, w, h, 1, z);
    VAE_TRY(duet_vae_causal_conv(&mu.t, &y.t, &e->mu, NULL));
    duet_vae_give(&s->slots, &y);
    VAE_TRY(duet_affine(&mu.t, &mu.t, e->inv_std, e->shift)); /* (mu - mean) / std */
    VAE_TRY(duet_copy(dst, &mu.t));
    duet_vae_give(&s->slots, &mu);
    return DUET_OK;
}
