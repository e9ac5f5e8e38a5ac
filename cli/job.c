/* duet — job script loader: JSON text -> validated duet_job (see job.h, docs/job-script.md).
 * jansson parses (and reports syntax errors with its own line:column); this file walks the
 * parsed tree field by field, collects every semantic error with the source position of the
 * offending key or value (found by cli/jsonpos.c in the original text) and logs them sorted
 * by position. Shot prompts use Ovi's tags; their checks live in job_text.c. */
#include "job.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/log.h"
#include "jsonpos.h"

/* A path from the root to a value: at most shots[i].field or guidance.video. */
typedef struct {
    duet_jsonpos_seg s[4];
    int n;
} jpath;

typedef struct {
    int line, col;
    char msg[400];
} job_err;

typedef struct {
    const char *name;     /* script name for messages */
    const char *text;     /* the text jansson parsed (BOM skipped) */
    size_t len;
    const char *base_dir; /* NULL: touch no file */
    duet_job_defaults d;
    job_err errs[DUET_JOB_MAX_ERRORS];
    int n_errs; /* found, may exceed DUET_JOB_MAX_ERRORS */
    bool oom;
} ctx;

static const char *const top_fields[] = {"model", "output", "width", "height", "fps",
                                         "seed", "steps", "guidance", "negative_video",
                                         "negative_audio", "shots", "comment"};
static const char *const shot_fields[] = {"prompt", "duration_s", "seed", "image", "audio",
                                          "continue", "transition", "transition_ms",
                                          "negative_video", "negative_audio", "comment"};
static const char *const guidance_fields[] = {"video", "audio"};
static const char *const transitions[DUET_TRANSITION_COUNT_] = {"cut", "crossfade"};
#define N_OF(a) ((int)(sizeof(a) / sizeof *(a)))
#define DEFAULT_CROSSFADE_MS 250

duet_job_defaults duet_job_tiny_defaults(void) {
    duet_job_defaults d = {
        .model = "duet-tiny",
        .width = 128, .height = 128, .fps = 16, .steps = 30,
        .guidance_video = 4.0f, .guidance_audio = 3.0f, .seed = 0,
        .size_multiple = 16, .min_size = 64, .max_size = 256,
        .min_fps = 16, .max_fps = 16, .max_steps = 1000, .max_guidance = 20.0f,
        .max_shot_s = 4.0, .max_shots = 64, .max_prompt_bytes = 2000,
    };
    return d;
}

/* ---- paths and error collection ---- */

static jpath path_key(const jpath *base, const char *key) {
    jpath p = *base;
    DUET_ASSERT(p.n < N_OF(p.s));
    p.s[p.n++] = (duet_jsonpos_seg){key, 0};
    return p;
}

static jpath path_index(const jpath *base, size_t index) {
    jpath p = *base;
    DUET_ASSERT(p.n < N_OF(p.s));
    p.s[p.n++] = (duet_jsonpos_seg){NULL, index};
    return p;
}

static bool plain_key(const char *k) {
    if (!*k) return false;
    for (; *k; k++)
        if (!(*k == '_' || *k == '-' || (*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
              (*k >= '0' && *k <= '9')))
            return false;
    return true;
}

/* shots[2].duration_s; keys that are not identifiers are quoted: ["my key"]. */
static void format_path(const jpath *p, char *buf, size_t size) {
    size_t n = 0;
    buf[0] = '\0';
    if (p->n == 0) snprintf(buf, size, "(top level)");
    for (int i = 0; i < p->n && n < size; i++) {
        const duet_jsonpos_seg *s = &p->s[i];
        int w;
        if (!s->key) w = snprintf(buf + n, size - n, "[%zu]", s->index);
        else if (plain_key(s->key)) w = snprintf(buf + n, size - n, "%s%s", i ? "." : "", s->key);
        else w = snprintf(buf + n, size - n, "[\"%.40s%s\"]", s->key,
                          strlen(s->key) > 40 ? "..." : "");
        if (w < 0) break;
        n += (size_t)w;
    }
}

/* Position of the path's key (at_key) or value; a path that cannot be found (it always can
 * in text jansson accepted) falls back to its nearest ancestor. */
static duet_jsonpos locate(const ctx *c, const jpath *p, bool at_key) {
    duet_jsonpos k, v;
    for (int n = p->n; n >= 0; n--)
        if (duet_jsonpos_find(c->text, c->len, p->s, n, &k, &v)) return at_key ? k : v;
    return duet_jsonpos_at(c->text, c->len, 0);
}

static void add_error(ctx *c, duet_jsonpos pos, const jpath *p, const char *fmt, va_list ap) {
    int i = c->n_errs++;
    if (i >= DUET_JOB_MAX_ERRORS) return;
    job_err *e = &c->errs[i];
    e->line = pos.line;
    e->col = pos.col;
    char where[128];
    format_path(p, where, sizeof where);
    int n = snprintf(e->msg, sizeof e->msg, "%s: ", where);
    if (n < 0 || (size_t)n >= sizeof e->msg) n = 0;
    vsnprintf(e->msg + n, sizeof e->msg - (size_t)n, fmt, ap);
}

#if defined(__GNUC__)
#define PRINTF_LIKE(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF_LIKE(a, b)
#endif

/* An error about the value at p (at_key: about the member's key). */
PRINTF_LIKE(4, 5) static void report(ctx *c, const jpath *p, bool at_key, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    add_error(c, locate(c, p, at_key), p, fmt, ap);
    va_end(ap);
}

/* An error at decoded byte `index` inside the string value at p. */
PRINTF_LIKE(4, 5) static void report_in_string(ctx *c, const jpath *p, size_t index,
                                               const char *fmt, ...) {
    duet_jsonpos v = locate(c, p, false);
    size_t off = duet_jsonpos_string_offset(c->text, c->len, v.offset, index);
    va_list ap;
    va_start(ap, fmt);
    add_error(c, duet_jsonpos_at(c->text, c->len, off), p, fmt, ap);
    va_end(ap);
}

/* Log the collected errors in source order. */
static void emit_errors(ctx *c) {
    int n = c->n_errs < DUET_JOB_MAX_ERRORS ? c->n_errs : DUET_JOB_MAX_ERRORS;
    for (int i = 1; i < n; i++) { /* insertion sort: few errors, and it is stable */
        job_err e = c->errs[i];
        int j = i - 1;
        while (j >= 0 && (c->errs[j].line > e.line ||
                          (c->errs[j].line == e.line && c->errs[j].col > e.col))) {
            c->errs[j + 1] = c->errs[j];
            j--;
        }
        c->errs[j + 1] = e;
    }
    for (int i = 0; i < n; i++)
        DUET_LOGE("%s:%d:%d: %s", c->name, c->errs[i].line, c->errs[i].col, c->errs[i].msg);
    if (c->n_errs > n)
        DUET_LOGE("%s: too many errors; %d more not shown", c->name, c->n_errs - n);
}

/* ---- value helpers ---- */

static const char *describe(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE: return "true";
    case JSON_FALSE: return "false";
    default: return "null";
    }
}

static char *dup_or_oom(ctx *c, const char *s) {
    char *d = duet_strdup(s);
    if (!d) c->oom = true;
    return d;
}

static bool get_string(ctx *c, const jpath *p, const json_t *v, const char **out) {
    if (!json_is_string(v)) {
        report(c, p, false, "must be a string, got %s", describe(v));
        return false;
    }
    *out = json_string_value(v);
    return true;
}

/* A whole number within [lo, hi]; 128.0 counts as 128 (JSON does not tell them apart). */
static bool get_int(ctx *c, const jpath *p, const json_t *v, long long lo, long long hi,
                    long long *out) {
    long long x;
    if (json_is_real(v)) {
        double r = json_real_value(v);
        if (r != floor(r) || fabs(r) > 9e15) {
            report(c, p, false, "must be a whole number, got %g", r);
            return false;
        }
        x = (long long)r;
    } else if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else {
        report(c, p, false, "must be a whole number, got %s", describe(v));
        return false;
    }
    if (x < lo || x > hi) {
        if (lo == hi) report(c, p, false, "must be %lld, got %lld", lo, x);
        else report(c, p, false, "must be within [%lld, %lld], got %lld", lo, hi, x);
        return false;
    }
    *out = x;
    return true;
}

static bool get_number(ctx *c, const jpath *p, const json_t *v, double *out) {
    if (!json_is_number(v)) {
        report(c, p, false, "must be a number, got %s", describe(v));
        return false;
    }
    *out = json_number_value(v);
    return true;
}

/* Report an unknown member; returns the suggested field, if any. */
static const char *unknown_field(ctx *c, const jpath *obj, const char *key,
                                 const char *const *known, int n_known, const char *hint) {
    jpath p = path_key(obj, key);
    const char *best = n_known ? duet_job_suggest(key, known, n_known) : NULL;
    if (hint) report(c, &p, true, "unknown field; %s", hint);
    else if (best) report(c, &p, true, "unknown field; did you mean \"%s\"?", best);
    else report(c, &p, true, "unknown field");
    return best;
}

/* A required field is missing; stay quiet when a misspelling of it was already reported. */
static void missing_field(ctx *c, const jpath *obj, const json_t *v, const char *field,
                          const char *const *suggested, int n_suggested) {
    if (json_object_get(v, field)) return;
    for (int i = 0; i < n_suggested; i++)
        if (!strcmp(suggested[i], field)) return;
    report(c, obj, false, "missing required field \"%s\"", field);
}

static bool in_list(const char *key, const char *const *list, int n) {
    for (int i = 0; i < n; i++)
        if (!strcmp(key, list[i])) return true;
    return false;
}

/* ---- files ---- */

static bool is_absolute(const char *p) { return p[0] == '/'; }

/* The path as written, joined to base_dir when relative (base_dir NULL: as written). */
static char *resolve(ctx *c, const char *path) {
    if (!c->base_dir || is_absolute(path) || !strcmp(c->base_dir, ".") || !c->base_dir[0])
        return dup_or_oom(c, path);
    size_t nb = strlen(c->base_dir), np = strlen(path);
    char *r = duet_malloc(nb + np + 2);
    if (!r) {
        c->oom = true;
        return NULL;
    }
    memcpy(r, c->base_dir, nb);
    if (c->base_dir[nb - 1] != '/') r[nb++] = '/';
    memcpy(r + nb, path, np + 1);
    return r;
}

typedef enum { FILE_ANY, FILE_PNG, FILE_WAV } file_kind;

/* Check that a resolved input file exists and starts like its kind. */
static void check_input(ctx *c, const jpath *p, const char *path, file_kind kind) {
    if (!c->base_dir || !path) return;
    struct stat st;
    if (stat(path, &st) != 0) {
        report(c, p, false, "file not found: %s", path);
        return;
    }
    if (kind == FILE_ANY) return;
    if (!S_ISREG(st.st_mode)) {
        report(c, p, false, "not a file: %s", path);
        return;
    }
    unsigned char h[12] = {0};
    FILE *f = fopen(path, "rb");
    size_t got = f ? fread(h, 1, sizeof h, f) : 0;
    if (f) fclose(f);
    if (!f) {
        report(c, p, false, "cannot open %s: %s", path, strerror(errno));
        return;
    }
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (kind == FILE_PNG && (got < 8 || memcmp(h, png, 8)))
        report(c, p, false, "not a PNG file: %s", path);
    if (kind == FILE_WAV && (got < 12 || memcmp(h, "RIFF", 4) || memcmp(h + 8, "WAVE", 4)))
        report(c, p, false, "not a WAV file: %s", path);
}

/* ---- top-level fields ---- */

static void check_model(ctx *c, const json_t *root, duet_job *job) {
    jpath p = path_key(&(jpath){.n = 0}, "model");
    const json_t *v = json_object_get(root, "model");
    const char *name = c->d.model ? c->d.model : "duet-tiny";
    if (v && !get_string(c, &p, v, &name)) return;
    if (!name[0]) {
        report(c, &p, false, "must not be empty");
        return;
    }
    size_t n = strlen(name);
    job->model_is_path = strchr(name, '/') || name[0] == '.' ||
                         (n > 12 && !strcmp(name + n - 12, ".safetensors"));
    job->model = job->model_is_path ? resolve(c, name) : dup_or_oom(c, name);
    if (!job->model) return;
    if (job->model_is_path && v) check_input(c, &p, job->model, FILE_ANY);
    if (c->d.model_fn) {
        char err[200] = "not a model this build can run";
        if (c->d.model_fn(job->model, job->model_is_path, &c->d, err, sizeof err,
                          c->d.model_user_data) != DUET_OK)
            report(c, &p, false, "%s", err);
    }
}

static bool ends_with_ci(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    if (n < m) return false;
    for (size_t i = 0; i < m; i++)
        if (tolower((unsigned char)s[n - m + i]) != suffix[i]) return false;
    return true;
}

static void check_output_dir(ctx *c, const jpath *p, const char *out) {
    if (!c->base_dir) return;
    struct stat st;
    if (stat(out, &st) == 0 && S_ISDIR(st.st_mode)) {
        report(c, p, false, "is a folder: %s", out);
        return;
    }
    const char *slash = strrchr(out, '/');
    if (!slash) return; /* the current folder */
    size_t n = slash == out ? 1 : (size_t)(slash - out);
    char *dir = duet_malloc(n + 1);
    if (!dir) {
        c->oom = true;
        return;
    }
    memcpy(dir, out, n);
    dir[n] = '\0';
    if (stat(dir, &st) != 0) report(c, p, false, "folder does not exist: %s", dir);
    else if (!S_ISDIR(st.st_mode)) report(c, p, false, "not a folder: %s", dir);
    duet_free(dir);
}

/* Default output: the script's file name with its extension replaced by .mp4. */
static char *default_output(ctx *c, const char *script_name) {
    const char *base = strrchr(script_name, '/');
    base = base ? base + 1 : script_name;
    const char *dot = strrchr(base, '.');
    size_t n = dot && dot != base ? (size_t)(dot - base) : strlen(base);
    char *name = duet_malloc(n + 5);
    if (!name) {
        c->oom = true;
        return NULL;
    }
    memcpy(name, base, n);
    memcpy(name + n, ".mp4", 5);
    char *r = resolve(c, name);
    duet_free(name);
    return r;
}

static void check_output(ctx *c, const json_t *v, duet_job *job, const char *script_name) {
    jpath p = path_key(&(jpath){.n = 0}, "output");
    const char *s;
    if (!v) {
        job->output_path = default_output(c, script_name);
        return;
    }
    if (!get_string(c, &p, v, &s)) return;
    if (!s[0]) {
        report(c, &p, false, "must not be empty");
        return;
    }
    if (!ends_with_ci(s, ".mp4")) {
        report(c, &p, false, "must end in .mp4 (duet writes MP4: H.264 + AAC)");
        return;
    }
    job->output_path = resolve(c, s);
    if (job->output_path) check_output_dir(c, &p, job->output_path);
}

static void check_size(ctx *c, const jpath *p, const json_t *v, int *out) {
    long long x;
    if (!get_int(c, p, v, c->d.min_size, c->d.max_size, &x)) return;
    if (c->d.size_multiple > 1 && x % c->d.size_multiple) {
        report(c, p, false, "must be a multiple of %d, got %lld", c->d.size_multiple, x);
        return;
    }
    *out = (int)x;
}

/* The frame's area within the model's range (reported at width, else height, else the top). */
static void check_area(ctx *c, const json_t *root, const duet_job *job) {
    int64_t area = (int64_t)job->width * job->height;
    if ((!c->d.min_area || area >= c->d.min_area) && (!c->d.max_area || area <= c->d.max_area))
        return;
    const char *key = json_object_get(root, "width") ? "width"
                      : json_object_get(root, "height") ? "height" : NULL;
    jpath top = {.n = 0}, p = key ? path_key(&top, key) : top;
    report(c, &p, false, "%dx%d is %lld pixels a frame; this model takes %lld to %lld "
           "(its default is %dx%d)", job->width, job->height, (long long)area,
           (long long)c->d.min_area, (long long)c->d.max_area, c->d.width, c->d.height);
}

/* Python's round() (half to even) as Ovi's code uses it; nearbyint in the default rounding
 * mode does the same. */
static long round_even(double x) { return (long)nearbyint(x); }

void duet_job_size_for_image(int img_w, int img_h, int64_t area, int multiple, int *width,
                             int *height) {
    DUET_ASSERT(img_w >= 1 && img_h >= 1 && area >= 1 && multiple >= 1);
    double ratio = (double)img_w / img_h;
    int64_t units = area / ((int64_t)multiple * multiple);
    if (units < 1) units = 1;
    long p0 = round_even(sqrt((double)units / fmax(ratio, 1e-8)));
    if (p0 < 1) p0 = 1;
    /* seven heights around p0, then the image scaled to the area and snapped */
    long cand[8][2];
    for (int k = 0; k < 7; k++) {
        long p = p0 + k - 3 < 1 ? 1 : p0 + k - 3;
        long q = round_even((double)p * ratio);
        cand[k][0] = p * multiple;
        cand[k][1] = (q < 1 ? 1 : q) * multiple;
    }
    double scale = sqrt((double)area / ((double)img_h * img_w));
    long hs = round_even(img_h * scale / multiple) * multiple;
    long ws = round_even(img_w * scale / multiple) * multiple;
    cand[7][0] = hs < multiple ? multiple : hs;
    cand[7][1] = ws < multiple ? multiple : ws;
    int best = 0;
    double best_da = INFINITY, best_dr = INFINITY;
    for (int k = 0; k < 8; k++) { /* the first of equal scores wins, as Python's min() */
        double da = fabs((double)cand[k][0] * cand[k][1] - (double)area);
        double dr = fabs((double)cand[k][1] / cand[k][0] - ratio);
        if (da < best_da || (da == best_da && dr < best_dr)) {
            best = k;
            best_da = da;
            best_dr = dr;
        }
    }
    *height = (int)cand[best][0];
    *width = (int)cand[best][1];
}

/* A job that gives no size and has a reference image renders at the image's aspect ratio and
 * the model's frame area (docs/job-script.md, "Frame size from a reference image"). Ovi does
 * not apply its 10 % area check to such a size (ovi_fusion_engine.py generate checks only the
 * requested size of text-to-video), so neither do we; the side limits still hold. */
static void size_from_image(ctx *c, duet_job *job) {
    if (!c->d.target_area || !c->d.image_size_fn || !c->base_dir || c->n_errs || !job->shots)
        return;
    int i = 0;
    while (i < job->n_shots && !job->shots[i].image_path) i++;
    if (i == job->n_shots) return;
    jpath top = {.n = 0}, shots = path_key(&top, "shots"), shot = path_index(&shots, (size_t)i);
    jpath p = path_key(&shot, "image");
    int iw = 0, ih = 0, w, h;
    char err[300] = "";
    if (!c->d.image_size_fn(job->shots[i].image_path, &iw, &ih, err, sizeof err)) {
        report(c, &p, false, "%s", err[0] ? err : "cannot read the image's size");
        return;
    }
    int m = c->d.size_multiple > 1 ? c->d.size_multiple : 1;
    duet_job_size_for_image(iw, ih, c->d.target_area, m, &w, &h);
    if (w < c->d.min_size || w > c->d.max_size || h < c->d.min_size || h > c->d.max_size) {
        report(c, &p, false, "is %dx%d; at this model's frame area (%lld pixels) its aspect "
               "ratio gives %dx%d frames, outside the model's %d to %d pixels a side: give the "
               "job's width and height (the image is then centre-cropped to them)", iw, ih,
               (long long)c->d.target_area, w, h, c->d.min_size, c->d.max_size);
        return;
    }
    job->width = w;
    job->height = h;
    job->size_from_shot = i;
}

static void check_guidance(ctx *c, const jpath *p, const json_t *v, duet_job *job) {
    double g;
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach((json_t *)v, key, x) {
            jpath q = path_key(p, key);
            bool video = !strcmp(key, "video");
            if (!video && strcmp(key, "audio")) {
                unknown_field(c, p, key, guidance_fields, N_OF(guidance_fields), NULL);
            } else if (get_number(c, &q, x, &g)) {
                if (g < 1.0 || g > c->d.max_guidance)
                    report(c, &q, false, "must be within [1, %g], got %g", c->d.max_guidance, g);
                else if (video) job->guidance_video = (float)g;
                else job->guidance_audio = (float)g;
            }
        }
        return;
    }
    if (!json_is_number(v)) {
        report(c, p, false, "must be a number or {\"video\": n, \"audio\": n}, got %s",
               describe(v));
        return;
    }
    g = json_number_value(v);
    if (g < 1.0 || g > c->d.max_guidance) {
        report(c, p, false, "must be within [1, %g], got %g", c->d.max_guidance, g);
        return;
    }
    job->guidance_video = job->guidance_audio = (float)g;
}

static void check_seed(ctx *c, const jpath *p, const json_t *v, uint64_t *out) {
    long long x;
    if (json_is_number(v) && json_number_value(v) < 0)
        report(c, p, false, "must be >= 0, got %g", json_number_value(v));
    else if (get_int(c, p, v, 0, LLONG_MAX, &x))
        *out = (uint64_t)x;
}

static void check_fps(ctx *c, const jpath *p, const json_t *v, duet_job *job) {
    long long x;
    if (c->d.min_fps == c->d.max_fps && json_is_number(v) && json_number_value(v) != c->d.min_fps)
        report(c, p, false, "must be %d (the model's frame rate), got %g", c->d.min_fps,
               json_number_value(v));
    else if (get_int(c, p, v, c->d.min_fps, c->d.max_fps, &x))
        job->fps = (int)x;
}

/* negative_video / negative_audio: "" is allowed and means "no negative prompt". */
static void check_negative(ctx *c, const jpath *p, const json_t *v, char **out) {
    const char *s;
    if (!get_string(c, p, v, &s)) return;
    duet_free(*out);
    *out = dup_or_oom(c, s);
}

static void check_shots(ctx *c, const jpath *p, const json_t *v, duet_job *job,
                        char *const negatives[2]);

static void check_root(ctx *c, const json_t *root, duet_job *job, const char *script_name) {
    const jpath top = {.n = 0};
    if (!json_is_object(root)) {
        report(c, &top, false, "a job script is a JSON object { ... }, got %s", describe(root));
        return;
    }
    check_model(c, root, job); /* first: the model sets the defaults and limits below */
    job->size_from_shot = -1;
    job->width = c->d.width;
    job->height = c->d.height;
    job->fps = c->d.fps;
    job->steps = c->d.steps;
    job->guidance_video = c->d.guidance_video;
    job->guidance_audio = c->d.guidance_audio;
    job->seed = c->d.seed;
    char *negatives[2] = {NULL, NULL};
    const char *key, *str, *suggested[8];
    int n_suggested = 0;
    json_t *v;
    long long x;
    json_object_foreach((json_t *)root, key, v) {
        jpath p = path_key(&top, key);
        if (!strcmp(key, "model") || !strcmp(key, "output") || !strcmp(key, "shots")) continue;
        if (!strcmp(key, "width")) check_size(c, &p, v, &job->width);
        else if (!strcmp(key, "height")) check_size(c, &p, v, &job->height);
        else if (!strcmp(key, "fps")) check_fps(c, &p, v, job);
        else if (!strcmp(key, "steps")) {
            if (get_int(c, &p, v, 1, c->d.max_steps, &x)) job->steps = (int)x;
        } else if (!strcmp(key, "seed")) check_seed(c, &p, v, &job->seed);
        else if (!strcmp(key, "guidance")) check_guidance(c, &p, v, job);
        else if (!strcmp(key, "negative_video")) check_negative(c, &p, v, &negatives[0]);
        else if (!strcmp(key, "negative_audio")) check_negative(c, &p, v, &negatives[1]);
        else if (!strcmp(key, "comment")) get_string(c, &p, v, &str);
        else if (in_list(key, shot_fields, N_OF(shot_fields)))
            unknown_field(c, &top, key, NULL, 0,
                          "this is a shot field: put it in a shot inside \"shots\"");
        else if ((str = unknown_field(c, &top, key, top_fields, N_OF(top_fields), NULL)) &&
                 n_suggested < N_OF(suggested))
            suggested[n_suggested++] = str;
    }
    check_output(c, json_object_get(root, "output"), job, script_name);
    const json_t *shots = json_object_get(root, "shots");
    jpath p = path_key(&top, "shots");
    missing_field(c, &top, root, "shots", suggested, n_suggested);
    if (shots) check_shots(c, &p, shots, job, negatives);
    if (!json_object_get(root, "width") && !json_object_get(root, "height"))
        size_from_image(c, job);
    if (job->size_from_shot < 0) check_area(c, root, job);
    duet_free(negatives[0]);
    duet_free(negatives[1]);
}

/* ---- shots ---- */

typedef void (*shot_field_fn)(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                              const duet_job *job);

static bool blank(const char *s) {
    for (; *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r') return false;
    return true;
}

static void shot_prompt(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                        const duet_job *job) {
    const char *txt;
    if (!get_string(c, p, v, &txt)) return;
    size_t n = json_string_length(v);
    if (blank(txt)) {
        report(c, p, false, "must not be empty");
        return;
    }
    if (n > (size_t)c->d.max_prompt_bytes) {
        report(c, p, false, "is %zu bytes long; at most %d", n, c->d.max_prompt_bytes);
        return;
    }
    enum { MAX_TAG_ISSUES = 8 };
    duet_job_tag_issue is[MAX_TAG_ISSUES];
    int k = duet_job_check_tags(txt, is, MAX_TAG_ISSUES);
    for (int j = 0; j < k && j < MAX_TAG_ISSUES; j++)
        report_in_string(c, p, is[j].offset, "%s", is[j].msg);
    if (k > MAX_TAG_ISSUES) report(c, p, false, "%d more tag errors", k - MAX_TAG_ISSUES);
    s->prompt = dup_or_oom(c, txt);
}

static void shot_duration(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                          const duet_job *job) {
    double d;
    if (!get_number(c, p, v, &d)) return;
    if (!(d > 0)) {
        report(c, p, false, "must be > 0, got %g", d);
        return;
    }
    if (d > c->d.max_shot_s) {
        report(c, p, false, "must be at most %g s for this model, got %g", c->d.max_shot_s, d);
        return;
    }
    double frames = round(d * job->fps);
    if (frames > 1e7) { /* only with a caller's absurd max_shot_s: keep n_frames an int */
        report(c, p, false, "is too long (%g frames)", frames);
        return;
    }
    if (frames < 1) {
        report(c, p, false, "is shorter than one frame (%g s at %d fps)", 1.0 / job->fps, job->fps);
        return;
    }
    s->duration_s = d;
    s->n_frames = (int)frames;
}

static void shot_seed(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                      const duet_job *job) {
    uint64_t seed = s->seed;
    check_seed(c, p, v, &seed);
    s->seed = seed;
    s->seed_given = true;
}

static void shot_file(ctx *c, const jpath *p, const json_t *v, char **out, file_kind kind) {
    const char *path;
    if (!get_string(c, p, v, &path)) return;
    if (!path[0]) {
        report(c, p, false, "must not be empty (leave the field out for none)");
        return;
    }
    *out = resolve(c, path);
    check_input(c, p, *out, kind);
}

static void shot_image(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                       const duet_job *job) {
    shot_file(c, p, v, &s->image_path, FILE_PNG);
}

static void shot_audio(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                       const duet_job *job) {
    shot_file(c, p, v, &s->audio_path, FILE_WAV);
}

static void shot_continue(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                          const duet_job *job) {
    if (!json_is_boolean(v)) report(c, p, false, "must be true or false, got %s", describe(v));
    else s->continues = json_is_true(v);
}

static void shot_transition(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                            const duet_job *job) {
    const char *t;
    s->transition = DUET_TRANSITION_COUNT_; /* "invalid" until recognised */
    if (!get_string(c, p, v, &t)) return;
    for (int i = 0; i < DUET_TRANSITION_COUNT_; i++)
        if (!strcmp(t, transitions[i])) {
            s->transition = (duet_transition)i;
            return;
        }
    const char *best = duet_job_suggest(t, transitions, DUET_TRANSITION_COUNT_);
    if (best)
        report(c, p, false, "must be \"cut\" or \"crossfade\", got \"%.40s\"; did you mean \"%s\"?",
               t, best);
    else report(c, p, false, "must be \"cut\" or \"crossfade\", got \"%.40s\"", t);
}

static void shot_transition_ms(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                               const duet_job *job) {
    long long x;
    s->transition_ms = -1; /* invalid: skip the cross checks */
    if (get_int(c, p, v, 1, 60000, &x)) s->transition_ms = (int)x;
}

static void shot_negative_video(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                                const duet_job *job) {
    check_negative(c, p, v, &s->negative_video);
}

static void shot_negative_audio(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                                const duet_job *job) {
    check_negative(c, p, v, &s->negative_audio);
}

static void shot_comment(ctx *c, const jpath *p, const json_t *v, duet_job_shot *s,
                         const duet_job *job) {
    const char *str;
    get_string(c, p, v, &str);
}

static const shot_field_fn shot_fns[] = {shot_prompt, shot_duration, shot_seed, shot_image,
                                         shot_audio, shot_continue, shot_transition,
                                         shot_transition_ms, shot_negative_video,
                                         shot_negative_audio, shot_comment};
_Static_assert(sizeof shot_fns / sizeof *shot_fns == sizeof shot_fields / sizeof *shot_fields,
               "one handler per shot field");

/* Rules that involve two fields or the previous shot. */
static void check_links(ctx *c, const jpath *sp, size_t i, const json_t *v, duet_job *job) {
    duet_job_shot *s = &job->shots[i];
    jpath pc = path_key(sp, "continue"), pt = path_key(sp, "transition");
    jpath pm = path_key(sp, "transition_ms");
    bool has_ms = json_object_get(v, "transition_ms") != NULL;
    if (s->continues) {
        if (i == 0) report(c, &pc, false, "the first shot has no previous shot to continue");
        if (json_object_get(v, "image"))
            report(c, &pc, false, "cannot be combined with \"image\": a continuation starts "
                                  "from the previous shot's last frames");
        if (json_object_get(v, "transition"))
            report(c, &pt, true, "a continuation has no transition; remove this field");
    }
    if (s->transition == DUET_TRANSITION_CROSSFADE) {
        if (i == 0) report(c, &pt, false, "the first shot has nothing to crossfade from");
        if (!has_ms) s->transition_ms = DEFAULT_CROSSFADE_MS;
        const duet_job_shot *prev = i > 0 ? &job->shots[i - 1] : NULL;
        if (prev && prev->n_frames > 0 && s->n_frames > 0 && s->transition_ms > 0) {
            double shorter = fmin(prev->duration_s, s->duration_s);
            if (s->transition_ms > shorter * 1000.0)
                report(c, has_ms ? &pm : &pt, false,
                       "a %d ms crossfade is longer than the shorter of the two shots (%g s)",
                       s->transition_ms, shorter);
            else if (prev->transition == DUET_TRANSITION_CROSSFADE &&
                     prev->transition_ms + s->transition_ms > prev->duration_s * 1000.0)
                report(c, has_ms ? &pm : &pt, false,
                       "shots[%zu] (%g s) is shorter than its two crossfades (%d + %d ms)",
                       i - 1, prev->duration_s, prev->transition_ms, s->transition_ms);
        }
    } else if (has_ms && s->transition != DUET_TRANSITION_COUNT_) {
        report(c, &pm, true, "only applies with \"transition\": \"crossfade\"");
    }
    if (s->transition != DUET_TRANSITION_CROSSFADE) {
        s->transition = DUET_TRANSITION_CUT;
        s->transition_ms = 0;
    }
}

static void check_shot(ctx *c, const jpath *shots, size_t i, const json_t *v, duet_job *job,
                       char *const negatives[2]) {
    jpath sp = path_index(shots, i);
    duet_job_shot *s = &job->shots[i];
    duet_jsonpos pos = locate(c, &sp, false);
    s->line = pos.line;
    s->col = pos.col;
    s->seed = job->seed + i;
    if (!json_is_object(v)) {
        report(c, &sp, false, "a shot is an object {\"prompt\": ..., \"duration_s\": ...}, got %s",
               describe(v));
        return;
    }
    const char *key, *best, *suggested[8];
    int n_suggested = 0;
    json_t *x;
    json_object_foreach((json_t *)v, key, x) {
        jpath p = path_key(&sp, key);
        int f = 0;
        while (f < N_OF(shot_fields) && strcmp(key, shot_fields[f])) f++;
        if (f < N_OF(shot_fields)) shot_fns[f](c, &p, x, s, job);
        else if (in_list(key, top_fields, N_OF(top_fields)))
            unknown_field(c, &sp, key, NULL, 0, "this is a job field: put it at the top level");
        else if ((best = unknown_field(c, &sp, key, shot_fields, N_OF(shot_fields), NULL)) &&
                 n_suggested < N_OF(suggested))
            suggested[n_suggested++] = best; /* never assign to key: foreach iterates by it */
    }
    missing_field(c, &sp, v, "prompt", suggested, n_suggested);
    missing_field(c, &sp, v, "duration_s", suggested, n_suggested);
    if (!json_object_get(v, "negative_video") && negatives[0])
        s->negative_video = dup_or_oom(c, negatives[0]);
    if (!json_object_get(v, "negative_audio") && negatives[1])
        s->negative_audio = dup_or_oom(c, negatives[1]);
    check_links(c, &sp, i, v, job);
}

static void check_shots(ctx *c, const jpath *p, const json_t *v, duet_job *job,
                        char *const negatives[2]) {
    if (!json_is_array(v)) {
        report(c, p, false, "must be an array of shots [ {...}, ... ], got %s", describe(v));
        return;
    }
    size_t n = json_array_size(v);
    if (n == 0) {
        report(c, p, false, "must hold at least one shot");
        return;
    }
    if (n > (size_t)c->d.max_shots) {
        report(c, p, false, "holds %zu shots; at most %d", n, c->d.max_shots);
        return;
    }
    job->shots = duet_calloc(n, sizeof *job->shots);
    if (!job->shots) {
        c->oom = true;
        return;
    }
    job->n_shots = (int)n;
    for (size_t i = 0; i < n; i++) check_shot(c, p, i, json_array_get(v, i), job, negatives);
}

/* ---- entry points ---- */

duet_status duet_job_load_string(const char *text, size_t len, const char *name,
                                 const char *base_dir, const duet_job_defaults *d,
                                 duet_job **out) {
    if (!out || (!text && len)) {
        DUET_LOGE("duet_job_load_string: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    *out = NULL;
    const char *shown = name ? name : "<string>";
    if (!text) text = "";
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) { /* editors on Windows write one */
        text += 3;
        len -= 3;
    }
    if (len > DUET_JOB_MAX_BYTES) {
        DUET_LOGE("%s: %zu bytes; a job script is at most %d bytes", shown, len,
                  DUET_JOB_MAX_BYTES);
        return DUET_ERR_FORMAT;
    }
    json_error_t je;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        DUET_LOGE("%s:%d:%d: syntax error: %s", shown, je.line > 0 ? je.line : 1,
                  je.column > 0 ? je.column : 1, je.text);
        return DUET_ERR_FORMAT;
    }
    ctx *c = duet_calloc(1, sizeof *c);
    duet_job *job = duet_calloc(1, sizeof *job);
    duet_status st = DUET_ERR_OUT_OF_MEMORY;
    if (!c || !job || !(job->source = duet_strdup(shown))) goto fail;
    c->name = shown;
    c->text = text;
    c->len = len;
    c->base_dir = base_dir;
    c->d = d ? *d : duet_job_tiny_defaults();
    check_root(c, root, job, name ? name : "job.json");
    if (c->oom) goto fail;
    if (c->n_errs) {
        emit_errors(c);
        st = DUET_ERR_FORMAT;
        goto fail;
    }
    json_decref(root);
    duet_free(c);
    *out = job;
    return DUET_OK;
fail:
    if (st == DUET_ERR_OUT_OF_MEMORY) DUET_LOGE("%s: out of memory", shown);
    duet_job_free(&job);
    duet_free(c);
    json_decref(root);
    return st;
}

duet_status duet_job_load(const char *path, const duet_job_defaults *d, duet_job **out) {
    if (!path || !out) {
        DUET_LOGE("duet_job_load: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        DUET_LOGE("%s: cannot open: %s", path, strerror(errno));
        return DUET_ERR_IO;
    }
    duet_status st = DUET_ERR_OUT_OF_MEMORY;
    size_t plen = strlen(path);
    char *buf = duet_malloc((size_t)DUET_JOB_MAX_BYTES + 1), *dir = duet_malloc(plen + 2);
    if (!buf || !dir) {
        DUET_LOGE("%s: out of memory", path);
        goto done;
    }
    size_t n = fread(buf, 1, (size_t)DUET_JOB_MAX_BYTES + 1, f);
    if (ferror(f)) {
        DUET_LOGE("%s: read error: %s", path, strerror(errno));
        st = DUET_ERR_IO;
        goto done;
    }
    /* relative paths in the script are relative to the script's folder */
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, plen + 2, ".");
    else if (slash == path) snprintf(dir, plen + 2, "/");
    else snprintf(dir, plen + 2, "%.*s", (int)(slash - path), path);
    st = duet_job_load_string(buf, n, path, dir, d, out);
done:
    duet_free(buf);
    duet_free(dir);
    fclose(f);
    return st;
}

void duet_job_free(duet_job **job) {
    if (!job || !*job) return;
    duet_job *j = *job;
    for (int i = 0; i < j->n_shots; i++) {
        duet_job_shot *s = &j->shots[i];
        duet_free(s->prompt);
        duet_free(s->negative_video);
        duet_free(s->negative_audio);
        duet_free(s->image_path);
        duet_free(s->audio_path);
    }
    duet_free(j->shots);
    duet_free(j->source);
    duet_free(j->model);
    duet_free(j->output_path);
    duet_free(j);
    *job = NULL;
}
