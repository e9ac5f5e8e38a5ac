/* duet — strict weight loading by checkpoint name (see weights.h). */
#include "weights.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"

duet_status duet_weights_open(duet_weights *w, const char *what, const duet_safetensors *st,
                              const char *prefix, duet_arena *arena, duet_backend *be,
                              duet_dtype matrix_dtype) {
    if (!w) return DUET_ERR_INVALID_ARG;
    memset(w, 0, sizeof *w);
    what = what ? what : "model";
    if (!st || !prefix || !arena || !be || strlen(prefix) >= DUET_NAME_MAX ||
        (matrix_dtype != DUET_DTYPE_COUNT && matrix_dtype != DUET_F32 &&
         matrix_dtype != DUET_F16 && matrix_dtype != DUET_BF16)) {
        DUET_LOGE("%s: bad arguments for loading weights", what);
        return DUET_ERR_INVALID_ARG;
    }
    size_t n = duet_safetensors_count(st);
    uint8_t *used = duet_calloc(n ? n : 1, 1);
    if (!used) return DUET_ERR_OUT_OF_MEMORY;
    *w = (duet_weights){.st = st, .what = what, .matrix_dtype = matrix_dtype, .arena = arena,
                        .be = be, .used = used, .owns_used = true};
    snprintf(w->prefix, sizeof w->prefix, "%s", prefix);
    return DUET_OK;
}

void duet_weights_close(duet_weights *w) {
    if (!w) return;
    if (w->owns_used) duet_free(w->used);
    w->used = NULL;
    w->owns_used = false;
}

/* prefix + printf(fmt, ap) into out[DUET_NAME_MAX]; false when it does not fit. */
static bool format_name(const char *prefix, char *out, const char *fmt, va_list ap) {
    int n = snprintf(out, DUET_NAME_MAX, "%s", prefix);
    if (n < 0 || n >= DUET_NAME_MAX) return false;
    int m = vsnprintf(out + n, DUET_NAME_MAX - (size_t)n, fmt, ap);
    return m >= 0 && m < DUET_NAME_MAX - n;
}

duet_status duet_weights_sub(const duet_weights *parent, duet_weights *child, const char *fmt,
                             ...) {
    char prefix[DUET_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    bool ok = format_name(parent->prefix, prefix, fmt, ap);
    va_end(ap);
    if (!ok) {
        DUET_LOGE("%s: tensor prefix %s%s... is too long", parent->what, parent->prefix, fmt);
        return DUET_ERR_INVALID_ARG;
    }
    *child = *parent;
    child->owns_used = false;
    memcpy(child->prefix, prefix, sizeof prefix);
    return DUET_OK;
}

const duet_safetensors_tensor *duet_weights_find(const duet_weights *w, const char *fmt, ...) {
    char full[DUET_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    bool ok = format_name(w->prefix, full, fmt, ap);
    va_end(ap);
    return ok ? duet_safetensors_find(w->st, full) : NULL;
}

int64_t duet_weights_pt_dim(const duet_safetensors_tensor *t, int i) {
    return t && i >= 0 && i < t->n_dims ? t->ne[t->n_dims - 1 - i] : 0;
}

duet_status duet_weights_missing(const duet_weights *w, const char *name) {
    DUET_LOGE("%s: tensor %s%s not found (needed to read the %s's layout)",
              duet_safetensors_name(w->st), w->prefix, name, w->what);
    return DUET_ERR_NOT_FOUND;
}

void duet_weights_mark_used(duet_weights *w, const duet_safetensors_tensor *t) {
    size_t i = duet_safetensors_index(w->st, t);
    if (i != SIZE_MAX) w->used[i] = 1;
}

duet_status duet_weights_load(duet_weights *w, duet_weight_kind kind, int n_dims,
                              const int64_t *shape, duet_tensor **out, const char *fmt, ...) {
    *out = NULL;
    char full[DUET_NAME_MAX];
    va_list ap;
    va_start(ap, fmt);
    bool ok = format_name(w->prefix, full, fmt, ap);
    va_end(ap);
    if (!ok || n_dims < 1 || n_dims > DUET_MAX_DIMS) {
        DUET_LOGE("%s: tensor %s%s: name too long or bad rank", w->what, w->prefix, fmt);
        return DUET_ERR_INVALID_ARG;
    }
    const duet_safetensors_tensor *t = duet_safetensors_find(w->st, full);
    if (t && t->dtype == DUET_I32) {
        DUET_LOGE("%s: tensor %s: dtype I32, expected a float type", duet_safetensors_name(w->st),
                  full);
        return DUET_ERR_FORMAT;
    }
    duet_dtype dt = DUET_F32;
    if (kind == DUET_WEIGHT_MATRIX && t)
        dt = w->matrix_dtype != DUET_DTYPE_COUNT ? w->matrix_dtype : t->dtype;
    int64_t ne[DUET_MAX_DIMS];
    for (int i = 0; i < n_dims; i++) ne[i] = shape[n_dims - 1 - i];
    duet_status s = duet_safetensors_load_shaped(w->st, full, w->arena, w->be, dt, n_dims, ne, out);
    if (s == DUET_OK) duet_weights_mark_used(w, t);
    return s;
}

duet_status duet_weights_reshape(duet_weights *w, duet_tensor **t, int n_dims,
                                 const int64_t *ne) {
    duet_tensor *v = duet_reshape(w->arena, *t, n_dims, ne);
    if (!v) return DUET_ERR_OUT_OF_MEMORY;
    *t = v;
    return DUET_OK;
}

static bool owned_by(const char *rest, const char *const *owned, size_t n_owned) {
    if (!n_owned) return true;
    for (size_t k = 0; k < n_owned; k++)
        if (!strncmp(rest, owned[k], strlen(owned[k]))) return true;
    return false;
}

duet_status duet_weights_check_unused(const duet_weights *w, const char *const *owned,
                                      size_t n_owned, const char *detail) {
    size_t np = strlen(w->prefix), n_bad = 0;
    for (size_t i = 0; i < duet_safetensors_count(w->st); i++) {
        const char *name = duet_safetensors_get(w->st, i)->name;
        if (strncmp(name, w->prefix, np) || !owned_by(name + np, owned, n_owned) || w->used[i])
            continue;
        if (n_bad++ < 8)
            DUET_LOGE("%s: tensor %s: not used by the %s%s%s%s", duet_safetensors_name(w->st),
                      name, w->what, detail ? " (" : "", detail ? detail : "", detail ? ")" : "");
    }
    if (n_bad > 8)
        DUET_LOGE("%s: ... %zu unused tensors in all", duet_safetensors_name(w->st), n_bad);
    return n_bad ? DUET_ERR_FORMAT : DUET_OK;
}
