/* duet — golden test of the `duet dit` command (cli/cmd_dit.c): the program given as argv[1]
 * runs on the golden files of tools/golden/ovi_dit.py (tests/golden/ovi_dit.{json,
 * safetensors}: one file holds both the weights and the inputs) and its outputs are compared
 * with the PyTorch reference: plain, --skip-layer 1 and --first-frame-clean on the CPU, plain
 * on Vulkan when it opens (required in CI). Tolerances as test_ovi_dit.c. Bad invocations
 * (no arguments, a bad option value, a missing file, inputs without in.t, a video latent with
 * the wrong channel count, weights missing a tensor) must exit with status 1 or 2 and a
 * message naming the problem, never crash; --help exits 0. */
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "golden_util.h"
#include "harness.h"

#define CPU_NMSE 1e-10
#define GPU_NMSE 1e-9

static const char *const golden_path = DUET_TEST_DATA_DIR "/golden/ovi_dit.safetensors";
static const char *const config_path = DUET_TEST_DATA_DIR "/golden/ovi_dit.json";

static const char *duet_path;
static char tmp_prefix[200];

/* Runs `duet dit <args>` with stdout and stderr to files; returns the exit status, or -1
 * when it did not exit normally (a crash). *log gets stderr (caller frees). */
static int run_dit(const char *args, char **log) {
    char cmd[2048], err_path[256];
    snprintf(err_path, sizeof err_path, "%s.stderr", tmp_prefix);
    snprintf(cmd, sizeof cmd, "'%s' dit %s > '%s.stdout' 2> '%s'", duet_path, args, tmp_prefix,
             err_path);
    int st = system(cmd);
    *log = NULL;
    FILE *f = fopen(err_path, "rb");
    if (f) {
        *log = calloc(1, 65536);
        if (*log) (void)!fread(*log, 1, 65535, f);
        fclose(f);
    }
    if (st == -1 || !WIFEXITED(st)) {
        fprintf(stderr, "FAIL: duet dit %s did not exit normally (status %d)\n", args, st);
        return -1;
    }
    return WEXITSTATUS(st);
}

/* The command exits with `want` and stderr (or stdout for --help) mentions `needle`. */
static void expect_exit(const char *args, int want, const char *needle) {
    char *log = NULL;
    int rc = run_dit(args, &log);
    fprintf(stderr, "duet dit %s -> exit %d\n", args, rc);
    T_CHECK(rc == want);
    if (needle && !(log && strstr(log, needle))) {
        fprintf(stderr, "FAIL: stderr of 'duet dit %s' does not mention \"%s\":\n%s\n", args,
                needle, log ? log : "(none)");
        duet_test_failures++;
    }
    free(log);
}

static void compare_tensor(const duet_safetensors *out, const duet_safetensors *g,
                           const char *name, const char *ref, const char *label, double tol) {
    const duet_safetensors_tensor *a = duet_safetensors_find(out, name);
    const duet_safetensors_tensor *b = duet_safetensors_find(g, ref);
    bool ok = a && b && a->dtype == DUET_F32 && b->dtype == DUET_F32 && a->nbytes == b->nbytes &&
              a->n_dims == b->n_dims && !memcmp(a->ne, b->ne, sizeof a->ne);
    if (!ok) {
        fprintf(stderr, "FAIL %s: %s missing or shaped unlike %s\n", label, name, ref);
        duet_test_failures++;
        return;
    }
    size_t n = a->nbytes / sizeof(float);
    float *x = malloc(a->nbytes), *y = malloc(b->nbytes);
    if (x && y) {
        memcpy(x, a->data, a->nbytes);
        memcpy(y, b->data, b->nbytes);
        char full[160];
        snprintf(full, sizeof full, "%s %s", label, ref);
        duet_golden_report(full, x, y, n, tol);
    }
    free(x);
    free(y);
}

/* `duet dit` with `flags` must reproduce out.<ref_case>.*. */
static void check_case(const duet_safetensors *g, const char *flags, const char *ref_case,
                       double tol) {
    char out_path[256], args[1536], ref[64];
    snprintf(out_path, sizeof out_path, "%s.out.safetensors", tmp_prefix);
    remove(out_path);
    snprintf(args, sizeof args, "--config '%s' --weights '%s' --inputs '%s' -o '%s' %s",
             config_path, golden_path, golden_path, out_path, flags);
    char *log = NULL;
    int rc = run_dit(args, &log);
    if (rc != 0) fprintf(stderr, "FAIL: duet dit %s -> exit %d:\n%s\n", args, rc, log);
    T_CHECK(rc == 0);
    free(log);
    duet_safetensors *out = NULL;
    if (rc != 0 || duet_safetensors_open(out_path, &out) != DUET_OK) {
        duet_test_failures += rc == 0;
        return;
    }
    snprintf(ref, sizeof ref, "out.%s.video", ref_case);
    compare_tensor(out, g, "out.video", ref, flags, tol);
    snprintf(ref, sizeof ref, "out.%s.audio", ref_case);
    compare_tensor(out, g, "out.audio", ref, flags, tol);
    duet_safetensors_close(&out);
    remove(out_path);
}

/* A copy of the golden file without `drop` (and with in.video's channel count cut to 3 when
 * `narrow_video`). */
static bool write_variant(const duet_safetensors *g, const char *path, const char *drop,
                          bool narrow_video) {
    size_t n = duet_safetensors_count(g), k = 0;
    duet_safetensors_entry *e = calloc(n, sizeof *e);
    for (size_t i = 0; e && i < n; i++) {
        const duet_safetensors_tensor *t = duet_safetensors_get(g, i);
        if (drop && !strcmp(t->name, drop)) continue;
        e[k] = (duet_safetensors_entry){t->name, t->dtype, t->n_dims, {0}, t->data};
        memcpy(e[k].ne, t->ne, sizeof t->ne);
        if (narrow_video && !strcmp(t->name, "in.video")) e[k].ne[3] = 3;
        k++;
    }
    bool ok = e && duet_safetensors_write(path, e, k, NULL, 0) == DUET_OK;
    free(e);
    T_CHECK(ok);
    return ok;
}

static void check_bad_invocations(const duet_safetensors *g) {
    char bad[256], args[1536];
    snprintf(bad, sizeof bad, "%s.bad.safetensors", tmp_prefix);
    expect_exit("--help", 0, NULL);
    snprintf(args, sizeof args, "%s.stdout", tmp_prefix);
    FILE *f = fopen(args, "rb");
    char help[4096] = "";
    if (f) {
        (void)!fread(help, 1, sizeof help - 1, f);
        fclose(f);
    }
    if (!strstr(help, "usage: duet dit") || !strstr(help, "--skip-layer")) {
        fprintf(stderr, "FAIL: duet dit --help printed:\n%s\n", help);
        duet_test_failures++;
    }
    expect_exit("", 2, "are required");
    expect_exit("--config a --weights b --inputs c -o d --skip-layer x", 2, "--skip-layer");
    expect_exit("--config a --weights b --inputs c -o d --frobnicate", 2, "--frobnicate");
    snprintf(args, sizeof args, "--config '%s' --weights /nonexistent.safetensors --inputs '%s' "
             "-o '%s.o'", config_path, golden_path, tmp_prefix);
    expect_exit(args, 1, "/nonexistent.safetensors");
    snprintf(args, sizeof args, "--config '%s' --weights '%s' --inputs '%s' -o '%s.o' "
             "--backend cpu", config_path, golden_path, bad, tmp_prefix);
    if (write_variant(g, bad, "in.t", false)) expect_exit(args, 1, "in.t");
    if (write_variant(g, bad, NULL, true)) expect_exit(args, 1, "in.video");
    snprintf(args, sizeof args, "--config '%s' --weights '%s' --inputs '%s' -o '%s.o' "
             "--backend cpu", config_path, bad, golden_path, tmp_prefix);
    if (write_variant(g, bad, "video_model.blocks.1.ffn.2.bias", false))
        expect_exit(args, 1, "video_model.blocks.1.ffn.2.bias");
    snprintf(args, sizeof args, "--config '%s' --weights '%s' --inputs '%s' -o '%s.o' "
             "--backend cpu --skip-layer 3", config_path, golden_path, golden_path, tmp_prefix);
    expect_exit(args, 1, "skip_layer 3");
    remove(bad);
}

int main(int argc, char **argv) {
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    duet_safetensors *g = NULL;
    if (argc < 2 || nb < 1 || duet_safetensors_open(golden_path, &g) != DUET_OK) {
        fprintf(stderr, "FAIL: usage: test_ovi_dit_cli PATH_TO_DUET (and %s must open)\n",
                golden_path);
        duet_test_failures++;
        return duet_test_end(bes, nb);
    }
    duet_path = argv[1];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(tmp_prefix, sizeof tmp_prefix, "%s/duet_test_dit_cli_%ld", tmp, (long)getpid());
    check_case(g, "--backend cpu", "plain", CPU_NMSE);
    check_case(g, "--backend cpu --skip-layer 1", "skip1", CPU_NMSE);
    check_case(g, "--backend cpu --first-frame-clean", "ffc", CPU_NMSE);
    check_case(g, "--backend cpu --weight-dtype f32", "plain", CPU_NMSE);
    /* Vulkan is tested through the command only when the harness opened it (it must in CI). */
    if (nb > 1) check_case(g, "--backend vulkan --first-frame-clean", "ffc", GPU_NMSE);
    check_bad_invocations(g);
    char path[256];
    snprintf(path, sizeof path, "%s.stdout", tmp_prefix);
    remove(path);
    snprintf(path, sizeof path, "%s.stderr", tmp_prefix);
    remove(path);
    duet_safetensors_close(&g);
    return duet_test_end(bes, nb);
}
