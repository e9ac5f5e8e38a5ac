/* duet — the umT5-style text encoder built from core ops: loading its weights (Wan's T5 names,
 * checked strictly), planning a session, and the forward pass of text_encoder.h. The relative
 * position bias is looked up per layer with get_rows from a bucket table built on the host
 * once per prompt length, then permuted into the [Lk, Lq, H] operand of duet_attention.
 * Mirrors T5Encoder, T5SelfAttention, T5Attention, T5FeedForward, T5LayerNorm and
 * T5RelativeEmbedding in Wan-Video/Wan2.2 wan/modules/t5.py (tools/duet_tiny/text.py). */
#include "encoders/text_encoder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/log.h"
#include "core/ops.h"
#include "core/weights.h"

/* Longest prompt a session may plan: far above T5's 512, and L * L * n_heads stays small. */
#define MAX_TOKENS 4096
/* DUET_TEXT_EMBEDDING_AUTO keeps larger token tables on the host. */
#define HOST_EMBEDDING_BYTES ((size_t)64 << 20)

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

/* One layer's weights (PyTorch shapes, names under prefix + "blocks.N."). */
typedef struct {
    duet_tensor *norm1_w; /* norm1.weight [dim] */
    duet_tensor *q_w;     /* attn.q.weight [dim_attn, dim] */
    duet_tensor *k_w;     /* attn.k.weight [dim_attn, dim] */
    duet_tensor *v_w;     /* attn.v.weight [dim_attn, dim] */
    duet_tensor *o_w;     /* attn.o.weight [dim, dim_attn] */
    duet_tensor *norm2_w; /* norm2.weight [dim] */
    duet_tensor *gate_w;  /* ffn.gate.0.weight [dim_ffn, dim] (GELU-tanh follows: gate.1) */
    duet_tensor *fc1_w;   /* ffn.fc1.weight [dim_ffn, dim] */
    duet_tensor *fc2_w;   /* ffn.fc2.weight [dim, dim_ffn] */
    duet_tensor *pos_w;   /* pos_embedding.embedding.weight [n_buckets, n_heads], f32 */
} te_block;

/* The names a layer reads, in te_block's order (relative to "blocks.N."). */
static const char *const block_names[] = {
    "norm1.weight",      "attn.q.weight",  "attn.k.weight",  "attn.v.weight",
    "attn.o.weight",     "norm2.weight",   "ffn.gate.0.weight", "ffn.fc1.weight",
    "ffn.fc2.weight",    "pos_embedding.embedding.weight"};
#define N_BLOCK_TENSORS (sizeof block_names / sizeof block_names[0])

struct duet_text_encoder {
    duet_text_encoder_config cfg;
    duet_backend *be;
    duet_arena *arena;      /* every weight tensor and its buffer */
    duet_tensor *embed_w;   /* token_embedding.weight [vocab_size, dim] on the backend, or
                               NULL when the table is on the host: */
    void *host_embed;       /* the same rows in host memory (embed_dtype), or NULL */
    duet_dtype embed_dtype;
    duet_tensor *norm_w;    /* norm.weight [dim] */
    te_block *blocks;       /* n_layers */
};

struct duet_text_encoder_session {
    const duet_text_encoder *m;
    int64_t max_tokens;     /* T */
    duet_arena *arena;      /* every activation */
    duet_tensor *x;         /* [dim, T] the residual stream */
    duet_tensor *h;         /* [dim, T] a sub-layer's normalized input, then its output */
    duet_tensor *q, *k, *v; /* [dim_attn, T] */
    duet_tensor *attn;      /* [dim_attn, T] attention output, heads concatenated */
    duet_tensor *gate;      /* [dim_ffn, T] gelu(gate(h)), then times fc1(h) */
    duet_tensor *up;        /* [dim_ffn, T] fc1(h) */
    duet_tensor *bias_rows; /* [H, T T] a layer's table rows, gathered per (k, q) pair */
    duet_tensor *bias;      /* [T, T, H] storage; used as a contiguous [L, L, H] */
    duet_tensor *ids;       /* [T] i32 token ids */
    duet_tensor *buckets;   /* [T T] i32: bucket of (k, q) at k + L q */
    duet_tensor *zeros;     /* [dim, T] zeros: the source of the output's padding rows */
    float *host_x;          /* [dim, T] embedded tokens gathered on the host (host table) */
    int32_t *host_buckets;  /* [T T] */
    int64_t buckets_len;    /* L whose bucket table is on the device; 0: none yet */
};

/* ---------------------------------------------------------------- buckets */

int32_t duet_text_encoder_bucket(int64_t rel, int64_t n_buckets, int64_t max_dist) {
    /* Wan's _relative_position_bucket (bidirectional): keys after the query use the upper
     * half; within a half, distances below max_exact are exact, larger ones logarithmic.
     * The logarithm runs in float32 like upstream's (rel_pos.float()), so that distances on
     * a bucket boundary (16, 32, 64 with T5's sizes) land where PyTorch puts them. */
    const int64_t half = n_buckets / 2, max_exact = half / 2;
    int64_t bucket = rel > 0 ? half : 0;
    int64_t a = rel < 0 ? -rel : rel;
    if (a < max_exact) return (int32_t)(bucket + a);
    float ratio = (float)a / (float)max_exact;
    float scale = (float)log((double)max_dist / (double)max_exact);
    float f = logf(ratio) / scale * (float)(half - max_exact);
    int64_t large = max_exact + (int64_t)f;
    if (large > half - 1) large = half - 1;
    return (int32_t)(bucket + large);
}

/* ---------------------------------------------------------------- loading */

duet_text_encoder_load_params duet_text_encoder_default_load_params(void) {
    duet_text_encoder_load_params p = {.weight_dtype = DUET_DTYPE_COUNT,
                                       .embedding = DUET_TEXT_EMBEDDING_AUTO};
    return p;
}

static duet_status load_block(duet_weights *ld, const duet_text_encoder_config *c, int64_t i,
                              te_block *b) {
    const int64_t vec[1] = {c->dim}, in_proj[2] = {c->dim_attn, c->dim};
    const int64_t out_proj[2] = {c->dim, c->dim_attn}, ffn_in[2] = {c->dim_ffn, c->dim};
    const int64_t ffn_out[2] = {c->dim, c->dim_ffn}, pos[2] = {c->n_buckets, c->n_heads};
    const struct {
        duet_tensor **t;
        bool matrix;
        int n_dims;
        const int64_t *shape;
    } spec[N_BLOCK_TENSORS] = {
        {&b->norm1_w, false, 1, vec},    {&b->q_w, true, 2, in_proj},
        {&b->k_w, true, 2, in_proj},     {&b->v_w, true, 2, in_proj},
        {&b->o_w, true, 2, out_proj},    {&b->norm2_w, false, 1, vec},
        {&b->gate_w, true, 2, ffn_in},   {&b->fc1_w, true, 2, ffn_in},
        {&b->fc2_w, true, 2, ffn_out},   {&b->pos_w, false, 2, pos}};
    duet_status s = DUET_OK;
    for (size_t j = 0; j < N_BLOCK_TENSORS && s == DUET_OK; j++)
        s = duet_weights_load(ld, spec[j].matrix ? DUET_WEIGHT_MATRIX : DUET_WEIGHT_F32,
                              spec[j].n_dims, spec[j].shape, spec[j].t, "blocks.%lld.%s",
                              (long long)i, block_names[j]);
    return s;
}

static bool config_ok(const duet_text_encoder_config *c) {
    const int64_t lim = (int64_t)1 << 24;
    bool ok = c->vocab_size >= 1 && c->vocab_size <= ((int64_t)1 << 30) && c->dim >= 1 &&
              c->dim <= lim && c->dim_attn >= 1 && c->dim_attn <= lim && c->dim_ffn >= 1 &&
              c->dim_ffn <= lim && c->n_heads >= 1 && c->dim_attn % c->n_heads == 0 &&
              c->n_layers >= 1 && c->n_layers <= 4096 && c->n_buckets >= 4 &&
              c->n_buckets % 2 == 0 && c->n_buckets <= 4096 &&
              c->max_dist > c->n_buckets / 4 && c->max_dist <= lim && c->text_len >= 1 &&
              c->text_len <= lim && c->eps > 0 && isfinite(c->eps);
    if (!ok)
        DUET_LOGE("text encoder: config does not make sense (vocab %lld, dim %lld, dim_attn %lld, "
                  "dim_ffn %lld, heads %lld, layers %lld, buckets %lld, max_dist %lld, text_len "
                  "%lld, eps %g)", (long long)c->vocab_size, (long long)c->dim,
                  (long long)c->dim_attn, (long long)c->dim_ffn, (long long)c->n_heads,
                  (long long)c->n_layers, (long long)c->n_buckets, (long long)c->max_dist,
                  (long long)c->text_len, (double)c->eps);
    return ok;
}

/* The token table copied to host memory as `want` (converted row by row through an aligned
 * scratch row: the file's mapping may be unaligned). Checks as the device loader does. */
static duet_status load_host_embedding(duet_weights *ld, duet_text_encoder *m, duet_dtype want) {
    const duet_text_encoder_config *c = &m->cfg;
    const char *file = duet_safetensors_name(ld->st);
    const duet_safetensors_tensor *t = duet_weights_find(ld, "token_embedding.weight");
    if (!t) {
        DUET_LOGE("%s: tensor %stoken_embedding.weight not found", file, ld->prefix);
        return DUET_ERR_NOT_FOUND;
    }
    bool shape_ok = t->ne[0] == c->dim && t->ne[1] == c->vocab_size;
    for (int i = 2; i < DUET_MAX_DIMS; i++) shape_ok = shape_ok && t->ne[i] == 1;
    if (!shape_ok || t->dtype == DUET_I32) {
        DUET_LOGE("%s: tensor %s: %s [%lld, %lld, ...] (innermost first), expected a float "
                  "tensor [%lld, %lld]", file, t->name, duet_dtype_name(t->dtype),
                  (long long)t->ne[0], (long long)t->ne[1], (long long)c->dim,
                  (long long)c->vocab_size);
        return DUET_ERR_FORMAT;
    }
    const size_t fes = duet_dtype_size(t->dtype), wes = duet_dtype_size(want);
    const size_t n_rows = (size_t)c->vocab_size, row = (size_t)c->dim;
    m->host_embed = duet_malloc(n_rows * row * wes);
    void *tmp = want == t->dtype ? NULL : duet_malloc(row * fes);
    duet_status s = m->host_embed && (want == t->dtype || tmp) ? DUET_OK
                                                                : DUET_ERR_OUT_OF_MEMORY;
    if (s == DUET_OK && want == t->dtype) memcpy(m->host_embed, t->data, n_rows * row * wes);
    for (size_t r = 0; s == DUET_OK && tmp && r < n_rows; r++) {
        memcpy(tmp, (const char *)t->data + r * row * fes, row * fes);
        s = duet_convert((char *)m->host_embed + r * row * wes, want, tmp, t->dtype, row);
    }
    duet_free(tmp);
    m->embed_dtype = want;
    if (s == DUET_OK) duet_weights_mark_used(ld, t);
    return s;
}

/* Where the token table goes: the caller's choice, or by size (AUTO). */
static bool embedding_on_host(duet_weights *ld, const duet_text_encoder_config *c,
                              duet_text_embedding_place place) {
    if (place != DUET_TEXT_EMBEDDING_AUTO) return place == DUET_TEXT_EMBEDDING_HOST;
    const duet_safetensors_tensor *t = duet_weights_find(ld, "token_embedding.weight");
    duet_dtype dt = ld->matrix_dtype != DUET_DTYPE_COUNT ? ld->matrix_dtype
                    : t                                 ? t->dtype
                                                        : DUET_F32;
    return (size_t)(c->vocab_size * c->dim) * duet_dtype_size(dt) > HOST_EMBEDDING_BYTES;
}

static duet_status load_all(duet_weights *ld, duet_text_encoder *m, bool host_embedding) {
    const duet_text_encoder_config *c = &m->cfg;
    const int64_t embed[2] = {c->vocab_size, c->dim}, vec[1] = {c->dim};
    duet_status s;
    if (host_embedding) {
        duet_dtype want = ld->matrix_dtype;
        if (want == DUET_DTYPE_COUNT) {
            const duet_safetensors_tensor *t = duet_weights_find(ld, "token_embedding.weight");
            want = t && t->dtype != DUET_I32 ? t->dtype : DUET_F32;
        }
        s = load_host_embedding(ld, m, want);
    } else {
        s = duet_weights_load(ld, DUET_WEIGHT_MATRIX, 2, embed, &m->embed_w,
                              "token_embedding.weight");
    }
    for (int64_t i = 0; i < c->n_layers && s == DUET_OK; i++)
        s = load_block(ld, c, i, &m->blocks[i]);
    if (s == DUET_OK) s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, vec, &m->norm_w, "norm.weight");
    return s;
}

duet_status duet_text_encoder_load(const duet_text_encoder_config *cfg,
                                   const duet_safetensors *st, const char *prefix,
                                   duet_backend *be, const duet_text_encoder_load_params *p,
                                   duet_text_encoder **out) {
    duet_text_encoder_load_params lp = p ? *p : duet_text_encoder_default_load_params();
    if (out) *out = NULL;
    if (!cfg || !st || !prefix || !be || !out ||
        (lp.weight_dtype != DUET_DTYPE_COUNT && lp.weight_dtype != DUET_F32 &&
         lp.weight_dtype != DUET_F16 && lp.weight_dtype != DUET_BF16) ||
        (unsigned)lp.embedding >= DUET_TEXT_EMBEDDING_COUNT) {
        DUET_LOGE("duet_text_encoder_load: bad arguments");
        return DUET_ERR_INVALID_ARG;
    }
    if (!config_ok(cfg)) return DUET_ERR_INVALID_ARG;
    duet_text_encoder *m = duet_calloc(1, sizeof *m);
    if (!m || !(m->arena = duet_arena_new(0)) ||
        !(m->blocks = duet_arena_alloc(m->arena, (size_t)cfg->n_layers * sizeof *m->blocks))) {
        if (m) duet_arena_free(&m->arena);
        duet_free(m);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    m->cfg = *cfg;
    m->be = be;
    duet_weights ld;
    duet_status s = duet_weights_open(&ld, "text encoder", st, prefix, m->arena, be,
                                      lp.weight_dtype);
    if (s == DUET_OK) s = load_all(&ld, m, embedding_on_host(&ld, cfg, lp.embedding));
    if (s == DUET_OK) {
        char detail[64];
        snprintf(detail, sizeof detail, "config: n_layers %lld, a position table per layer",
                 (long long)cfg->n_layers);
        s = duet_weights_check_unused(&ld, NULL, 0, detail);
    }
    duet_weights_close(&ld);
    if (s != DUET_OK) {
        DUET_LOGE("%s: the text encoder's weights (prefix \"%s\") do not load (%s)",
                  duet_safetensors_name(st), prefix, duet_status_str(s));
        duet_text_encoder_free(&m);
        return s;
    }
    *out = m;
    return DUET_OK;
}

void duet_text_encoder_free(duet_text_encoder **m) {
    if (!m || !*m) return;
    duet_arena_free(&(*m)->arena);
    duet_free((*m)->host_embed);
    duet_free(*m);
    *m = NULL;
}

const duet_text_encoder_config *duet_text_encoder_get_config(const duet_text_encoder *m) {
    return m ? &m->cfg : NULL;
}

bool duet_text_encoder_embedding_on_host(const duet_text_encoder *m) {
    return m && m->host_embed;
}

duet_backend *duet_text_encoder_get_backend(const duet_text_encoder *m) {
    return m ? m->be : NULL;
}

/* ---------------------------------------------------------------- session */

static duet_tensor *act(duet_arena *a, duet_backend *be, duet_dtype dt, int64_t ne0,
                        int64_t ne1, const char *name) {
    duet_tensor *t = duet_tensor_new4(a, be, dt, ne0, ne1, 1, 1);
    if (t) {
        char full[DUET_NAME_MAX];
        snprintf(full, sizeof full, "text_encoder.%s", name);
        duet_tensor_set_name(t, full);
    }
    return t;
}

static duet_status upload_zeros(duet_tensor *t) {
    float *z = duet_calloc((size_t)duet_nelements(t), sizeof *z);
    if (!z) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s = duet_tensor_set_f32(t, z);
    duet_free(z);
    return s;
}

static duet_status plan(duet_text_encoder_session *s) {
    const duet_text_encoder_config *c = &s->m->cfg;
    duet_arena *a = s->arena;
    duet_backend *be = s->m->be;
    const int64_t T = s->max_tokens;
    s->x = act(a, be, DUET_F32, c->dim, T, "x");
    s->h = act(a, be, DUET_F32, c->dim, T, "h");
    s->q = act(a, be, DUET_F32, c->dim_attn, T, "q");
    s->k = act(a, be, DUET_F32, c->dim_attn, T, "k");
    s->v = act(a, be, DUET_F32, c->dim_attn, T, "v");
    s->attn = act(a, be, DUET_F32, c->dim_attn, T, "attn");
    s->gate = act(a, be, DUET_F32, c->dim_ffn, T, "ffn_gate");
    s->up = act(a, be, DUET_F32, c->dim_ffn, T, "ffn_up");
    s->bias_rows = act(a, be, DUET_F32, c->n_heads, T * T, "bias_rows");
    s->bias = act(a, be, DUET_F32, T * T, c->n_heads, "bias");
    s->ids = act(a, be, DUET_I32, T, 1, "ids");
    s->buckets = act(a, be, DUET_I32, T * T, 1, "buckets");
    s->zeros = act(a, be, DUET_F32, c->dim, T, "zeros");
    s->host_buckets = duet_arena_alloc(a, (size_t)(T * T) * sizeof(int32_t));
    if (s->m->host_embed) s->host_x = duet_arena_alloc(a, (size_t)(c->dim * T) * sizeof(float));
    if (!s->x || !s->h || !s->q || !s->k || !s->v || !s->attn || !s->gate || !s->up ||
        !s->bias_rows || !s->bias || !s->ids || !s->buckets || !s->zeros || !s->host_buckets ||
        (s->m->host_embed && !s->host_x))
        return DUET_ERR_OUT_OF_MEMORY;
    return upload_zeros(s->zeros);
}

duet_status duet_text_encoder_session_new(const duet_text_encoder *m, int64_t max_tokens,
                                          duet_text_encoder_session **out) {
    if (out) *out = NULL;
    if (!m || !out || max_tokens < 1 || max_tokens > MAX_TOKENS) {
        DUET_LOGE("duet_text_encoder_session_new: bad arguments (max_tokens %lld; 1 to %d)",
                  (long long)max_tokens, MAX_TOKENS);
        return DUET_ERR_INVALID_ARG;
    }
    duet_text_encoder_session *s = duet_calloc(1, sizeof *s);
    if (!s || !(s->arena = duet_arena_new(0))) {
        duet_free(s);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s->m = m;
    s->max_tokens = max_tokens;
    duet_status st = plan(s);
    if (st != DUET_OK) {
        DUET_LOGE("text encoder: cannot plan a session of %lld tokens (%s)",
                  (long long)max_tokens, duet_status_str(st));
        duet_text_encoder_session_free(&s);
        return st;
    }
    *out = s;
    return DUET_OK;
}

void duet_text_encoder_session_free(duet_text_encoder_session **s) {
    if (!s || !*s) return;
    duet_arena_free(&(*s)->arena);
    duet_free(*s);
    *s = NULL;
}

int64_t duet_text_encoder_session_max_tokens(const duet_text_encoder_session *s) {
    return s ? s->max_tokens : 0;
}

const duet_text_encoder_config *duet_text_encoder_session_config(
    const duet_text_encoder_session *s) {
    return s ? &s->m->cfg : NULL;
}

/* ---------------------------------------------------------------- forward */

/* A contiguous view of the first elements of `base` shaped ne[0..n_dims), built on the stack:
 * a prompt of L tokens uses the leading part of buffers planned for max_tokens. */
static duet_tensor lead(const duet_tensor *base, int n_dims, const int64_t *ne) {
    duet_tensor v = *base;
    size_t stride = duet_dtype_size(base->dtype);
    v.n_dims = n_dims;
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        v.ne[i] = i < n_dims ? ne[i] : 1;
        v.nb[i] = stride;
        stride *= (size_t)v.ne[i];
    }
    return v;
}

static duet_tensor lead2(const duet_tensor *base, int64_t ne0, int64_t ne1) {
    const int64_t ne[2] = {ne0, ne1};
    return lead(base, 2, ne);
}

/* [head_dim, heads, L] view of a [dim_attn, L] activation. */
static duet_tensor heads(const duet_tensor *base, int64_t n_heads, int64_t L) {
    const int64_t ne[3] = {base->ne[0] / n_heads, n_heads, L};
    return lead(base, 3, ne);
}

/* bias [L, L, H] for layer b: each (k, q) pair's bucket row of the layer's table, gathered as
 * [H, Lk, Lq] (get_rows), then transposed so keys are innermost as duet_attention reads it. */
static duet_status position_bias(duet_text_encoder_session *s, const te_block *b, int64_t L,
                                 duet_tensor *bias) {
    const int64_t H = s->m->cfg.n_heads;
    const int64_t ids_ne[1] = {L * L};
    duet_tensor ids = lead(s->buckets, 1, ids_ne);
    duet_tensor rows = lead2(s->bias_rows, H, L * L);
    TRY(duet_get_rows(&rows, b->pos_w, &ids));
    const size_t es = sizeof(float);
    const int64_t ne[3] = {L, L, H};
    const size_t nb[3] = {es * (size_t)H, es * (size_t)(H * L), es};
    duet_tensor src = rows;
    src.n_dims = 3;
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        src.ne[i] = i < 3 ? ne[i] : 1;
        src.nb[i] = i < 3 ? nb[i] : es * (size_t)(H * L * L);
    }
    return duet_copy(bias, &src);
}

static duet_status layer(duet_text_encoder_session *s, const te_block *b, int64_t L) {
    const duet_text_encoder_config *c = &s->m->cfg;
    const int64_t H = c->n_heads;
    const int64_t bias_ne[3] = {L, L, H};
    duet_tensor x = lead2(s->x, c->dim, L), h = lead2(s->h, c->dim, L);
    duet_tensor q = lead2(s->q, c->dim_attn, L), k = lead2(s->k, c->dim_attn, L);
    duet_tensor v = lead2(s->v, c->dim_attn, L), attn = lead2(s->attn, c->dim_attn, L);
    duet_tensor qh = heads(s->q, H, L), kh = heads(s->k, H, L), vh = heads(s->v, H, L);
    duet_tensor ah = heads(s->attn, H, L), bias = lead(s->bias, 3, bias_ne);
    duet_tensor gate = lead2(s->gate, c->dim_ffn, L), up = lead2(s->up, c->dim_ffn, L);
    /* x += o(attention(norm1(x))): T5 adds the bias to unscaled scores */
    TRY(duet_rmsnorm(&h, &x, b->norm1_w, c->eps));
    TRY(duet_matmul(&q, &h, b->q_w, NULL, false));
    TRY(duet_matmul(&k, &h, b->k_w, NULL, false));
    TRY(duet_matmul(&v, &h, b->v_w, NULL, false));
    TRY(position_bias(s, b, L, &bias));
    TRY(duet_attention(&ah, &qh, &kh, &vh, &bias, 1.0f));
    TRY(duet_matmul(&h, &attn, b->o_w, NULL, false));
    TRY(duet_add(&x, &x, &h));
    /* x += fc2(fc1(h) * gelu_tanh(gate(h))), h = norm2(x) */
    TRY(duet_rmsnorm(&h, &x, b->norm2_w, c->eps));
    TRY(duet_matmul(&gate, &h, b->gate_w, NULL, false));
    TRY(duet_unary(&gate, &gate, DUET_UNARY_GELU_TANH));
    TRY(duet_matmul(&up, &h, b->fc1_w, NULL, false));
    TRY(duet_mul(&gate, &gate, &up));
    TRY(duet_matmul(&h, &gate, b->fc2_w, NULL, false));
    return duet_add(&x, &x, &h);
}

/* Ids checked and uploaded; the bucket table rebuilt when the length changed. */
static duet_status upload_inputs(duet_text_encoder_session *s, const int32_t *ids, int64_t L) {
    const duet_text_encoder_config *c = &s->m->cfg;
    for (int64_t i = 0; i < L; i++)
        if (ids[i] < 0 || ids[i] >= c->vocab_size) {
            DUET_LOGE("text encoder: id %d at position %lld is out of range [0, %lld)",
                      (int)ids[i], (long long)i, (long long)c->vocab_size);
            return DUET_ERR_INVALID_ARG;
        }
    const int64_t n[1] = {L};
    duet_tensor dev_ids = lead(s->ids, 1, n);
    if (!s->m->host_embed) TRY(duet_tensor_upload(&dev_ids, ids, DUET_I32));
    if (s->buckets_len == L) return DUET_OK;
    s->buckets_len = 0;
    for (int64_t q = 0; q < L; q++)
        for (int64_t k = 0; k < L; k++)
            s->host_buckets[k + L * q] = duet_text_encoder_bucket(k - q, c->n_buckets,
                                                                  c->max_dist);
    const int64_t nn[1] = {L * L};
    duet_tensor dev = lead(s->buckets, 1, nn);
    TRY(duet_tensor_upload(&dev, s->host_buckets, DUET_I32));
    s->buckets_len = L;
    return DUET_OK;
}

/* x = token_embedding[ids]: on the backend, or gathered on the host and uploaded. */
static duet_status embed(duet_text_encoder_session *s, const int32_t *ids, int64_t L) {
    const duet_text_encoder *m = s->m;
    const int64_t dim = m->cfg.dim, n[1] = {L};
    duet_tensor x = lead2(s->x, dim, L);
    if (!m->host_embed) {
        duet_tensor dev_ids = lead(s->ids, 1, n);
        return duet_get_rows(&x, m->embed_w, &dev_ids);
    }
    const size_t row = (size_t)dim * duet_dtype_size(m->embed_dtype);
    for (int64_t i = 0; i < L; i++)
        TRY(duet_convert(s->host_x + i * dim, DUET_F32,
                         (const char *)m->host_embed + (size_t)ids[i] * row, m->embed_dtype,
                         (size_t)dim));
    return duet_tensor_upload(&x, s->host_x, DUET_F32);
}

static duet_status check_out(const duet_text_encoder_session *s, int64_t n_ids,
                             const duet_tensor *out) {
    const duet_text_encoder_config *c = &s->m->cfg;
    bool ok = out && out->dtype == DUET_F32 && duet_is_contiguous(out) && out->buf &&
              out->buf->backend == s->m->be && out->ne[0] == c->dim && out->ne[1] >= n_ids &&
              out->ne[1] <= s->max_tokens && duet_nelements(out) == c->dim * out->ne[1];
    if (!ok) {
        char sh[96] = "NULL";
        if (out) duet_shape_str(out, sh, sizeof sh);
        DUET_LOGE("text encoder: out must be contiguous f32 [%lld, n] on the model's backend "
                  "with %lld <= n <= %lld (the session's max_tokens); got %s %s",
                  (long long)c->dim, (long long)n_ids, (long long)s->max_tokens,
                  out ? duet_dtype_name(out->dtype) : "", sh);
    }
    return ok ? DUET_OK : DUET_ERR_INVALID_ARG;
}

duet_status duet_text_encoder_encode(duet_text_encoder_session *s, const int32_t *ids,
                                     int64_t n_ids, duet_tensor *out) {
    if (!s || !ids || n_ids < 1 || n_ids > (s ? s->max_tokens : 0)) {
        DUET_LOGE("duet_text_encoder_encode: bad arguments (%lld ids; the session takes 1 to "
                  "%lld)", (long long)n_ids, (long long)(s ? s->max_tokens : 0));
        return DUET_ERR_INVALID_ARG;
    }
    TRY(check_out(s, n_ids, out));
    const duet_text_encoder *m = s->m;
    const int64_t L = n_ids, dim = m->cfg.dim, n_rows = out->ne[1];
    TRY(upload_inputs(s, ids, L));
    TRY(embed(s, ids, L));
    duet_tensor x = lead2(s->x, dim, L);
    for (int64_t i = 0; i < m->cfg.n_layers; i++) TRY(layer(s, &m->blocks[i], L));
    duet_tensor rows = lead2(out, dim, L);
    TRY(duet_rmsnorm(&rows, &x, m->norm_w, m->cfg.eps));
    if (n_rows == L) return DUET_OK;
    /* Ovi's padding: rows past the prompt are zeros */
    duet_tensor pad = lead2(out, dim, n_rows - L), zeros = lead2(s->zeros, dim, n_rows - L);
    pad.offset += (size_t)(dim * L) * sizeof(float);
    return duet_copy(&pad, &zeros);
}
