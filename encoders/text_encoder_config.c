/* duet — the text encoder's settings: the umT5-XXL preset (Wan's umt5_xxl: T5Encoder sizes in
 * Wan-Video/Wan2.2 wan/modules/t5.py, used by Ovi) and the JSON reader for duet-tiny's
 * config.json "text_encoder" object (written by tools/duet_tiny/export.py from the config dict
 * of tools/duet_tiny/config.py). Errors name the file and the field. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/json_util.h"
#include "core/log.h"
#include "encoders/text_encoder.h"

/* Largest value accepted for a size field: keeps every product of sizes far from overflow. */
#define MAX_SIZE ((int64_t)1 << 24)
/* Config files are a few hundred bytes; 1 MiB is far beyond any real one. */
#define MAX_FILE_BYTES ((size_t)1 << 20)

duet_text_encoder_config duet_text_encoder_config_umt5_xxl(void) {
    duet_text_encoder_config c = {.vocab_size = 256384, .dim = 4096, .dim_attn = 4096,
                                  .dim_ffn = 10240, .n_heads = 64, .n_layers = 24,
                                  .n_buckets = 32, .max_dist = 128, .text_len = 512,
                                  .eps = 1e-6f};
    return c;
}

static duet_status parse_object(const char *file, const json_t *obj,
                                duet_text_encoder_config *c) {
    const duet_json_ctx jc = {file, "text_encoder"}; /* for messages */
    memset(c, 0, sizeof *c);
    const struct {
        const char *name;
        int64_t def, lo;
        int64_t *out;
    } ints[] = {
        {"vocab_size", -1, 1, &c->vocab_size}, {"dim", -1, 1, &c->dim},
        {"dim_ffn", -1, 1, &c->dim_ffn},       {"num_heads", -1, 1, &c->n_heads},
        {"num_layers", -1, 1, &c->n_layers},   {"num_buckets", 32, 4, &c->n_buckets},
        {"max_dist", 128, 2, &c->max_dist},    {"text_len", 512, 1, &c->text_len},
    };
    duet_status s = DUET_OK;
    for (size_t i = 0; s == DUET_OK && i < sizeof ints / sizeof ints[0]; i++)
        s = duet_json_get_int(&jc, obj, ints[i].name, ints[i].def, ints[i].lo, MAX_SIZE,
                              ints[i].out);
    if (s == DUET_OK)
        s = duet_json_get_int(&jc, obj, "dim_attn", c->dim, 1, MAX_SIZE, &c->dim_attn);
    if (s != DUET_OK) return s;
    const json_t *eps = json_object_get(obj, "eps");
    double e = 1e-6;
    if (eps && !json_is_number(eps)) return duet_json_field_error(&jc, "eps", "must be a number");
    if (eps) e = json_number_value(eps);
    if (!(e > 0) || !isfinite(e) || e > 1)
        return duet_json_field_error(&jc, "eps", "must be in (0, 1]");
    c->eps = (float)e;
    if (c->dim_attn % c->n_heads)
        return duet_json_field_error(&jc, "num_heads", "must divide dim_attn");
    if (c->n_buckets % 2) return duet_json_field_error(&jc, "num_buckets", "must be even");
    if (c->max_dist <= c->n_buckets / 4)
        return duet_json_field_error(&jc, "max_dist", "must exceed num_buckets / 4");
    return DUET_OK;
}

duet_status duet_text_encoder_config_parse(const char *text, size_t len, const char *name,
                                           duet_text_encoder_config *out) {
    const char *file = name ? name : "(text encoder config)";
    if (!text || !out) {
        DUET_LOGE("duet_text_encoder_config_parse: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    json_t *root = duet_json_parse(text, len, file);
    if (!root) return DUET_ERR_FORMAT;
    const json_t *obj = json_is_object(root) ? json_object_get(root, "text_encoder") : NULL;
    if (!obj && json_is_object(root)) obj = root;
    duet_text_encoder_config cfg;
    duet_status s;
    if (!json_is_object(obj)) {
        DUET_LOGE("%s: text_encoder: must be an object", file);
        s = DUET_ERR_FORMAT;
    } else {
        s = parse_object(file, obj, &cfg);
    }
    json_decref(root);
    if (s == DUET_OK) *out = cfg;
    return s;
}

duet_status duet_text_encoder_config_load(const char *path, duet_text_encoder_config *out) {
    if (!path || !out) {
        DUET_LOGE("duet_text_encoder_config_load: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    char *text = NULL;
    size_t n = 0;
    duet_status s = duet_json_read_file(path, "text encoder config", MAX_FILE_BYTES, &text, &n);
    if (s == DUET_OK) s = duet_text_encoder_config_parse(text, n, path, out);
    duet_free(text);
    return s;
}
