/* duet — the audio VAE's shared machinery: loading one half's weights under MMAudio's names
 * (strictly), planning a session's activations, and the magnitude-preserving layers both
 * halves are built from (res block, attention, clamp, down/upsample). Mirrors
 * hkchengrex/MMAudio autoencoder/vae_modules.py and edm2_utils.py as restated in
 * tools/duet_tiny/audio.py; see audio_vae.h for the equations. The forward passes are in
 * vae_encoder.c and vae_decoder.c. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "audio_vae_internal.h"
#include "core/alloc.h"
#include "core/log.h"
#include "core/ops.h"
#include "core/weights.h"

duet_audio_vae_load_params duet_audio_vae_default_load_params(void) {
    duet_audio_vae_load_params p = {.prefix = NULL, .weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

/* ---------------------------------------------------------------- loading */

/* name, a conv kernel of PyTorch shape [cout, cin, k], in the file's dtype unless the
 * caller forces one. */
static duet_status load_kernel(duet_weights *ld, const char *name, int64_t cout, int64_t cin,
                               int64_t k, duet_tensor **out) {
    const int64_t shape[3] = {cout, cin, k};
    return duet_weights_load(ld, DUET_WEIGHT_MATRIX, 3, shape, out, "%s", name);
}

/* `base` + "conv1.weight" etc.: base is e.g. "down.0.block.1." or "mid.block_1.". */
static duet_status load_block(duet_weights *ld, const char *base, int64_t cin, int64_t cout,
                              int64_t k, duet_avae_block *b) {
    char name[96];
    b->cin = cin;
    b->cout = cout;
    snprintf(name, sizeof name, "%sconv1.weight", base);
    duet_status s = load_kernel(ld, name, cout, cin, k, &b->conv1);
    snprintf(name, sizeof name, "%sconv2.weight", base);
    if (s == DUET_OK) s = load_kernel(ld, name, cout, cout, k, &b->conv2);
    snprintf(name, sizeof name, "%snin_shortcut.weight", base);
    if (s == DUET_OK && cin != cout) s = load_kernel(ld, name, cout, cin, 1, &b->nin);
    return s;
}

static duet_status load_attn(duet_weights *ld, const char *base, int64_t c, duet_avae_attn *a) {
    char name[96];
    a->c = c;
    snprintf(name, sizeof name, "%sqkv.weight", base);
    duet_status s = load_kernel(ld, name, 3 * c, c, 1, &a->qkv);
    snprintf(name, sizeof name, "%sproj_out.weight", base);
    return s != DUET_OK ? s : load_kernel(ld, name, c, c, 1, &a->proj);
}

/* n float values of tensor prefix + name (any float dtype), which must hold exactly n
 * elements (scalars and [1, n, 1] statistics alike). */
static duet_status read_host(duet_weights *ld, const char *name, size_t n, float *out) {
    const duet_safetensors_tensor *t = duet_weights_find(ld, "%s", name);
    if (!t) {
        DUET_LOGE("%s: tensor %s%s not found", duet_safetensors_name(ld->st), ld->prefix, name);
        return DUET_ERR_NOT_FOUND;
    }
    if (t->dtype == DUET_I32 || t->nbytes != n * duet_dtype_size(t->dtype)) {
        DUET_LOGE("%s: tensor %s: expected %zu float values, found %zu bytes of %s",
                  duet_safetensors_name(ld->st), t->name, n, t->nbytes,
                  duet_dtype_name(t->dtype));
        return DUET_ERR_FORMAT;
    }
    void *tmp = duet_malloc(t->nbytes ? t->nbytes : 1); /* the mapping may be unaligned */
    if (!tmp) return DUET_ERR_OUT_OF_MEMORY;
    memcpy(tmp, t->data, t->nbytes);
    duet_status s = duet_convert(out, DUET_F32, tmp, t->dtype, n);
    duet_free(tmp);
    if (s == DUET_OK) duet_weights_mark_used(ld, t);
    return s;
}

static duet_tensor *upload_vec(duet_weights *ld, int64_t ne0, int64_t ne1, const float *v,
                               const char *name) {
    duet_tensor *t = duet_tensor_new4(ld->arena, ld->be, DUET_F32, ne0, ne1, 1, 1);
    if (!t) return NULL;
    duet_tensor_set_name(t, name);
    return duet_tensor_set_f32(t, v) == DUET_OK ? t : NULL;
}

/* root's data_mean / data_std (shared by both halves) -> the affine the half applies:
 * encoder (x - mean) / std as x (1 / std) + (-mean / std), decoder x std + mean. */
static duet_status load_stats(duet_weights *ld, duet_avae_model *m) {
    const size_t n = (size_t)m->cfg.data_dim;
    float *mean = duet_malloc(2 * n * sizeof *mean), *std = mean + n;
    if (!mean) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s = read_host(ld, "data_mean", n, mean);
    if (s == DUET_OK) s = read_host(ld, "data_std", n, std);
    for (size_t i = 0; s == DUET_OK && i < n; i++) {
        if (!(std[i] > 0) || !isfinite(std[i]) || !isfinite(mean[i])) {
            DUET_LOGE("%s: tensor %sdata_std: entry %zu is %g (must be finite and > 0)",
                      duet_safetensors_name(ld->st), ld->prefix, i, (double)std[i]);
            s = DUET_ERR_FORMAT;
        } else if (!m->decoder) {
            mean[i] = (float)(-(double)mean[i] / std[i]);
            std[i] = (float)(1.0 / std[i]);
        }
    }
    if (s == DUET_OK) {
        m->stat_shift = upload_vec(ld, 1, (int64_t)n, mean, "audio_vae.stat_shift");
        m->stat_scale = upload_vec(ld, 1, (int64_t)n, std, "audio_vae.stat_scale");
        if (!m->stat_shift || !m->stat_scale) s = DUET_ERR_OUT_OF_MEMORY;
    }
    duet_free(mean);
    return s;
}

/* The normalization constants, one w2 per channel count a normalization sees. */
static duet_status make_norm_consts(duet_weights *ld, duet_avae_model *m) {
    const duet_audio_vae_config *c = &m->cfg;
    const float u = 0x1p-40f, nb[2] = {u, sqrtf(2.0f) * DUET_AVAE_MP_EPS}, nw[2] = {0x1p40f, 0};
    m->norm_bias = upload_vec(ld, 2, 1, nb, "audio_vae.norm_bias");
    m->norm_w = upload_vec(ld, 2, 1, nw, "audio_vae.norm_w");
    if (!m->norm_bias || !m->norm_w) return DUET_ERR_OUT_OF_MEMORY;
    for (int i = -1; i < c->n_levels; i++) {
        const int64_t ch = c->hidden_dim * (i < 0 ? 1 : c->ch_mult[i]);
        bool seen = false;
        for (int j = 0; j < m->n_norm && !seen; j++) seen = m->norm[j].c == ch;
        if (seen) continue;
        float *w = duet_calloc(2 * (size_t)ch, sizeof *w);
        if (!w) return DUET_ERR_OUT_OF_MEMORY;
        for (int64_t k = 0; k < ch; k++) w[ch + k] = sqrtf(2.0f) / (float)ch;
        duet_tensor *t = upload_vec(ld, ch, 2, w, "audio_vae.norm_w2");
        duet_free(w);
        if (!t) return DUET_ERR_OUT_OF_MEMORY;
        m->norm[m->n_norm++] = (duet_avae_norm_const){ch, t};
    }
    return DUET_OK;
}

static duet_status load_level(duet_weights *ld, duet_avae_model *m, int i, int64_t *ch) {
    const duet_audio_vae_config *c = &m->cfg;
    duet_avae_level *lv = &m->level[i];
    const char *part = m->decoder ? "up" : "down";
    const int64_t cout = c->hidden_dim * c->ch_mult[i];
    char base[64];
    lv->n_blocks = (int)c->n_res_blocks + (m->decoder ? 1 : 0);
    lv->has_attn = (c->attn_levels >> i) & 1u;
    duet_status s = DUET_OK;
    for (int j = 0; j < lv->n_blocks && s == DUET_OK; j++) {
        snprintf(base, sizeof base, "%s.%d.block.%d.", part, i, j);
        s = load_block(ld, base, *ch, cout, c->kernel_size, &lv->block[j]);
        *ch = cout;
        snprintf(base, sizeof base, "%s.%d.attn.%d.", part, i, j);
        if (s == DUET_OK && lv->has_attn) s = load_attn(ld, base, cout, &lv->attn[j]);
    }
    char name[96];
    if (s == DUET_OK && !m->decoder && ((c->down_levels >> i) & 1u)) {
        snprintf(name, sizeof name, "down.%d.downsample.conv1.weight", i);
        s = load_kernel(ld, name, cout, cout, 1, &lv->down1);
        snprintf(name, sizeof name, "down.%d.downsample.conv2.weight", i);
        if (s == DUET_OK) s = load_kernel(ld, name, cout, cout, 1, &lv->down2);
    }
    if (s == DUET_OK && m->decoder && i >= 1 && ((c->down_levels >> (i - 1)) & 1u)) {
        snprintf(name, sizeof name, "up.%d.upsample.conv.weight", i);
        s = load_kernel(ld, name, cout, cout, 3, &lv->up);
    }
    return s;
}

static duet_status load_mid(duet_weights *ld, duet_avae_model *m, int64_t ch) {
    const int64_t k = m->cfg.kernel_size;
    duet_status s = load_block(ld, "mid.block_1.", ch, ch, k, &m->mid1);
    if (s == DUET_OK) s = load_attn(ld, "mid.attn_1.", ch, &m->mid_attn);
    return s != DUET_OK ? s : load_block(ld, "mid.block_2.", ch, ch, k, &m->mid2);
}

/* Encoder: conv_in, levels 0.., mid, conv_out; decoder: conv_in, mid, levels ..0, conv_out. */
static duet_status load_layers(duet_weights *ld, duet_avae_model *m) {
    const duet_audio_vae_config *c = &m->cfg;
    const int64_t k = c->kernel_size, last = c->hidden_dim * c->ch_mult[c->n_levels - 1];
    int64_t ch = m->decoder ? last : c->hidden_dim;
    duet_status s = m->decoder ? load_kernel(ld, "conv_in.weight", ch, c->embed_dim, k, &m->conv_in)
                               : load_kernel(ld, "conv_in.weight", ch, c->data_dim, k, &m->conv_in);
    if (s == DUET_OK && m->decoder) s = load_mid(ld, m, ch);
    for (int n = 0; n < c->n_levels && s == DUET_OK; n++)
        s = load_level(ld, m, m->decoder ? c->n_levels - 1 - n : n, &ch);
    if (s == DUET_OK && !m->decoder) s = load_mid(ld, m, ch);
    if (s != DUET_OK) return s;
    if (m->decoder) return load_kernel(ld, "conv_out.weight", c->data_dim, ch, k, &m->conv_out);
    duet_tensor *full = NULL;
    s = load_kernel(ld, "conv_out.weight", 2 * c->embed_dim, ch, k, &full);
    if (s != DUET_OK) return s;
    /* the posterior mean: output channels [0, embed_dim), contiguous at the front */
    const int64_t ne[3] = {k, ch, c->embed_dim};
    m->conv_out = duet_view(ld->arena, full, 3, ne, full->nb, 0);
    return m->conv_out ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

duet_status duet_avae_load(duet_avae_model *m, const duet_audio_vae_config *cfg,
                           const duet_safetensors *st, duet_backend *be,
                           const duet_audio_vae_load_params *p, bool decoder) {
    duet_audio_vae_load_params lp = p ? *p : duet_audio_vae_default_load_params();
    const char *root = lp.prefix ? lp.prefix : "audio_vae.";
    memset(m, 0, sizeof *m);
    if (!cfg || !st || !be) {
        DUET_LOGE("audio vae load: bad arguments");
        return DUET_ERR_INVALID_ARG;
    }
    duet_status s = duet_audio_vae_config_check(cfg);
    if (s != DUET_OK) return s;
    m->cfg = *cfg;
    m->decoder = decoder;
    m->be = be;
    if (!(m->arena = duet_arena_new(0))) return DUET_ERR_OUT_OF_MEMORY;
    duet_weights top, ld; /* "audio_vae." and "audio_vae.decoder." (or "encoder.") */
    s = duet_weights_open(&top, decoder ? "audio VAE decoder" : "audio VAE encoder", st, root,
                          m->arena, be, lp.weight_dtype);
    if (s == DUET_OK) s = duet_weights_sub(&top, &ld, "%s", decoder ? "decoder." : "encoder.");
    if (s == DUET_OK) s = load_layers(&ld, m);
    float gain = 0;
    if (s == DUET_OK) s = read_host(&ld, "learnable_gain", 1, &gain);
    m->gain = 1.0f + gain;
    if (s == DUET_OK) s = load_stats(&top, m);
    if (s == DUET_OK) s = make_norm_consts(&ld, m);
    if (s == DUET_OK) { /* every tensor under the half's prefix must have been loaded */
        char detail[64];
        snprintf(detail, sizeof detail, "config: %d levels, %lld res blocks", cfg->n_levels,
                 (long long)cfg->n_res_blocks);
        s = duet_weights_check_unused(&ld, NULL, 0, detail);
    }
    duet_weights_close(&top);
    if (s != DUET_OK) {
        DUET_LOGE("%s: the audio VAE %s does not load (%s)", duet_safetensors_name(st),
                  decoder ? "decoder" : "encoder", duet_status_str(s));
        duet_avae_release(m);
    }
    return s;
}

bool duet_avae_is_f32_2d(const duet_tensor *t, int64_t ne0, int64_t ne1) {
    return t && t->dtype == DUET_F32 && t->ne[0] == ne0 && t->ne[1] == ne1 &&
           duet_nelements(t) == ne0 * ne1;
}

void duet_avae_release(duet_avae_model *m) {
    duet_arena_free(&m->arena);
    memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- planning */

typedef struct {
    int64_t cap;   /* largest L C of the residual stream and its temporaries */
    int64_t cap3;  /* largest 3 C L of an attention */
    int64_t l_max; /* longest sequence */
    int64_t n_out; /* latents (encoder) or mel frames (decoder); < 1 if a level has no frame */
} plan;

static void need(plan *p, int64_t l, int64_t c) {
    if (l * c > p->cap) p->cap = l * c;
    if (l > p->l_max) p->l_max = l;
}

static void need_attn(plan *p, int64_t l, int64_t c) {
    need(p, l, c);
    if (3 * l * c > p->cap3) p->cap3 = 3 * l * c;
}

/* Walks the layers as the forward passes do, recording the sizes they reach. */
static plan make_plan(const duet_audio_vae_config *c, bool decoder, int64_t n) {
    plan p = {0, 0, 0, 0};
    int64_t l = n, ch = decoder ? c->hidden_dim * c->ch_mult[c->n_levels - 1] : c->hidden_dim;
    need(&p, l, ch);
    if (decoder) need_attn(&p, l, ch);
    for (int k = 0; k < c->n_levels && l >= 1; k++) {
        const int i = decoder ? c->n_levels - 1 - k : k;
        const int64_t cout = c->hidden_dim * c->ch_mult[i];
        need(&p, l, ch > cout ? ch : cout);
        if ((c->attn_levels >> i) & 1u) need_attn(&p, l, cout);
        ch = cout;
        if (!decoder && ((c->down_levels >> i) & 1u)) l /= 2;
        if (decoder && i >= 1 && ((c->down_levels >> (i - 1)) & 1u)) l *= 2;
        need(&p, l, ch);
    }
    if (!decoder) need_attn(&p, l, ch);
    p.n_out = l;
    return p;
}

int64_t duet_audio_vae_latent_len(const duet_audio_vae_config *cfg, int64_t n_mel_frames) {
    if (!cfg || n_mel_frames < 1 || n_mel_frames > ((int64_t)1 << 30)) return -1;
    plan p = make_plan(cfg, false, n_mel_frames);
    return p.n_out >= 1 ? p.n_out : -1;
}

int64_t duet_audio_vae_mel_len(const duet_audio_vae_config *cfg, int64_t n_latents) {
    if (!cfg || n_latents < 1 || n_latents > ((int64_t)1 << 24)) return -1;
    return make_plan(cfg, true, n_latents).n_out;
}

static duet_tensor *flat(duet_arena *a, duet_backend *be, int64_t n, const char *name) {
    duet_tensor *t = duet_tensor_new4(a, be, DUET_F32, n, 1, 1, 1);
    if (t) duet_tensor_set_name(t, name);
    return t;
}

duet_status duet_avae_session_new(const duet_avae_model *m, int64_t n_in,
                                  duet_audio_vae_session **out) {
    const duet_audio_vae_config *c = &m->cfg;
    const int64_t n_max = m->decoder ? ((int64_t)1 << 24) : ((int64_t)1 << 30);
    plan p = n_in >= 1 && n_in <= n_max ? make_plan(c, m->decoder, n_in) : (plan){0, 0, 0, 0};
    if (p.n_out < 1) {
        DUET_LOGE("audio vae %s: %lld %s leave no frame at some level", m->decoder ? "decoder"
                  : "encoder", (long long)n_in, m->decoder ? "latents" : "mel frames");
        return DUET_ERR_INVALID_ARG;
    }
    duet_audio_vae_session *s = duet_calloc(1, sizeof *s);
    if (!s || !(s->arena = duet_arena_new(0))) {
        duet_free(s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s->m = m;
    s->n_in = n_in;
    s->n_out = p.n_out;
    duet_arena *a = s->arena;
    s->x = flat(a, m->be, p.cap, "audio_vae.x");
    s->xn = flat(a, m->be, p.cap, "audio_vae.xn");
    s->a = flat(a, m->be, p.cap, "audio_vae.a");
    s->b = flat(a, m->be, p.cap, "audio_vae.b");
    s->qkv = flat(a, m->be, p.cap3, "audio_vae.qkv");
    s->r = flat(a, m->be, 2 * p.l_max, "audio_vae.norm_r");
    s->rn = flat(a, m->be, 2 * p.l_max, "audio_vae.norm_rn");
    s->in = m->decoder ? flat(a, m->be, n_in * c->embed_dim, "audio_vae.latent_t")
                       : flat(a, m->be, n_in * c->data_dim, "audio_vae.mel_norm");
    s->out = m->decoder ? s->in : flat(a, m->be, p.n_out * c->embed_dim, "audio_vae.mean");
    if (!s->x || !s->xn || !s->a || !s->b || !s->qkv || !s->r || !s->rn || !s->in || !s->out) {
        duet_audio_vae_session_free(&s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    *out = s;
    return DUET_OK;
}

void duet_audio_vae_session_free(duet_audio_vae_session **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free(*s);
    *s = NULL;
}

/* ---------------------------------------------------------------- views */

duet_tensor duet_avae_strided(const duet_tensor *buf, int64_t ne0, int64_t ne1, size_t nb0,
                              size_t nb1, size_t offset) {
    duet_tensor v = *buf;
    v.n_dims = 2;
    v.ne[0] = ne0;
    v.ne[1] = ne1;
    v.nb[0] = nb0;
    v.nb[1] = nb1;
    for (int i = 2; i < DUET_MAX_DIMS; i++) {
        v.ne[i] = 1;
        v.nb[i] = nb1 * (size_t)ne1;
    }
    v.offset = buf->offset + offset;
    return v;
}

duet_tensor duet_avae_view(const duet_tensor *buf, int64_t ne0, int64_t ne1) {
    return duet_avae_strided(buf, ne0, ne1, sizeof(float), sizeof(float) * (size_t)ne0, 0);
}

duet_tensor duet_avae_view4(const duet_tensor *buf, const int64_t ne[4]) {
    duet_tensor v = *buf;
    v.n_dims = 4;
    size_t nb = sizeof(float);
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        v.ne[i] = i < 4 ? ne[i] : 1;
        v.nb[i] = nb;
        nb *= (size_t)v.ne[i];
    }
    return v;
}

/* ---------------------------------------------------------------- layers */

static const duet_tensor *norm_w2(const duet_avae_model *m, int64_t c) {
    for (int i = 0; i < m->n_norm; i++)
        if (m->norm[i].c == c) return m->norm[i].w2;
    DUET_ASSERT(!"no normalization constant for this channel count");
    return NULL;
}

/* rn row 0 = 1 / (eps + rms) of each column of rows [C, L] (channels innermost). Without a
 * square root or a reciprocal op: rms = mean(x * x / rms) with x / rms from RMSNorm (eps
 * 1e-30, so that all-zero columns give 0, not NaN); r = [u, sqrt(2) (rms + eps)] per column
 * by one matmul (w2, norm_bias); RMSNorm of r (length 2) scaled by 1 / u gives
 * u / sqrt((u^2 + 2 (rms + eps)^2) / 2) / u = 1 / (rms + eps), u^2 (2^-80) being far below
 * float32 resolution of 2 eps^2. */
static duet_status norm_factor(duet_audio_vae_session *s, const duet_tensor *rows,
                               const duet_tensor *tmp_buf, int64_t C, int64_t L) {
    const duet_avae_model *m = s->m;
    duet_tensor t = duet_avae_view(tmp_buf, C, L);
    duet_tensor r = duet_avae_view(s->r, 2, L), rn = duet_avae_view(s->rn, 2, L);
    DUET_AVAE_TRY(duet_rmsnorm(&t, rows, NULL, 1e-30f));
    DUET_AVAE_TRY(duet_mul(&t, &t, rows));
    DUET_AVAE_TRY(duet_matmul(&r, &t, norm_w2(m, C), m->norm_bias, false));
    return duet_rmsnorm(&rn, &r, m->norm_w, 0.0f);
}

/* dst = mp_sum(a, b, 0.3); b is scaled in place (a temporary). dst may be a. */
static duet_status mp_sum(duet_tensor *dst, const duet_tensor *a, duet_tensor *b) {
    const double t = DUET_AVAE_MP_SUM_T, n = sqrt((1 - t) * (1 - t) + t * t);
    DUET_AVAE_TRY(duet_scale(dst, a, (float)((1 - t) / n), 0.0f));
    DUET_AVAE_TRY(duet_scale(b, b, (float)(t / n), 0.0f));
    return duet_add(dst, dst, b);
}

duet_status duet_avae_mp_silu(duet_tensor *dst, const duet_tensor *x) {
    DUET_AVAE_TRY(duet_unary(dst, x, DUET_UNARY_SILU));
    return duet_scale(dst, dst, 1.0f / DUET_AVAE_SILU_DIV, 0.0f);
}

/* x [L, cin] -> x [L, cout]. xn = mp_normalize(x) over channels (computed on the transposed
 * copy, applied in the conv layout); h = conv2(mp_silu(conv1(mp_silu(xn))));
 * x = mp_sum(shortcut(xn), h). */
duet_status duet_avae_resblock(duet_audio_vae_session *s, const duet_avae_block *b, int64_t L) {
    const int64_t cin = b->cin, cout = b->cout, pad = b->conv1->ne[0] / 2;
    const size_t f = sizeof(float);
    duet_tensor x = duet_avae_view(s->x, L, cin), xt = duet_avae_view(s->a, cin, L);
    duet_tensor x_t = duet_avae_strided(s->x, cin, L, f * (size_t)L, f, 0);
    DUET_AVAE_TRY(duet_copy(&xt, &x_t));
    DUET_AVAE_TRY(norm_factor(s, &xt, s->b, cin, L));
    duet_tensor fac = duet_avae_strided(s->rn, L, 1, 2 * f, 2 * f * (size_t)L, 0);
    duet_tensor xn = duet_avae_view(s->xn, L, cin), a = duet_avae_view(s->a, L, cin);
    DUET_AVAE_TRY(duet_mul(&xn, &x, &fac));
    DUET_AVAE_TRY(duet_avae_mp_silu(&a, &xn));
    duet_tensor h = duet_avae_view(s->b, L, cout), h2 = duet_avae_view(s->a, L, cout);
    DUET_AVAE_TRY(duet_conv1d(&h, &a, b->conv1, NULL, 1, (int)pad, 1));
    DUET_AVAE_TRY(duet_avae_mp_silu(&h, &h));
    DUET_AVAE_TRY(duet_conv1d(&h2, &h, b->conv2, NULL, 1, (int)pad, 1));
    duet_tensor sc = xn;
    if (b->nin) {
        sc = duet_avae_view(s->b, L, cout);
        DUET_AVAE_TRY(duet_conv1d(&sc, &xn, b->nin, NULL, 1, 0, 1));
    }
    duet_tensor xo = duet_avae_view(s->x, L, cout);
    return mp_sum(&xo, &sc, &h2);
}

/* x [L, c] += attention, one head over all c channels, mp_sum'ed. */
duet_status duet_avae_attention(duet_audio_vae_session *s, const duet_avae_attn *w, int64_t L) {
    const int64_t c = w->c;
    const size_t f = sizeof(float);
    duet_tensor x = duet_avae_view(s->x, L, c), y = duet_avae_view(s->qkv, L, 3 * c);
    DUET_AVAE_TRY(duet_conv1d(&y, &x, w->qkv, NULL, 1, 0, 1));
    /* part j (q, k, v) of channel i is output channel 3 i + j: gather each as rows [c, L] */
    const duet_tensor *bufs[3] = {s->a, s->b, s->xn};
    duet_tensor part[3];
    for (int j = 0; j < 3; j++) {
        part[j] = duet_avae_view(bufs[j], c, L);
        duet_tensor src = duet_avae_strided(s->qkv, c, L, 3 * f * (size_t)L, f, (size_t)j * f *
                                            (size_t)L);
        DUET_AVAE_TRY(duet_copy(&part[j], &src));
    }
    duet_tensor fac = duet_avae_strided(s->rn, 1, L, f, 2 * f, 0);
    for (int j = 0; j < 3; j++) {
        DUET_AVAE_TRY(norm_factor(s, &part[j], s->qkv, c, L));
        DUET_AVAE_TRY(duet_mul(&part[j], &part[j], &fac));
    }
    const int64_t ne[4] = {c, 1, L, 1};
    duet_tensor q = duet_avae_view4(s->a, ne), k = duet_avae_view4(s->b, ne);
    duet_tensor v = duet_avae_view4(s->xn, ne), o = duet_avae_view4(s->qkv, ne);
    DUET_AVAE_TRY(duet_attention(&o, &q, &k, &v, NULL, (float)(1.0 / sqrt((double)c))));
    duet_tensor ot = duet_avae_view(s->a, L, c);
    duet_tensor o_t = duet_avae_strided(s->qkv, L, c, f * (size_t)c, f, 0);
    DUET_AVAE_TRY(duet_copy(&ot, &o_t));
    duet_tensor p = duet_avae_view(s->b, L, c);
    DUET_AVAE_TRY(duet_conv1d(&p, &ot, w->proj, NULL, 1, 0, 1));
    return mp_sum(&x, &x, &p);
}

/* x [L, C] = clamp(x, -a, a) = x - relu(x - a) + relu(-x - a), with relu(z) = silu(k z) / k
 * for k = 2^20: exact in float32 once |k z| > ~17 (sigmoid rounds to 1 or silu underflows
 * to 0), i.e. everywhere but within 2e-5 of the bounds, where it is off by at most 0.28 / k.
 * Scaling by a power of two is exact; x beyond 3e32 would overflow. */
duet_status duet_avae_clamp(duet_audio_vae_session *s, int64_t L, int64_t C) {
    const float k = 0x1p20f, a = s->m->cfg.clip_act;
    duet_tensor x = duet_avae_view(s->x, L, C), t = duet_avae_view(s->a, L, C);
    for (int side = 0; side < 2; side++) {
        const float sign = side ? -1.0f : 1.0f;
        DUET_AVAE_TRY(duet_scale(&t, &x, sign * k, -k * a));
        DUET_AVAE_TRY(duet_unary(&t, &t, DUET_UNARY_SILU));
        DUET_AVAE_TRY(duet_scale(&t, &t, -sign / k, 0.0f));
        DUET_AVAE_TRY(duet_add(&x, &x, &t));
    }
    return DUET_OK;
}

/* x [L, C] -> x [L / 2, C]: conv1x1, average of frame pairs (an odd last frame dropped, as
 * avg_pool1d does), conv1x1. */
duet_status duet_avae_downsample(duet_audio_vae_session *s, const duet_avae_level *lv,
                                 int64_t L, int64_t C) {
    const size_t f = sizeof(float);
    const int64_t h = L / 2;
    duet_tensor x = duet_avae_view(s->x, L, C), a = duet_avae_view(s->a, L, C);
    DUET_AVAE_TRY(duet_conv1d(&a, &x, lv->down1, NULL, 1, 0, 1));
    duet_tensor even = duet_avae_strided(s->a, h, C, 2 * f, f * (size_t)L, 0);
    duet_tensor odd = duet_avae_strided(s->a, h, C, 2 * f, f * (size_t)L, f);
    duet_tensor b = duet_avae_view(s->b, h, C), xo = duet_avae_view(s->x, h, C);
    DUET_AVAE_TRY(duet_add(&b, &even, &odd));
    DUET_AVAE_TRY(duet_scale(&b, &b, 0.5f, 0.0f));
    return duet_conv1d(&xo, &b, lv->down2, NULL, 1, 0, 1);
}

/* x [L, C] -> x [2 L, C]: nearest x2, conv k3. */
duet_status duet_avae_upsample(duet_audio_vae_session *s, const duet_avae_level *lv, int64_t L,
                               int64_t C) {
    const int factor[3] = {2, 1, 1};
    duet_tensor x = duet_avae_view(s->x, L, C), a = duet_avae_view(s->a, 2 * L, C);
    duet_tensor xo = duet_avae_view(s->x, 2 * L, C);
    DUET_AVAE_TRY(duet_upsample_nearest(&a, &x, factor));
    return duet_conv1d(&xo, &a, lv->up, NULL, 1, 1, 1);
}

duet_status duet_avae_mid(duet_audio_vae_session *s, int64_t L) {
    const duet_avae_model *m = s->m;
    DUET_AVAE_TRY(duet_avae_resblock(s, &m->mid1, L));
    DUET_AVAE_TRY(duet_avae_attention(s, &m->mid_attn, L));
    DUET_AVAE_TRY(duet_avae_resblock(s, &m->mid2, L));
    return duet_avae_clamp(s, L, m->mid1.cout);
}
