/* duet — reading model configuration JSON with jansson (see json_util.h). */
#include "json_util.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

duet_status duet_json_field_error(const duet_json_ctx *c, const char *field, const char *msg) {
    DUET_LOGE("%s: %s.%s: %s", c->file, c->section, field, msg);
    return DUET_ERR_FORMAT;
}

duet_status duet_json_get_int(const duet_json_ctx *c, const json_t *obj, const char *field,
                              int64_t def, int64_t lo, int64_t hi, int64_t *out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) {
        if (def < 0) return duet_json_field_error(c, field, "required field is missing");
        *out = def;
        return DUET_OK;
    }
    double d;
    if (json_is_integer(v)) d = (double)json_integer_value(v);
    else if (json_is_real(v)) d = json_real_value(v);
    else return duet_json_field_error(c, field, "must be an integer");
    if (d != floor(d)) return duet_json_field_error(c, field, "must be an integer");
    if (d < (double)lo || d > (double)hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "%.17g is out of range [%lld, %lld]", d, (long long)lo,
                 (long long)hi);
        return duet_json_field_error(c, field, msg);
    }
    *out = (int64_t)d;
    return DUET_OK;
}

duet_status duet_json_get_number(const duet_json_ctx *c, const json_t *obj, const char *field,
                                 double def, double lo, double hi, double *out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) {
        if (isnan(def)) return duet_json_field_error(c, field, "required field is missing");
        *out = def;
        return DUET_OK;
    }
    if (!json_is_number(v) || !isfinite(json_number_value(v)))
        return duet_json_field_error(c, field, "must be a number");
    double d = json_number_value(v);
    if (d < lo || d > hi) {
        char msg[96];
        snprintf(msg, sizeof msg, "%.17g is out of range [%g, %g]", d, lo, hi);
        return duet_json_field_error(c, field, msg);
    }
    *out = d;
    return DUET_OK;
}

duet_status duet_json_get_string(const duet_json_ctx *c, const json_t *obj, const char *field,
                                 const char *def, const char **out) {
    const json_t *v = json_object_get(obj, field);
    if (!v) {
        if (!def) return duet_json_field_error(c, field, "required field is missing");
        *out = def;
        return DUET_OK;
    }
    if (!json_is_string(v)) return duet_json_field_error(c, field, "must be a string");
    *out = json_string_value(v);
    return DUET_OK;
}

void duet_json_warn_unknown(const duet_json_ctx *c, const json_t *obj, const char *const *known,
                            size_t n_known) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool found = false;
        for (size_t i = 0; i < n_known && !found; i++) found = !strcmp(key, known[i]);
        if (!found) DUET_LOGW("%s: %s.%s: unknown field ignored", c->file, c->section, key);
    }
}

json_t *duet_json_parse(const char *text, size_t len, const char *file) {
    json_error_t err;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!root) DUET_LOGE("%s:%d:%d: %s", file, err.line, err.column, err.text);
    return root;
}

duet_status duet_json_read_file(const char *path, const char *what, size_t max_bytes,
                                char **text, size_t *len) {
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        DUET_LOGE("%s: cannot open the %s", path, what);
        return DUET_ERR_IO;
    }
    char *buf = duet_malloc(max_bytes ? max_bytes : 1);
    size_t n = buf ? fread(buf, 1, max_bytes, f) : 0;
    bool too_big = buf && n == max_bytes;
    bool read_error = ferror(f);
    fclose(f);
    duet_status s = DUET_OK;
    if (!buf) {
        s = DUET_ERR_OUT_OF_MEMORY;
    } else if (read_error) {
        DUET_LOGE("%s: read error", path);
        s = DUET_ERR_IO;
    } else if (too_big) {
        DUET_LOGE("%s: larger than %g MiB: not a %s", path, (double)max_bytes / 1048576.0, what);
        s = DUET_ERR_FORMAT;
    }
    if (s != DUET_OK) {
        duet_free(buf);
        return s;
    }
    *text = buf;
    *len = n;
    return DUET_OK;
}
