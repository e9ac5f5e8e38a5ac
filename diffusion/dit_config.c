/* duet — reading the joint DiT's JSON configuration (see dit_config.h for the format). Field
 * names and defaults follow Ovi's ovi/configs/model/dit/{video,audio}.json and
 * WanModel.__init__ in ovi/modules/model.py. Errors name the file and the field. */
#include "dit_config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json_util.h"
#include "core/log.h"

/* Largest value accepted for a size field: keeps every product of sizes far from overflow. */
#define MAX_SIZE ((int64_t)1 << 24)
/* Config files are a few hundred bytes; 1 MiB is far beyond any real one. */
#define MAX_FILE_BYTES ((size_t)1 << 20)

typedef duet_json_ctx ctx; /* file and tower ("video" or "audio") for messages */

/* A positive real field with a default. */
static duet_status get_real(const ctx *c, const json_t *obj, const char *field, double def,
                            double *out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) {
        *out = def;
        return DUET_OK;
    }
    if (!json_is_number(v)) return duet_json_field_error(c, field, "must be a number");
    double d = json_number_value(v);
    if (!(d > 0) || !isfinite(d))
        return duet_json_field_error(c, field, "must be a positive number");
    *out = d;
    return DUET_OK;
}

/* qk_norm and cross_attn_norm: upstream allows false (nn.Identity); duet implements true. */
static duet_status get_true(const ctx *c, const json_t *obj, const char *field) {
    const json_t *v = json_object_get(obj, field);
    if (!v || json_is_true(v)) return DUET_OK;
    if (!json_is_boolean(v)) return duet_json_field_error(c, field, "must be true or false");
    DUET_LOGE("%s: %s.%s: false is not supported (duet implements Ovi's true)", c->file,
              c->section, field);
    return DUET_ERR_UNSUPPORTED;
}

static duet_status get_model_type(const ctx *c, const json_t *obj, bool audio,
                                  duet_dit_tower_config *t) {
    const json_t *v = json_object_get(obj, "model_type");
    const char *s = audio ? "t2a" : "ti2v";
    if (v) {
        if (!json_is_string(v)) return duet_json_field_error(c, "model_type", "must be a string");
        s = json_string_value(v);
    }
    bool video_ok = !strcmp(s, "t2v") || !strcmp(s, "ti2v");
    bool audio_ok = !strcmp(s, "t2a");
    if (audio ? audio_ok : video_ok) {
        snprintf(t->model_type, sizeof t->model_type, "%s", s);
        return DUET_OK;
    }
    if (!strcmp(s, "i2v") || !strcmp(s, "tt2a")) {
        DUET_LOGE("%s: %s.model_type: \"%s\" (extra image/transcript embedding) is not supported",
                  c->file, c->section, s);
        return DUET_ERR_UNSUPPORTED;
    }
    char msg[96];
    snprintf(msg, sizeof msg, "\"%.40s\" is not a %s tower type (%s)", s, c->section,
             audio ? "t2a" : "t2v or ti2v");
    return duet_json_field_error(c, "model_type", msg);
}

static duet_status get_patch(const ctx *c, const json_t *obj, duet_dit_tower_config *t) {
    const json_t *v = json_object_get(obj, "patch_size");
    t->n_patch_dims = t->is_audio ? 1 : 3;
    /* defaults: WanModel's (1, 2, 2) for video; audio tokens are not patched */
    t->patch_size[0] = 1;
    t->patch_size[1] = t->patch_size[2] = t->is_audio ? 1 : 2;
    if (!v) return DUET_OK;
    if (!json_is_array(v) || json_array_size(v) != (size_t)t->n_patch_dims)
        return duet_json_field_error(c, "patch_size",
                                     t->is_audio ? "must be [1]" : "must be [t, h, w]");
    for (int i = 0; i < t->n_patch_dims; i++) {
        const json_t *e = json_array_get(v, (size_t)i);
        if (!json_is_integer(e) || json_integer_value(e) < 1 || json_integer_value(e) > 64)
            return duet_json_field_error(c, "patch_size", "entries must be integers in [1, 64]");
        t->patch_size[i] = json_integer_value(e);
    }
    if (t->is_audio && t->patch_size[0] != 1)
        return duet_json_field_error(c, "patch_size",
                                     "the audio tower does not patchify: must be [1]");
    if (!t->is_audio && t->patch_size[0] != 1) {
        DUET_LOGE("%s: %s.patch_size: a temporal patch of %lld is not supported (Ovi: 1)",
                  c->file, c->section, (long long)t->patch_size[0]);
        return DUET_ERR_UNSUPPORTED;
    }
    return DUET_OK;
}

static duet_status check_window(const ctx *c, const json_t *obj) {
    const json_t *v = json_object_get(obj, "window_size");
    if (!v) return DUET_OK;
    if (!json_is_array(v) || json_array_size(v) != 2 ||
        !json_is_integer(json_array_get(v, 0)) || !json_is_integer(json_array_get(v, 1)))
        return duet_json_field_error(c, "window_size", "must be [left, right]");
    if (json_integer_value(json_array_get(v, 0)) != -1 ||
        json_integer_value(json_array_get(v, 1)) != -1) {
        DUET_LOGE("%s: %s.window_size: local attention is not supported (only [-1, -1])",
                  c->file, c->section);
        return DUET_ERR_UNSUPPORTED;
    }
    return DUET_OK;
}

static void warn_unknown(const ctx *c, const json_t *obj) {
    static const char *const known[] = {
        "model_type", "patch_size", "dim", "ffn_dim", "freq_dim", "num_heads", "num_layers",
        "in_dim", "out_dim", "text_len", "text_dim", "eps", "temporal_rope_scaling_factor",
        "qk_norm", "cross_attn_norm", "window_size"};
    duet_json_warn_unknown(c, obj, known, sizeof known / sizeof known[0]);
}

static duet_status parse_tower(const ctx *c, const json_t *obj, bool audio,
                               duet_dit_tower_config *t) {
    if (!json_is_object(obj)) {
        DUET_LOGE("%s: %s: must be an object", c->file, c->section);
        return DUET_ERR_FORMAT;
    }
    memset(t, 0, sizeof *t);
    t->is_audio = audio;
    const struct {
        const char *name;
        int64_t def, lo;
        int64_t *out;
    } ints[] = {
        {"dim", -1, 1, &t->dim},           {"ffn_dim", -1, 1, &t->ffn_dim},
        {"num_heads", -1, 1, &t->n_heads}, {"num_layers", -1, 1, &t->n_layers},
        {"in_dim", -1, 1, &t->in_dim},     {"out_dim", -1, 1, &t->out_dim},
        {"freq_dim", 256, 2, &t->freq_dim}, {"text_len", 512, 1, &t->text_len},
        {"text_dim", 4096, 1, &t->text_dim},
    };
    duet_status s = get_model_type(c, obj, audio, t);
    for (size_t i = 0; s == DUET_OK && i < sizeof ints / sizeof ints[0]; i++)
        s = duet_json_get_int(c, obj, ints[i].name, ints[i].def, ints[i].lo, MAX_SIZE,
                              ints[i].out);
    double eps = 0, scale = 0;
    if (s == DUET_OK) s = get_real(c, obj, "eps", 1e-6, &eps);
    if (s == DUET_OK) s = get_real(c, obj, "temporal_rope_scaling_factor", 1.0, &scale);
    if (s == DUET_OK) s = get_patch(c, obj, t);
    if (s == DUET_OK) s = get_true(c, obj, "qk_norm");
    if (s == DUET_OK) s = get_true(c, obj, "cross_attn_norm");
    if (s == DUET_OK) s = check_window(c, obj);
    if (s != DUET_OK) return s;
    t->eps = (float)eps;
    t->rope_scale = audio ? scale : 1.0;
    if (t->freq_dim % 2)
        return duet_json_field_error(c, "freq_dim", "must be even (cos and sin halves)");
    if (t->dim % t->n_heads) return duet_json_field_error(c, "num_heads", "must divide dim");
    int64_t hd = t->dim / t->n_heads;
    if (hd % 2 || hd < 6)
        return duet_json_field_error(c, "num_heads",
                                     "head_dim = dim / num_heads must be even and >= 6");
    warn_unknown(c, obj);
    return DUET_OK;
}

static const json_t *tower_object(const json_t *root, const char *a, const char *b) {
    const json_t *v = json_object_get(root, a);
    return v ? v : json_object_get(root, b);
}

static duet_status check_pair(const char *file, const duet_dit_config *cfg) {
    const duet_dit_tower_config *v = &cfg->video, *a = &cfg->audio;
    const struct {
        const char *name;
        int64_t vv, av;
    } same[] = {{"dim", v->dim, a->dim},
                {"num_heads", v->n_heads, a->n_heads},
                {"num_layers", v->n_layers, a->n_layers}};
    for (size_t i = 0; i < sizeof same / sizeof same[0]; i++)
        if (same[i].vv != same[i].av) {
            DUET_LOGE("%s: video.%s (%lld) and audio.%s (%lld) must be equal", file,
                      same[i].name, (long long)same[i].vv, same[i].name, (long long)same[i].av);
            return DUET_ERR_FORMAT;
        }
    return DUET_OK;
}

duet_status duet_dit_config_parse(const char *text, size_t len, const char *name,
                                  duet_dit_config *out) {
    const char *file = name ? name : "(dit config)";
    if (!text || !out) {
        DUET_LOGE("duet_dit_config_parse: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    json_t *root = duet_json_parse(text, len, file);
    if (!root) return DUET_ERR_FORMAT;
    duet_dit_config cfg;
    duet_status s = DUET_OK;
    const json_t *v = json_is_object(root) ? tower_object(root, "video", "video_model") : NULL;
    const json_t *a = json_is_object(root) ? tower_object(root, "audio", "audio_model") : NULL;
    if (!v || !a) {
        DUET_LOGE("%s: needs an object with \"video\" and \"audio\" (or \"video_model\" and "
                  "\"audio_model\") tower configs", file);
        s = DUET_ERR_FORMAT;
    }
    if (s == DUET_OK) s = parse_tower(&(ctx){file, "video"}, v, false, &cfg.video);
    if (s == DUET_OK) s = parse_tower(&(ctx){file, "audio"}, a, true, &cfg.audio);
    if (s == DUET_OK) s = check_pair(file, &cfg);
    json_decref(root);
    if (s == DUET_OK) *out = cfg;
    return s;
}

duet_status duet_dit_config_load(const char *path, duet_dit_config *out) {
    if (!path || !out) {
        DUET_LOGE("duet_dit_config_load: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    char *text = NULL;
    size_t n = 0;
    duet_status s = duet_json_read_file(path, "DiT config", MAX_FILE_BYTES, &text, &n);
    if (s == DUET_OK) s = duet_dit_config_parse(text, n, path, out);
    duet_free(text);
    return s;
}

int64_t duet_dit_tower_head_dim(const duet_dit_tower_config *c) { return c->dim / c->n_heads; }
