/* duet batch — many job scripts in one run: `duet batch JOBS...|DIR [--resume] [--shard i/N]
 * [render options]`. Each job is rendered in turn with `duet render` (cli/cmd_render.c); one
 * failure does not stop the rest. --resume skips a job whose output file already exists (the
 * render writes OUT.tmp and renames, so an existing output is a finished one). --shard i/N
 * takes every N-th job of the sorted list starting at index i (0-based), so N machines given
 * the same list split it without overlap. Exit 0 if every job taken succeeded or was
 * skipped, else 1. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "cli/job.h"
#include "cli/model_defaults.h"
#include "core/alloc.h"

#define MAX_JOBS 100000
#define MAX_FWD 32

typedef struct {
    char **jobs;
    int n, cap;
    char *fwd[MAX_FWD]; /* options passed on to render */
    int n_fwd;
    bool resume;
    int shard_i, shard_n;
} batch_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: duet batch JOBS.json...|DIR [--resume] [--shard i/N] [render options]\n"
            "\n"
            "Renders each job script (a folder: every *.json in it, sorted by name) with\n"
            "'duet render'. A failed job does not stop the others.\n"
            "  --resume     skip jobs whose output file already exists\n"
            "  --shard i/N  only jobs i, i+N, i+2N, ... of the sorted list (0 <= i < N)\n"
            "Render options (--backend, --device, --seed, --steps, --quiet, --progress=json)\n"
            "apply to every job; -o, --frames and --wav are per job and refused here.\n");
}

static bool add_job(batch_args *a, const char *path) {
    if (a->n >= MAX_JOBS) return false;
    if (a->n == a->cap) {
        int cap = a->cap ? a->cap * 2 : 16;
        char **p = duet_realloc(a->jobs, sizeof *p * (size_t)cap);
        if (!p) return false;
        a->jobs = p;
        a->cap = cap;
    }
    size_t len = strlen(path) + 1;
    char *s = duet_malloc(len);
    if (!s) return false;
    memcpy(s, path, len);
    a->jobs[a->n++] = s;
    return true;
}

static int cmp_str(const void *x, const void *y) {
    return strcmp(*(char *const *)x, *(char *const *)y);
}

static bool ends_with_json(const char *s) {
    size_t n = strlen(s);
    return n > 5 && !strcmp(s + n - 5, ".json");
}

static bool add_dir(batch_args *a, const char *dir) {
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "duet batch: cannot open folder %s: %s\n", dir, strerror(errno));
        return false;
    }
    bool ok = true;
    char path[4352];
    for (struct dirent *e; ok && (e = readdir(d));) {
        if (e->d_name[0] == '.' || !ends_with_json(e->d_name)) continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        ok = add_job(a, path);
    }
    closedir(d);
    return ok;
}

static bool parse_shard(const char *v, int *i, int *n) {
    char tail;
    return sscanf(v, "%d/%d%c", i, n, &tail) == 2 && *n >= 1 && *i >= 0 && *i < *n;
}

static bool add_input(batch_args *a, const char *o) {
    struct stat sb;
    if (!stat(o, &sb) && S_ISDIR(sb.st_mode)) return add_dir(a, o);
    return add_job(a, o); /* a missing file fails in its render, like any other bad job */
}

static bool forward(batch_args *a, const char *o) {
    if (a->n_fwd >= MAX_FWD) return false;
    a->fwd[a->n_fwd++] = (char *)o;
    return true;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, batch_args *a) {
    static const char *const with_value[] = {"--backend", "--device", "--seed", "--steps",
                                             "--scale"};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        bool ok = true, known = false;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) { usage(stdout); return 0; }
        if (!strcmp(o, "--resume")) { a->resume = true; continue; }
        if (!strcmp(o, "--shard")) {
            if (i + 1 >= argc || !parse_shard(argv[++i], &a->shard_i, &a->shard_n)) {
                fprintf(stderr, "duet batch: --shard needs i/N with 0 <= i < N\n");
                return 2;
            }
            continue;
        }
        if (o[0] != '-') { if (!add_input(a, o)) return 1; continue; }
        if (!strcmp(o, "--quiet") || !strcmp(o, "--progress=json")) { ok = forward(a, o); known = true; }
        for (size_t k = 0; !known && k < sizeof with_value / sizeof *with_value; k++) {
            if (strcmp(o, with_value[k])) continue;
            known = true;
            if (i + 1 >= argc) { fprintf(stderr, "duet batch: %s needs a value\n", o); return 2; }
            ok = forward(a, o) && forward(a, argv[++i]);
        }
        if (!known) {
            fprintf(stderr, "duet batch: option '%s' is not accepted here\n", o);
            usage(stderr);
            return 2;
        }
        if (!ok) { fprintf(stderr, "duet batch: too many options\n"); return 2; }
    }
    if (!a->n) { fprintf(stderr, "duet batch: no job scripts given\n"); usage(stderr); return 2; }
    return -1;
}

/* True when --resume applies: the job loads and its output exists. */
static bool already_done(const char *path) {
    duet_job *job = NULL;
    duet_job_defaults d = duet_render_job_defaults(); /* the model's limits, as render checks */
    if (duet_job_load(path, &d, &job) != DUET_OK) return false;
    struct stat sb;
    bool done = !stat(job->output_path, &sb) && S_ISREG(sb.st_mode) && sb.st_size > 0;
    duet_job_free(&job);
    return done;
}

static int run_jobs(batch_args *a) {
    int n_ok = 0, n_skip = 0, n_fail = 0;
    char *argv[2 + MAX_FWD + 1];
    argv[0] = "render";
    for (int k = 0; k < a->n_fwd; k++) argv[2 + k] = a->fwd[k];
    argv[2 + a->n_fwd] = NULL;
    for (int j = 0; j < a->n; j++) {
        if (j % a->shard_n != a->shard_i) continue;
        if (a->resume && already_done(a->jobs[j])) {
            fprintf(stderr, "duet batch: %s: output exists, skipped\n", a->jobs[j]);
            n_skip++;
            continue;
        }
        fprintf(stderr, "duet batch: %s\n", a->jobs[j]);
        argv[1] = a->jobs[j];
        int rc = duet_cmd_render(2 + a->n_fwd, argv);
        if (rc == 0) {
            n_ok++;
        } else {
            n_fail++;
            fprintf(stderr, "duet batch: %s: FAILED (exit %d)\n", a->jobs[j], rc);
        }
    }
    fprintf(stderr, "duet batch: %d rendered, %d skipped, %d failed\n", n_ok, n_skip, n_fail);
    return n_fail ? 1 : 0;
}

int duet_cmd_batch(int argc, char **argv) {
    batch_args a = {.shard_i = 0, .shard_n = 1};
    int rc = parse_args(argc, argv, &a);
    if (rc < 0) {
        qsort(a.jobs, (size_t)a.n, sizeof *a.jobs, cmp_str);
        rc = run_jobs(&a);
    }
    for (int j = 0; j < a.n; j++) duet_free(a.jobs[j]);
    duet_free(a.jobs);
    return rc;
}
