/* duet render — a model folder's clip and sampler settings (see model_defaults.h). */
#include "cli/model_defaults.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/json_util.h"
#include "core/log.h"
#include "video/png_io.h"

#define MAX_CONFIG_BYTES (1 << 20)

static duet_status get_int(const duet_json_ctx *c, const json_t *o, const char *f, int64_t def,
                           int64_t lo, int64_t hi, int *out) {
    int64_t v = 0;
    duet_status s = duet_json_get_int(c, o, f, def, lo, hi, &v);
    if (s == DUET_OK) *out = (int)v;
    return s;
}

static duet_status parse_clip(const duet_json_ctx *c, const json_t *o, duet_model_defaults *m) {
    static const char *const known[] = {"fps", "n_frames", "size", "size_multiple", "min_size",
                                        "max_size", "max_seconds", "sample_rate_hz",
                                        "n_samples", "target_area_px", "audio_prompt"};
    duet_status s = get_int(c, o, "fps", -1, 1, 240, &m->fps);
    if (s == DUET_OK) s = get_int(c, o, "n_frames", -1, 1, 100000, &m->n_frames);
    if (s == DUET_OK) s = get_int(c, o, "size", -1, 16, 8192, &m->size);
    if (s == DUET_OK) s = get_int(c, o, "size_multiple", 16, 1, m->size, &m->size_multiple);
    if (s != DUET_OK) return s;
    if (m->size % m->size_multiple)
        return duet_json_field_error(c, "size", "must be a multiple of size_multiple");
    int half = m->size / 2 / m->size_multiple * m->size_multiple;
    s = get_int(c, o, "min_size", half > 0 ? half : m->size_multiple, m->size_multiple, m->size,
                &m->min_size);
    if (s == DUET_OK) s = get_int(c, o, "max_size", 2 * (int64_t)m->size, m->size, 16384,
                                  &m->max_size);
    int64_t area = 0;
    if (s == DUET_OK) s = duet_json_get_int(c, o, "target_area_px", 0, 0,
                                            (int64_t)m->max_size * m->max_size, &area);
    m->target_area = area;
    double max_s = 0;
    if (s == DUET_OK) s = duet_json_get_number(c, o, "max_seconds", m->n_frames / (double)m->fps,
                                               1e-3, 3600, &max_s);
    m->max_seconds = max_s;
    if (s == DUET_OK) duet_json_warn_unknown(c, o, known, sizeof known / sizeof known[0]);
    return s;
}

static duet_status dup_string(const char *src, char **out) {
    *out = duet_strdup(src);
    return *out ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

static duet_status parse_sampler(const duet_json_ctx *c, const json_t *o,
                                 duet_model_defaults *m) {
    static const char *const known[] = {"solver", "steps", "shift", "video_guidance_scale",
                                        "audio_guidance_scale", "slg_layer",
                                        "video_negative_prompt", "audio_negative_prompt"};
    const char *solver = NULL, *neg_v = NULL, *neg_a = NULL;
    double shift = 0, gv = 0, ga = 0;
    duet_status s = duet_json_get_string(c, o, "solver", NULL, &solver);
    if (s == DUET_OK && duet_solver_parse(solver, &m->solver) != DUET_OK)
        s = duet_json_field_error(c, "solver", "must be \"unipc\" or \"euler\"");
    if (s == DUET_OK) s = get_int(c, o, "steps", -1, 1, 1000, &m->steps);
    if (s == DUET_OK) s = duet_json_get_number(c, o, "shift", NAN, 0.01, 100, &shift);
    if (s == DUET_OK) s = duet_json_get_number(c, o, "video_guidance_scale", NAN, 1, 20, &gv);
    if (s == DUET_OK) s = duet_json_get_number(c, o, "audio_guidance_scale", NAN, 1, 20, &ga);
    if (s == DUET_OK) {
        /* Ovi's fusion model skips block slg_layer only when slg_layer > 0
         * (ovi/modules/fusion.py, `if slg_layer > 0 and i == slg_layer`); -1 and 0 are off */
        int64_t slg = 0;
        s = duet_json_get_int(c, o, "slg_layer", 0, INT64_MIN, 10000, &slg);
        m->slg_layer = slg > 0 ? (int)slg : -1;
    }
    if (s == DUET_OK) s = duet_json_get_string(c, o, "video_negative_prompt", "", &neg_v);
    if (s == DUET_OK) s = duet_json_get_string(c, o, "audio_negative_prompt", "", &neg_a);
    if (s == DUET_OK) s = dup_string(neg_v, &m->video_negative);
    if (s == DUET_OK) s = dup_string(neg_a, &m->audio_negative);
    m->shift = shift;
    m->video_guidance = (float)gv;
    m->audio_guidance = (float)ga;
    if (s == DUET_OK) duet_json_warn_unknown(c, o, known, sizeof known / sizeof known[0]);
    return s;
}

duet_status duet_model_defaults_load(const char *config_path, duet_model_defaults *out) {
    memset(out, 0, sizeof *out);
    char *text = NULL;
    size_t len = 0;
    duet_status s = duet_json_read_file(config_path, "model config", MAX_CONFIG_BYTES, &text,
                                        &len);
    if (s != DUET_OK) return s;
    json_t *root = duet_json_parse(text, len, config_path);
    duet_free(text);
    if (!root) return DUET_ERR_FORMAT;
    static const char *const sections[2] = {"clip", "sampler"};
    for (int i = 0; i < 2 && s == DUET_OK; i++) {
        const json_t *o = json_is_object(root) ? json_object_get(root, sections[i]) : NULL;
        if (!json_is_object(o)) {
            DUET_LOGE("%s: needs a \"%s\" object (the model's %s settings)", config_path,
                      sections[i], sections[i]);
            s = DUET_ERR_FORMAT;
            break;
        }
        duet_json_ctx c = {config_path, sections[i]};
        s = i == 0 ? parse_clip(&c, o, out) : parse_sampler(&c, o, out);
    }
    json_decref(root);
    if (s == DUET_ERR_OUT_OF_MEMORY) DUET_LOGE("%s: out of memory", config_path);
    if (s != DUET_OK) duet_model_defaults_free(out);
    return s;
}

void duet_model_defaults_free(duet_model_defaults *m) {
    if (!m) return;
    duet_free(m->video_negative);
    duet_free(m->audio_negative);
    memset(m, 0, sizeof *m);
}

void duet_model_defaults_apply(const duet_model_defaults *m, duet_job_defaults *d) {
    d->width = d->height = m->size;
    d->fps = d->min_fps = d->max_fps = m->fps;
    d->steps = m->steps;
    d->guidance_video = m->video_guidance;
    d->guidance_audio = m->audio_guidance;
    d->size_multiple = m->size_multiple;
    d->min_size = m->min_size;
    d->max_size = m->max_size;
    d->max_shot_s = m->max_seconds;
    /* Ovi's area check: "more than 10% smaller or larger than model's target area"
     * (ovi/ovi_fusion_engine.py generate) */
    d->min_area = m->target_area ? (m->target_area * 9 + 9) / 10 : 0;
    d->max_area = m->target_area ? m->target_area * 11 / 10 : 0;
    d->target_area = m->target_area;
}

bool duet_model_dir(const char *model, bool is_path, char *dir, size_t n) {
    const char *env = getenv("DUET_MODELS");
    int k = is_path ? snprintf(dir, n, "%s", model)
                    : snprintf(dir, n, "%s/%s", env && *env ? env : "models", model);
    return k >= 0 && (size_t)k < n;
}

static duet_status job_model_hook(const char *model, bool is_path, duet_job_defaults *d,
                                  char *err, size_t err_size, void *user_data) {
    (void)user_data;
    char dir[4096], path[4200];
    struct stat sb;
    if (!duet_model_dir(model, is_path, dir, sizeof dir) || stat(dir, &sb) ||
        !S_ISDIR(sb.st_mode)) {
        snprintf(err, err_size, "model '%s' not found (looked for the folder %s; set "
                 "DUET_MODELS or give a path)", model, dir);
        return DUET_ERR_NOT_FOUND;
    }
    snprintf(path, sizeof path, "%s/config.json", dir);
    duet_model_defaults m;
    duet_status s = duet_model_defaults_load(path, &m);
    if (s != DUET_OK) {
        snprintf(err, err_size, "cannot use the model's settings in %s (see above)", path);
        return s;
    }
    duet_model_defaults_apply(&m, d);
    duet_model_defaults_free(&m);
    return DUET_OK;
}

static bool png_size_hook(const char *path, int *width, int *height, char *err,
                          size_t err_size) {
    if (duet_png_read_size(path, NULL, width, height) == DUET_OK) return true;
    snprintf(err, err_size, "cannot read the size of %s (see above)", path);
    return false;
}

duet_job_defaults duet_render_job_defaults(void) {
    duet_job_defaults d = duet_job_tiny_defaults();
    d.model_fn = job_model_hook;
    d.image_size_fn = png_size_hook;
    return d;
}
