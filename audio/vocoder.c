/* duet — BigVGAN-v1-style vocoder from core ops (see vocoder.h): loading under BigVGAN's names,
 * planning one run size, and the forward pass (conv_pre, transposed-conv upsamplers, averaged
 * AMP blocks with SnakeBeta, conv_post, tanh), each SnakeBeta optionally wrapped in BigVGAN's
 * anti-aliased Activation1d (x2 kaiser-sinc upsample, activation, x2 downsample). Mirrors
 * BigVGANVocoder/AMPBlock1 of NVIDIA/BigVGAN v1 as vendored by MMAudio (mmaudio/ext/bigvgan/
 * models.py and alias_free_torch/), i.e. Vocoder in tools/duet_tiny/audio.py; tested by
 * tests/golden/test_audio.c. */
#include "vocoder.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/weights.h"
#include "core/ops.h"

#define KERNEL_PRE_POST 7

/* BigVGAN's Activation1d (alias_free_torch/act.py) is built with its defaults: ratio 2 and
 * 12 taps both ways. alias_free_torch/resample.py UpSample1d: pad K / r - 1 = 5 edge samples
 * each side, transposed conv stride r, times r, crop (K / r - 1) r + (K - r) / 2 = 15 in
 * front (and (K - r + 1) / 2 more = 15 behind) to r L samples. filter.py LowPassFilter1d
 * (DownSample1d's lowpass): K / 2 - 1 = 5 edge samples in front (even K), K / 2 = 6 behind,
 * conv stride r. */
#define AA_RATIO 2
#define AA_TAPS 12
#define AA_UP_EDGE (AA_TAPS / AA_RATIO - 1)
#define AA_UP_CROP (AA_UP_EDGE * AA_RATIO + (AA_TAPS - AA_RATIO) / 2)
#define AA_DOWN_FRONT (AA_TAPS / 2 - 1)
#define AA_DOWN_BACK (AA_TAPS / 2)

typedef struct {
    duet_tensor *alpha; /* activations.A.act.alpha [C] */
    duet_tensor *beta;  /* activations.A.act.beta [C] */
    /* antialias only, f32 whatever the file stores: */
    duet_tensor *up;    /* activations.A.upsample.filter [1, 1, 12], kept times AA_RATIO */
    duet_tensor *down;  /* activations.A.downsample.lowpass.filter [1, 1, 12] */
} snake_w;

/* One AMPBlock1 (resblocks.R). */
typedef struct {
    int64_t ch, k;
    duet_tensor *c1_w[DUET_VOCODER_MAX_DILATIONS]; /* convs1.D.weight [C, C, k] */
    duet_tensor *c1_b[DUET_VOCODER_MAX_DILATIONS]; /* convs1.D.bias [C] */
    duet_tensor *c2_w[DUET_VOCODER_MAX_DILATIONS]; /* convs2.D.weight [C, C, k] */
    duet_tensor *c2_b[DUET_VOCODER_MAX_DILATIONS]; /* convs2.D.bias [C] */
    snake_w act[2 * DUET_VOCODER_MAX_DILATIONS];   /* activations.A (2 D before c1, 2 D + 1
                                                      before c2) */
} amp_block;

struct duet_vocoder {
    duet_vocoder_config cfg;
    duet_backend *be;
    duet_arena *arena;
    duet_tensor *pre_w, *pre_b;                  /* conv_pre.{weight [C0, mels, 7], bias} */
    duet_tensor *up_w[DUET_VOCODER_MAX_UPS];     /* ups.I.0.weight [C, C / 2, k] */
    duet_tensor *up_b[DUET_VOCODER_MAX_UPS];     /* ups.I.0.bias [C / 2] */
    amp_block res[DUET_VOCODER_MAX_UPS * DUET_VOCODER_MAX_KERNELS]; /* resblocks.R */
    snake_w post;                                /* activation_post */
    duet_tensor *post_w, *post_b;                /* conv_post.{weight [1, C, 7], bias [1]} */
};

struct duet_vocoder_session {
    const duet_vocoder *v;
    int64_t n_frames, n_samples;
    duet_arena *arena;
    duet_tensor *x, *xu, *xs, *t1, *t2; /* flat f32 buffers */
    duet_tensor *pad_in, *up, *act;     /* antialias: the padded input, the padded upsampled
                                           signal and its activation (flat f32) */
};

duet_vocoder_load_params duet_vocoder_default_load_params(void) {
    duet_vocoder_load_params p = {.prefix = NULL, .weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

/* ---------------------------------------------------------------- loading */

/* base.weight [cout, cin, k] (kernel) and base.bias [cout]. */
static duet_status load_conv(duet_weights *w, const char *base, int64_t cout, int64_t cin,
                             int64_t k, duet_tensor **wt, duet_tensor **b) {
    const int64_t ws[3] = {cout, cin, k}, bs[1] = {cout};
    duet_status s = duet_weights_load(w, DUET_WEIGHT_MATRIX, 3, ws, wt, "%s.weight", base);
    return s != DUET_OK ? s : duet_weights_load(w, DUET_WEIGHT_F32, 1, bs, b, "%s.bias", base);
}

/* base.act.{alpha, beta} [ch]; with antialias also the two filters of BigVGAN's Activation1d,
 * read from the file (BigVGAN registers them as buffers, so its state dicts hold them) rather
 * than recomputed: the loader then needs no kaiser design of its own, and a converter passes
 * them through. The upsampler's x ratio gain is folded into its filter here (exact: a power of
 * two). */
static duet_status load_snake(duet_weights *w, const char *base, int64_t ch, bool antialias,
                              snake_w *a) {
    const int64_t shape[1] = {ch}, taps[3] = {1, 1, AA_TAPS};
    duet_status s = duet_weights_load(w, DUET_WEIGHT_F32, 1, shape, &a->alpha, "%s.act.alpha",
                                      base);
    if (s == DUET_OK)
        s = duet_weights_load(w, DUET_WEIGHT_F32, 1, shape, &a->beta, "%s.act.beta", base);
    if (s != DUET_OK || !antialias) return s;
    s = duet_weights_load(w, DUET_WEIGHT_F32, 3, taps, &a->up, "%s.upsample.filter", base);
    if (s == DUET_OK) s = duet_scale(a->up, a->up, (float)AA_RATIO, 0.0f);
    return s != DUET_OK ? s : duet_weights_load(w, DUET_WEIGHT_F32, 3, taps, &a->down,
                                                "%s.downsample.lowpass.filter", base);
}

static duet_status load_amp(duet_weights *w, int r, int64_t ch, int64_t k, int nd,
                            bool antialias, amp_block *b) {
    char base[64];
    b->ch = ch;
    b->k = k;
    duet_status s = DUET_OK;
    for (int d = 0; d < nd && s == DUET_OK; d++) {
        snprintf(base, sizeof base, "resblocks.%d.convs1.%d", r, d);
        s = load_conv(w, base, ch, ch, k, &b->c1_w[d], &b->c1_b[d]);
        snprintf(base, sizeof base, "resblocks.%d.convs2.%d", r, d);
        if (s == DUET_OK) s = load_conv(w, base, ch, ch, k, &b->c2_w[d], &b->c2_b[d]);
    }
    for (int a = 0; a < 2 * nd && s == DUET_OK; a++) {
        snprintf(base, sizeof base, "resblocks.%d.activations.%d", r, a);
        s = load_snake(w, base, ch, antialias, &b->act[a]);
    }
    return s;
}

static duet_status load_all(duet_weights *w, duet_vocoder *v) {
    const duet_vocoder_config *c = &v->cfg;
    int64_t ch = c->upsample_initial_channel;
    duet_status s = load_conv(w, "conv_pre", ch, c->num_mels, KERNEL_PRE_POST, &v->pre_w,
                              &v->pre_b);
    for (int i = 0; i < c->n_ups && s == DUET_OK; i++) {
        const int64_t shape[3] = {ch, ch / 2, c->upsample_kernel_sizes[i]}, bs[1] = {ch / 2};
        s = duet_weights_load(w, DUET_WEIGHT_MATRIX, 3, shape, &v->up_w[i], "ups.%d.0.weight", i);
        if (s == DUET_OK)
            s = duet_weights_load(w, DUET_WEIGHT_F32, 1, bs, &v->up_b[i], "ups.%d.0.bias", i);
        ch /= 2;
        for (int j = 0; j < c->n_kernels && s == DUET_OK; j++) {
            const int r = i * c->n_kernels + j;
            s = load_amp(w, r, ch, c->resblock_kernel_sizes[j], c->n_dilations, c->antialias,
                         &v->res[r]);
        }
    }
    if (s == DUET_OK) s = load_snake(w, "activation_post", ch, c->antialias, &v->post);
    if (s == DUET_OK)
        s = load_conv(w, "conv_post", 1, ch, KERNEL_PRE_POST, &v->post_w, &v->post_b);
    return s;
}

duet_status duet_vocoder_load(const duet_vocoder_config *cfg, const duet_safetensors *st,
                              duet_backend *be, const duet_vocoder_load_params *p,
                              duet_vocoder **out) {
    duet_vocoder_load_params lp = p ? *p : duet_vocoder_default_load_params();
    if (out) *out = NULL;
    if (!cfg || !st || !be || !out || (lp.prefix && strlen(lp.prefix) > 40)) {
        DUET_LOGE("duet_vocoder_load: bad arguments");
        return DUET_ERR_INVALID_ARG;
    }
    duet_status s = duet_vocoder_config_check(cfg, 0);
    if (s != DUET_OK) return s;
    duet_vocoder *v = duet_calloc(1, sizeof *v);
    if (!v || !(v->arena = duet_arena_new(0))) {
        duet_free(v);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    v->cfg = *cfg;
    v->be = be;
    duet_weights w;
    s = duet_weights_open(&w, "vocoder", st, lp.prefix ? lp.prefix : "vocoder.", v->arena, be,
                          lp.weight_dtype);
    if (s == DUET_OK) {
        s = load_all(&w, v);
        char detail[96];
        snprintf(detail, sizeof detail, "config: %d upsamplers, %d kernels, %d dilations%s",
                 cfg->n_ups, cfg->n_kernels, cfg->n_dilations,
                 cfg->antialias ? "" : ", antialias false");
        if (s == DUET_OK) s = duet_weights_check_unused(&w, NULL, 0, detail);
        duet_weights_close(&w);
    }
    if (s != DUET_OK) {
        DUET_LOGE("%s: the vocoder does not load (%s)", duet_safetensors_name(st),
                  duet_status_str(s));
        duet_vocoder_free(&v);
        return s;
    }
    *out = v;
    return DUET_OK;
}

void duet_vocoder_free(duet_vocoder **v) {
    if (!v || !*v) return;
    duet_arena_free(&(*v)->arena);
    duet_free(*v);
    *v = NULL;
}

/* ---------------------------------------------------------------- planning */

int64_t duet_vocoder_n_samples(const duet_vocoder_config *cfg, int64_t n_mel_frames) {
    if (!cfg || n_mel_frames < 1 || n_mel_frames > ((int64_t)1 << 24) || cfg->n_ups < 1 ||
        cfg->n_ups > DUET_VOCODER_MAX_UPS)
        return -1;
    int64_t n = n_mel_frames;
    for (int i = 0; i < cfg->n_ups; i++) {
        if (cfg->upsample_rates[i] < 1 || cfg->upsample_rates[i] > 64) return -1;
        n *= cfg->upsample_rates[i];
    }
    return n;
}

/* Samples per channel of the antialias frame at activation length l: the x2 upsampled signal
 * with the downsampler's replicate padding around it. */
static int64_t aa_len(int64_t l) { return AA_RATIO * l + AA_DOWN_FRONT + AA_DOWN_BACK; }

static duet_tensor *flat(duet_arena *a, duet_backend *be, int64_t n, const char *name) {
    duet_tensor *t = duet_tensor_new4(a, be, DUET_F32, n, 1, 1, 1);
    if (t) duet_tensor_set_name(t, name);
    return t;
}

duet_status duet_vocoder_session_new(const duet_vocoder *v, int64_t n_mel_frames,
                                     duet_vocoder_session **out) {
    if (out) *out = NULL;
    const int64_t n_samples = v ? duet_vocoder_n_samples(&v->cfg, n_mel_frames) : -1;
    if (!out || n_samples < 1) {
        DUET_LOGE("duet_vocoder_session_new: bad arguments (%lld mel frames)",
                  (long long)n_mel_frames);
        return DUET_ERR_INVALID_ARG;
    }
    const duet_vocoder_config *c = &v->cfg;
    int64_t l = n_mel_frames, ch = c->upsample_initial_channel, cap = l * ch, cap_aa = 0;
    for (int i = 0; i < c->n_ups; i++) {
        l *= c->upsample_rates[i];
        ch /= 2;
        if (l * ch > cap) cap = l * ch;
        /* the upsampled frame (see activation) is the longest of the three antialias buffers */
        if (aa_len(l) * ch > cap_aa) cap_aa = aa_len(l) * ch;
    }
    duet_vocoder_session *s = duet_calloc(1, sizeof *s);
    if (!s || !(s->arena = duet_arena_new(0))) {
        duet_free(s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s->v = v;
    s->n_frames = n_mel_frames;
    s->n_samples = n_samples;
    s->x = flat(s->arena, v->be, cap, "vocoder.x");
    s->xu = flat(s->arena, v->be, cap, "vocoder.xu");
    s->xs = flat(s->arena, v->be, cap, "vocoder.xs");
    s->t1 = flat(s->arena, v->be, cap, "vocoder.t1");
    s->t2 = flat(s->arena, v->be, cap, "vocoder.t2");
    bool aa_ok = true;
    if (c->antialias) {
        s->pad_in = flat(s->arena, v->be, cap_aa, "vocoder.aa_pad_in");
        s->up = flat(s->arena, v->be, cap_aa, "vocoder.aa_up");
        s->act = flat(s->arena, v->be, cap_aa, "vocoder.aa_act");
        aa_ok = s->pad_in && s->up && s->act;
    }
    if (!s->x || !s->xu || !s->xs || !s->t1 || !s->t2 || !aa_ok) {
        duet_vocoder_session_free(&s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    *out = s;
    return DUET_OK;
}

void duet_vocoder_session_free(duet_vocoder_session **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free(*s);
    *s = NULL;
}

/* ---------------------------------------------------------------- forward */

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

/* A contiguous [l, c] view of a flat buffer, on the stack (the op checks it fits). */
static duet_tensor view(const duet_tensor *buf, int64_t l, int64_t c) {
    duet_tensor v = *buf;
    v.n_dims = 2;
    v.ne[0] = l;
    v.ne[1] = c;
    v.nb[1] = sizeof(float) * (size_t)l;
    for (int i = 2; i < DUET_MAX_DIMS; i++) {
        v.ne[i] = 1;
        v.nb[i] = v.nb[1] * (size_t)c;
    }
    return v;
}

/* [l, 1, c] of a contiguous [l, c]: channels as the batch of a one-channel conv, so that one
 * [K, 1, 1] filter serves every channel (BigVGAN's depthwise conv with a shared filter). */
static duet_tensor chan_batch(const duet_tensor *t) {
    const int64_t ne[3] = {t->ne[0], 1, t->ne[1]};
    const size_t nb[3] = {t->nb[0], t->nb[1], t->nb[1]};
    return duet_view_at(t, 3, ne, nb, 0);
}

/* t [lp, c] (contiguous) holds valid samples in columns [front, lp - back): the columns
 * outside become copies of the nearest valid one (PyTorch's replicate padding), read through
 * stride-0 views. */
static duet_status replicate_edges(duet_tensor *t, int64_t front, int64_t back) {
    const int64_t lp = t->ne[0], c = t->ne[1];
    const size_t es = sizeof(float);
    const size_t nb_dst[2] = {es, t->nb[1]}, nb_src[2] = {0, t->nb[1]};
    const int64_t ne_f[2] = {front, c}, ne_b[2] = {back, c};
    duet_tensor d = duet_view_at(t, 2, ne_f, nb_dst, 0);
    duet_tensor e = duet_view_at(t, 2, ne_f, nb_src, es * (size_t)front);
    TRY(duet_copy(&d, &e));
    d = duet_view_at(t, 2, ne_b, nb_dst, es * (size_t)(lp - back));
    e = duet_view_at(t, 2, ne_b, nb_src, es * (size_t)(lp - back - 1));
    return duet_copy(&d, &e);
}

/* dst [L, C] = SnakeBeta(x), or with antialias BigVGAN's Activation1d around it:
 * x2 upsample (UpSample1d), SnakeBeta, x2 downsample (DownSample1d). The transposed conv
 * writes straight into the downsampler's padded frame (its padding argument picks the
 * cropped window, output_padding one sample more), whose edge columns are then overwritten by
 * the replicate padding; SnakeBeta is per sample, so it may run on the padded frame. */
static duet_status activation(duet_vocoder_session *s, duet_tensor *dst, const duet_tensor *x,
                              const snake_w *a, int64_t L, int64_t C) {
    const bool log = s->v->cfg.snake_logscale;
    if (!s->v->cfg.antialias) return duet_snake_beta(dst, x, a->alpha, a->beta, log);
    const int64_t lp = L + 2 * AA_UP_EDGE, lu = aa_len(L);
    const int pad = AA_UP_CROP - AA_DOWN_FRONT;
    const int64_t lt = (lp - 1) * AA_RATIO - 2 * pad + AA_TAPS; /* transposed conv, no extra */
    DUET_ASSERT(lu - lt >= 0 && lu - lt < AA_RATIO);
    duet_tensor p = view(s->pad_in, lp, C), u = view(s->up, lu, C), y = view(s->act, lu, C);
    const int64_t ne[2] = {L, C};
    const size_t nb[2] = {sizeof(float), p.nb[1]};
    duet_tensor mid = duet_view_at(&p, 2, ne, nb, sizeof(float) * AA_UP_EDGE);
    TRY(duet_copy(&mid, x));
    TRY(replicate_edges(&p, AA_UP_EDGE, AA_UP_EDGE));
    duet_tensor p3 = chan_batch(&p), u3 = chan_batch(&u), y3 = chan_batch(&y);
    duet_tensor d3 = chan_batch(dst);
    TRY(duet_conv_transpose1d(&u3, &p3, a->up, NULL, AA_RATIO, pad, (int)(lu - lt)));
    TRY(replicate_edges(&u, AA_DOWN_FRONT, AA_DOWN_BACK));
    TRY(duet_snake_beta(&y, &u, a->alpha, a->beta, log));
    return duet_conv1d(&d3, &y3, a->down, NULL, AA_RATIO, 0, 1);
}

/* out [L, C] = AMPBlock1(in [L, C]); in is left unchanged. */
static duet_status amp_forward(duet_vocoder_session *s, const amp_block *b, const int64_t *dil,
                               const duet_tensor *in, duet_tensor *out, int64_t L) {
    const int nd = s->v->cfg.n_dilations;
    duet_tensor t1 = view(s->t1, L, b->ch), t2 = view(s->t2, L, b->ch);
    for (int d = 0; d < nd; d++) {
        const duet_tensor *x = d == 0 ? in : out;
        const int pad1 = (int)((b->k * dil[d] - dil[d]) / 2), pad2 = (int)((b->k - 1) / 2);
        TRY(activation(s, &t1, x, &b->act[2 * d], L, b->ch));
        TRY(duet_conv1d(&t2, &t1, b->c1_w[d], b->c1_b[d], 1, pad1, (int)dil[d]));
        TRY(activation(s, &t1, &t2, &b->act[2 * d + 1], L, b->ch));
        TRY(duet_conv1d(&t2, &t1, b->c2_w[d], b->c2_b[d], 1, pad2, 1));
        TRY(duet_add(out, x, &t2));
    }
    return DUET_OK;
}

/* x [L, C] -> x [L u, C / 2]: upsampler i, then the mean of its AMP blocks. */
static duet_status stage(duet_vocoder_session *s, int i, int64_t L, int64_t C) {
    const duet_vocoder *v = s->v;
    const duet_vocoder_config *c = &v->cfg;
    const int64_t u = c->upsample_rates[i], k = c->upsample_kernel_sizes[i];
    const int64_t Lo = L * u, Co = C / 2;
    duet_tensor x = view(s->x, L, C), xu = view(s->xu, Lo, Co), xs = view(s->xs, Lo, Co);
    duet_tensor y = view(s->x, Lo, Co);
    TRY(duet_conv_transpose1d(&xu, &x, v->up_w[i], v->up_b[i], (int)u, (int)((k - u) / 2), 0));
    for (int j = 0; j < c->n_kernels; j++) {
        const int r = i * c->n_kernels + j;
        TRY(amp_forward(s, &v->res[r], c->resblock_dilations[j], &xu, j == 0 ? &xs : &y, Lo));
        if (j > 0) TRY(duet_add(&xs, &xs, &y));
    }
    return duet_scale(&y, &xs, 1.0f / (float)c->n_kernels, 0.0f);
}

duet_status duet_vocoder_eval(duet_vocoder_session *s, const duet_tensor *mel, duet_tensor *pcm) {
    const duet_vocoder_config *c = s ? &s->v->cfg : NULL;
    if (!s || !mel || !pcm || mel->dtype != DUET_F32 || mel->ne[0] != s->n_frames ||
        mel->ne[1] != c->num_mels || duet_nelements(mel) != s->n_frames * c->num_mels ||
        pcm->dtype != DUET_F32 || duet_nelements(pcm) != s->n_samples ||
        !duet_is_contiguous(pcm) || !duet_is_contiguous(mel)) {
        DUET_LOGE("duet_vocoder_eval: needs contiguous f32 mel [%lld, %lld] and pcm [%lld]",
                  s ? (long long)s->n_frames : 0, c ? (long long)c->num_mels : 0,
                  s ? (long long)s->n_samples : 0);
        return DUET_ERR_INVALID_ARG;
    }
    const duet_vocoder *v = s->v;
    int64_t L = s->n_frames, C = c->upsample_initial_channel;
    duet_tensor x = view(s->x, L, C);
    TRY(duet_conv1d(&x, mel, v->pre_w, v->pre_b, 1, KERNEL_PRE_POST / 2, 1));
    for (int i = 0; i < c->n_ups; i++) {
        TRY(stage(s, i, L, C));
        L *= c->upsample_rates[i];
        C /= 2;
    }
    x = view(s->x, L, C);
    duet_tensor t1 = view(s->t1, L, C), out = view(pcm, L, 1);
    TRY(activation(s, &t1, &x, &v->post, L, C));
    TRY(duet_conv1d(&out, &t1, v->post_w, v->post_b, 1, KERNEL_PRE_POST / 2, 1));
    return duet_unary(&out, &out, DUET_UNARY_TANH);
}
