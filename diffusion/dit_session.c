/* duet — planning a joint DiT run: for one set of latent sizes, every activation of both towers
 * is allocated on the model's backend and the RoPE tables are built and uploaded, once; the
 * evaluations that follow (dit.c) allocate nothing. Token grids and RoPE follow Ovi's
 * WanModel.prepare_transformer_block_kwargs and set_rope_params (ovi/modules/model.py). */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "core/rope.h"
#include "dit_internal.h"

static duet_tensor *act(duet_arena *a, duet_backend *be, duet_dtype dt, int64_t ne0,
                        int64_t ne1, const char *tower, const char *name) {
    duet_tensor *t = duet_tensor_new4(a, be, dt, ne0, ne1, 1, 1);
    if (t) {
        char full[DUET_NAME_MAX];
        snprintf(full, sizeof full, "dit.%s.%s", tower, name);
        duet_tensor_set_name(t, full);
    }
    return t;
}

/* Builds the tower's RoPE table on the host and uploads it. */
static duet_status upload_rope(duet_dit_tower_run *r, const int64_t grid[3]) {
    const duet_dit_tower_config *c = &r->w->c;
    const int hd = (int)duet_dit_tower_head_dim(c);
    float *table = duet_malloc((size_t)(hd * r->n_tokens) * sizeof *table);
    if (!table) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s;
    if (c->is_audio) {
        int pairs[3];
        duet_rope_split_3d(hd, pairs);
        s = duet_rope_table_1d(table, hd, (int)r->n_tokens, pairs[0], c->rope_scale,
                               DUET_DIT_ROPE_THETA);
    } else {
        s = duet_rope_table_3d(table, hd, (int)grid[0], (int)grid[1], (int)grid[2],
                               DUET_DIT_ROPE_THETA);
    }
    if (s == DUET_OK) s = duet_tensor_set_f32(r->rope, table);
    duet_free(table);
    return s;
}

/* Zeros for the context padding (uploaded once; copied into the padded rows per run). */
static duet_status upload_zeros(duet_tensor *t) {
    float *z = duet_calloc((size_t)duet_nelements(t), sizeof *z);
    if (!z) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s = duet_tensor_set_f32(t, z);
    duet_free(z);
    return s;
}

static duet_status plan_embed(duet_dit_tower_run *r, duet_arena *a, duet_backend *be,
                              const char *tn) {
    const duet_dit_tower_config *c = &r->w->c;
    const int64_t L = r->n_tokens;
    if (!c->is_audio) {
        const int64_t k = c->in_dim * c->patch_size[0] * c->patch_size[1] * c->patch_size[2];
        r->patches = act(a, be, DUET_F32, k, L, tn, "patches");
        r->head_out = act(a, be, DUET_F32, c->out_dim * (k / c->in_dim), L, tn, "head_out");
        return r->patches && r->head_out ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
    }
    r->a_in = act(a, be, DUET_F32, L, c->in_dim, tn, "audio_in");
    r->a_conv = act(a, be, DUET_F32, L, c->dim, tn, "conv");
    r->a_h1 = act(a, be, DUET_F32, L, r->w->mlp_hidden, tn, "mlp_w1");
    r->a_h3 = act(a, be, DUET_F32, L, r->w->mlp_hidden, tn, "mlp_w3");
    r->a_out = act(a, be, DUET_F32, L, c->dim, tn, "mlp_out");
    return r->a_in && r->a_conv && r->a_h1 && r->a_h3 && r->a_out ? DUET_OK
                                                                   : DUET_ERR_OUT_OF_MEMORY;
}

static duet_status plan_time_text(duet_dit_tower_run *r, duet_arena *a, duet_backend *be,
                                  const char *tn) {
    const duet_dit_tower_config *c = &r->w->c;
    const int64_t L = r->n_tokens, dim = c->dim, nv = DUET_DIT_MAX_T_VALUES;
    r->t_sinus = act(a, be, DUET_F32, c->freq_dim, nv, tn, "t_sinus");
    r->t_hidden = act(a, be, DUET_F32, dim, nv, tn, "t_hidden");
    r->e_u = act(a, be, DUET_F32, dim, nv, tn, "e_values");
    r->e_act = act(a, be, DUET_F32, dim, nv, tn, "e_silu");
    r->e0_u = act(a, be, DUET_F32, 6 * dim, nv, tn, "e0_values");
    r->t_ids = act(a, be, DUET_I32, L, 1, tn, "t_ids");
    r->e = act(a, be, DUET_F32, dim, L, tn, "e");
    r->e0_rows = act(a, be, DUET_F32, 6 * dim, L, tn, "e0");
    const int64_t e0_ne[3] = {dim, 6, L};
    r->e0 = r->e0_rows ? duet_reshape(a, r->e0_rows, 3, e0_ne) : NULL;
    r->ctx_in = act(a, be, DUET_F32, c->text_dim, c->text_len, tn, "context_in");
    r->ctx_zero = act(a, be, DUET_F32, c->text_dim, c->text_len, tn, "context_zero");
    r->ctx_hidden = act(a, be, DUET_F32, dim, c->text_len, tn, "context_hidden");
    r->ctx = act(a, be, DUET_F32, dim, c->text_len, tn, "context");
    r->host_sinus = duet_arena_alloc(a, (size_t)(c->freq_dim * nv) * sizeof(float));
    r->host_ids = duet_arena_alloc(a, (size_t)L * sizeof(int32_t));
    if (!r->t_sinus || !r->t_hidden || !r->e_u || !r->e_act || !r->e0_u || !r->t_ids || !r->e ||
        !r->e0 || !r->ctx_in || !r->ctx_zero || !r->ctx_hidden || !r->ctx || !r->host_sinus ||
        !r->host_ids)
        return DUET_ERR_OUT_OF_MEMORY;
    return upload_zeros(r->ctx_zero);
}

static duet_status plan_tower(duet_dit_tower_run *r, const duet_dit_tower *w, int64_t n_tokens,
                              int64_t n_other, const int64_t grid[3], duet_arena *a,
                              duet_backend *be) {
    const duet_dit_tower_config *c = &w->c;
    const char *tn = c->is_audio ? "audio" : "video";
    r->w = w;
    r->n_tokens = n_tokens;
    const duet_wan_block_params p = {.dim = c->dim, .ffn_dim = c->ffn_dim,
                                     .n_heads = c->n_heads, .eps = c->eps};
    duet_status s = duet_fusion_scratch_init(&r->blk, &p, n_tokens, c->text_len, n_other, a, be);
    if (s != DUET_OK) return s;
    r->x = act(a, be, DUET_F32, c->dim, n_tokens, tn, "x");
    r->rope = act(a, be, DUET_F32, duet_dit_tower_head_dim(c), n_tokens, tn, "rope");
    if (!r->x || !r->rope) return DUET_ERR_OUT_OF_MEMORY;
    s = plan_embed(r, a, be, tn);
    if (s == DUET_OK) s = plan_time_text(r, a, be, tn);
    if (s == DUET_OK) s = upload_rope(r, grid);
    return s;
}

static bool shape_ok(const duet_dit_config *cfg, const duet_dit_shape *sh) {
    const int64_t *p = cfg->video.patch_size;
    /* 2^24 bounds keep token counts and table sizes far from overflow. */
    const int64_t lim = (int64_t)1 << 24;
    bool ok = sh->video_frames >= 1 && sh->video_h >= 1 && sh->video_w >= 1 &&
              sh->audio_len >= 1 && sh->video_frames % p[0] == 0 && sh->video_h % p[1] == 0 &&
              sh->video_w % p[2] == 0 && sh->audio_len < lim &&
              sh->video_frames * sh->video_h * sh->video_w < lim;
    if (!ok)
        DUET_LOGE("dit: latent sizes video F %lld H %lld W %lld, audio L %lld do not fit the "
                  "model (positive; H, W multiples of the patch %lld x %lld)",
                  (long long)sh->video_frames, (long long)sh->video_h, (long long)sh->video_w,
                  (long long)sh->audio_len, (long long)p[1], (long long)p[2]);
    return ok;
}

duet_status duet_dit_session_new(const duet_dit *m, const duet_dit_shape *shape,
                                 duet_dit_session **out) {
    if (out) *out = NULL;
    if (!m || !shape || !out) {
        DUET_LOGE("duet_dit_session_new: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    if (!shape_ok(&m->cfg, shape)) return DUET_ERR_INVALID_ARG;
    duet_dit_session *s = duet_calloc(1, sizeof *s);
    if (!s || !(s->arena = duet_arena_new(0))) {
        duet_free(s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s->m = m;
    s->shape = *shape;
    const int64_t *p = m->cfg.video.patch_size;
    s->grid[0] = shape->video_frames / p[0];
    s->grid[1] = shape->video_h / p[1];
    s->grid[2] = shape->video_w / p[2];
    const int64_t nv = s->grid[0] * s->grid[1] * s->grid[2], na = shape->audio_len;
    const int64_t audio_grid[3] = {na, 1, 1};
    duet_status st = plan_tower(&s->run[DUET_DIT_VIDEO], &m->tower[DUET_DIT_VIDEO], nv, na,
                                s->grid, s->arena, m->be);
    if (st == DUET_OK)
        st = plan_tower(&s->run[DUET_DIT_AUDIO], &m->tower[DUET_DIT_AUDIO], na, nv, audio_grid,
                        s->arena, m->be);
    if (st != DUET_OK) {
        DUET_LOGE("dit: cannot plan a run of %lld video and %lld audio tokens (%s)",
                  (long long)nv, (long long)na, duet_status_str(st));
        duet_dit_session_free(&s);
        return st;
    }
    *out = s;
    return DUET_OK;
}

void duet_dit_session_free(duet_dit_session **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free(*s);
    *s = NULL;
}

int64_t duet_dit_session_video_tokens(const duet_dit_session *s) {
    return s->run[DUET_DIT_VIDEO].n_tokens;
}

int64_t duet_dit_session_video_tokens_per_frame(const duet_dit_session *s) {
    return s->grid[1] * s->grid[2];
}

int64_t duet_dit_session_audio_tokens(const duet_dit_session *s) {
    return s->run[DUET_DIT_AUDIO].n_tokens;
}

void duet_dit_fill_timesteps(const duet_dit_session *s, float t, int64_t n_clean_frames,
                             float *t_video, float *t_audio) {
    const int64_t nv = duet_dit_session_video_tokens(s);
    int64_t n_clean = n_clean_frames * duet_dit_session_video_tokens_per_frame(s);
    if (n_clean < 0) n_clean = 0;
    for (int64_t i = 0; t_video && i < nv; i++) t_video[i] = i < n_clean ? 0.0f : t;
    for (int64_t i = 0; t_audio && i < duet_dit_session_audio_tokens(s); i++) t_audio[i] = t;
}

