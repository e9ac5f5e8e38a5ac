/* duet — `duet dit`: one evaluation of the joint audio-video DiT (diffusion/dit.h) on latents
 * read from a safetensors file, for probing the model and for golden tests: the velocity
 * predictions are written to another safetensors file. Inputs (PyTorch shapes, any float
 * dtype): in.video [C, F, H, W], in.audio [L, C], in.context [n, text_dim] (both towers; an
 * optional in.context_audio replaces it for the audio tower), in.t [1]. Outputs (f32):
 * out.video [C, F, H, W], out.audio [L, C]. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/backend.h"
#include "core/log.h"
#include "core/safetensors.h"
#include "diffusion/dit.h"

typedef struct {
    const char *config, *weights, *inputs, *output;
    int skip_layer;
    bool first_frame_clean;
    duet_backend_params backend;
    duet_dtype weight_dtype;
} dit_args;

static void usage(FILE *f) {
    fprintf(f,
            "usage: duet dit --config CFG.json --weights W.safetensors --inputs IN.safetensors\n"
            "                -o OUT.safetensors [--skip-layer N] [--first-frame-clean]\n"
            "                [--backend cpu|vulkan|auto] [--device N] [--threads N]\n"
            "                [--weight-dtype stored|f32|f16|bf16] [--verbose]\n"
            "\n"
            "One evaluation of the joint audio-video DiT: velocity predictions for noisy latents.\n"
            "\n"
            "  --config      tower sizes, Ovi's field names: {\"video\": {...}, \"audio\": {...}}\n"
            "                (\"video_model\"/\"audio_model\" as in duet-tiny's config.json)\n"
            "  --weights     checkpoint with video_model.* and audio_model.* tensors (Ovi names)\n"
            "  --inputs      in.video [C, F, H, W], in.audio [L, C], in.context [n, text_dim]\n"
            "                (optional in.context_audio for the audio tower), in.t [1]\n"
            "  -o            writes out.video [C, F, H, W] and out.audio [L, C] (f32)\n"
            "  --skip-layer  skip block N (0-based) in both towers: skip-layer guidance's\n"
            "                negative pass (Ovi's sampler skips slg_layer only when it is > 0)\n"
            "  --first-frame-clean  tokens of latent frame 0 get t = 0 (image-to-video)\n"
            "  --weight-dtype  keep matrices as stored (default) or convert them\n"
            "\n"
            "Exit status: 0 success, 1 failure (message on stderr), 2 usage error.\n");
}

static bool parse_int(const char *s, long lo, long hi, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return false;
    *out = (int)v;
    return true;
}

static bool parse_dtype(const char *s, duet_dtype *out) {
    static const struct {
        const char *name;
        duet_dtype t;
    } names[] = {{"stored", DUET_DTYPE_COUNT}, {"f32", DUET_F32}, {"f16", DUET_F16},
                 {"bf16", DUET_BF16}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (!strcmp(s, names[i].name)) {
            *out = names[i].t;
            return true;
        }
    return false;
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, dit_args *a) {
    memset(a, 0, sizeof *a);
    a->skip_layer = -1;
    a->backend = duet_backend_default_params();
    a->backend.kind = DUET_BACKEND_AUTO;
    a->weight_dtype = DUET_DTYPE_COUNT;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        bool ok = true, takes_value = true;
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(o, "--first-frame-clean")) {
            a->first_frame_clean = true, takes_value = false;
        } else if (!strcmp(o, "--verbose")) {
            duet_log_set_level(DUET_LOG_INFO), takes_value = false;
        } else if (!v) {
            ok = false;
        } else if (!strcmp(o, "--config")) {
            a->config = v;
        } else if (!strcmp(o, "--weights")) {
            a->weights = v;
        } else if (!strcmp(o, "--inputs")) {
            a->inputs = v;
        } else if (!strcmp(o, "-o") || !strcmp(o, "--output")) {
            a->output = v;
        } else if (!strcmp(o, "--skip-layer")) {
            ok = parse_int(v, 0, INT_MAX, &a->skip_layer);
        } else if (!strcmp(o, "--backend")) {
            ok = duet_backend_kind_parse(v, &a->backend.kind) == DUET_OK;
        } else if (!strcmp(o, "--device")) {
            ok = parse_int(v, 0, 1024, &a->backend.device_index);
        } else if (!strcmp(o, "--threads")) {
            ok = parse_int(v, 0, 4096, &a->backend.n_threads);
        } else if (!strcmp(o, "--weight-dtype")) {
            ok = parse_dtype(v, &a->weight_dtype);
        } else {
            fprintf(stderr, "duet dit: unknown option '%s'\n", o);
            usage(stderr);
            return 2;
        }
        if (!ok) {
            fprintf(stderr, "duet dit: %s needs %s\n", o,
                    v ? "a valid value (see --help)" : "a value");
            return 2;
        }
        if (takes_value) i++;
    }
    if (!a->config || !a->weights || !a->inputs || !a->output) {
        fprintf(stderr, "duet dit: --config, --weights, --inputs and -o are required\n");
        usage(stderr);
        return 2;
    }
    return -1;
}

/* Host data of the evaluation. */
typedef struct {
    duet_arena *arena;
    duet_tensor *video, *audio, *ctx, *ctx_audio, *out_video, *out_audio;
    float t;
    float *t_video, *t_audio, *host_video, *host_audio;
} dit_io;

/* A named input with n_dims dims whose innermost size is `inner` (0: any). */
static const duet_safetensors_tensor *find_input(const duet_safetensors *st, const char *name,
                                                 int n_dims, int64_t inner, const char *shape) {
    const duet_safetensors_tensor *t = duet_safetensors_find(st, name);
    if (!t) {
        fprintf(stderr, "duet dit: %s: no tensor %s %s\n", duet_safetensors_name(st), name,
                shape);
        return NULL;
    }
    if (t->n_dims != n_dims || (inner && t->ne[0] != inner) || t->dtype == DUET_I32) {
        fprintf(stderr, "duet dit: %s: %s must be a float tensor %s\n",
                duet_safetensors_name(st), name, shape);
        return NULL;
    }
    return t;
}

static bool read_t(const duet_safetensors *st, float *t) {
    const duet_safetensors_tensor *tt = duet_safetensors_find(st, "in.t");
    float v = NAN;
    bool ok = tt && tt->dtype != DUET_I32 && tt->ne[0] * tt->ne[1] * tt->ne[2] * tt->ne[3] *
                                                     tt->ne[4] == 1 &&
              duet_convert(&v, DUET_F32, tt->data, tt->dtype, 1) == DUET_OK && isfinite(v) &&
              v >= 0;
    if (!ok)
        fprintf(stderr, "duet dit: %s: in.t must be one finite timestep >= 0 (shape [1])\n",
                duet_safetensors_name(st));
    *t = v;
    return ok;
}

/* The sizes of the run, from the inputs' shapes (checked against the config). */
static bool input_shape(const duet_safetensors *st, const duet_dit_config *cfg,
                        duet_dit_shape *sh) {
    char vs[64], as[64];
    snprintf(vs, sizeof vs, "[C = %lld, F, H, W]", (long long)cfg->video.in_dim);
    snprintf(as, sizeof as, "[L, C = %lld]", (long long)cfg->audio.in_dim);
    const duet_safetensors_tensor *v = find_input(st, "in.video", 4, 0, vs);
    const duet_safetensors_tensor *a = find_input(st, "in.audio", 2, cfg->audio.in_dim, as);
    if (v && v->ne[3] != cfg->video.in_dim) {
        fprintf(stderr, "duet dit: %s: in.video must be %s; it has %lld channels\n",
                duet_safetensors_name(st), vs, (long long)v->ne[3]);
        return false;
    }
    if (!v || !a) return false;
    *sh = (duet_dit_shape){.video_frames = v->ne[2], .video_h = v->ne[1], .video_w = v->ne[0],
                           .audio_len = a->ne[1]};
    return true;
}

static bool load_inputs(const duet_safetensors *st, const duet_dit_config *cfg,
                        duet_dit_session *s, duet_backend *be, dit_io *io) {
    const duet_dit_tower_config *vc = &cfg->video, *ac = &cfg->audio;
    char cs[64];
    snprintf(cs, sizeof cs, "[n, text_dim = %lld]", (long long)vc->text_dim);
    if (!find_input(st, "in.context", 2, vc->text_dim, cs)) return false;
    bool own_audio_ctx = duet_safetensors_find(st, "in.context_audio") != NULL;
    snprintf(cs, sizeof cs, "[n, text_dim = %lld]", (long long)ac->text_dim);
    if (own_audio_ctx && !find_input(st, "in.context_audio", 2, ac->text_dim, cs)) return false;
    if (!read_t(st, &io->t)) return false;
    duet_arena *a = io->arena;
    bool ok = duet_safetensors_load(st, "in.video", a, be, DUET_F32, &io->video) == DUET_OK &&
              duet_safetensors_load(st, "in.audio", a, be, DUET_F32, &io->audio) == DUET_OK &&
              duet_safetensors_load(st, "in.context", a, be, DUET_F32, &io->ctx) == DUET_OK;
    io->ctx_audio = io->ctx;
    if (ok && own_audio_ctx)
        ok = duet_safetensors_load(st, "in.context_audio", a, be, DUET_F32, &io->ctx_audio) ==
             DUET_OK;
    const duet_tensor *v = io->video;
    const int64_t nv = duet_dit_session_video_tokens(s), na = duet_dit_session_audio_tokens(s);
    io->out_video = ok ? duet_tensor_new4(a, be, DUET_F32, v->ne[0], v->ne[1], v->ne[2],
                                          vc->out_dim)
                       : NULL;
    io->out_audio = ok ? duet_tensor_new4(a, be, DUET_F32, ac->out_dim, na, 1, 1) : NULL;
    io->t_video = duet_malloc((size_t)nv * sizeof(float));
    io->t_audio = duet_malloc((size_t)na * sizeof(float));
    return ok && io->out_video && io->out_audio && io->t_video && io->t_audio;
}

static bool write_outputs(const dit_args *args, dit_io *io) {
    const duet_tensor *ov = io->out_video, *oa = io->out_audio;
    io->host_video = duet_malloc((size_t)duet_nelements(ov) * sizeof(float));
    io->host_audio = duet_malloc((size_t)duet_nelements(oa) * sizeof(float));
    if (!io->host_video || !io->host_audio || duet_tensor_get_f32(ov, io->host_video) ||
        duet_tensor_get_f32(oa, io->host_audio))
        return false;
    duet_safetensors_entry e[2] = {
        {"out.video", DUET_F32, 4, {ov->ne[0], ov->ne[1], ov->ne[2], ov->ne[3], 1},
         io->host_video},
        {"out.audio", DUET_F32, 2, {oa->ne[0], oa->ne[1], 1, 1, 1}, io->host_audio}};
    char t[32], skip[16];
    snprintf(t, sizeof t, "%.9g", io->t);
    snprintf(skip, sizeof skip, "%d", args->skip_layer);
    const duet_safetensors_kv meta[] = {{"generator", "duet dit"}, {"t", t},
                                        {"skip_layer", skip},
                                        {"first_frame_clean",
                                         args->first_frame_clean ? "true" : "false"}};
    return duet_safetensors_write(args->output, e, 2, meta, 4) == DUET_OK;
}

/* Loads, evaluates and writes; false on any failure (already reported). */
static bool run(const dit_args *args, duet_backend *be, const duet_safetensors *w,
                const duet_safetensors *in, dit_io *io) {
    duet_dit_config cfg;
    duet_dit_shape shape;
    duet_dit *m = NULL;
    duet_dit_session *s = NULL;
    duet_dit_load_params lp = duet_dit_default_load_params();
    lp.weight_dtype = args->weight_dtype;
    bool ok = duet_dit_config_load(args->config, &cfg) == DUET_OK &&
              input_shape(in, &cfg, &shape) && duet_dit_load(&cfg, w, be, &lp, &m) == DUET_OK &&
              duet_dit_session_new(m, &shape, &s) == DUET_OK &&
              load_inputs(in, &cfg, s, be, io);
    if (ok) {
        duet_dit_fill_timesteps(s, io->t, args->first_frame_clean ? 1 : 0, io->t_video,
                                io->t_audio);
        duet_dit_inputs di = duet_dit_default_inputs();
        di.video = io->video;
        di.audio = io->audio;
        di.context_video = io->ctx;
        di.context_audio = io->ctx_audio;
        di.t_video = io->t_video;
        di.t_audio = io->t_audio;
        di.skip_layer = args->skip_layer;
        ok = duet_dit_eval(s, &di, io->out_video, io->out_audio) == DUET_OK &&
             write_outputs(args, io);
    }
    duet_arena_free(&io->arena); /* the tensors before the session and model (same backend) */
    duet_dit_session_free(&s);
    duet_dit_free(&m);
    return ok;
}

int duet_cmd_dit(int argc, char **argv) {
    dit_args args;
    int rc = parse_args(argc, argv, &args);
    if (rc >= 0) return rc;
    duet_safetensors *w = NULL, *in = NULL;
    duet_backend *be = NULL;
    dit_io io = {0};
    bool ok = duet_safetensors_open(args.weights, &w) == DUET_OK &&
              duet_safetensors_open(args.inputs, &in) == DUET_OK &&
              duet_backend_new(&args.backend, &be) == DUET_OK &&
              (io.arena = duet_arena_new(0)) != NULL && run(&args, be, w, in, &io);
    if (!ok) fprintf(stderr, "duet dit: failed (see the messages above)\n");
    duet_arena_free(&io.arena);
    duet_free(io.t_video);
    duet_free(io.t_audio);
    duet_free(io.host_video);
    duet_free(io.host_audio);
    duet_backend_free(&be);
    duet_safetensors_close(&in);
    duet_safetensors_close(&w);
    return ok ? 0 : 1;
}
