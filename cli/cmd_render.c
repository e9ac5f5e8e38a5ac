/* duet render — the main job: a shot script (cli/job.h, docs/job-script.md) rendered to an
 * MP4 with duet-tiny, as tools/duet_tiny/sample.py renders one clip, shot after shot:
 * references fitted (render_refs.c) -> model loaded (render_model.c) -> per shot: tokenizer ->
 * text encoder -> reference latents -> DiT sampling with CFG -> video VAE -> audio VAE ->
 * vocoder (render_shot.c) -> shots joined by cuts, continuations and crossfades (render_clip.c,
 * mux/assemble.h) -> loudness (-16 LUFS integrated, true peak <= -1 dBFS: audio/loudness.h
 * defaults) -> MP4 (H.264 + AAC, mux/mp4_writer.h). This file holds the command: arguments,
 * progress lines, the summary (seconds per stage and shot, model load, mux, peak memory) and
 * the outputs. No output is ever faked. The MP4 is only ever written to OUT.tmp and renamed,
 * and a SIGINT/SIGTERM removes the temporaries and exits non-zero. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "audio/loudness.h"
#include "audio/wav_io.h"
#include "cli.h"
#include "cli/render.h"
#include "core/alloc.h"

const char *const duet_render_stage_names[DUET_RENDER_ST_COUNT] = {
    "tokenize", "text_encoder", "reference_encode", "sample", "video_vae", "audio_vae",
    "vocoder"};

/* Paths of the temporary outputs, removed by the signal handler: OUT.tmp, and the MP4
 * writer's own temporary for it (mp4_writer.h: the target's name with .tmp.mp4 appended when
 * it does not end in .mp4). */
static char g_tmp_path[4200], g_tmp_path2[4220];
static volatile sig_atomic_t g_tmp_live;

static void on_signal(int sig) {
    if (g_tmp_live) {
        unlink(g_tmp_path);
        unlink(g_tmp_path2);
    }
    _exit(128 + sig);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: duet render JOB.json [-o OUT.mp4] [--backend cpu|vulkan|auto] [--device N]\n"
            "                  [--seed S] [--steps N] [--scale N] [--frames DIR] [--wav OUT.wav]\n"
            "                  [--quiet] [--progress=json]\n"
            "\n"
            "Renders a shot script (docs/job-script.md) to an MP4. The model named in the\n"
            "script is looked up as $DUET_MODELS/<name>, else models/<name>; a path is used\n"
            "as given. It must hold model.safetensors, config.json and tokenizer.model.\n"
            "\n"
            "  --seed S        job seed (shots without their own seed use S + shot index)\n"
            "  --steps N       sampling steps for every shot\n"
            "  --scale N       enlarge the MP4's frames N times (1..16, pixel blocks) for\n"
            "                  viewing small renders; --frames PNGs keep the rendered size\n"
            "  --frames DIR    also write every shot's frames as DIR/shotSS_FFFF.png\n"
            "  --wav OUT.wav   also write the clip's soundtrack (16 kHz, as in the MP4)\n"
            "  --progress=json one JSON object per line on stdout (stages, steps, summary)\n");
}

static bool parse_num(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* One option with a value; false for an unknown option (*known false) or a bad value. */
static bool parse_valued(const char *o, const char *v, duet_render_args *a, bool *known) {
    long long n = 0;
    bool ok = true;
    *known = true;
    if (!strcmp(o, "-o")) a->output = v;
    else if (!strcmp(o, "--frames")) a->frames_dir = v;
    else if (!strcmp(o, "--wav")) a->wav = v;
    else if (!strcmp(o, "--backend")) ok = duet_backend_kind_parse(v, &a->backend.kind) == DUET_OK;
    else if (!strcmp(o, "--device")) { ok = parse_num(v, 0, 1024, &n); a->backend.device_index = (int)n; }
    else if (!strcmp(o, "--seed")) ok = parse_num(v, 0, INT64_MAX, &a->seed);
    else if (!strcmp(o, "--steps")) { ok = parse_num(v, 1, 1000, &n); a->steps = (int)n; }
    else if (!strcmp(o, "--scale")) { ok = parse_num(v, 1, 16, &n); a->scale = (int)n; }
    else *known = ok = false;
    return ok;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, duet_render_args *a) {
    memset(a, 0, sizeof *a);
    a->seed = -1;
    a->scale = 1;
    a->backend = duet_backend_default_params();
    a->backend.kind = DUET_BACKEND_AUTO;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
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
        bool known;
        if (parse_valued(o, v, a, &known)) continue;
        if (!known) { fprintf(stderr, "duet render: unknown option '%s'\n", o); usage(stderr); }
        else fprintf(stderr, "duet render: bad value for %s: '%s'\n", o, v);
        return 2;
    }
    if (!a->job) { fprintf(stderr, "duet render: no job script given\n"); usage(stderr); return 2; }
    return -1;
}

double duet_render_now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

void duet_render_progress(const duet_render_args *a, int shot, const char *stage,
                          const char *state) {
    if (a->json) {
        if (shot >= 0) printf("{\"shot\":%d,\"stage\":\"%s\",\"state\":\"%s\"}\n", shot, stage, state);
        else printf("{\"stage\":\"%s\",\"state\":\"%s\"}\n", stage, state);
        fflush(stdout);
    } else if (!a->quiet && isatty(STDERR_FILENO)) {
        if (shot >= 0) fprintf(stderr, "\r[shot %d] %-16s %s\033[K", shot, stage, state);
        else fprintf(stderr, "\r[job] %-16s %s\033[K", stage, state);
        if (strcmp(state, "start")) fputc('\n', stderr);
    }
}

/* --seed S: the job seed, shot seeds that were not given follow it (job seed + index);
 * --steps N: every shot. */
static void apply_overrides(const duet_render_args *a, duet_job *job, duet_render_record *rec) {
    if (a->seed >= 0) job->seed = (uint64_t)a->seed;
    if (a->steps > 0) job->steps = a->steps;
    for (int i = 0; i < job->n_shots; i++) {
        duet_job_shot *s = &job->shots[i];
        if (a->seed >= 0 && !s->seed_given) s->seed = job->seed + (uint64_t)i;
        rec[i].seed = s->seed;
        rec[i].steps = job->steps;
        for (int k = 0; k < DUET_RENDER_ST_COUNT; k++) rec[i].t[k] = -1;
    }
}

/* Peak resident memory of the process so far, in MiB (ru_maxrss is in KiB on Linux). */
static double peak_rss_mib(void) {
    struct rusage ru;
    return getrusage(RUSAGE_SELF, &ru) ? -1 : (double)ru.ru_maxrss / 1024.0;
}

/* Seconds per stage and shot, model load and mux (-1: not reached, left out), peak memory. */
static void summary(const duet_render_args *a, const duet_render_record *rec, int n,
                    double t_load, double t_mux) {
    if (a->quiet && !a->json) return;
    FILE *f = a->json ? stdout : stderr;
    double rss = peak_rss_mib();
    if (a->json) {
        fprintf(f, "{\"summary\":{\"load_s\":%.3f,", t_load);
        if (t_mux >= 0) fprintf(f, "\"mux_s\":%.3f,", t_mux);
        fprintf(f, "\"peak_rss_mib\":%.1f,\"shots\":[", rss);
    } else {
        fprintf(f, "summary: model load %.2f s", t_load);
        if (t_mux >= 0) fprintf(f, ", mux %.2f s", t_mux);
        fprintf(f, ", peak memory %.1f MiB\n", rss);
    }
    for (int i = 0; i < n; i++) {
        if (a->json) fprintf(f, "%s{\"seed\":%" PRIu64 ",\"steps\":%d", i ? "," : "", rec[i].seed,
                             rec[i].steps);
        else fprintf(f, "  shot %d: seed %" PRIu64 ", %d steps", i, rec[i].seed, rec[i].steps);
        for (int k = 0; k < DUET_RENDER_ST_COUNT; k++) {
            if (rec[i].t[k] < 0) continue;
            fprintf(f, a->json ? ",\"%s_s\":%.3f" : ", %s %.2f s", duet_render_stage_names[k],
                    rec[i].t[k]);
        }
        fputs(a->json ? "}" : "\n", f);
    }
    if (a->json) fputs("]}}\n", f);
    fflush(f);
}

/* The mux stage: the soundtrack assembled and normalized (-16 LUFS, true peak <= -1 dBFS),
 * --wav written, the MP4 written to OUT.tmp and renamed to OUT. */
static duet_status write_outputs(const duet_render_args *a, const duet_job *job,
                                 const duet_render_shot_out *outs, const char *out) {
    float *pcm = NULL;
    int64_t n = 0, n_frames = 0;
    duet_render_progress(a, -1, "mux", "start");
    duet_status st = duet_render_clip_audio(job, outs, &pcm, &n);
    if (st == DUET_OK) st = duet_loudness_normalize(pcm, n, DUET_RENDER_RATE_HZ, NULL, NULL);
    if (st == DUET_OK && a->wav)
        st = duet_wav_write(a->wav, pcm, n, DUET_RENDER_RATE_HZ, DUET_WAV_PCM16);
    if (st == DUET_OK) {
        g_tmp_live = 1;
        st = duet_render_clip_write(g_tmp_path, job, a->scale, outs, pcm, n, &n_frames);
        if (st == DUET_OK && rename(g_tmp_path, out)) {
            fprintf(stderr, "duet render: cannot rename %s to %s: %s\n", g_tmp_path, out,
                    strerror(errno));
            st = DUET_ERR_IO;
        }
        if (st != DUET_OK) unlink(g_tmp_path);
        g_tmp_live = 0;
    }
    duet_free(pcm);
    duet_render_progress(a, -1, "mux", st == DUET_OK ? "done" : "failed");
    if (st == DUET_OK && !a->quiet)
        fprintf(stderr, "duet render: wrote %s (%" PRId64 " frames, %.3f s)\n", out, n_frames,
                (double)n / DUET_RENDER_RATE_HZ);
    return st;
}

/* Loads, renders every shot, writes; the model and backend are the caller's to free. */
static duet_status run(const duet_render_args *a, const duet_job *job, duet_render_model *m,
                       duet_backend **be, duet_render_record *rec, double t[2]) {
    duet_render_refs *refs = duet_calloc((size_t)job->n_shots, sizeof *refs);
    duet_render_shot_out *outs = duet_calloc((size_t)job->n_shots, sizeof *outs);
    const char *out = a->output ? a->output : job->output_path;
    duet_status st = refs && outs ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    double t0 = duet_render_now_s();
    if (st == DUET_OK && !duet_render_refs_load(a, job, refs)) st = DUET_ERR_IO;
    if (st == DUET_OK) st = duet_backend_new(&a->backend, be);
    if (st == DUET_OK) st = duet_render_model_load(a, job, *be, m);
    t[0] = duet_render_now_s() - t0;
    for (int i = 0; st == DUET_OK && i < job->n_shots; i++)
        st = duet_render_shot(a, m, job, i, refs, outs, &rec[i]);
    if (st == DUET_OK) {
        t0 = duet_render_now_s();
        st = write_outputs(a, job, outs, out);
        t[1] = duet_render_now_s() - t0;
    }
    for (int i = 0; outs && i < job->n_shots; i++) {
        duet_free(outs[i].rgb);
        duet_free(outs[i].pcm);
    }
    duet_render_refs_free(refs, job->n_shots);
    duet_free(refs);
    duet_free(outs);
    return st;
}

int duet_cmd_render(int argc, char **argv) {
    duet_render_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    duet_job *job = NULL;
    duet_job_defaults d = duet_render_job_defaults();
    if (duet_job_load(a.job, &d, &job) != DUET_OK) {
        fprintf(stderr, "duet render: cannot use job script %s (see the messages above)\n", a.job);
        return 1;
    }
    duet_render_record *rec = duet_malloc(sizeof *rec * (size_t)job->n_shots);
    if (!rec) {
        duet_job_free(&job);
        return 1;
    }
    apply_overrides(&a, job, rec);
    const char *out = a.output ? a.output : job->output_path;
    snprintf(g_tmp_path, sizeof g_tmp_path, "%s.tmp", out);
    snprintf(g_tmp_path2, sizeof g_tmp_path2, "%s.tmp.mp4", g_tmp_path);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    duet_render_model m = {0};
    duet_backend *be = NULL;
    double t0 = duet_render_now_s(), t[2] = {0, -1};
    duet_status st = run(&a, job, &m, &be, rec, t);
    if (m.dit) summary(&a, rec, job->n_shots, t[0], t[1]);
    duet_free(rec);
    if (st != DUET_OK) fprintf(stderr, "duet render: failed (%s) after %.1f s\n",
                               duet_status_str(st), duet_render_now_s() - t0);
    duet_render_model_free(&m);
    duet_backend_free(&be);
    duet_job_free(&job);
    return st == DUET_OK ? 0 : 1;
}
