/* duet — one shot's sampling loop over the joint DiT (see generate.h). Mirrors
 * tools/duet_tiny/sample.py generate (dit_eval, clean_masks, overwrite) and, upstream,
 * ovi/ovi_fusion_engine.py OviFusionEngine.generate lines 276-336 (the loop, CFG, SLG,
 * first-frame overwrite). Everything is planned before the first step: two samplers, the
 * conditional and unconditional velocity buffers, per-token timestep arrays and views onto the
 * given region of each latent. */
#include "diffusion/generate.h"

#include <math.h>
#include <stdio.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/ops.h"
#include "diffusion/noise.h"
#include "diffusion/schedule.h"

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

enum { VID = 0, AUD = 1, N_MOD = 2 };

duet_generate_params duet_generate_default_params(void) {
    duet_generate_params p = {
        .solver = DUET_SOLVER_UNIPC,
        .n_steps = 30,
        .shift = 2.0,
        .video_guidance = 4.0f,
        .audio_guidance = 3.0f,
        .slg_layer = -1,
        .seed = 0,
    };
    return p;
}

/* One call's planned state. */
typedef struct {
    const duet_dit *m;
    duet_dit_session *s;
    const duet_generate_params *p;
    const duet_generate_inputs *in;
    duet_tensor *x[N_MOD];          /* the caller's latents: the sample */
    bool cfg;                       /* an unconditional pass is needed */
    duet_arena *arena;
    duet_tensor *v_pos[N_MOD];      /* conditional velocity; the guided one after mixing */
    duet_tensor *v_neg[N_MOD];      /* unconditional velocity (cfg only) */
    duet_tensor *given_dst[N_MOD];  /* view of x over the given region, or NULL */
    const duet_tensor *given[N_MOD];
    duet_sampler *smp[N_MOD];
    int64_t n_tokens[N_MOD];
    int64_t n_clean[N_MOD];         /* video: latent frames; audio: tokens */
    float *t_tok[N_MOD];            /* per-token timesteps (host) */
} gen_run;

/* ---------------------------------------------------------------- argument checks */

static bool check_params(const duet_generate_params *p, const duet_dit_config *cfg) {
    if (duet_schedule_shifted(p->n_steps, p->shift, NULL, NULL) != DUET_OK) return false;
    bool ok = (unsigned)p->solver < DUET_SOLVER_COUNT && isfinite(p->video_guidance) &&
              isfinite(p->audio_guidance) && p->slg_layer < cfg->video.n_layers;
    if (!ok)
        DUET_LOGE("generate: solver %d, guidance %g / %g, slg_layer %d: need a known solver, "
                  "finite guidance and slg_layer below %lld", (int)p->solver,
                  (double)p->video_guidance, (double)p->audio_guidance, p->slg_layer,
                  (long long)cfg->video.n_layers);
    return ok;
}

/* t is f32 on be with ne[0..n_dims-1] == want (innermost first; -1: any value in 1..max_last
 * for the last dim), contiguous if asked. */
static bool check_tensor(const char *what, const duet_tensor *t, const duet_backend *be,
                         int n_dims, const int64_t *want, int64_t max_last, bool contiguous) {
    bool ok = t && t->dtype == DUET_F32 && t->buf && t->buf->backend == be &&
              (!contiguous || duet_is_contiguous(t));
    for (int d = 0; ok && d < DUET_MAX_DIMS; d++) {
        if (d < n_dims && want[d] < 0) ok = t->ne[d] >= 1 && t->ne[d] <= max_last;
        else ok = t->ne[d] == (d < n_dims ? want[d] : 1);
    }
    if (!ok) {
        char got[96] = "NULL", exp[128];
        size_t n = (size_t)snprintf(exp, sizeof exp, "[");
        for (int d = 0; d < n_dims && n < sizeof exp; d++)
            n += want[d] < 0 ? (size_t)snprintf(exp + n, sizeof exp - n, "%s1..%lld",
                                                d ? ", " : "", (long long)max_last)
                             : (size_t)snprintf(exp + n, sizeof exp - n, "%s%lld",
                                                d ? ", " : "", (long long)want[d]);
        if (n < sizeof exp) snprintf(exp + n, sizeof exp - n, "]");
        if (t) duet_shape_str(t, got, sizeof got);
        DUET_LOGE("generate: %s must be %sf32 %s on the model's backend (innermost first); got "
                  "%s %s", what, contiguous ? "contiguous " : "", exp,
                  t ? duet_dtype_name(t->dtype) : "", got);
    }
    return ok;
}

static bool check_latents(const gen_run *r) {
    const duet_dit_config *cfg = duet_dit_get_config(r->m);
    const duet_backend *be = duet_dit_get_backend(r->m);
    const duet_tensor *v = r->x[VID], *a = r->x[AUD];
    if (cfg->video.in_dim != cfg->video.out_dim || cfg->audio.in_dim != cfg->audio.out_dim) {
        DUET_LOGE("generate: the model's in_dim and out_dim differ (video %lld / %lld, audio "
                  "%lld / %lld): its output is not a velocity of its input",
                  (long long)cfg->video.in_dim, (long long)cfg->video.out_dim,
                  (long long)cfg->audio.in_dim, (long long)cfg->audio.out_dim);
        return false;
    }
    const int64_t ph = cfg->video.patch_size[1], pw = cfg->video.patch_size[2];
    const int64_t v_ne[4] = {v ? v->ne[0] : 0, v ? v->ne[1] : 0, v ? v->ne[2] : 0,
                             cfg->video.in_dim};
    const int64_t a_ne[2] = {cfg->audio.in_dim, r->n_tokens[AUD]};
    if (!check_tensor("the video latent", v, be, 4, v_ne, 0, true) ||
        !check_tensor("the audio latent", a, be, 2, a_ne, 0, true))
        return false;
    if (v->ne[0] % pw || v->ne[1] % ph ||
        v->ne[2] * (v->ne[1] / ph) * (v->ne[0] / pw) != r->n_tokens[VID]) {
        DUET_LOGE("generate: the video latent [%lld, %lld, %lld, C] does not make the session's "
                  "%lld tokens", (long long)v->ne[0], (long long)v->ne[1], (long long)v->ne[2],
                  (long long)r->n_tokens[VID]);
        return false;
    }
    return true;
}

static bool check_inputs(const gen_run *r) {
    const duet_generate_inputs *in = r->in;
    const duet_backend *be = duet_dit_get_backend(r->m);
    const duet_tensor *v = r->x[VID];
    if (!in->context) {
        DUET_LOGE("generate: the prompt context is required");
        return false;
    }
    if (r->cfg && (!in->context_video_neg || !in->context_audio_neg)) {
        DUET_LOGE("generate: guidance is on (scales %g / %g): both negative contexts are "
                  "required", (double)r->p->video_guidance, (double)r->p->audio_guidance);
        return false;
    }
    const int64_t vg[4] = {v->ne[0], v->ne[1], -1, v->ne[3]};
    const int64_t ag[2] = {r->x[AUD]->ne[0], -1};
    return (!in->video_given ||
            check_tensor("video_given", in->video_given, be, 4, vg, v->ne[2], false)) &&
           (!in->audio_given ||
            check_tensor("audio_given", in->audio_given, be, 2, ag, r->n_tokens[AUD], false));
}

/* ---------------------------------------------------------------- planning */

static duet_tensor *like(duet_arena *a, const duet_tensor *t, const char *name) {
    duet_tensor *n = duet_tensor_new(a, t->buf->backend, DUET_F32, t->n_dims, t->ne);
    if (n) duet_tensor_set_name(n, name);
    return n;
}

static duet_status plan(gen_run *r) {
    const duet_generate_params *p = r->p;
    r->arena = duet_arena_new(0);
    if (!r->arena) return DUET_ERR_OUT_OF_MEMORY;
    const duet_tensor *given[N_MOD] = {r->in->video_given, r->in->audio_given};
    static const char *const pos_name[N_MOD] = {"generate.video_v_cond", "generate.audio_v_cond"};
    static const char *const neg_name[N_MOD] = {"generate.video_v_uncond",
                                                "generate.audio_v_uncond"};
    for (int k = 0; k < N_MOD; k++) {
        duet_tensor *x = r->x[k];
        r->v_pos[k] = like(r->arena, x, pos_name[k]);
        r->v_neg[k] = r->cfg ? like(r->arena, x, neg_name[k]) : NULL;
        if (!r->v_pos[k] || (r->cfg && !r->v_neg[k])) return DUET_ERR_OUT_OF_MEMORY;
        r->t_tok[k] = duet_malloc((size_t)r->n_tokens[k] * sizeof(float));
        if (!r->t_tok[k]) return DUET_ERR_OUT_OF_MEMORY;
        TRY(duet_sampler_new(x->buf->backend, p->solver, p->n_steps, p->shift, x->n_dims, x->ne,
                             &r->smp[k]));
        r->given[k] = given[k];
        if (!given[k]) continue;
        /* the given region: leading frames (video dim 2) or leading tokens (audio dim 1) */
        const int dim = k == VID ? 2 : 1;
        r->n_clean[k] = given[k]->ne[dim];
        r->given_dst[k] = duet_slice(r->arena, x, dim, 0, r->n_clean[k]);
        if (!r->given_dst[k]) return DUET_ERR_OUT_OF_MEMORY;
    }
    return DUET_OK;
}

/* Host noise, one modality at a time, into the caller's latents. */
static duet_status upload_noise(gen_run *r) {
    static const uint32_t stream[N_MOD] = {DUET_NOISE_STREAM_VIDEO, DUET_NOISE_STREAM_AUDIO};
    for (int k = 0; k < N_MOD; k++) {
        const size_t n = (size_t)duet_nelements(r->x[k]);
        float *host = duet_malloc(n * sizeof *host);
        if (!host) return DUET_ERR_OUT_OF_MEMORY;
        duet_noise_fill(host, n, r->p->seed, stream[k], 0);
        duet_status st = duet_tensor_set_f32(r->x[k], host);
        duet_free(host);
        TRY(st);
    }
    return DUET_OK;
}

/* ---------------------------------------------------------------- the loop */

static duet_status write_given(gen_run *r) {
    for (int k = 0; k < N_MOD; k++)
        if (r->given[k]) TRY(duet_copy(r->given_dst[k], r->given[k]));
    return DUET_OK;
}

/* Per-token timesteps of step i: the sampler's timestep, 0 on the clean tokens. */
static void fill_timesteps(gen_run *r, int i) {
    const int64_t clean_v = r->n_clean[VID] * duet_dit_session_video_tokens_per_frame(r->s);
    const float t_v = (float)duet_sampler_timestep(r->smp[VID], i);
    const float t_a = (float)duet_sampler_timestep(r->smp[AUD], i);
    for (int64_t n = 0; n < r->n_tokens[VID]; n++) r->t_tok[VID][n] = n < clean_v ? 0.0f : t_v;
    for (int64_t n = 0; n < r->n_tokens[AUD]; n++)
        r->t_tok[AUD][n] = n < r->n_clean[AUD] ? 0.0f : t_a;
}

/* v_pos <- v_neg + s (v_pos - v_neg), as s v_pos + (1 - s) v_neg. */
static duet_status guide(duet_tensor *pos, duet_tensor *neg, float scale) {
    TRY(duet_scale(pos, pos, scale, 0.0f));
    TRY(duet_scale(neg, neg, 1.0f - scale, 0.0f));
    return duet_add(pos, pos, neg);
}

/* The guided velocity of both modalities at step i, in v_pos. */
static duet_status velocity(gen_run *r) {
    duet_dit_inputs in = duet_dit_default_inputs();
    in.video = r->x[VID];
    in.audio = r->x[AUD];
    in.context_video = in.context_audio = r->in->context;
    in.t_video = r->t_tok[VID];
    in.t_audio = r->t_tok[AUD];
    TRY(duet_dit_eval(r->s, &in, r->v_pos[VID], r->v_pos[AUD]));
    if (!r->cfg) return DUET_OK;
    in.context_video = r->in->context_video_neg;
    in.context_audio = r->in->context_audio_neg;
    in.skip_layer = r->p->slg_layer > 0 ? r->p->slg_layer : -1; /* Ovi: if slg_layer > 0 */
    TRY(duet_dit_eval(r->s, &in, r->v_neg[VID], r->v_neg[AUD]));
    TRY(guide(r->v_pos[VID], r->v_neg[VID], r->p->video_guidance));
    return guide(r->v_pos[AUD], r->v_neg[AUD], r->p->audio_guidance);
}

static duet_status run_steps(gen_run *r) {
    const int n = r->p->n_steps;
    for (int i = 0; i < n; i++) {
        TRY(write_given(r));
        fill_timesteps(r, i);
        TRY(velocity(r));
        for (int k = 0; k < N_MOD; k++) TRY(duet_sampler_step(r->smp[k], r->v_pos[k], r->x[k]));
        if (r->p->progress) {
            TRY(duet_backend_sync(duet_dit_get_backend(r->m)));
            if (!r->p->progress(i + 1, n, r->p->progress_user_data)) {
                DUET_LOGI("generate: cancelled after step %d of %d", i + 1, n);
                return DUET_ERR_CANCELLED;
            }
        }
    }
    TRY(write_given(r));
    return duet_backend_sync(duet_dit_get_backend(r->m));
}

duet_status duet_generate(const duet_dit *m, duet_dit_session *s, const duet_generate_params *p,
                          const duet_generate_inputs *in, duet_tensor *video, duet_tensor *audio) {
    const duet_generate_params defaults = duet_generate_default_params();
    if (!m || !s || !in) {
        DUET_LOGE("generate: model, session and inputs are required");
        return DUET_ERR_INVALID_ARG;
    }
    gen_run r = {.m = m, .s = s, .p = p ? p : &defaults, .in = in, .x = {video, audio}};
    r.cfg = r.p->video_guidance != 1.0f || r.p->audio_guidance != 1.0f;
    r.n_tokens[VID] = duet_dit_session_video_tokens(s);
    r.n_tokens[AUD] = duet_dit_session_audio_tokens(s);
    if (!check_params(r.p, duet_dit_get_config(m)) || !check_latents(&r) || !check_inputs(&r))
        return DUET_ERR_INVALID_ARG;
    duet_status st = plan(&r);
    if (st == DUET_OK) st = upload_noise(&r);
    if (st == DUET_OK) st = run_steps(&r);
    if (st != DUET_OK && st != DUET_ERR_CANCELLED)
        DUET_LOGE("generate: failed: %s", duet_status_str(st));
    for (int k = 0; k < N_MOD; k++) {
        duet_sampler_free(&r.smp[k]);
        duet_free(r.t_tok[k]);
    }
    duet_arena_free(&r.arena);
    return st;
}
