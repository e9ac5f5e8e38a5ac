/* duet render — the main job: a shot script (cli/job.h, docs/job-script.md) rendered to an
 * MP4 with duet-tiny. Mirrors tools/duet_tiny/sample.py: tokenizer -> text encoder -> DiT
 * sampling with CFG (diffusion/generate.h) -> video VAE decode -> audio VAE decode ->
 * vocoder -> shot assembly (mux/assemble.h) -> loudness -> MP4 (mux/mp4_writer.h).
 *
 * State: every stage runs for shots joined by cuts: job check, reference decoding, model
 * load, text encoding, DiT sampling with CFG, video VAE, audio VAE + vocoder, loudness
 * (-16 LUFS integrated, true peak <= -1 dBFS: audio/loudness.h defaults), MP4. Not wired yet,
 * refused with DUET_ERR_UNSUPPORTED ("not built yet") before any work: crossfades
 * (mux/assemble.h), and image / audio / continue conditioning of a shot.
 * No output is ever faked. The output is only ever written to OUT.tmp and renamed, and a
 * SIGINT/SIGTERM removes the temporary file and exits non-zero. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "cli/job.h"
#include "core/alloc.h"
#include "core/backend.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "diffusion/dit.h"
#include "diffusion/dit_config.h"
#include "diffusion/generate.h"
#include "core/arena.h"
#include "encoders/text_encoder.h"
#include "encoders/text_prompt.h"
#include "encoders/tokenizer.h"
#include "mux/mp4_writer.h"
#include "video/png_io.h"
#include "video/vae.h"
#include "audio/audio_vae.h"
#include "audio/loudness.h"
#include "audio/vocoder.h"
#include "audio/wav_io.h"

#define MAX_PROMPT_IDS 512 /* duet-tiny's text length (sample.py truncates there too) */

typedef struct {
    const char *job, *output, *frames_dir, *wav;
    duet_backend_params backend;
    long long seed;  /* -1: the script's */
    int steps;       /* 0: the script's */
    bool quiet, json;
} render_args;

/* The loaded model: config, weights, tokenizer (duet_model-like; loaded once per job). */
typedef struct {
    char dir[4096];
    duet_dit_config cfg;
    duet_safetensors *st;
    duet_tokenizer *tok;
    duet_dit *dit;
    duet_text_encoder_config tcfg;
    duet_text_encoder *text;
    duet_text_encoder_session *text_s;
    duet_backend *be;
    duet_vae *vae;
    duet_audio_config acfg;
    duet_audio_vae_decoder *adec;
    duet_vocoder *voc;
} render_model;

/* Per-shot record for the summary: seed, steps and seconds per stage (-1: not reached). */
enum { ST_TOKENIZE, ST_TEXT, ST_SAMPLE, ST_VAE, ST_AUDIO, ST_COUNT };
static const char *const stage_names[ST_COUNT] = {"tokenize", "text_encoder", "sample",
                                                  "video_vae", "audio_decode"};
typedef struct {
    uint64_t seed;
    int steps;
    double t[ST_COUNT];
} shot_record;

/* The whole clip as shots are appended (cuts only): RGB8 frames back to back, 16 kHz PCM. */
typedef struct {
    uint8_t *rgb;
    int64_t n_frames;
    float *pcm;
    int64_t n_samples;
} clip;

static bool clip_append(clip *c, const uint8_t *rgb, int64_t nf, size_t frame_bytes,
                        const float *pcm, int64_t ns) {
    uint8_t *r = duet_realloc(c->rgb, frame_bytes * (size_t)(c->n_frames + nf));
    if (!r) return false;
    c->rgb = r;
    float *p = duet_realloc(c->pcm, sizeof *p * (size_t)(c->n_samples + ns + 1));
    if (!p) return false;
    c->pcm = p;
    memcpy(c->rgb + frame_bytes * (size_t)c->n_frames, rgb, frame_bytes * (size_t)nf);
    memcpy(c->pcm + c->n_samples, pcm, sizeof *pcm * (size_t)ns);
    c->n_frames += nf;
    c->n_samples += ns;
    return true;
}

/* Path of the temporary output, removed by the signal handler. */
static char g_tmp_path[4200];
static volatile sig_atomic_t g_tmp_live;

static void on_signal(int sig) {
    if (g_tmp_live) unlink(g_tmp_path);
    _exit(128 + sig);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: duet render JOB.json [-o OUT.mp4] [--backend cpu|vulkan|auto] [--device N]\n"
            "                  [--seed S] [--steps N] [--frames DIR] [--wav OUT.wav] [--quiet]\n"
            "                  [--progress=json]\n"
            "\n"
            "Renders a shot script (docs/job-script.md) to an MP4. The model named in the\n"
            "script is looked up as $DUET_MODELS/<name>, else models/<name>; a path is used\n"
            "as given. It must hold model.safetensors, config.json and tokenizer.model.\n");
}

static bool parse_num(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, render_args *a) {
    memset(a, 0, sizeof *a);
    a->seed = -1;
    a->backend = duet_backend_default_params();
    a->backend.kind = DUET_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        long long n = 0;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 0;
        }
        if (!strcmp(o, "--quiet")) { a->quiet = true; continue; }
        if (!strcmp(o, "--progress=json")) { a->json = true; continue; }
        if (o[0] != '-') {
            if (a->job) { fprintf(stderr, "duet render: more than one job script\n"); return 2; }
            a->job = o;
            continue;
        }
        if (i + 1 >= argc) { fprintf(stderr, "duet render: %s needs a value\n", o); return 2; }
        const char *v = argv[++i];
        bool ok = true;
        if (!strcmp(o, "-o")) a->output = v;
        else if (!strcmp(o, "--frames")) a->frames_dir = v;
        else if (!strcmp(o, "--wav")) a->wav = v;
        else if (!strcmp(o, "--backend")) ok = duet_backend_kind_parse(v, &a->backend.kind) == DUET_OK;
        else if (!strcmp(o, "--device")) { ok = parse_num(v, 0, 1024, &n); a->backend.device_index = (int)n; }
        else if (!strcmp(o, "--seed")) ok = parse_num(v, 0, INT64_MAX, &a->seed);
        else if (!strcmp(o, "--steps")) { ok = parse_num(v, 1, 1000, &n); a->steps = (int)n; }
        else { fprintf(stderr, "duet render: unknown option '%s'\n", o); usage(stderr); return 2; }
        if (!ok) { fprintf(stderr, "duet render: bad value for %s: '%s'\n", o, v); return 2; }
    }
    if (!a->job) { fprintf(stderr, "duet render: no job script given\n"); usage(stderr); return 2; }
    return -1;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void progress(const render_args *a, int shot, const char *stage, const char *state) {
    if (a->json) {
        printf("{\"shot\":%d,\"stage\":\"%s\",\"state\":\"%s\"}\n", shot, stage, state);
        fflush(stdout);
    } else if (!a->quiet && isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r[shot %d] %-14s %s\033[K", shot, stage, state);
        if (strcmp(state, "start")) fputc('\n', stderr);
    }
}

static bool file_exists(const char *dir, const char *name, char *path, size_t n) {
    snprintf(path, n, "%s/%s", dir, name);
    struct stat sb;
    if (stat(path, &sb) || !S_ISREG(sb.st_mode)) {
        fprintf(stderr, "duet render: model file missing: %s\n", path);
        return false;
    }
    return true;
}

static bool resolve_model(const duet_job *job, render_model *m) {
    const char *env = getenv("DUET_MODELS");
    if (job->model_is_path) snprintf(m->dir, sizeof m->dir, "%s", job->model);
    else snprintf(m->dir, sizeof m->dir, "%s/%s", env && *env ? env : "models", job->model);
    struct stat sb;
    if (stat(m->dir, &sb) || !S_ISDIR(sb.st_mode)) {
        fprintf(stderr,
                "duet render: model '%s' not found (looked for the folder %s; set DUET_MODELS "
                "or export one with tools/duet_tiny/export.py)\n", job->model, m->dir);
        return false;
    }
    return true;
}

/* The "mel", "audio_vae" and "vocoder" parts of config.json. */
static bool load_audio_config(const char *path, duet_audio_config *out) {
    FILE *f = fopen(path, "rb");
    if (!f) return false;
    char *buf = duet_malloc(1 << 20);
    size_t n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    bool ok = buf && duet_audio_config_parse(buf, n, path, out) == DUET_OK;
    duet_free(buf);
    return ok;
}

static bool load_model(const render_args *a, const duet_job *job, duet_backend *be,
                       render_model *m) {
    char p[4200];
    if (!resolve_model(job, m)) return false;
    bool ok = file_exists(m->dir, "config.json", p, sizeof p) &&
              duet_dit_config_load(p, &m->cfg) == DUET_OK &&
              file_exists(m->dir, "tokenizer.model", p, sizeof p) &&
              duet_tokenizer_load(p, &m->tok) == DUET_OK &&
              file_exists(m->dir, "model.safetensors", p, sizeof p) &&
              duet_safetensors_open(p, &m->st) == DUET_OK;
    if (!ok) return false;
    progress(a, 0, "load", "start");
    duet_dit_load_params lp = duet_dit_default_load_params();
    snprintf(p, sizeof p, "%s/config.json", m->dir);
    m->be = be;
    ok = duet_dit_load(&m->cfg, m->st, be, &lp, &m->dit) == DUET_OK &&
         duet_text_encoder_config_load(p, &m->tcfg) == DUET_OK &&
         duet_text_encoder_load(&m->tcfg, m->st, "text_encoder.", be, NULL, &m->text) ==
             DUET_OK &&
         duet_text_encoder_session_new(m->text, m->tcfg.text_len, &m->text_s) == DUET_OK &&
         duet_vae_load(m->st, "video_vae.", be, NULL, &m->vae) == DUET_OK &&
         load_audio_config(p, &m->acfg) &&
         duet_audio_vae_decoder_load(&m->acfg.vae, m->st, be, NULL, &m->adec) == DUET_OK &&
         duet_vocoder_load(&m->acfg.vocoder, m->st, be, NULL, &m->voc) == DUET_OK;
    progress(a, 0, "load", ok ? "done" : "failed");
    return ok;
}

static void free_model(render_model *m) {
    duet_text_encoder_session_free(&m->text_s);
    duet_text_encoder_free(&m->text);
    duet_vae_free(&m->vae);
    duet_audio_vae_decoder_free(&m->adec);
    duet_vocoder_free(&m->voc);
    duet_dit_free(&m->dit);
    duet_tokenizer_free(&m->tok);
    duet_safetensors_close(&m->st);
}

static bool tokenize(const render_model *m, const char *text, int32_t *ids, size_t *n) {
    bool trunc = false;
    if (duet_tokenizer_encode(m->tok, text, NULL, ids, MAX_PROMPT_IDS, n, &trunc) != DUET_OK)
        return false;
    if (trunc) duet_log(DUET_LOG_WARN, "prompt truncated to %d tokens", MAX_PROMPT_IDS);
    return true;
}

/* Every reference file decodes (a corrupt PNG or WAV is reported before the model loads). */
static bool check_references(const duet_job *job) {
    bool ok = true;
    for (int i = 0; i < job->n_shots; i++) {
        const duet_job_shot *s = &job->shots[i];
        if (s->image_path) {
            uint8_t *rgb = NULL;
            int w, h;
            if (duet_png_read(s->image_path, NULL, &rgb, &w, &h) != DUET_OK) {
                fprintf(stderr, "duet render: shot %d: cannot use image %s\n", i, s->image_path);
                ok = false;
            }
            duet_free(rgb);
        }
        if (s->audio_path) {
            float *pcm = NULL;
            int64_t n;
            if (duet_wav_read(s->audio_path, NULL, &pcm, &n, NULL) != DUET_OK) {
                fprintf(stderr, "duet render: shot %d: cannot use audio %s\n", i, s->audio_path);
                ok = false;
            }
            duet_free(pcm);
        }
    }
    return ok;
}

/* The prompt and both negative prompts -> context rows (Ovi's padded [dim, text_len]). A
 * missing negative is "" (Ovi's default: the lone EOS). */
static duet_status encode_texts(const render_model *m, duet_arena *ar, const duet_job_shot *s,
                                duet_tensor *ctx[3]) {
    const char *texts[3] = {s->prompt, s->negative_video ? s->negative_video : "",
                            s->negative_audio ? s->negative_audio : ""};
    duet_status st = DUET_OK;
    for (int k = 0; k < 3 && st == DUET_OK; k++) {
        ctx[k] = duet_tensor_new4(ar, m->be, DUET_F32, m->tcfg.dim, m->tcfg.text_len, 1, 1);
        st = ctx[k] ? duet_text_encode_prompt(m->text_s, m->tok, texts[k], ctx[k], NULL)
                    : DUET_ERR_OUT_OF_MEMORY;
    }
    if (st == DUET_OK) st = duet_backend_sync(m->be);
    return st;
}

typedef struct {
    const render_args *a;
    int shot;
    double t0;
} step_ctx;

static bool on_step(int step, int n_steps, void *user) {
    const step_ctx *c = user;
    double el = now_s() - c->t0, eta = el / step * (n_steps - step);
    if (c->a->json) {
        printf("{\"shot\":%d,\"stage\":\"sample\",\"step\":%d,\"steps\":%d,"
               "\"eta_s\":%.1f}\n", c->shot, step, n_steps, eta);
        fflush(stdout);
    } else if (!c->a->quiet && isatty(STDERR_FILENO)) {
        fprintf(stderr, "\r[shot %d] sample %3d/%d  ETA %5.1f s\033[K%s", c->shot, step,
                n_steps, eta, step == n_steps ? "\n" : "");
    }
    return true;
}

/* Latent geometry of a shot (sample.py's, from config.py: 16x16 px per latent pixel, 4 frames
 * per latent frame after the first, 512 audio samples at 16 kHz per audio token; 49 frames at
 * 16 fps -> 13 latent frames and 96 audio tokens). */
static duet_dit_shape shot_shape(const duet_job *job, const duet_job_shot *s) {
    duet_dit_shape sh;
    sh.video_frames = 1 + (s->n_frames - 1 + 3) / 4;
    sh.video_h = job->height / 16;
    sh.video_w = job->width / 16;
    sh.audio_len = ((int64_t)s->n_frames * 16000 / job->fps + 511) / 512;
    return sh;
}

/* DiT sampling with CFG (diffusion/generate.h) from noise seeded by the shot's seed. */
static duet_status sample_shot(const render_args *a, const render_model *m, const duet_job *job,
                               int i, duet_arena *ar, duet_tensor *ctx[3], duet_tensor **v_out,
                               duet_tensor **a_out) {
    const duet_job_shot *s = &job->shots[i];
    duet_dit_shape sh = shot_shape(job, s);
    duet_dit_session *ses = NULL;
    duet_status st = duet_dit_session_new(m->dit, &sh, &ses);
    if (st != DUET_OK) return st;
    const duet_dit_config *c = duet_dit_get_config(m->dit);
    duet_tensor *v = duet_tensor_new4(ar, m->be, DUET_F32, sh.video_w, sh.video_h,
                                      sh.video_frames, c->video.in_dim);
    duet_tensor *au = duet_tensor_new4(ar, m->be, DUET_F32, c->audio.in_dim, sh.audio_len, 1, 1);
    step_ctx sc = {a, i, now_s()};
    duet_generate_params p = duet_generate_default_params();
    p.n_steps = job->steps;
    p.video_guidance = job->guidance_video;
    p.audio_guidance = job->guidance_audio;
    p.seed = s->seed;
    p.progress = on_step;
    p.progress_user_data = &sc;
    duet_generate_inputs in = {.context = ctx[0], .context_video_neg = ctx[1],
                               .context_audio_neg = ctx[2]};
    st = v && au ? duet_generate(m->dit, ses, &p, &in, v, au) : DUET_ERR_OUT_OF_MEMORY;
    duet_dit_session_free(&ses);
    *v_out = v;
    *a_out = au;
    return st;
}

/* Latents [w, h, F, z] -> RGB8 frames (the video VAE), written to --frames DIR as PNGs. The
 * decoded frame count is 1 + 4 (F - 1); the shot keeps its first n_frames. */
static duet_status decode_video(const render_args *a, const render_model *m, const duet_job *job,
                                int i, const duet_tensor *v, uint8_t **rgb_out, int *n_out) {
    duet_vae_session *vs = NULL;
    duet_status st = duet_vae_session_new(m->vae, v->ne[1], v->ne[0], &vs);
    if (st != DUET_OK) return st;
    int64_t n_dec = duet_vae_frames_out(m->vae, v->ne[2]);
    size_t frame = (size_t)job->width * (size_t)job->height * 3;
    uint8_t *rgb = duet_malloc(frame * (size_t)n_dec);
    st = rgb ? duet_vae_decode(vs, v, rgb, frame * (size_t)n_dec) : DUET_ERR_OUT_OF_MEMORY;
    duet_vae_session_free(&vs);
    char path[4400];
    int n_keep = job->shots[i].n_frames < n_dec ? job->shots[i].n_frames : (int)n_dec;
    for (int f = 0; st == DUET_OK && a->frames_dir && f < n_keep; f++) {
        snprintf(path, sizeof path, "%s/shot%02d_%04d.png", a->frames_dir, i, f);
        st = duet_png_write(path, rgb + frame * (size_t)f, job->width, job->height);
    }
    if (st != DUET_OK) {
        duet_free(rgb);
        return st;
    }
    *rgb_out = rgb;
    *n_out = n_keep;
    return DUET_OK;
}

/* Audio latents [C, L] -> mel (audio VAE decoder) -> waveform (vocoder), 16 kHz, cut to the
 * shot's length; written to --wav (one shot) when asked. *pcm_out: duet_malloc'd. */
static duet_status decode_audio(const render_model *m, const duet_job *job, int i,
                                const duet_tensor *au, float **pcm_out, int64_t *n_out) {
    int64_t L = au->ne[1], T = duet_audio_vae_mel_len(&m->acfg.vae, L);
    int64_t n = duet_vocoder_n_samples(&m->acfg.vocoder, T);
    int64_t keep = (int64_t)job->shots[i].n_frames * 16000 / job->fps;
    duet_arena *ar = duet_arena_new(0);
    duet_audio_vae_session *as = NULL;
    duet_vocoder_session *vs = NULL;
    duet_tensor *mel = ar ? duet_tensor_new4(ar, m->be, DUET_F32, T, m->acfg.vae.data_dim, 1, 1)
                          : NULL;
    duet_tensor *pcm = ar ? duet_tensor_new4(ar, m->be, DUET_F32, n, 1, 1, 1) : NULL;
    float *host = duet_malloc(sizeof *host * (size_t)(n > 0 ? n : 1));
    duet_status st = mel && pcm && host && T > 0 && n > 0 ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    if (st == DUET_OK) st = duet_audio_vae_decoder_session_new(m->adec, L, &as);
    if (st == DUET_OK) st = duet_vocoder_session_new(m->voc, T, &vs);
    if (st == DUET_OK) st = duet_audio_vae_decode(as, au, mel);
    if (st == DUET_OK) st = duet_vocoder_eval(vs, mel, pcm);
    if (st == DUET_OK) st = duet_tensor_download(pcm, host, DUET_F32);
    duet_vocoder_session_free(&vs);
    duet_audio_vae_session_free(&as);
    duet_arena_free(&ar);
    if (st != DUET_OK) {
        duet_free(host);
        return st;
    }
    *pcm_out = host;
    *n_out = keep < n ? keep : n;
    return DUET_OK;
}

/* One shot. Stages that have not landed fail with DUET_ERR_UNSUPPORTED. */
static duet_status render_shot(const render_args *a, const render_model *m, const duet_job *job,
                               int i, shot_record *rec, clip *cl) {
    const duet_job_shot *s = &job->shots[i];
    double t0 = now_s();
    int32_t *ids = duet_malloc(sizeof *ids * MAX_PROMPT_IDS);
    if (!ids) return DUET_ERR_OUT_OF_MEMORY;
    size_t n = 0;
    progress(a, i, "tokenize", "start");
    bool ok = tokenize(m, s->prompt, ids, &n);
    if (ok && s->negative_video) ok = tokenize(m, s->negative_video, ids, &n);
    if (ok && s->negative_audio) ok = tokenize(m, s->negative_audio, ids, &n);
    duet_free(ids);
    progress(a, i, "tokenize", ok ? "done" : "failed");
    rec->t[ST_TOKENIZE] = now_s() - t0;
    if (!ok) return DUET_ERR_FORMAT;
    duet_arena *ar = duet_arena_new(0);
    if (!ar) return DUET_ERR_OUT_OF_MEMORY;
    duet_tensor *ctx[3] = {NULL, NULL, NULL};
    progress(a, i, "text_encoder", "start");
    t0 = now_s();
    duet_status st = encode_texts(m, ar, s, ctx);
    rec->t[ST_TEXT] = now_s() - t0;
    progress(a, i, "text_encoder", st == DUET_OK ? "done" : "failed");
    if (st == DUET_OK) {
        progress(a, i, "sample", "start");
        t0 = now_s();
        duet_tensor *v = NULL, *au = NULL;
        uint8_t *rgb = NULL;
        int nf = 0;
        st = sample_shot(a, m, job, i, ar, ctx, &v, &au);
        rec->t[ST_SAMPLE] = now_s() - t0;
        progress(a, i, "sample", st == DUET_OK ? "done" : "failed");
        if (st == DUET_OK) {
            progress(a, i, "video_vae", "start");
            t0 = now_s();
            st = decode_video(a, m, job, i, v, &rgb, &nf);
            rec->t[ST_VAE] = now_s() - t0;
            progress(a, i, "video_vae", st == DUET_OK ? "done" : "failed");
        }
        if (st == DUET_OK) {
            progress(a, i, "audio_decode", "start");
            t0 = now_s();
            float *pcm = NULL;
            int64_t n_pcm = 0;
            st = decode_audio(m, job, i, au, &pcm, &n_pcm);
            size_t fb = (size_t)job->width * (size_t)job->height * 3;
            if (st == DUET_OK && !clip_append(cl, rgb, nf, fb, pcm, n_pcm))
                st = DUET_ERR_OUT_OF_MEMORY;
            duet_free(pcm);
            rec->t[ST_AUDIO] = now_s() - t0;
            progress(a, i, "audio_decode", st == DUET_OK ? "done" : "failed");
        }
        duet_free(rgb);
    }
    duet_arena_free(&ar);
    return st;
}

/* --seed S: the job seed, shot seeds that were not given follow it (job seed + index);
 * --steps N: every shot. */
static void apply_overrides(const render_args *a, duet_job *job, shot_record *rec) {
    if (a->seed >= 0) job->seed = (uint64_t)a->seed;
    if (a->steps > 0) job->steps = a->steps;
    for (int i = 0; i < job->n_shots; i++) {
        duet_job_shot *s = &job->shots[i];
        if (a->seed >= 0 && !s->seed_given) s->seed = job->seed + (uint64_t)i;
        rec[i].seed = s->seed;
        rec[i].steps = job->steps;
        for (int k = 0; k < ST_COUNT; k++) rec[i].t[k] = -1;
    }
}

static void summary(const render_args *a, const shot_record *rec, int n, double t_load) {
    if (a->quiet && !a->json) return;
    FILE *f = a->json ? stdout : stderr;
    fprintf(f, a->json ? "{\"summary\":{\"load_s\":%.3f,\"shots\":[" : "summary: model load %.2f s\n",
            t_load);
    for (int i = 0; i < n; i++) {
        if (a->json) fprintf(f, "%s{\"seed\":%" PRIu64 ",\"steps\":%d", i ? "," : "", rec[i].seed,
                             rec[i].steps);
        else fprintf(f, "  shot %d: seed %" PRIu64 ", %d steps", i, rec[i].seed, rec[i].steps);
        for (int k = 0; k < ST_COUNT; k++) {
            if (rec[i].t[k] < 0) continue;
            fprintf(f, a->json ? ",\"%s_s\":%.3f" : ", %s %.2f s", stage_names[k], rec[i].t[k]);
        }
        fputs(a->json ? "}" : "\n", f);
    }
    if (a->json) fputs("]}}\n", f);
    fflush(f);
}

/* Loudness to -16 LUFS integrated (true peak <= -1 dBFS; audio/loudness.h defaults), then the
 * MP4 (H.264 + AAC) to OUT.tmp, renamed to OUT; --wav gets the same normalized mix. */
static duet_status write_outputs(const render_args *a, const duet_job *job, clip *c,
                                 const char *out) {
    duet_status st = duet_loudness_normalize(c->pcm, c->n_samples, 16000, NULL, NULL);
    if (st == DUET_OK && a->wav) st = duet_wav_write(a->wav, c->pcm, c->n_samples, 16000,
                                                     DUET_WAV_PCM16);
    if (st != DUET_OK) return st;
    duet_mp4_params p = duet_mp4_default_params();
    p.width = job->width;
    p.height = job->height;
    p.fps_num = job->fps;
    p.fps_den = 1;
    p.sample_rate_hz = 16000;
    g_tmp_live = 1;
    st = duet_mp4_write(g_tmp_path, &p, c->rgb, c->n_frames, c->pcm, c->n_samples);
    if (st == DUET_OK && rename(g_tmp_path, out)) {
        fprintf(stderr, "duet render: cannot rename %s to %s: %s\n", g_tmp_path, out,
                strerror(errno));
        st = DUET_ERR_IO;
    }
    if (st != DUET_OK) unlink(g_tmp_path);
    g_tmp_live = 0;
    return st;
}

/* Crossfades (mux/assemble.h) and image / audio / continue conditioning are not wired yet:
 * refuse before any work. */
static bool check_supported(const duet_job *job) {
    for (int i = 0; i < job->n_shots; i++) {
        const duet_job_shot *s = &job->shots[i];
        if (s->image_path || s->audio_path || s->continues) {
            fprintf(stderr, "duet render: shot %d: reference image / audio / continue "
                            "conditioning: not built yet in duet render\n", i);
            return false;
        }
        if (job->shots[i].transition == DUET_TRANSITION_CROSSFADE) {
            fprintf(stderr, "duet render: shot %d: crossfade: not built yet in duet render "
                            "(cuts only)\n", i);
            return false;
        }
    }
    return true;
}

int duet_cmd_render(int argc, char **argv) {
    render_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    duet_job *job = NULL;
    if (duet_job_load(a.job, NULL, &job) != DUET_OK) {
        fprintf(stderr, "duet render: cannot use job script %s (see the messages above)\n", a.job);
        return 1;
    }
    shot_record *rec = duet_malloc(sizeof *rec * (size_t)job->n_shots);
    if (!rec) {
        duet_job_free(&job);
        return 1;
    }
    apply_overrides(&a, job, rec);
    const char *out = a.output ? a.output : job->output_path;
    snprintf(g_tmp_path, sizeof g_tmp_path, "%s.tmp", out);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    render_model m = {0};
    duet_backend *be = NULL;
    double t0 = now_s();
    clip cl = {0};
    bool refs = check_references(job), supported = refs && check_supported(job);
    bool ok = supported && duet_backend_new(&a.backend, &be) == DUET_OK &&
              load_model(&a, job, be, &m);
    double t_load = now_s() - t0;
    duet_status st = ok ? DUET_OK : !refs || supported ? DUET_ERR_IO : DUET_ERR_UNSUPPORTED;
    for (int i = 0; ok && i < job->n_shots; i++) {
        st = render_shot(&a, &m, job, i, &rec[i], &cl);
        ok = st == DUET_OK;
    }
    if (ok) {
        st = write_outputs(&a, job, &cl, out);
        ok = st == DUET_OK;
        if (ok && !a.quiet) fprintf(stderr, "duet render: wrote %s (%" PRId64 " frames, %.3f s)\n",
                                    out, cl.n_frames, (double)cl.n_samples / 16000);
    }
    duet_free(cl.rgb);
    duet_free(cl.pcm);
    if (m.dit) summary(&a, rec, job->n_shots, t_load);
    duet_free(rec);
    if (g_tmp_live) unlink(g_tmp_path);
    g_tmp_live = 0;
    if (!ok) fprintf(stderr, "duet render: failed (%s) after %.1f s\n", duet_status_str(st),
                     now_s() - t0);
    free_model(&m);
    duet_backend_free(&be);
    duet_job_free(&job);
    return ok ? 0 : 1;
}
