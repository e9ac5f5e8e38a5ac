/* duet — golden test of the schedule, the samplers, the seeded noise and the generation loop
 * (diffusion/schedule.c, sampler.c, noise.c, generate.c) against tools/golden/sampler.py
 * (tests/golden/sampler.safetensors, computed in float64 by tools/duet_tiny/schedulers.py,
 * sample.py and noise.py; the generation cases run the tiny DiT of
 * tests/golden/ovi_dit.safetensors).
 *   schedules   timesteps equal and float32 sigmas bit-equal for 8 (steps, shift) pairs
 *   noise       Random123's Philox4x32-10 known-answer vectors; Gaussian streams bit-equal
 *   steps       every intermediate sample of UniPC (6, 1, 2 steps) and Euler (4 steps) on a
 *               fixed sequence of model outputs, on every backend; reset and misuse
 *   generate    three whole generations (CFG + SLG; first frame + whole audio given; Euler
 *               without guidance, two leading frames + four audio tokens given, 64-bit seed)
 *               on every backend; progress, cancellation, bad arguments, allocation failures
 * Tolerances (normalized mean squared error): STEP_NMSE for the sampler arithmetic alone
 * (f32 ops against float64), CPU_GEN_NMSE / GPU_GEN_NMSE for whole generations, whose f32 DiT
 * error (test_ovi_dit: ~1e-12 per evaluation) is amplified by guidance scales up to 4. The
 * cases differ from each other and from slips (a wrong order, no SLG, no overwrite) by 1e-3
 * or more. */
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"
#include "diffusion/generate.h"
#include "diffusion/noise.h"
#include "diffusion/sampler.h"
#include "diffusion/schedule.h"
#include "golden_util.h"
#include "harness.h"

#define STEP_NMSE 1e-11
#define CPU_GEN_NMSE 1e-10
#define GPU_GEN_NMSE 1e-9

static const char *const golden_path = DUET_TEST_DATA_DIR "/golden/sampler.safetensors";
static const char *const dit_path = DUET_TEST_DATA_DIR "/golden/ovi_dit.safetensors";

typedef struct {
    const duet_safetensors *st;  /* sampler.safetensors */
    const duet_safetensors *dit; /* ovi_dit.safetensors */
    json_t *meta;                /* the "golden" metadata object */
} golden;

/* ---------------------------------------------------------------- golden access */

static const char *backend_label(duet_backend *be) {
    return duet_backend_get_kind(be) == DUET_BACKEND_CPU ? "cpu" : "vulkan";
}

/* ---------------------------------------------------------------- schedules */

static void check_schedule_pair(const golden *g, int n, double shift) {
    char name[64];
    size_t nt = 0, ns = 0;
    snprintf(name, sizeof name, "sched.%d_%g.timesteps", n, shift);
    int32_t *want_t = duet_golden_read(g->st, name, DUET_DTYPE_COUNT, 0, &nt);
    snprintf(name, sizeof name, "sched.%d_%g.sigmas", n, shift);
    float *want_s = duet_golden_read(g->st, name, DUET_DTYPE_COUNT, 0, &ns);
    int64_t *t = malloc((size_t)n * sizeof *t);
    float *s = malloc((size_t)(n + 1) * sizeof *s);
    if (want_t && want_s && t && s && nt == (size_t)n && ns == (size_t)n + 1) {
        T_CHECK_OK(duet_schedule_shifted(n, shift, t, s));
        int bad_t = 0, bad_s = 0;
        for (int i = 0; i < n; i++) bad_t += t[i] != want_t[i];
        for (int i = 0; i <= n; i++) bad_s += memcmp(&s[i], &want_s[i], sizeof *s) != 0;
        fprintf(stderr, "schedule %d steps, shift %g (t %lld .. %lld): %d timesteps and %d "
                "sigmas differ\n", n, shift, (long long)t[0], (long long)t[n - 1], bad_t, bad_s);
        T_CHECK(bad_t == 0 && bad_s == 0);
    } else {
        T_CHECK(!"schedule golden tensors unusable");
    }
    free(want_t), free(want_s), free(t), free(s);
}

static void check_schedules(const golden *g) {
    json_t *list = json_object_get(g->meta, "schedules");
    size_t i;
    json_t *pair;
    T_CHECK(json_array_size(list) >= 8);
    json_array_foreach(list, i, pair) {
        check_schedule_pair(g, (int)json_integer_value(json_array_get(pair, 0)),
                            json_number_value(json_array_get(pair, 1)));
    }
    int64_t t[2];
    duet_golden_capture_begin();
    T_CHECK(duet_schedule_shifted(0, 2.0, t, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_schedule_shifted(2, 0.0, t, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_schedule_shifted(2, nan(""), t, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_golden_capture_end("shift > 0"));
}

/* ---------------------------------------------------------------- noise */

static void check_philox(void) {
    /* Random123 kat_vectors: philox4x32 10 (counter, key) -> output */
    static const uint32_t kat[3][10] = {
        {0, 0, 0, 0, 0, 0, 0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x408f276d,
         0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, 0xd16cfe09,
         0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int k = 0; k < 3; k++) {
        uint32_t out[4];
        duet_philox4x32_10(kat[k], kat[k] + 4, out);
        bool ok = !memcmp(out, kat[k] + 6, sizeof out);
        if (!ok) fprintf(stderr, "FAIL philox KAT %d: %08x %08x %08x %08x\n", k, out[0], out[1],
                         out[2], out[3]);
        T_CHECK(ok);
    }
}

static void check_noise(const golden *g) {
    check_philox();
    json_t *cases = json_object_get(g->meta, "noise");
    const char *key;
    json_t *c;
    T_CHECK(json_object_size(cases) >= 3);
    json_object_foreach(cases, key, c) {
        char name[64];
        size_t n = 0;
        snprintf(name, sizeof name, "noise.%s", key);
        float *want = duet_golden_read(g->st, name, DUET_DTYPE_COUNT, 0, &n);
        float *got = want ? malloc(n * sizeof *got) : NULL;
        const uint64_t seed = (uint64_t)json_integer_value(json_array_get(c, 0));
        const uint32_t stream = (uint32_t)json_integer_value(json_array_get(c, 1));
        const uint64_t first = (uint64_t)json_integer_value(json_array_get(c, 2));
        if (got && n == (size_t)json_integer_value(json_array_get(c, 3))) {
            duet_noise_fill(got, n, seed, stream, first);
            size_t bad = 0;
            for (size_t i = 0; i < n; i++) bad += memcmp(&got[i], &want[i], sizeof *got) != 0;
            fprintf(stderr, "noise %s (seed %llu, stream %u, from %llu): %zu of %zu values "
                    "differ from noise.py\n", key, (unsigned long long)seed, stream,
                    (unsigned long long)first, bad, n);
            T_CHECK(bad == 0);
        } else {
            T_CHECK(!"noise golden unusable");
        }
        free(got), free(want);
    }
}

/* ---------------------------------------------------------------- sampler steps */

/* One golden step case on `be`: every intermediate sample compared. */
static void run_step_case(const golden *g, duet_backend *be, const char *name, json_t *c) {
    duet_solver solver;
    const int n = (int)json_integer_value(json_array_get(c, 1));
    const double shift = json_number_value(json_array_get(c, 2));
    T_CHECK_OK(duet_solver_parse(json_string_value(json_array_get(c, 0)), &solver));
    char key[64], label[128];
    size_t nv = 0, nx = 0;
    snprintf(key, sizeof key, "step.%s.v", name);
    float *vs = duet_golden_read(g->st, key, DUET_DTYPE_COUNT, 0, &nv);
    snprintf(key, sizeof key, "step.%s.x", name);
    float *xs = duet_golden_read(g->st, key, DUET_DTYPE_COUNT, 0, &nx);
    const duet_safetensors_tensor *meta_x = duet_safetensors_find(g->st, key);
    duet_arena *a = duet_arena_new(0);
    duet_sampler *smp = NULL;
    bool ok = vs && xs && a && nv * (size_t)(n + 1) == nx * (size_t)n;
    const size_t per = ok ? nx / (size_t)(n + 1) : 0;
    ok = ok && duet_sampler_new(be, solver, n, shift, 3, meta_x->ne, &smp) == DUET_OK;
    duet_tensor *x = ok ? duet_tensor_new(a, be, DUET_F32, 3, meta_x->ne) : NULL;
    duet_tensor *v = ok ? duet_tensor_new(a, be, DUET_F32, 3, meta_x->ne) : NULL;
    float *got = malloc((per ? per : 1) * sizeof *got);
    T_CHECK(ok && x && v && got);
    for (int pass = 0; x && v && got && pass < 2; pass++) {
        /* pass 1 after a reset: the same numbers (state fully restarted) */
        T_CHECK_OK(duet_tensor_set_f32(x, xs));
        for (int k = 0; k < n; k++) {
            T_CHECK_OK(duet_tensor_set_f32(v, vs + (size_t)k * per));
            T_CHECK_OK(duet_sampler_step(smp, v, x));
            T_CHECK_OK(duet_tensor_get_f32(x, got));
            snprintf(label, sizeof label, "%s %s%s step %d/%d", backend_label(be), name,
                     pass ? " (reset)" : "", k + 1, n);
            duet_golden_report(label, got, xs + (size_t)(k + 1) * per, per, STEP_NMSE);
        }
        T_CHECK(duet_sampler_step_index(smp) == n);
        duet_golden_capture_begin();
        T_CHECK(duet_sampler_step(smp, v, x) == DUET_ERR_INVALID_ARG);
        T_CHECK(duet_golden_capture_end("already taken"));
        duet_sampler_reset(smp);
    }
    free(got), free(vs), free(xs);
    duet_sampler_free(&smp);
    duet_arena_free(&a);
}

static void check_steps(const golden *g, duet_backend *be) {
    json_t *cases = json_object_get(g->meta, "steps");
    const char *name;
    json_t *c;
    T_CHECK(json_object_size(cases) >= 4);
    json_object_foreach(cases, name, c) run_step_case(g, be, name, c);
}

/* Misuse of the sampler API: each refused with a message. */
static void check_sampler_errors(duet_backend *be) {
    const int64_t ne[2] = {5, 3}, ne_bad[2] = {3, 5};
    duet_arena *a = duet_arena_new(0);
    duet_sampler *smp = NULL;
    duet_solver solver = DUET_SOLVER_EULER;
    duet_golden_capture_begin();
    T_CHECK(duet_solver_parse("heun", &solver) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_golden_capture_end("unknown solver \"heun\""));
    T_CHECK_OK(duet_solver_parse("unipc", &solver));
    T_CHECK(solver == DUET_SOLVER_UNIPC && !strcmp(duet_solver_name(DUET_SOLVER_EULER), "euler"));
    duet_golden_capture_begin();
    T_CHECK(duet_sampler_new(be, solver, 0, 2.0, 2, ne, &smp) == DUET_ERR_INVALID_ARG && !smp);
    T_CHECK(duet_sampler_new(be, solver, 4, 1e9, 2, ne, &smp) == DUET_ERR_INVALID_ARG && !smp);
    T_CHECK(duet_golden_capture_end("puts a sigma at 1"));
    T_CHECK_OK(duet_sampler_new(be, solver, 4, 2.0, 2, ne, &smp));
    duet_tensor *x = duet_tensor_new(a, be, DUET_F32, 2, ne);
    duet_tensor *bad = duet_tensor_new(a, be, DUET_F32, 2, ne_bad);
    if (smp && x && bad) {
        duet_golden_capture_begin();
        T_CHECK(duet_sampler_step(smp, bad, x) == DUET_ERR_INVALID_ARG);
        T_CHECK(duet_sampler_step(smp, x, x) == DUET_ERR_INVALID_ARG);
        T_CHECK(duet_golden_capture_end("v and x must be f32 [5, 3]"));
        T_CHECK(duet_sampler_step_index(smp) == 0 && duet_sampler_n_steps(smp) == 4);
        T_CHECK(duet_sampler_timestep(smp, 4) == -1 && duet_sampler_sigma(smp, 4) == 0.0f &&
                duet_sampler_sigma(smp, 5) == -1.0f);
    }
    duet_sampler_free(&smp);
    duet_sampler_free(&smp); /* NULL: no-op */
    duet_arena_free(&a);
}

/* ---------------------------------------------------------------- generation */

typedef struct {
    duet_dit_config cfg;
    duet_dit *m;
    duet_dit_session *s;
    duet_arena *a;
    duet_tensor *video, *audio; /* the latents generate writes */
    duet_generate_inputs in;
} gen_env;

typedef struct {
    int calls, last_step, n_steps, cancel_at;
} progress_log;

static bool on_progress(int step, int n_steps, void *user) {
    progress_log *p = user;
    p->calls++;
    if (step != p->last_step + 1) fprintf(stderr, "FAIL: progress step %d after %d\n", step,
                                          p->last_step);
    T_CHECK(step == p->last_step + 1);
    p->last_step = step;
    p->n_steps = n_steps;
    return step != p->cancel_at;
}

static duet_tensor *load(const golden *g, gen_env *e, duet_backend *be, const char *name) {
    duet_tensor *t = NULL;
    T_CHECK_OK(duet_safetensors_load(g->st, name, e->a, be, DUET_F32, &t));
    return t;
}

static bool env_open(const golden *g, duet_backend *be, gen_env *e) {
    memset(e, 0, sizeof *e);
    const char *json = duet_safetensors_metadata(g->dit, "config");
    const duet_safetensors_tensor *v = duet_safetensors_find(g->st, "gen.cfg_slg.video");
    const duet_safetensors_tensor *au = duet_safetensors_find(g->st, "gen.cfg_slg.audio");
    e->a = duet_arena_new(0);
    bool ok = e->a && json && v && au && v->n_dims == 4 && au->n_dims == 2 &&
              duet_dit_config_parse(json, strlen(json), dit_path, &e->cfg) == DUET_OK &&
              duet_dit_load(&e->cfg, g->dit, be, NULL, &e->m) == DUET_OK;
    if (ok) {
        const duet_dit_shape sh = {.video_w = v->ne[0], .video_h = v->ne[1],
                                   .video_frames = v->ne[2], .audio_len = au->ne[1]};
        ok = duet_dit_session_new(e->m, &sh, &e->s) == DUET_OK;
        e->video = duet_tensor_new(e->a, be, DUET_F32, 4, v->ne);
        e->audio = duet_tensor_new(e->a, be, DUET_F32, 2, au->ne);
        e->in.context = load(g, e, be, "gen.context");
        e->in.context_video_neg = load(g, e, be, "gen.context_video_neg");
        e->in.context_audio_neg = load(g, e, be, "gen.context_audio_neg");
        ok = ok && e->video && e->audio && e->in.context && e->in.context_video_neg &&
             e->in.context_audio_neg;
    }
    if (!ok) fprintf(stderr, "FAIL: cannot set up the tiny DiT from %s\n", dit_path);
    T_CHECK(ok);
    return ok;
}

static void env_close(gen_env *e) {
    duet_arena_free(&e->a);
    duet_dit_session_free(&e->s);
    duet_dit_free(&e->m);
}

/* Parameters and conditioning of golden generation case `c`. */
static duet_generate_params case_params(const golden *g, gen_env *e, duet_backend *be,
                                        json_t *c, duet_generate_inputs *in) {
    duet_generate_params p = duet_generate_default_params();
    T_CHECK_OK(duet_solver_parse(json_string_value(json_object_get(c, "solver")), &p.solver));
    p.n_steps = (int)json_integer_value(json_object_get(c, "steps"));
    p.shift = json_number_value(json_object_get(c, "shift"));
    p.video_guidance = (float)json_number_value(json_object_get(c, "video_guidance"));
    p.audio_guidance = (float)json_number_value(json_object_get(c, "audio_guidance"));
    p.slg_layer = (int)json_integer_value(json_object_get(c, "slg_layer"));
    p.seed = (uint64_t)json_integer_value(json_object_get(c, "seed"));
    *in = e->in;
    const char *vg = json_string_value(json_object_get(c, "video_given"));
    const char *ag = json_string_value(json_object_get(c, "audio_given"));
    in->video_given = vg ? load(g, e, be, vg) : NULL;
    in->audio_given = ag ? load(g, e, be, ag) : NULL;
    return p;
}

static void run_generate_case(const golden *g, gen_env *e, duet_backend *be, const char *name,
                              json_t *c, double tol) {
    duet_generate_inputs in;
    duet_generate_params p = case_params(g, e, be, c, &in);
    progress_log log = {0};
    p.progress = on_progress;
    p.progress_user_data = &log;
    T_CHECK_OK(duet_generate(e->m, e->s, &p, &in, e->video, e->audio));
    T_CHECK(log.calls == p.n_steps && log.n_steps == p.n_steps);
    char label[96], ref[64];
    snprintf(label, sizeof label, "generate on %s", backend_label(be));
    snprintf(ref, sizeof ref, "gen.%s.video", name);
    duet_golden_compare(g->st, label, e->video, ref, tol);
    snprintf(ref, sizeof ref, "gen.%s.audio", name);
    duet_golden_compare(g->st, label, e->audio, ref, tol);
}

static void check_generate(const golden *g, duet_backend *be, double tol) {
    gen_env e;
    if (env_open(g, be, &e)) {
        json_t *cases = json_object_get(g->meta, "generate");
        const char *name;
        json_t *c;
        T_CHECK(json_object_size(cases) >= 3);
        json_object_foreach(cases, name, c) run_generate_case(g, &e, be, name, c, tol);
    }
    env_close(&e);
}

/* Bad arguments are refused before any work, each with a message naming the culprit; a
 * progress callback returning false cancels. CPU only. */
static void check_generate_errors(const golden *g, duet_backend *be) {
    gen_env e;
    if (!env_open(g, be, &e)) {
        env_close(&e);
        return;
    }
    duet_generate_params p = duet_generate_default_params();
    p.n_steps = 3;
    duet_generate_inputs in = e.in;
    struct {
        const char *needle;
        duet_status want;
    } expect[] = {{"both negative contexts are required", DUET_ERR_INVALID_ARG},
                  {"slg_layer 3", DUET_ERR_INVALID_ARG},
                  {"1 to 100000 steps", DUET_ERR_INVALID_ARG},
                  {"video_given must be f32 [6, 4, 1..3, 4]", DUET_ERR_INVALID_ARG},
                  {"the audio latent must be contiguous f32 [5, 11]", DUET_ERR_INVALID_ARG}};
    const int64_t too_many[4] = {6, 4, 4, 4};
    for (int k = 0; k < 5; k++) {
        duet_generate_params q = p;
        duet_generate_inputs j = in;
        duet_tensor *audio = e.audio;
        if (k == 0) j.context_audio_neg = NULL;
        if (k == 1) q.slg_layer = 3;
        if (k == 2) q.n_steps = 0;
        if (k == 3) j.video_given = duet_tensor_new(e.a, be, DUET_F32, 4, too_many);
        if (k == 4) audio = e.video;
        duet_golden_capture_begin();
        T_CHECK(duet_generate(e.m, e.s, &q, &j, e.video, audio) == expect[k].want);
        T_CHECK(duet_golden_capture_end(expect[k].needle));
    }
    progress_log log = {.cancel_at = 2};
    p.progress = on_progress;
    p.progress_user_data = &log;
    T_CHECK(duet_generate(e.m, e.s, &p, &in, e.video, e.audio) == DUET_ERR_CANCELLED);
    T_CHECK(log.calls == 2 && log.n_steps == 3);
    env_close(&e);
}

typedef struct {
    gen_env *e;
    const duet_generate_params *p;
    const duet_generate_inputs *in;
} gen_call;

static duet_status generate_once(void *user, duet_backend *be) {
    const gen_call *c = user;
    (void)be;
    return duet_generate(c->e->m, c->e->s, c->p, c->in, c->e->video, c->e->audio);
}

/* Every host allocation of a generation made to fail in turn: each ends in an out-of-memory
 * status (no crash, no leak under ASan); the run with none failing works. CPU only. */
static void check_alloc_failures(const golden *g, duet_backend *be) {
    gen_env e;
    if (!env_open(g, be, &e)) {
        env_close(&e);
        return;
    }
    duet_generate_params p = duet_generate_default_params();
    p.n_steps = 2;
    p.slg_layer = 1;
    duet_generate_inputs in = e.in;
    in.video_given = load(g, &e, be, "gen.video_given1");
    in.audio_given = load(g, &e, be, "gen.audio_given4");
    const gen_call call = {&e, &p, &in};
    long n = duet_golden_alloc_failures(generate_once, (void *)&call, be, 10000, false);
    fprintf(stderr, "allocation failures: %ld points of a generation, all reported\n", n);
    T_CHECK(n > 4);
    env_close(&e);
}

/* ---------------------------------------------------------------- main */

static bool open_golden(golden *g, duet_safetensors **st, duet_safetensors **dit) {
    memset(g, 0, sizeof *g);
    if (duet_safetensors_open(golden_path, st) != DUET_OK ||
        duet_safetensors_open(dit_path, dit) != DUET_OK) {
        fprintf(stderr, "FAIL: cannot open %s / %s (regenerate with tools/golden/sampler.py)\n",
                golden_path, dit_path);
        return false;
    }
    g->st = *st;
    g->dit = *dit;
    const char *meta = duet_safetensors_metadata(*st, "golden");
    g->meta = meta ? json_loads(meta, 0, NULL) : NULL;
    const char *dit_seed = duet_safetensors_metadata(*dit, "seed");
    const char *want_seed = json_string_value(json_object_get(g->meta, "ovi_dit_seed"));
    if (!g->meta || !dit_seed || !want_seed || strcmp(dit_seed, want_seed)) {
        fprintf(stderr, "FAIL: %s metadata unusable, or made from another ovi_dit.safetensors "
                "(seed %s, file has %s): rerun tools/golden/sampler.py\n", golden_path,
                want_seed ? want_seed : "?", dit_seed ? dit_seed : "?");
        return false;
    }
    return true;
}

int main(void) {
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    duet_safetensors *st = NULL, *dit = NULL;
    golden g = {0};
    if (nb < 1 || !open_golden(&g, &st, &dit)) {
        duet_test_failures++;
    } else {
        check_schedules(&g);
        check_noise(&g);
        check_sampler_errors(bes[0]);
        check_generate_errors(&g, bes[0]);
        check_alloc_failures(&g, bes[0]);
        for (int b = 0; b < nb; b++) {
            check_steps(&g, bes[b]);
            check_generate(&g, bes[b], b == 0 ? CPU_GEN_NMSE : GPU_GEN_NMSE);
        }
    }
    json_decref(g.meta);
    duet_safetensors_close(&st);
    duet_safetensors_close(&dit);
    return duet_test_end(bes, nb);
}
