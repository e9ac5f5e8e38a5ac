/* duet — the DiT parts of the duet-tiny golden test (see test_tiny.c): one fusion block
 * (diffusion/dit_fusion_block.h over wan_block.h, driven in the order diffusion/dit.c runs a
 * layer) and the whole joint DiT (diffusion/dit.h) at the model's latent size, conditional and
 * unconditional, mixed as generate.c mixes them, against tools/duet_tiny/golden.py's dit_block
 * and dit_full (PyTorch: tools/duet_tiny/dit.py, in f32 from the f16 weights).
 * Tolerances (normalized mean squared error; weights f16 widened to f32, f32 arithmetic on both
 * sides, different summation orders): see the limits below, with the largest value measured on
 * the trained duet-tiny and on a random-weight export of the same layout. Semantic slips in a
 * block cost 1e-4 and more (tests/golden/test_wan_block.c, test_ovi_dit.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/rope.h"
#include "diffusion/dit.h"
#include "diffusion/dit_fusion_block.h"
#include "test_tiny.h"

/* One block: measured <= 1.1e-13 (CPU), <= 1.6e-13 (lavapipe). */
#define BLOCK_CPU_NMSE 1e-10
#define BLOCK_GPU_NMSE 1e-9
/* The whole DiT (every block, embeddings, head): measured <= 6.4e-13 (CPU), <= 7.0e-13
 * (lavapipe). Two evaluations at the model's size take about 9 s on lavapipe (2 cores). */
#define DIT_CPU_NMSE 1e-9
#define DIT_GPU_NMSE 1e-8
/* The guided mix neg + s (pos - neg) with s up to 4 amplifies the difference of two close
 * predictions: measured <= 2.9e-12 (CPU and lavapipe). */
#define GUIDED_CPU_NMSE 1e-8
#define GUIDED_GPU_NMSE 1e-7
/* RoPE base of Wan and Ovi (diffusion/dit_internal.h DUET_DIT_ROPE_THETA). */
#define ROPE_THETA 10000.0

/* ---------------------------------------------------------------- one fusion block */

typedef struct {
    duet_wan_block_params p;
    duet_fusion_block blk;
    duet_fusion_scratch s;
    duet_tensor *x, *e0, *ctx, *rope;
} tower_block;

static duet_wan_block_params block_params(const duet_dit_tower_config *c) {
    return (duet_wan_block_params){.dim = c->dim, .ffn_dim = c->ffn_dim, .n_heads = c->n_heads,
                                   .eps = c->eps};
}

/* The RoPE table of a tower for `n` tokens (video: the f x h x w token grid), as
 * dit_session.c builds it. */
static duet_tensor *rope_table(const duet_dit_tower_config *c, const int64_t grid[3], int64_t n,
                               duet_arena *a, duet_backend *be) {
    const int hd = (int)duet_dit_tower_head_dim(c);
    const int64_t ne[2] = {hd, n};
    float *table = malloc((size_t)(hd * n) * sizeof *table);
    duet_tensor *t = NULL;
    duet_status s = DUET_ERR_OUT_OF_MEMORY;
    if (table && c->is_audio) {
        int pairs[3];
        duet_rope_split_3d(hd, pairs);
        s = duet_rope_table_1d(table, hd, (int)n, pairs[0], c->rope_scale, ROPE_THETA);
    } else if (table) {
        s = duet_rope_table_3d(table, hd, (int)grid[0], (int)grid[1], (int)grid[2], ROPE_THETA);
    }
    if (s == DUET_OK) t = duet_test_tensor(a, be, DUET_F32, 2, ne, table, "rope");
    free(table);
    return t;
}

/* Loads block `index` of a tower with its inputs in.<name>, in.e0_<name>, in.ctx_<name>. */
static bool load_tower_block(const tiny_model *m, const duet_safetensors *g,
                             const duet_dit_tower_config *c, int64_t index, const int64_t grid[3],
                             int64_t n, int64_t n_other, duet_arena *a, duet_backend *be,
                             tower_block *t) {
    const char *name = c->is_audio ? "audio" : "video";
    char prefix[64], key[128];
    snprintf(prefix, sizeof prefix, "%s_model.blocks.%lld.", name, (long long)index);
    snprintf(key, sizeof key, "%sself_attn.q.weight", prefix);
    const duet_safetensors_tensor *q = duet_safetensors_find(m->st, key);
    snprintf(key, sizeof key, "in.ctx_%s", name);
    const duet_safetensors_tensor *ctx = duet_safetensors_find(g, key);
    if (!q || !ctx) return false;
    t->p = block_params(c);
    const int64_t x_ne[2] = {c->dim, n}, e0_ne[3] = {c->dim, 6, n};
    const int64_t ctx_ne[2] = {c->dim, ctx->ne[1]};
    duet_weights w;
    bool ok = duet_weights_open(&w, "fusion block", m->st, prefix, a, be, q->dtype) == DUET_OK;
    ok = ok && duet_fusion_block_load(&t->blk, &t->p, &w) == DUET_OK &&
              duet_fusion_scratch_init(&t->s, &t->p, n, ctx->ne[1], n_other, a, be) == DUET_OK &&
              duet_safetensors_load_shaped(g, key, a, be, DUET_F32, 2, ctx_ne, &t->ctx) ==
                  DUET_OK;
    snprintf(key, sizeof key, "in.%s", name);
    ok = ok && duet_safetensors_load_shaped(g, key, a, be, DUET_F32, 2, x_ne, &t->x) == DUET_OK;
    snprintf(key, sizeof key, "in.e0_%s", name);
    ok = ok && duet_safetensors_load_shaped(g, key, a, be, DUET_F32, 3, e0_ne, &t->e0) == DUET_OK;
    duet_weights_close(&w);
    t->rope = ok ? rope_table(c, grid, n, a, be) : NULL;
    return t->rope != NULL;
}

/* One layer as dit.c runs it: both self-attentions, then each tower's fusion keys from the
 * other stream as it stands after the self-attentions, then the audio cross-attention and
 * FFN, then the video's. */
static void run_layer(tower_block *v, tower_block *au) {
    T_CHECK_OK(duet_wan_block_modulation(&au->blk.wan, &au->s.wan, au->e0));
    T_CHECK_OK(duet_wan_block_self_attn(&au->blk.wan, &au->s.wan, au->x, au->rope));
    T_CHECK_OK(duet_wan_block_modulation(&v->blk.wan, &v->s.wan, v->e0));
    T_CHECK_OK(duet_wan_block_self_attn(&v->blk.wan, &v->s.wan, v->x, v->rope));
    T_CHECK_OK(duet_fusion_block_kv(&v->blk, &v->s, au->x, au->rope));
    T_CHECK_OK(duet_fusion_block_kv(&au->blk, &au->s, v->x, v->rope));
    T_CHECK_OK(duet_fusion_block_cross_attn(&au->blk, &au->s, au->x, au->ctx, au->rope));
    T_CHECK_OK(duet_wan_block_ffn(&au->blk.wan, &au->s.wan, au->x));
    T_CHECK_OK(duet_fusion_block_cross_attn(&v->blk, &v->s, v->x, v->ctx, v->rope));
    T_CHECK_OK(duet_wan_block_ffn(&v->blk.wan, &v->s.wan, v->x));
}

static void block_on(const tiny_model *m, const duet_safetensors *g, duet_backend *be,
                     const int64_t grid[3], int64_t n_audio, int64_t index, const float *want_v,
                     const float *want_a) {
    const int64_t n_video = grid[0] * grid[1] * grid[2];
    duet_arena *a = duet_arena_new(0);
    tower_block v = {0}, au = {0};
    bool ready = a && load_tower_block(m, g, &m->dit.video, index, grid, n_video, n_audio, a,
                                       be, &v) &&
                 load_tower_block(m, g, &m->dit.audio, index, grid, n_audio, n_video, a, be, &au);
    if (!ready) fprintf(stderr, "FAIL: dit block %lld on %s: cannot load the block or its "
                        "inputs\n", (long long)index, tiny_backend_label(be));
    T_CHECK(ready);
    if (ready) {
        run_layer(&v, &au);
        const double tol = tiny_tol(be, BLOCK_CPU_NMSE, BLOCK_GPU_NMSE);
        char label[96];
        snprintf(label, sizeof label, "dit block %lld on %s: video", (long long)index,
                 tiny_backend_label(be));
        duet_golden_compare_tensor(label, v.x, want_v, (size_t)(n_video * m->dit.video.dim),
                                   tol);
        snprintf(label, sizeof label, "dit block %lld on %s: audio", (long long)index,
                 tiny_backend_label(be));
        duet_golden_compare_tensor(label, au.x, want_a, (size_t)(n_audio * m->dit.audio.dim),
                                   tol);
    }
    duet_arena_free(&a);
}

void tiny_check_dit_block(const tiny_model *m, duet_backend *be, bool first) {
    duet_safetensors *g = tiny_open_golden(m, "dit_block");
    int64_t grid[3];
    double n_audio = 0, index = 0;
    if (!g || !tiny_meta_ints(g, "grid", grid, 3) || !tiny_meta_number(g, "audio_len", &n_audio) ||
        !tiny_meta_number(g, "block", &index)) {
        duet_safetensors_close(&g);
        return;
    }
    const size_t nv = (size_t)(grid[0] * grid[1] * grid[2] * m->dit.video.dim);
    const size_t na = (size_t)n_audio * (size_t)m->dit.audio.dim;
    float *in_v = duet_golden_read(g, "in.video", DUET_F32, nv, NULL);
    float *in_a = duet_golden_read(g, "in.audio", DUET_F32, na, NULL);
    float *want_v = duet_golden_read(g, "out.video", DUET_F32, nv, NULL);
    float *want_a = duet_golden_read(g, "out.audio", DUET_F32, na, NULL);
    if (in_v && in_a && want_v && want_a) {
        /* the reference must be worth matching: the block moves both streams */
        if (first)
            T_CHECK(duet_golden_nmse(in_v, want_v, nv) > 1e-3 &&
                    duet_golden_nmse(in_a, want_a, na) > 1e-3);
        block_on(m, g, be, grid, (int64_t)n_audio, (int64_t)index, want_v, want_a);
    }
    free(in_v), free(in_a), free(want_v), free(want_a);
    duet_safetensors_close(&g);
}

/* ---------------------------------------------------------------- the whole DiT */

typedef struct {
    const tiny_model *m;
    const duet_safetensors *g;
    duet_dit_shape shape;
    int64_t n_video, n_audio;  /* elements of the video and audio outputs */
    int skip_layer;            /* of the unconditional pass (metadata slg_layer) */
    double scale_v, scale_a;   /* guidance */
    float *t_video, *t_audio;  /* per-token timesteps */
} full_case;

/* The per-token timesteps of the golden, which must also be what duet_dit_fill_timesteps
 * gives for the first latent frame clean (t = 0) and the rest at the golden's t. */
static bool read_timesteps(full_case *c, const duet_dit_session *s) {
    const size_t nv = (size_t)duet_dit_session_video_tokens(s);
    const size_t na = (size_t)duet_dit_session_audio_tokens(s);
    c->t_video = duet_golden_read(c->g, "in.t_video", DUET_F32, nv, NULL);
    c->t_audio = duet_golden_read(c->g, "in.t_audio", DUET_F32, na, NULL);
    float *fv = malloc(nv * sizeof *fv), *fa = malloc(na * sizeof *fa);
    bool ok = c->t_video && c->t_audio && fv && fa;
    if (ok) {
        duet_dit_fill_timesteps(s, c->t_video[nv - 1], 1, fv, fa);
        ok = !memcmp(fv, c->t_video, nv * sizeof *fv) && !memcmp(fa, c->t_audio, na * sizeof *fa);
        if (!ok) fprintf(stderr, "FAIL: dit_full: duet_dit_fill_timesteps(%g, 1 clean frame) "
                         "differs from in.t_video / in.t_audio\n", (double)c->t_video[nv - 1]);
        T_CHECK(ok);
    }
    free(fv), free(fa);
    return c->t_video && c->t_audio;
}

/* One evaluation; the outputs are downloaded to host v and a and compared with out.<name>_*. */
static bool eval_case(const full_case *c, duet_dit_session *s, const duet_tensor *const io[5],
                      bool positive, duet_tensor *ov, duet_tensor *oa, float *v, float *a,
                      duet_backend *be) {
    duet_dit_inputs in = duet_dit_default_inputs();
    in.video = io[0];
    in.audio = io[1];
    in.context_video = positive ? io[2] : io[3];
    in.context_audio = positive ? io[2] : io[4];
    in.t_video = c->t_video;
    in.t_audio = c->t_audio;
    in.skip_layer = positive ? -1 : c->skip_layer;
    duet_status st = duet_dit_eval(s, &in, ov, oa);
    T_CHECK_OK(st);
    if (st != DUET_OK || duet_tensor_get_f32(ov, v) != DUET_OK ||
        duet_tensor_get_f32(oa, a) != DUET_OK)
        return false;
    const char *kind = positive ? "pos" : "neg";
    const double tol = tiny_tol(be, DIT_CPU_NMSE, DIT_GPU_NMSE);
    char label[96], ref[32];
    const char *part[2] = {"video", "audio"};
    const float *got[2] = {v, a};
    const size_t n[2] = {(size_t)c->n_video, (size_t)c->n_audio};
    for (int k = 0; k < 2; k++) {
        snprintf(ref, sizeof ref, "out.%s_%s", kind, part[k]);
        snprintf(label, sizeof label, "dit full on %s: %s", tiny_backend_label(be), ref);
        float *want = duet_golden_read(c->g, ref, DUET_F32, n[k], NULL);
        if (want) duet_golden_report(label, got[k], want, n[k], tol);
        free(want);
    }
    return true;
}

/* neg + s (pos - neg), as generate.c's guide(), against out.<name>. */
static void check_guided(const full_case *c, const float *pos, float *neg, size_t n, double s,
                         const char *name, duet_backend *be) {
    for (size_t i = 0; i < n; i++) neg[i] += (float)s * (pos[i] - neg[i]);
    char ref[32], label[96];
    snprintf(ref, sizeof ref, "out.%s", name);
    snprintf(label, sizeof label, "dit full on %s: guided %s (scale %g)", tiny_backend_label(be),
             name, s);
    float *want = duet_golden_read(c->g, ref, DUET_F32, n, NULL);
    if (want)
        duet_golden_report(label, neg, want, n, tiny_tol(be, GUIDED_CPU_NMSE, GUIDED_GPU_NMSE));
    free(want);
}

static void full_on(full_case *c, duet_backend *be) {
    const duet_dit_config *cfg = &c->m->dit;
    duet_dit *dit = NULL;
    duet_dit_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *io[5] = {0};
    static const char *const names[5] = {"in.video", "in.audio", "in.ctx_pos",
                                         "in.ctx_neg_video", "in.ctx_neg_audio"};
    bool ready = a && duet_dit_load(cfg, c->m->st, be, NULL, &dit) == DUET_OK &&
                 duet_dit_session_new(dit, &c->shape, &s) == DUET_OK;
    for (int i = 0; ready && i < 5; i++)
        ready = duet_safetensors_load(c->g, names[i], a, be, DUET_F32, &io[i]) == DUET_OK;
    duet_tensor *ov = ready ? duet_tensor_new4(a, be, DUET_F32, c->shape.video_w,
                                               c->shape.video_h, c->shape.video_frames,
                                               cfg->video.out_dim) : NULL;
    duet_tensor *oa = ready ? duet_tensor_new4(a, be, DUET_F32, cfg->audio.out_dim,
                                               c->shape.audio_len, 1, 1) : NULL;
    float *host[4] = {0};
    for (int i = 0; i < 4; i++)
        host[i] = malloc((size_t)(i % 2 ? c->n_audio : c->n_video) * sizeof(float));
    ready = ready && ov && oa && host[0] && host[1] && host[2] && host[3] &&
            (c->t_video || read_timesteps(c, s));
    T_CHECK(ready);
    const duet_tensor *const *in = (const duet_tensor *const *)io;
    if (ready && eval_case(c, s, in, true, ov, oa, host[0], host[1], be) &&
        eval_case(c, s, in, false, ov, oa, host[2], host[3], be)) {
        check_guided(c, host[0], host[2], (size_t)c->n_video, c->scale_v, "video", be);
        check_guided(c, host[1], host[3], (size_t)c->n_audio, c->scale_a, "audio", be);
    }
    for (int i = 0; i < 4; i++) free(host[i]);
    duet_dit_session_free(&s);
    duet_dit_free(&dit);
    duet_arena_free(&a);
}

/* The text encoder on the three prompts' ids against the contexts the DiT is given. */
static void check_contexts(const full_case *c, duet_backend *be) {
    static const char *const ids_names[3] = {"ids.pos", "ids.neg_video", "ids.neg_audio"};
    static const char *const ctx_names[3] = {"in.ctx_pos", "in.ctx_neg_video",
                                             "in.ctx_neg_audio"};
    for (int i = 0; i < 3; i++) {
        size_t n = 0;
        int32_t *ids = duet_golden_read(c->g, ids_names[i], DUET_I32, 0, &n);
        float *want = ids ? duet_golden_read(c->g, ctx_names[i], DUET_F32,
                                             n * (size_t)c->m->text.dim, NULL)
                          : NULL;
        if (want) tiny_check_encoder(c->m, be, ids, n, want, ctx_names[i]);
        free(ids), free(want);
    }
}

/* The reference must be worth matching: outputs far from zero, the unconditional pass far from
 * the conditional one (other prompts and a skipped block), the guided mix far from both. (A
 * model whose head is still at its zero initialisation fails here.) Reported when `report`. */
static bool references_differ(const full_case *c, bool report) {
    static const char *const names[2][3] = {{"out.pos_video", "out.neg_video", "out.video"},
                                            {"out.pos_audio", "out.neg_audio", "out.audio"}};
    bool ok = true;
    for (int k = 0; k < 2; k++) {
        const size_t n = (size_t)(k ? c->n_audio : c->n_video);
        float *r[3] = {0};
        for (int i = 0; i < 3; i++)
            r[i] = duet_golden_read(c->g, names[k][i], DUET_F32, n, NULL);
        if (r[0] && r[1] && r[2]) {
            double sq = 0;
            for (size_t i = 0; i < n; i++) sq += (double)r[0][i] * r[0][i];
            const double d_neg = duet_golden_nmse(r[1], r[0], n);
            const double d_mix = duet_golden_nmse(r[2], r[0], n);
            const bool differ = sq > 1e-6 * (double)n && d_neg > 1e-4 && d_mix > 1e-4;
            if (report) {
                fprintf(stderr, "dit_full references: %s rms %.3g; %s differs by nmse %.3g, %s "
                        "by %.3g\n", names[k][0], sqrt(sq / (double)n), names[k][1], d_neg,
                        names[k][2], d_mix);
                if (!differ) fprintf(stderr, "FAIL: dit_full: the references are (near) zero or "
                                     "too close to each other to test anything\n");
                T_CHECK(differ);
            }
            ok = ok && differ;
        } else {
            ok = false;
        }
        for (int i = 0; i < 3; i++) free(r[i]);
    }
    return ok;
}

void tiny_check_dit_full(const tiny_model *m, duet_backend *be, bool first) {
    duet_safetensors *g = tiny_open_golden(m, "dit_full");
    full_case c = {.m = m, .g = g};
    const duet_safetensors_tensor *v = c.g ? duet_safetensors_find(c.g, "in.video") : NULL;
    const duet_safetensors_tensor *au = c.g ? duet_safetensors_find(c.g, "in.audio") : NULL;
    double slg = -1;
    bool ok = v && au && v->n_dims == 4 && au->n_dims == 2 &&
              tiny_meta_number(c.g, "slg_layer", &slg) &&
              tiny_meta_number(c.g, "video_guidance_scale", &c.scale_v) &&
              tiny_meta_number(c.g, "audio_guidance_scale", &c.scale_a);
    if (ok) {
        /* PyTorch [C, F, H, W] and [L, C] */
        c.shape = (duet_dit_shape){.video_w = v->ne[0], .video_h = v->ne[1],
                                   .video_frames = v->ne[2], .audio_len = au->ne[1]};
        c.n_video = v->ne[0] * v->ne[1] * v->ne[2] * m->dit.video.out_dim;
        c.n_audio = au->ne[1] * m->dit.audio.out_dim;
        c.skip_layer = (int)slg;
        /* an unconditional pass that skips nothing would leave SLG untested */
        if (first) T_CHECK(c.skip_layer >= 0 && c.skip_layer < m->dit.video.n_layers);
    } else if (c.g) {
        fprintf(stderr, "FAIL: dit_full: in.video, in.audio or the metadata unusable\n");
        duet_test_failures++;
    }
    ok = ok && references_differ(&c, first);
    if (ok) {
        check_contexts(&c, be);
        full_on(&c, be);
    }
    free(c.t_video), free(c.t_audio);
    duet_safetensors_close(&g);
}
