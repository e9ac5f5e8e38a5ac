/* duet — reading model configuration JSON with jansson, shared by the config readers
 * (diffusion/dit_config.c, encoders/text_encoder_config.c, audio/audio_config.c): parsing text
 * or a small file with errors that name the file (and line and column), and reading fields
 * with errors that name the file, the section and the field, as STYLE.md asks:
 * "config.json: video.num_heads: must be an integer". Every error is logged here; the caller
 * only passes the status on. Thread-safe (no shared state). */
#ifndef DUET_JSON_UTIL_H
#define DUET_JSON_UTIL_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "status.h"

/* Where fields come from, for messages. */
typedef struct {
    const char *file;    /* the file (or a name such as "golden metadata") */
    const char *section; /* the object's name: "video", "text_encoder", "mel" */
} duet_json_ctx;

/* Logs "file: section.field: msg"; returns DUET_ERR_FORMAT. */
duet_status duet_json_field_error(const duet_json_ctx *c, const char *field, const char *msg);

/* An integer field (a JSON integer, or a real with an integral value such as 256.0) in
 * [lo, hi]; a missing field takes `def`, or is an error when def < 0. Returns DUET_OK or
 * DUET_ERR_FORMAT (logged with the value and the range when out of range). */
duet_status duet_json_get_int(const duet_json_ctx *c, const json_t *obj, const char *field,
                              int64_t def, int64_t lo, int64_t hi, int64_t *out);

/* A finite number field in [lo, hi]; a missing field takes `def`, or is an error when def is
 * NaN. Returns DUET_OK or DUET_ERR_FORMAT (logged). */
duet_status duet_json_get_number(const duet_json_ctx *c, const json_t *obj, const char *field,
                                 double def, double lo, double hi, double *out);

/* A string field; a missing field takes `def`, or is an error when def is NULL. *out points
 * into obj (or is def). Returns DUET_OK or DUET_ERR_FORMAT (logged). */
duet_status duet_json_get_string(const duet_json_ctx *c, const json_t *obj, const char *field,
                                 const char *def, const char **out);

/* Warns "file: section.key: unknown field ignored" for each key of obj not in known[]. */
void duet_json_warn_unknown(const duet_json_ctx *c, const json_t *obj, const char *const *known,
                            size_t n_known);

/* Parses len bytes of JSON (duplicate keys rejected). NULL, logged as "file:line:col: error",
 * when it is not JSON. Free with json_decref. */
json_t *duet_json_parse(const char *text, size_t len, const char *file);

/* Reads a whole file of at most max_bytes - 1 bytes into *text (freed with duet_free; not
 * NUL-terminated), *len its size. `what` names the file's role in messages ("DiT config").
 * Returns DUET_OK; DUET_ERR_IO (cannot open, read error); DUET_ERR_FORMAT (too large);
 * DUET_ERR_OUT_OF_MEMORY; every error logged with the path. */
duet_status duet_json_read_file(const char *path, const char *what, size_t max_bytes,
                                char **text, size_t *len);

#endif
