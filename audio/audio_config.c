/* duet — the audio side's configuration (see audio_config.h): defaults for MMAudio's 16 kHz VAE
 * and its BigVGAN v1 vocoder, the consistency check, and the reader of config.json's "mel",
 * "audio_vae" and "vocoder" objects (field names of tools/duet_tiny/config.py, which are
 * MMAudio's and BigVGAN's). Errors name the file and the field. */
#include "audio_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/json_util.h"
#include "core/log.h"

/* Largest size accepted: keeps every product of sizes far from overflow. */
#define MAX_SIZE ((int64_t)1 << 20)

duet_audio_vae_config duet_audio_vae_default_config(void) {
    duet_audio_vae_config c = {.data_dim = 80, .embed_dim = 20, .hidden_dim = 384,
                               .n_levels = 3, .ch_mult = {1, 2, 4}, .n_res_blocks = 2,
                               .attn_levels = 1u << 3, .down_levels = 1u << 0,
                               .kernel_size = 3, .clip_act = 256.0f};
    return c;
}

duet_vocoder_config duet_vocoder_default_config(void) {
    duet_vocoder_config c = {.num_mels = 80, .n_ups = 6, .upsample_rates = {4, 4, 2, 2, 2, 2},
                             .upsample_kernel_sizes = {8, 8, 4, 4, 4, 4},
                             .upsample_initial_channel = 1536, .n_kernels = 3,
                             .resblock_kernel_sizes = {3, 7, 11}, .n_dilations = 3,
                             .resblock_dilations = {{1, 3, 5}, {1, 3, 5}, {1, 3, 5}},
                             .snake_logscale = true, .antialias = true};
    return c;
}

static duet_status bad_config(const char *what) {
    DUET_LOGE("audio config: %s", what);
    return DUET_ERR_INVALID_ARG;
}

duet_status duet_audio_vae_config_check(const duet_audio_vae_config *v) {
    if (!v) return bad_config("NULL audio_vae config");
    if (v->data_dim < 1 || v->embed_dim < 1 || v->hidden_dim < 1 || v->data_dim > MAX_SIZE ||
        v->embed_dim > MAX_SIZE || v->hidden_dim > MAX_SIZE)
        return bad_config("audio_vae: data_dim, embed_dim and hidden_dim must be in [1, 2^20]");
    if (v->n_levels < 1 || v->n_levels > DUET_AUDIO_VAE_MAX_LEVELS)
        return bad_config("audio_vae.ch_mult: 1 to 8 levels");
    for (int i = 0; i < v->n_levels; i++)
        if (v->ch_mult[i] < 1 || v->ch_mult[i] * v->hidden_dim > MAX_SIZE)
            return bad_config("audio_vae.ch_mult: entries must be >= 1 (and width <= 2^20)");
    if (v->n_res_blocks < 1 || v->n_res_blocks >= DUET_AUDIO_VAE_MAX_RES_BLOCKS)
        return bad_config("audio_vae.num_res_blocks must be in [1, 7]");
    if (v->kernel_size < 1 || v->kernel_size % 2 == 0 || v->kernel_size > 63)
        return bad_config("audio_vae.kernel_size must be odd, in [1, 63]");
    if (!(v->clip_act > 0) || !isfinite(v->clip_act) || v->clip_act > 1e6f)
        return bad_config("audio_vae.clip_act must be in (0, 1e6]");
    return DUET_OK;
}

duet_status duet_vocoder_config_check(const duet_vocoder_config *c, int hop) {
    if (!c) return bad_config("NULL vocoder config");
    if (c->num_mels < 1 || c->num_mels > MAX_SIZE || c->upsample_initial_channel < 1 ||
        c->upsample_initial_channel > MAX_SIZE)
        return bad_config("vocoder: num_mels and upsample_initial_channel must be in [1, 2^20]");
    if (c->n_ups < 1 || c->n_ups > DUET_VOCODER_MAX_UPS)
        return bad_config("vocoder.upsample_rates: 1 to 8 upsamplers");
    int64_t prod = 1;
    for (int i = 0; i < c->n_ups; i++) {
        const int64_t u = c->upsample_rates[i], k = c->upsample_kernel_sizes[i];
        if (u < 1 || u > 64 || k < u || k > 256 || (k - u) % 2)
            return bad_config("vocoder: each upsampler needs 1 <= rate <= kernel <= 256 and "
                              "kernel - rate even (padding (k - u) / 2 keeps length x rate)");
        prod *= u;
    }
    if (hop > 0 && prod != hop) return bad_config("vocoder: product of upsample_rates != mel hop");
    if (c->upsample_initial_channel % ((int64_t)1 << c->n_ups))
        return bad_config("vocoder.upsample_initial_channel must be divisible by 2^n_ups");
    if (c->n_kernels < 1 || c->n_kernels > DUET_VOCODER_MAX_KERNELS || c->n_dilations < 1 ||
        c->n_dilations > DUET_VOCODER_MAX_DILATIONS)
        return bad_config("vocoder: 1 to 4 resblock kernels, 1 to 4 dilations each");
    for (int j = 0; j < c->n_kernels; j++) {
        const int64_t k = c->resblock_kernel_sizes[j];
        if (k < 1 || k % 2 == 0 || k > 63)
            return bad_config("vocoder: resblock kernels must be odd, <= 63");
        for (int d = 0; d < c->n_dilations; d++)
            if (c->resblock_dilations[j][d] < 1 || c->resblock_dilations[j][d] > 64)
                return bad_config("vocoder: dilations in [1, 64]");
    }
    return DUET_OK;
}

duet_status duet_audio_config_check(const duet_audio_config *c) {
    if (!c) return bad_config("NULL");
    duet_mel *m = NULL;
    duet_status s = duet_mel_new(&c->mel, &m);
    duet_mel_free(&m);
    if (s == DUET_ERR_OUT_OF_MEMORY) return s;
    if (s != DUET_OK) return bad_config("mel parameters out of range");
    s = duet_audio_vae_config_check(&c->vae);
    if (s == DUET_OK) s = duet_vocoder_config_check(&c->vocoder, c->mel.hop);
    if (s == DUET_OK && (c->vae.data_dim != c->mel.n_mels || c->vocoder.num_mels != c->mel.n_mels))
        return bad_config("mel.n_mels, audio_vae.data_dim and vocoder.num_mels must agree");
    return s;
}

/* ---------------------------------------------------------------- JSON */

typedef duet_json_ctx ctx; /* file and section ("mel", "audio_vae", "vocoder") for messages */

/* A positive integer (JSON integer or integral real) <= MAX_SIZE. */
static duet_status int_value(const ctx *c, const char *field, const json_t *v, int64_t *out) {
    double d = json_is_integer(v) ? (double)json_integer_value(v)
               : json_is_real(v)  ? json_real_value(v)
                                  : -1;
    if (d != floor(d) || d < 0 || d > (double)MAX_SIZE)
        return duet_json_field_error(c, field, "must be an integer in [0, 2^20]");
    *out = (int64_t)d;
    return DUET_OK;
}

static duet_status get_int(const ctx *c, const json_t *obj, const char *field, int64_t *out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) return duet_json_field_error(c, field, "required field is missing");
    return int_value(c, field, v, out);
}

static duet_status get_num(const ctx *c, const json_t *obj, const char *field, double *out) {
    return duet_json_get_number(c, obj, field, NAN, -HUGE_VAL, HUGE_VAL, out);
}

/* An array of 1..max integers (max_len entries); n_out receives the count. */
static duet_status get_ints(const ctx *c, const json_t *obj, const char *field, int max_len,
                            int64_t *out, int *n_out, bool allow_empty) {
    const json_t *v = json_object_get(obj, field);
    if (!v) return duet_json_field_error(c, field, "required field is missing");
    size_t n = json_is_array(v) ? json_array_size(v) : 0;
    if (!json_is_array(v) || n > (size_t)max_len || (n == 0 && !allow_empty)) {
        char msg[64];
        snprintf(msg, sizeof msg, "must be an array of %s1 to %d integers",
                 allow_empty ? "0 or " : "", max_len);
        return duet_json_field_error(c, field, msg);
    }
    for (size_t i = 0; i < n; i++) {
        duet_status s = int_value(c, field, json_array_get(v, i), &out[i]);
        if (s != DUET_OK) return s;
    }
    *n_out = (int)n;
    return DUET_OK;
}

/* A list of level indices as a bit mask (indices >= 32 are kept out: no such level). */
static duet_status get_levels(const ctx *c, const json_t *obj, const char *field,
                              uint32_t *mask) {
    int64_t idx[16];
    int n = 0;
    duet_status s = get_ints(c, obj, field, 16, idx, &n, true);
    *mask = 0;
    for (int i = 0; s == DUET_OK && i < n; i++)
        if (idx[i] < 32) *mask |= 1u << idx[i];
    return s;
}

static duet_status expect_string(const ctx *c, const json_t *obj, const char *field,
                                 const char *want, duet_status if_other) {
    const json_t *v = json_object_get(obj, field);
    if (!v) return DUET_OK;
    if (!json_is_string(v)) return duet_json_field_error(c, field, "must be a string");
    if (!strcmp(json_string_value(v), want)) return DUET_OK;
    DUET_LOGE("%s: %s.%s: \"%.40s\" is not supported (only \"%s\")", c->file, c->section, field,
              json_string_value(v), want);
    return if_other;
}

static duet_status get_bool(const ctx *c, const json_t *obj, const char *field, bool def,
                            bool *out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) {
        *out = def;
        return DUET_OK;
    }
    if (!json_is_boolean(v)) return duet_json_field_error(c, field, "must be true or false");
    *out = json_is_true(v);
    return DUET_OK;
}

static duet_status parse_mel(const ctx *c, const json_t *o, duet_mel_params *m) {
    static const char *const known[] = {"sample_rate_hz", "n_fft", "hop", "win", "n_mels",
                                        "fmin_hz", "fmax_hz", "log_clamp"};
    int64_t v[5];
    duet_status s = DUET_OK;
    for (int i = 0; i < 5 && s == DUET_OK; i++) s = get_int(c, o, known[i], &v[i]);
    if (s == DUET_OK) s = get_num(c, o, "fmin_hz", &m->fmin_hz);
    if (s == DUET_OK) s = get_num(c, o, "fmax_hz", &m->fmax_hz);
    if (s == DUET_OK) s = get_num(c, o, "log_clamp", &m->log_clamp);
    if (s != DUET_OK) return s;
    m->sample_rate_hz = (int)v[0];
    m->n_fft = (int)v[1];
    m->hop = (int)v[2];
    m->win = (int)v[3];
    m->n_mels = (int)v[4];
    duet_json_warn_unknown(c, o, known, sizeof known / sizeof known[0]);
    return DUET_OK;
}

static duet_status parse_vae(const ctx *c, const json_t *o, duet_audio_vae_config *v) {
    static const char *const known[] = {
        "data_dim", "embed_dim", "hidden_dim", "ch_mult", "num_res_blocks", "attn_layers",
        "down_layers", "kernel_size", "clip_act", "weights"};
    double clip = 0;
    duet_status s = get_int(c, o, "data_dim", &v->data_dim);
    if (s == DUET_OK) s = get_int(c, o, "embed_dim", &v->embed_dim);
    if (s == DUET_OK) s = get_int(c, o, "hidden_dim", &v->hidden_dim);
    if (s == DUET_OK)
        s = get_ints(c, o, "ch_mult", DUET_AUDIO_VAE_MAX_LEVELS, v->ch_mult, &v->n_levels, false);
    if (s == DUET_OK) s = get_int(c, o, "num_res_blocks", &v->n_res_blocks);
    if (s == DUET_OK) s = get_levels(c, o, "attn_layers", &v->attn_levels);
    if (s == DUET_OK) s = get_levels(c, o, "down_layers", &v->down_levels);
    if (s == DUET_OK) s = get_int(c, o, "kernel_size", &v->kernel_size);
    if (s == DUET_OK) s = get_num(c, o, "clip_act", &clip);
    if (s == DUET_OK) s = expect_string(c, o, "weights", "mp_baked", DUET_ERR_UNSUPPORTED);
    if (s != DUET_OK) return s;
    v->clip_act = (float)clip;
    duet_json_warn_unknown(c, o, known, sizeof known / sizeof known[0]);
    return DUET_OK;
}

static duet_status get_dilations(const ctx *c, const json_t *o, duet_vocoder_config *v) {
    const char *f = "resblock_dilation_sizes";
    const json_t *d = json_object_get(o, f);
    if (!d) return duet_json_field_error(c, f, "required field is missing");
    if (!json_is_array(d) || json_array_size(d) != (size_t)v->n_kernels)
        return duet_json_field_error(c, f, "must hold one list per resblock kernel size");
    for (int j = 0; j < v->n_kernels; j++) {
        const json_t *row = json_array_get(d, (size_t)j);
        size_t n = json_is_array(row) ? json_array_size(row) : 0;
        if (n < 1 || n > DUET_VOCODER_MAX_DILATIONS || (j > 0 && n != (size_t)v->n_dilations))
            return duet_json_field_error(c, f, "lists of 1 to 4 dilations, all of one length");
        v->n_dilations = (int)n;
        for (size_t i = 0; i < n; i++) {
            duet_status s = int_value(c, f, json_array_get(row, i), &v->resblock_dilations[j][i]);
            if (s != DUET_OK) return s;
        }
    }
    return DUET_OK;
}

static duet_status parse_vocoder(const ctx *c, const json_t *o, duet_vocoder_config *v) {
    static const char *const known[] = {
        "num_mels", "upsample_rates", "upsample_kernel_sizes", "upsample_initial_channel",
        "resblock", "resblock_kernel_sizes", "resblock_dilation_sizes", "activation",
        "snake_logscale", "antialias"};
    int n_k = 0;
    duet_status s = get_int(c, o, "num_mels", &v->num_mels);
    if (s == DUET_OK)
        s = get_ints(c, o, "upsample_rates", DUET_VOCODER_MAX_UPS, v->upsample_rates, &v->n_ups,
                     false);
    if (s == DUET_OK)
        s = get_ints(c, o, "upsample_kernel_sizes", DUET_VOCODER_MAX_UPS,
                     v->upsample_kernel_sizes, &n_k, false);
    if (s == DUET_OK && n_k != v->n_ups)
        s = duet_json_field_error(c, "upsample_kernel_sizes", "needs one kernel per upsample rate");
    if (s == DUET_OK) s = get_int(c, o, "upsample_initial_channel", &v->upsample_initial_channel);
    if (s == DUET_OK) s = expect_string(c, o, "resblock", "1", DUET_ERR_UNSUPPORTED);
    if (s == DUET_OK)
        s = get_ints(c, o, "resblock_kernel_sizes", DUET_VOCODER_MAX_KERNELS,
                     v->resblock_kernel_sizes, &v->n_kernels, false);
    if (s == DUET_OK) s = get_dilations(c, o, v);
    if (s == DUET_OK) s = expect_string(c, o, "activation", "snakebeta", DUET_ERR_UNSUPPORTED);
    if (s == DUET_OK) s = get_bool(c, o, "snake_logscale", true, &v->snake_logscale);
    if (s == DUET_OK) s = get_bool(c, o, "antialias", false, &v->antialias);
    if (s == DUET_OK) duet_json_warn_unknown(c, o, known, sizeof known / sizeof known[0]);
    return s;
}

duet_status duet_audio_config_parse(const char *text, size_t len, const char *name,
                                    duet_audio_config *out) {
    const char *file = name ? name : "(audio config)";
    if (!text || !out) {
        DUET_LOGE("duet_audio_config_parse: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    json_t *root = duet_json_parse(text, len, file);
    if (!root) return DUET_ERR_FORMAT;
    duet_audio_config cfg;
    memset(&cfg, 0, sizeof cfg);
    static const char *const sections[3] = {"mel", "audio_vae", "vocoder"};
    const json_t *obj[3];
    duet_status s = DUET_OK;
    for (int i = 0; i < 3 && s == DUET_OK; i++) {
        obj[i] = json_is_object(root) ? json_object_get(root, sections[i]) : NULL;
        if (!json_is_object(obj[i])) {
            DUET_LOGE("%s: needs a \"%s\" object", file, sections[i]);
            s = DUET_ERR_FORMAT;
        }
    }
    if (s == DUET_OK) s = parse_mel(&(ctx){file, "mel"}, obj[0], &cfg.mel);
    if (s == DUET_OK) s = parse_vae(&(ctx){file, "audio_vae"}, obj[1], &cfg.vae);
    if (s == DUET_OK) s = parse_vocoder(&(ctx){file, "vocoder"}, obj[2], &cfg.vocoder);
    json_decref(root);
    if (s == DUET_OK) {
        s = duet_audio_config_check(&cfg);
        if (s == DUET_ERR_INVALID_ARG) {
            DUET_LOGE("%s: the audio configuration is inconsistent (see above)", file);
            s = DUET_ERR_FORMAT;
        }
    }
    if (s == DUET_OK) *out = cfg;
    return s;
}
