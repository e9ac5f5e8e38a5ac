/* duet — golden test of the joint audio-video DiT (diffusion/dit*.c) against the PyTorch
 * reference written by tools/golden/ovi_dit.py (tests/golden/ovi_dit.safetensors: random
 * weights with Ovi's names, f16 matrices and f32 vectors, dim 32, 2 heads, 3 fusion blocks,
 * video latent [4, 3, 4, 6], audio latent [11, 5], 7 context rows padded to 10; computed in
 * float64 by tools/duet_tiny/dit.py). On every backend under test, one session runs, in
 * order: plain, ctx2 (a shorter audio context), skip1 (block 1 skipped), ffc (first latent
 * frame clean) and plain again (a reused session must not carry state over).
 * Also: weights forced to f32 (same values: same tolerance) and bf16 (rounded: loose check);
 * the config file tests/golden/ovi_dit.json equal to the one in the golden's metadata; bad
 * inputs (a missing tensor, a wrong shape, an unused tensor, a config that does not fit,
 * wrong input shapes, a skip layer out of range, malformed configs) refused with an error that
 * names the culprit.
 * Tolerances (normalized mean squared error): CPU_NMSE for f32 arithmetic on the CPU, GPU_NMSE
 * on Vulkan; both far below what the cases differ by (ctx2 vs plain: 1.8e-2 on video, the
 * smallest) and what semantic slips cost (see tools/golden/ovi_dit.py's report). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "diffusion/dit.h"
#include "golden_util.h"
#include "harness.h"

#define CPU_NMSE 1e-10
#define GPU_NMSE 1e-9
/* bf16 weights against the f16-weight reference: bf16 keeps 8 bits of mantissa. */
#define BF16_NMSE 1e-3

static const char *const golden_path = DUET_TEST_DATA_DIR "/golden/ovi_dit.safetensors";
static const char *const config_path = DUET_TEST_DATA_DIR "/golden/ovi_dit.json";

typedef struct {
    const duet_safetensors *st;
    duet_dit_config cfg;
    duet_dit_shape shape;
} golden;

static bool read_golden(const duet_safetensors *st, golden *g) {
    g->st = st;
    const char *json = duet_safetensors_metadata(st, "config");
    const duet_safetensors_tensor *v = duet_safetensors_find(st, "in.video");
    const duet_safetensors_tensor *a = duet_safetensors_find(st, "in.audio");
    bool ok = json && v && a && v->n_dims == 4 && a->n_dims == 2 &&
              duet_dit_config_parse(json, strlen(json), "golden metadata", &g->cfg) == DUET_OK;
    if (ok) {
        g->shape = (duet_dit_shape){.video_w = v->ne[0], .video_h = v->ne[1],
                                    .video_frames = v->ne[2], .audio_len = a->ne[1]};
        ok = v->ne[3] == g->cfg.video.in_dim && a->ne[0] == g->cfg.audio.in_dim;
    }
    if (!ok) fprintf(stderr, "FAIL: %s: config, in.video or in.audio unusable\n", golden_path);
    T_CHECK(ok);
    return ok;
}

/* ---------------------------------------------------------------- runs */

typedef struct {
    duet_tensor *video, *audio, *ctx, *ctx_audio2, *out_video, *out_audio;
    float *t_video, *t_audio;
} run_io;

static bool load_io(const golden *g, duet_dit_session *s, duet_arena *a, duet_backend *be,
                    run_io *io) {
    const duet_dit_shape *sh = &g->shape;
    const int64_t nv = duet_dit_session_video_tokens(s), na = sh->audio_len;
    io->out_video = duet_tensor_new4(a, be, DUET_F32, sh->video_w, sh->video_h,
                                     sh->video_frames, g->cfg.video.out_dim);
    io->out_audio = duet_tensor_new4(a, be, DUET_F32, g->cfg.audio.out_dim, na, 1, 1);
    io->t_video = malloc((size_t)nv * sizeof(float));
    io->t_audio = malloc((size_t)na * sizeof(float));
    return duet_safetensors_load(g->st, "in.video", a, be, DUET_F32, &io->video) == DUET_OK &&
           duet_safetensors_load(g->st, "in.audio", a, be, DUET_F32, &io->audio) == DUET_OK &&
           duet_safetensors_load(g->st, "in.context", a, be, DUET_F32, &io->ctx) == DUET_OK &&
           duet_safetensors_load(g->st, "ctx2.context_audio", a, be, DUET_F32,
                                 &io->ctx_audio2) == DUET_OK &&
           io->out_video && io->out_audio && io->t_video && io->t_audio;
}

/* One case: evaluate and compare with out.<name>.video / .audio. */
static void run_case(const golden *g, duet_dit_session *s, run_io *io, const char *label,
                     const char *name, double tol) {
    const float t = 757.0f;
    duet_dit_inputs in = duet_dit_default_inputs();
    in.video = io->video;
    in.audio = io->audio;
    in.context_video = io->ctx;
    in.context_audio = strcmp(name, "ctx2") ? io->ctx : io->ctx_audio2;
    in.skip_layer = strcmp(name, "skip1") ? -1 : 1;
    duet_dit_fill_timesteps(s, t, strcmp(name, "ffc") ? 0 : 1, io->t_video, io->t_audio);
    in.t_video = io->t_video;
    in.t_audio = io->t_audio;
    T_CHECK_OK(duet_dit_eval(s, &in, io->out_video, io->out_audio));
    char ref[64];
    snprintf(ref, sizeof ref, "out.%s.video", name);
    duet_golden_compare(g->st, label, io->out_video, ref, tol);
    snprintf(ref, sizeof ref, "out.%s.audio", name);
    duet_golden_compare(g->st, label, io->out_audio, ref, tol);
}

/* Loads the model with `dtype` weights on `be` and runs the cases (all, or plain only). */
static void run_backend(const golden *g, duet_backend *be, duet_dtype dtype, bool all_cases,
                        double tol) {
    duet_dit_load_params lp = duet_dit_default_load_params();
    lp.weight_dtype = dtype;
    duet_dit *m = NULL;
    duet_dit_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    run_io io = {0};
    char label[96];
    snprintf(label, sizeof label, "dit on %s, %s weights",
             duet_backend_get_kind(be) == DUET_BACKEND_CPU ? "cpu" : "vulkan",
             dtype == DUET_DTYPE_COUNT ? "stored" : duet_dtype_name(dtype));
    bool ready = a && duet_dit_load(&g->cfg, g->st, be, &lp, &m) == DUET_OK &&
                 duet_dit_session_new(m, &g->shape, &s) == DUET_OK && load_io(g, s, a, be, &io);
    T_CHECK(ready);
    if (ready) {
        static const char *const cases[] = {"plain", "ctx2", "skip1", "ffc", "plain"};
        for (int i = 0; i < (all_cases ? 5 : 1); i++) run_case(g, s, &io, label, cases[i], tol);
    }
    free(io.t_video);
    free(io.t_audio);
    duet_arena_free(&a);
    duet_dit_session_free(&s);
    duet_dit_free(&m);
}

/* ---------------------------------------------------------------- bad inputs */

/* Loading `path` with `cfg` fails with `want`, and a message names `needle`. */
static void expect_load_error(const duet_dit_config *cfg, const char *path, duet_backend *be,
                              duet_status want, const char *needle) {
    duet_safetensors *st = NULL;
    duet_dit *m = NULL;
    T_CHECK_OK(duet_safetensors_open(path, &st));
    if (!st) return;
    duet_golden_capture_begin();
    duet_status s = duet_dit_load(cfg, st, be, NULL, &m);
    T_CHECK(duet_golden_capture_end(needle));
    if (s != want)
        fprintf(stderr, "FAIL: loading %s gave %s, expected %s\n", path, duet_status_str(s),
                duet_status_str(want));
    T_CHECK(s == want && m == NULL);
    duet_dit_free(&m);
    duet_safetensors_close(&st);
}

static void check_bad_weights(const golden *g, duet_backend *be) {
    char path[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/duet_test_ovi_dit_%ld.safetensors", tmp, (long)getpid());
    const char *missing = "audio_model.blocks.2.cross_attn.norm_k_fusion.weight";
    const char *wrong = "video_model.head.head.weight";
    const char *unused = "video_model.blocks.3.ffn.0.weight";
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.drop = missing}))
        expect_load_error(&g->cfg, path, be, DUET_ERR_NOT_FOUND, missing);
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.narrow = wrong}))
        expect_load_error(&g->cfg, path, be, DUET_ERR_FORMAT, wrong);
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.extra = unused}))
        expect_load_error(&g->cfg, path, be, DUET_ERR_FORMAT, unused);
    remove(path);
    /* a config with fewer layers leaves the file's last blocks unused */
    duet_dit_config two = g->cfg;
    two.video.n_layers = two.audio.n_layers = 2;
    expect_load_error(&two, golden_path, be, DUET_ERR_FORMAT, "_model.blocks.2.");
    /* a wider FFN than the file's */
    duet_dit_config wide = g->cfg;
    wide.audio.ffn_dim += 8;
    expect_load_error(&wide, golden_path, be, DUET_ERR_FORMAT, "audio_model.blocks.0.ffn.0");
}

static void expect_eval_error(duet_dit_session *s, const duet_dit_inputs *in, run_io *io,
                              const char *needle) {
    duet_golden_capture_begin();
    T_CHECK(duet_dit_eval(s, in, io->out_video, io->out_audio) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_golden_capture_end(needle));
}

static void check_bad_inputs(const golden *g, duet_backend *be) {
    duet_dit *m = NULL;
    duet_dit_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    run_io io = {0};
    bool ready = duet_dit_load(&g->cfg, g->st, be, NULL, &m) == DUET_OK &&
                 duet_dit_session_new(m, &g->shape, &s) == DUET_OK && load_io(g, s, a, be, &io);
    T_CHECK(ready);
    if (ready) {
        duet_dit_inputs in = duet_dit_default_inputs();
        in.video = io.video;
        in.audio = io.ctx; /* wrong: [24, 7] */
        in.context_video = in.context_audio = io.ctx;
        duet_dit_fill_timesteps(s, 500.0f, 0, io.t_video, io.t_audio);
        in.t_video = io.t_video;
        in.t_audio = io.t_audio;
        expect_eval_error(s, &in, &io, "audio input");
        in.audio = io.audio;
        in.context_audio = io.video; /* wrong */
        expect_eval_error(s, &in, &io, "audio context");
        in.context_audio = io.ctx;
        in.skip_layer = 3;
        expect_eval_error(s, &in, &io, "skip_layer 3");
        in.skip_layer = -1;
        T_CHECK_OK(duet_dit_eval(s, &in, io.out_video, io.out_audio));
    }
    duet_dit_shape odd = g->shape;
    odd.video_h += 1; /* not a multiple of the patch */
    duet_dit_session *s2 = NULL;
    duet_golden_capture_begin();
    T_CHECK(duet_dit_session_new(m, &odd, &s2) == DUET_ERR_INVALID_ARG && !s2);
    T_CHECK(duet_golden_capture_end("multiples of the patch"));
    free(io.t_video);
    free(io.t_audio);
    duet_arena_free(&a);
    duet_dit_session_free(&s);
    duet_dit_free(&m);
}

static void expect_config_error(const char *json, duet_status want, const char *needle) {
    duet_dit_config cfg;
    duet_golden_capture_begin();
    duet_status s = duet_dit_config_parse(json, strlen(json), "bad.json", &cfg);
    T_CHECK(duet_golden_capture_end(needle));
    if (s != want) fprintf(stderr, "FAIL: config %s gave %s\n", json, duet_status_str(s));
    T_CHECK(s == want);
}

static void check_configs(const golden *g) {
    duet_dit_config file;
    T_CHECK_OK(duet_dit_config_load(config_path, &file));
    T_CHECK(!memcmp(&file, &g->cfg, sizeof file));
    T_CHECK(g->cfg.video.freq_dim == 32 && g->cfg.audio.text_len == 10 &&
            g->cfg.audio.rope_scale > 0.27 && g->cfg.audio.rope_scale < 0.28 &&
            g->cfg.video.patch_size[1] == 2 && g->cfg.audio.is_audio);
    /* a tower without num_layers; each case closes it */
    const char *tower = "{\"dim\": 32, \"ffn_dim\": 48, \"num_heads\": 2, \"in_dim\": 4, "
                        "\"out_dim\": 4";
    char json[1024];
    snprintf(json, sizeof json, "{\"video\": %s, \"num_layers\": 3}, \"audio_model\": %s, "
             "\"num_layers\": 3, \"eps\": \"x\"}}", tower, tower);
    expect_config_error(json, DUET_ERR_FORMAT, "bad.json: audio.eps: must be a number");
    snprintf(json, sizeof json, "{\"video\": %s, \"num_layers\": 3, \"qk_norm\": false}, "
             "\"audio\": %s, \"num_layers\": 3}}", tower, tower);
    expect_config_error(json, DUET_ERR_UNSUPPORTED, "video.qk_norm");
    snprintf(json, sizeof json, "{\"video\": {\"dim\": 32}, \"audio\": %s}}", tower);
    expect_config_error(json, DUET_ERR_FORMAT, "video.ffn_dim: required");
    snprintf(json, sizeof json, "{\"video\": %s, \"num_layers\": 3}, \"audio\": %s, "
             "\"num_layers\": 4}}", tower, tower);
    expect_config_error(json, DUET_ERR_FORMAT, "audio.num_layers (4) must be equal");
    snprintf(json, sizeof json, "{\"video\": %s, \"num_layers\": 3, \"num_layers\": 2}, "
             "\"audio\": %s, \"num_layers\": 3}}", tower, tower);
    expect_config_error(json, DUET_ERR_FORMAT, "duplicate");
    expect_config_error("{\"video\": ", DUET_ERR_FORMAT, "bad.json:1:");
    /* duet-tiny's config.json: towers under video_model / audio_model among other keys */
    snprintf(json, sizeof json, "{\"model\": \"duet-tiny\", \"clip\": {\"fps\": 16}, "
             "\"video_model\": %s, \"num_layers\": 3, \"patch_size\": [1, 4, 4]}, "
             "\"audio_model\": %s, \"num_layers\": 3, \"model_type\": \"t2a\", "
             "\"temporal_rope_scaling_factor\": 0.5}}", tower, tower);
    duet_dit_config tiny;
    T_CHECK_OK(duet_dit_config_parse(json, strlen(json), "config.json", &tiny));
    T_CHECK(tiny.video.patch_size[2] == 4 && tiny.audio.rope_scale == 0.5 &&
            tiny.video.text_dim == 4096 && tiny.video.freq_dim == 256 &&
            tiny.video.text_len == 512 && tiny.audio.eps == 1e-6f);
}

/* Loads and plans (run with the n-th host allocation failing). */
static duet_status load_and_plan(void *user, duet_backend *be) {
    const golden *g = user;
    duet_dit *m = NULL;
    duet_dit_session *s = NULL;
    duet_status st = duet_dit_load(&g->cfg, g->st, be, NULL, &m);
    T_CHECK((st == DUET_OK) == (m != NULL));
    if (st == DUET_OK) st = duet_dit_session_new(m, &g->shape, &s);
    T_CHECK((st == DUET_OK) == (s != NULL));
    duet_dit_session_free(&s);
    duet_dit_free(&m);
    return st;
}

/* Every host allocation of loading and planning made to fail in turn: each must end in an
 * out-of-memory status (no crash, no leak under ASan), and the run with none failing works. */
static void check_alloc_failures(const golden *g, duet_backend *be) {
    long n = duet_golden_alloc_failures(load_and_plan, (void *)g, be, 100000, true);
    fprintf(stderr, "allocation failures: %ld points of load + plan, all reported\n", n);
}

int main(void) {
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    duet_safetensors *st = NULL;
    if (nb < 1 || !duet_golden_open(golden_path, "tools/golden/ovi_dit.py", &st))
        return duet_test_end(bes, nb);
    golden g;
    if (read_golden(st, &g)) {
        check_configs(&g);
        check_bad_weights(&g, bes[0]);
        check_bad_inputs(&g, bes[0]);
        check_alloc_failures(&g, bes[0]);
        for (int b = 0; b < nb; b++) {
            double tol = duet_backend_get_kind(bes[b]) == DUET_BACKEND_CPU ? CPU_NMSE : GPU_NMSE;
            run_backend(&g, bes[b], DUET_DTYPE_COUNT, true, tol);
            run_backend(&g, bes[b], DUET_F32, false, tol);
            run_backend(&g, bes[b], DUET_BF16, false, BF16_NMSE);
        }
    }
    duet_safetensors_close(&st);
    return duet_test_end(bes, nb);
}
