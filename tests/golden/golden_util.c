/* duet — helpers the golden tests share (see golden_util.h). */
#include "golden_util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"

bool duet_golden_open(const char *path, const char *script, duet_safetensors **st) {
    if (duet_safetensors_open(path, st) == DUET_OK) return true;
    fprintf(stderr, "FAIL: cannot open %s (regenerate with %s)\n", path, script);
    duet_test_failures++;
    return false;
}

void *duet_golden_read(const duet_safetensors *st, const char *name, duet_dtype dtype,
                       size_t n_want, size_t *n_out) {
    const duet_safetensors_tensor *t = duet_safetensors_find(st, name);
    bool ok = t && (dtype == DUET_DTYPE_COUNT ? t->dtype == DUET_F32 || t->dtype == DUET_I32
                                              : t->dtype == dtype) &&
              (!n_want || t->nbytes == n_want * 4);
    void *data = ok ? malloc(t->nbytes ? t->nbytes : 1) : NULL;
    if (!data) {
        fprintf(stderr, "FAIL: %s: no %s tensor %s", duet_safetensors_name(st),
                dtype == DUET_DTYPE_COUNT ? "f32/i32" : duet_dtype_name(dtype), name);
        if (n_want) fprintf(stderr, " of %zu elements", n_want);
        fputc('\n', stderr);
        duet_test_failures++;
        return NULL;
    }
    memcpy(data, t->data, t->nbytes); /* the mapping may be unaligned */
    if (n_out) *n_out = t->nbytes / 4;
    return data;
}

float *duet_golden_floats(const duet_safetensors *st, const char *name, size_t n_want) {
    const duet_safetensors_tensor *t = duet_safetensors_find(st, name);
    size_t n = 0;
    void *raw = duet_golden_read(st, name, DUET_DTYPE_COUNT, n_want, &n);
    if (raw && t->dtype == DUET_I32) {
        float *f = raw;
        for (size_t i = 0; i < n; i++) {
            int32_t v;
            memcpy(&v, (const char *)raw + 4 * i, 4);
            f[i] = (float)v;
        }
    }
    return raw;
}

double duet_golden_nmse(const float *got, const float *want, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double e = (double)got[i] - want[i];
        num += e * e;
        den += (double)want[i] * want[i];
    }
    return num / (den > 1e-30 ? den : 1e-30);
}

bool duet_golden_report(const char *name, const float *got, const float *want, size_t n,
                        double tol) {
    fprintf(stderr, "%s: nmse %.3e (limit %.0e)\n", name, duet_golden_nmse(got, want, n), tol);
    return duet_test_close(name, got, want, n, tol);
}

bool duet_golden_compare_tensor(const char *name, const duet_tensor *t, const float *want,
                                size_t n, double tol) {
    float *got = malloc((n ? n : 1) * sizeof *got);
    bool ok = got && (size_t)duet_nelements(t) == n && duet_tensor_get_f32(t, got) == DUET_OK;
    if (!ok) {
        fprintf(stderr, "FAIL %s: cannot read the result (%lld values, %zu expected)\n", name,
                (long long)duet_nelements(t), n);
        duet_test_failures++;
    } else {
        ok = duet_golden_report(name, got, want, n, tol);
    }
    free(got);
    return ok;
}

bool duet_golden_compare_host(const duet_safetensors *st, const char *label, const float *got,
                              size_t n, const char *ref, double tol) {
    size_t nw = 0;
    float *want = duet_golden_read(st, ref, DUET_F32, 0, &nw);
    char name[192];
    snprintf(name, sizeof name, "%s %s", label, ref);
    bool ok = false;
    if (want && nw == n) {
        ok = duet_golden_report(name, got, want, n, tol);
    } else if (want) {
        fprintf(stderr, "FAIL %s: %zu values, reference has %zu\n", name, n, nw);
        duet_test_failures++;
    }
    free(want);
    return ok;
}

bool duet_golden_compare(const duet_safetensors *st, const char *label, const duet_tensor *t,
                         const char *ref, double tol) {
    size_t nw = 0;
    float *want = duet_golden_read(st, ref, DUET_F32, 0, &nw);
    char name[192];
    snprintf(name, sizeof name, "%s %s", label, ref);
    bool ok = want && duet_golden_compare_tensor(name, t, want, nw, tol);
    free(want);
    return ok;
}

bool duet_golden_write_variant(const duet_safetensors *st, const char *path,
                               const duet_golden_variant *v) {
    size_t n = duet_safetensors_count(st), k = 0;
    duet_safetensors_entry *e = calloc(n + 1, sizeof *e);
    for (size_t i = 0; e && i < n; i++) {
        const duet_safetensors_tensor *t = duet_safetensors_get(st, i);
        if (v->drop && !strcmp(t->name, v->drop)) continue;
        e[k] = (duet_safetensors_entry){t->name, t->dtype, t->n_dims, {0}, t->data};
        memcpy(e[k].ne, t->ne, sizeof t->ne);
        if (v->narrow && !strcmp(t->name, v->narrow)) e[k].ne[0] -= 1;
        if (v->replace && !strcmp(t->name, v->replace)) e[k].data = v->data;
        k++;
    }
    if (e && v->extra) {
        e[k] = e[0];
        e[k++].name = v->extra;
    }
    bool ok = e && duet_safetensors_write(path, e, k, NULL, 0) == DUET_OK;
    free(e);
    return ok;
}

/* ---------------------------------------------------------------- log capture */

static char captured[8192];

static void capture(duet_log_level level, const char *msg, void *user) {
    (void)user;
    if (level > DUET_LOG_WARN) return;
    fprintf(stderr, "  (expected) %s\n", msg);
    size_t n = strlen(captured);
    snprintf(captured + n, sizeof captured - n, "%s\n", msg);
}

void duet_golden_capture_begin(void) {
    captured[0] = 0;
    duet_log_set_callback(capture, NULL);
}

bool duet_golden_capture_end(const char *needle) {
    duet_log_set_callback(NULL, NULL);
    bool found = strstr(captured, needle) != NULL;
    if (!found) fprintf(stderr, "FAIL: no log message names \"%s\"\n", needle);
    return found;
}

void duet_golden_quiet(duet_log_level level, const char *msg, void *user) {
    (void)level, (void)msg, (void)user;
}

long duet_golden_alloc_failures(duet_status (*attempt)(void *user, duet_backend *be), void *user,
                                duet_backend *be, long max_points, bool device_oom_ok) {
    long n = 0;
    duet_status st = DUET_ERR_OUT_OF_MEMORY;
    for (; st != DUET_OK && n < max_points; n++) {
        duet_log_set_callback(duet_golden_quiet, NULL);
        duet_alloc_fail_after(n);
        st = attempt(user, be);
        duet_alloc_fail_after(-1);
        duet_log_set_callback(NULL, NULL);
        if (st != DUET_OK && st != DUET_ERR_OUT_OF_MEMORY &&
            !(device_oom_ok && st == DUET_ERR_DEVICE_OOM)) {
            fprintf(stderr, "FAIL: allocation %ld failing gave %s\n", n, duet_status_str(st));
            duet_test_failures++;
        }
    }
    if (st != DUET_OK) {
        fprintf(stderr, "FAIL: still failing after %ld allocation failure points\n", n);
        duet_test_failures++;
        return -1;
    }
    return n - 1;
}
