/* duet — golden test of the engine on duet-tiny's shipped weights: every module, run on the
 * real model.safetensors of models/duet-tiny, against the PyTorch references that
 * tools/duet_tiny/golden.py computes from the same export (tests/golden/tiny/<module>.safetensors;
 * f16 weights widened to f32 on both sides, PyTorch computing in f32, so agreement is at f32
 * rounding level, not exact).
 *
 *   test_golden_tiny [MODEL_DIR [GOLDEN_DIR]]     (defaults: the source tree's models/duet-tiny
 *                                                 and tests/golden/tiny)
 *
 * Each golden file carries the SHA-256 of the model.safetensors it was computed from; a file of
 * another model fails (regenerate with tools/duet_tiny/golden.py). A missing model or golden
 * file fails too: both are committed, so their absence is a defect, not a reason to skip.
 * Modules, each on every backend under test (CPU, Vulkan):
 *   tokenizer      ids of golden.py's prompts equal, exactly (host only)
 *   text encoder   output rows of prompt 0                         (this file)
 *   DiT block      fusion block 0 of both towers, stepwise as dit.c runs it
 *   DiT full       conditional and unconditional (other prompts, skip layer) passes at the model's
 *                  latent size with the first frame clean, and the guided mix (test_tiny_dit.c)
 *   sampler        schedule and 6-step UniPC / Euler trajectories   (test_tiny_media.c)
 *   video VAE      decode of 2 latent frames; encode of frame 0
 *   audio          host mel; audio encoder from PCM; VAE encoder, decoder; vocoder
 * Tolerances sit in each file, as normalized mean squared error. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "encoders/tokenizer.h"
#include "test_tiny.h"

#ifndef DUET_TINY_MODEL_DIR
#define DUET_TINY_MODEL_DIR DUET_TEST_DATA_DIR "/../models/duet-tiny"
#endif
#ifndef DUET_TINY_GOLDEN_DIR
#define DUET_TINY_GOLDEN_DIR DUET_TEST_DATA_DIR "/golden/tiny"
#endif

/* Text encoder, f16 weights in f32 arithmetic against PyTorch f32: measured on the trained
 * duet-tiny and a random-weight export <= 2.6e-13 (CPU) and <= 2.2e-13 (lavapipe). A GELU-erf
 * for GELU-tanh slip costs 3e-8 (tools/golden/text_encoder.py), so the limits stay below it. */
#define TEXT_CPU_NMSE 1e-9
#define TEXT_GPU_NMSE 1e-8

/* ---------------------------------------------------------------- shared helpers */

duet_safetensors *tiny_open_golden(const tiny_model *m, const char *name) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.safetensors", m->golden_dir, name);
    char script[2200];
    snprintf(script, sizeof script, "python -m tools.duet_tiny.golden --model %s --out %s",
             m->dir, m->golden_dir);
    duet_safetensors *st = NULL;
    if (!duet_golden_open(path, script, &st)) return NULL;
    const char *sha = duet_safetensors_metadata(st, "model_sha256");
    if (!sha || strcmp(sha, m->sha256)) {
        fprintf(stderr, "FAIL: %s was computed from another model (model_sha256 %s, %s/"
                "model.safetensors has %s): regenerate the golden files with %s\n", path,
                sha ? sha : "missing", m->dir, m->sha256, script);
        duet_test_failures++;
        duet_safetensors_close(&st);
    }
    return st;
}

bool tiny_meta_number(const duet_safetensors *st, const char *key, double *out) {
    const char *text = duet_safetensors_metadata(st, key);
    json_t *j = text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
    bool ok = json_is_number(j);
    if (ok) *out = json_number_value(j);
    else fprintf(stderr, "FAIL: %s: metadata %s is not a number\n", duet_safetensors_name(st),
                 key);
    T_CHECK(ok);
    json_decref(j);
    return ok;
}

bool tiny_meta_ints(const duet_safetensors *st, const char *key, int64_t *out, size_t n) {
    const char *text = duet_safetensors_metadata(st, key);
    json_t *j = text ? json_loads(text, 0, NULL) : NULL;
    bool ok = json_array_size(j) == n;
    for (size_t i = 0; ok && i < n; i++) {
        ok = json_is_integer(json_array_get(j, i));
        if (ok) out[i] = json_integer_value(json_array_get(j, i));
    }
    if (!ok) fprintf(stderr, "FAIL: %s: metadata %s is not %zu integers\n",
                     duet_safetensors_name(st), key, n);
    T_CHECK(ok);
    json_decref(j);
    return ok;
}

const char *tiny_backend_label(duet_backend *be) {
    return duet_backend_get_kind(be) == DUET_BACKEND_CPU ? "cpu" : "vulkan";
}

double tiny_tol(duet_backend *be, double cpu_nmse, double gpu_nmse) {
    return duet_backend_get_kind(be) == DUET_BACKEND_CPU ? cpu_nmse : gpu_nmse;
}

/* ---------------------------------------------------------------- tokenizer, text encoder */

/* The ids of every prompt in the metadata equal ids.<i>, with the text encoder's text_len as
 * the truncation length, as golden.py's Tokenizer.encode applies it. */
static void check_tokenizer(const tiny_model *m, const duet_safetensors *st) {
    char path[1024];
    snprintf(path, sizeof path, "%s/tokenizer.model", m->dir);
    duet_tokenizer *tok = NULL;
    T_CHECK_OK(duet_tokenizer_load(path, &tok));
    const char *text = duet_safetensors_metadata(st, "prompts");
    json_t *prompts = text ? json_loads(text, 0, NULL) : NULL;
    T_CHECK(json_array_size(prompts) >= 4);
    const size_t max_ids = (size_t)m->text.text_len;
    int32_t *ids = malloc(max_ids * sizeof *ids);
    for (size_t i = 0; tok && ids && i < json_array_size(prompts); i++) {
        const char *prompt = json_string_value(json_array_get(prompts, i));
        char name[32];
        snprintf(name, sizeof name, "ids.%zu", i);
        size_t n_want = 0, n = 0;
        bool truncated = false;
        int32_t *want = duet_golden_read(st, name, DUET_I32, 0, &n_want);
        T_CHECK_OK(duet_tokenizer_encode(tok, prompt ? prompt : "", NULL, ids, max_ids, &n,
                                         &truncated));
        size_t first_bad = n;
        for (size_t k = 0; want && k < n && k < n_want; k++)
            if (ids[k] != want[k]) {
                first_bad = k;
                break;
            }
        bool ok = want && n == n_want && first_bad == n;
        fprintf(stderr, "tokenizer prompt %zu: %zu ids%s, PyTorch %zu: %s\n", i, n,
                truncated ? " (truncated)" : "", n_want, ok ? "equal" : "DIFFERENT");
        if (!ok && want && first_bad < n && first_bad < n_want)
            fprintf(stderr, "FAIL: prompt %zu id %zu: %d, PyTorch %d\n", i, first_bad,
                    (int)ids[first_bad], (int)want[first_bad]);
        T_CHECK(ok);
        free(want);
    }
    free(ids);
    json_decref(prompts);
    duet_tokenizer_free(&tok);
}

void tiny_check_encoder(const tiny_model *m, duet_backend *be, const int32_t *ids, size_t n,
                        const float *want, const char *what) {
    duet_text_encoder *enc = NULL;
    duet_text_encoder_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *out = a ? duet_tensor_new4(a, be, DUET_F32, m->text.dim, (int64_t)n, 1, 1)
                         : NULL;
    bool ready = out && duet_text_encoder_load(&m->text, m->st, "text_encoder.", be, NULL,
                                               &enc) == DUET_OK &&
                 duet_text_encoder_session_new(enc, m->text.text_len, &s) == DUET_OK;
    T_CHECK(ready);
    if (ready) {
        T_CHECK_OK(duet_text_encoder_encode(s, ids, (int64_t)n, out));
        char label[160];
        snprintf(label, sizeof label, "text encoder on %s, %s (%zu ids)", tiny_backend_label(be),
                 what, n);
        duet_golden_compare_tensor(label, out, want, n * (size_t)m->text.dim,
                                   tiny_tol(be, TEXT_CPU_NMSE, TEXT_GPU_NMSE));
    }
    duet_text_encoder_session_free(&s);
    duet_text_encoder_free(&enc);
    duet_arena_free(&a);
}

void tiny_check_text(const tiny_model *m, duet_backend *be, bool first) {
    duet_safetensors *st = first ? tiny_open_golden(m, "tokenizer") : NULL;
    if (st) check_tokenizer(m, st);
    duet_safetensors_close(&st);
    st = tiny_open_golden(m, "text_encoder");
    if (!st) return;
    size_t n = 0;
    int32_t *ids = duet_golden_read(st, "ids", DUET_I32, 0, &n);
    float *want = ids ? duet_golden_read(st, "out", DUET_F32, n * (size_t)m->text.dim, NULL)
                      : NULL;
    if (want) tiny_check_encoder(m, be, ids, n, want, "prompt 0");
    free(ids);
    free(want);
    duet_safetensors_close(&st);
}

/* ---------------------------------------------------------------- the model */

static char *read_text(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    long n = -1;
    if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0)
        buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    if (f) fclose(f);
    if (buf) buf[n] = 0, *len = (size_t)n;
    return buf;
}

/* Opens model.safetensors, hashes it and reads config.json with each module's parser. */
static bool open_model(tiny_model *m) {
    char path[1024];
    snprintf(path, sizeof path, "%s/model.safetensors", m->dir);
    bool ok = duet_safetensors_open(path, &m->st) == DUET_OK && tiny_sha256_file(path, m->sha256);
    snprintf(path, sizeof path, "%s/config.json", m->dir);
    size_t len = 0;
    char *json = ok ? read_text(path, &len) : NULL;
    ok = json && duet_dit_config_parse(json, len, path, &m->dit) == DUET_OK &&
         duet_text_encoder_config_parse(json, len, path, &m->text) == DUET_OK &&
         duet_audio_config_parse(json, len, path, &m->audio) == DUET_OK;
    free(json);
    if (!ok) fprintf(stderr, "FAIL: %s: cannot open the model (model.safetensors, config.json)\n",
                     m->dir);
    else fprintf(stderr, "model %s: sha256 %s\n", m->dir, m->sha256);
    return ok;
}

/* Wall and process CPU seconds (all threads, lavapipe's included): the CPU time tells the cost
 * even on a machine shared with other jobs. */
static double seconds_now(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
    tiny_model m = {.dir = argc > 1 ? argv[1] : DUET_TINY_MODEL_DIR,
                    .golden_dir = argc > 2 ? argv[2] : DUET_TINY_GOLDEN_DIR};
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    T_CHECK(tiny_sha256_self_test());
    if (nb >= 1 && open_model(&m)) {
        static const struct {
            const char *name;
            void (*check)(const tiny_model *, duet_backend *, bool);
        } modules[] = {{"text", tiny_check_text},       {"dit block", tiny_check_dit_block},
                       {"dit full", tiny_check_dit_full}, {"sampler", tiny_check_sampler},
                       {"video vae", tiny_check_video_vae}, {"audio", tiny_check_audio}};
        for (size_t i = 0; i < sizeof modules / sizeof modules[0]; i++)
            for (int b = 0; b < nb; b++) {
                const double t0 = seconds_now(CLOCK_MONOTONIC);
                const double c0 = seconds_now(CLOCK_PROCESS_CPUTIME_ID);
                modules[i].check(&m, bes[b], b == 0);
                fprintf(stderr, "-- %s on %s: %.2f s (cpu %.2f s)\n", modules[i].name,
                        tiny_backend_label(bes[b]), seconds_now(CLOCK_MONOTONIC) - t0,
                        seconds_now(CLOCK_PROCESS_CPUTIME_ID) - c0);
            }
    } else {
        duet_test_failures++;
    }
    duet_safetensors_close(&m.st);
    return duet_test_end(bes, nb);
}
