/* duet — loading the joint DiT's weights: both towers under Ovi's checkpoint names, checked
 * strictly (every tensor the model needs present with its shape, no unused tensor under the
 * towers' prefixes). Mirrors the parameter layout of WanModel in character-ai/Ovi
 * ovi/modules/model.py (audio patch embedding: Conv1d, SiLU, ConvMLP; video: Conv3d) with the
 * fusion modules of ovi/modules/fusion.py; the names are those of Ovi's model.safetensors and
 * of duet-tiny's export (MODELS.md, "Checkpoint keys"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "dit_internal.h"

static const char *const prefixes[DUET_DIT_N_TOWERS] = {"video_model.", "audio_model."};

duet_dit_load_params duet_dit_default_load_params(void) {
    duet_dit_load_params p = {.weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

typedef struct {
    const duet_safetensors *st;
    const char *prefix;
    duet_dtype weight_dtype; /* DUET_DTYPE_COUNT: as stored */
    duet_arena *arena;
    duet_backend *be;
} loader;

/* dtype a matrix or kernel is kept in: the file's unless the caller forces one. */
static duet_dtype matrix_dtype(const loader *ld, const char *name) {
    if (ld->weight_dtype != DUET_DTYPE_COUNT) return ld->weight_dtype;
    char full[DUET_NAME_MAX];
    snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    const duet_safetensors_tensor *t = duet_safetensors_find(ld->st, full);
    return t && t->dtype != DUET_I32 ? t->dtype : DUET_F32;
}

/* prefix + name; shape in PyTorch order (outermost first); matrices keep their dtype. */
static duet_status load(const loader *ld, const char *name, bool matrix, int n_dims,
                        const int64_t *shape, duet_tensor **out) {
    char full[DUET_NAME_MAX];
    int len = snprintf(full, sizeof full, "%s%s", ld->prefix, name);
    if (len < 0 || (size_t)len >= sizeof full) return DUET_ERR_INVALID_ARG;
    int64_t ne[DUET_MAX_DIMS];
    for (int i = 0; i < n_dims; i++) ne[i] = shape[n_dims - 1 - i];
    duet_dtype dt = matrix ? matrix_dtype(ld, name) : DUET_F32;
    return duet_safetensors_load_shaped(ld->st, full, ld->arena, ld->be, dt, n_dims, ne, out);
}

static duet_status load_linear(const loader *ld, const char *name, int64_t n_out, int64_t n_in,
                               duet_tensor **w, duet_tensor **b) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    const int64_t ws[2] = {n_out, n_in}, bs[1] = {n_out};
    duet_status s = load(ld, wn, true, 2, ws, w);
    return s != DUET_OK ? s : load(ld, bn, false, 1, bs, b);
}

/* ConvMLP(dim, 4 dim): hidden = int(2 hidden / 3) rounded up to a multiple of 256. */
static int64_t conv_mlp_hidden(int64_t dim) {
    int64_t h = 2 * (4 * dim) / 3;
    return 256 * ((h + 255) / 256);
}

static duet_status load_video_embed(const loader *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    const int64_t shape[5] = {c->dim, c->in_dim, c->patch_size[0], c->patch_size[1],
                              c->patch_size[2]};
    const int64_t bs[1] = {c->dim};
    duet_tensor *w5 = NULL;
    duet_status s = load(ld, "patch_embedding.weight", true, 5, shape, &w5);
    if (s == DUET_OK) s = load(ld, "patch_embedding.bias", false, 1, bs, &t->patch_b);
    if (s != DUET_OK) return s;
    /* Conv3d with kernel = stride is a matmul over patches: [in_dim pt ph pw, dim]. */
    const int64_t ne[2] = {c->in_dim * c->patch_size[0] * c->patch_size[1] * c->patch_size[2],
                           c->dim};
    t->patch_w = duet_reshape(ld->arena, w5, 2, ne);
    return t->patch_w ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

static duet_status load_audio_embed(const loader *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    const int64_t k = DUET_DIT_AUDIO_KERNEL, hid = conv_mlp_hidden(c->dim);
    const int64_t conv[3] = {c->dim, c->in_dim, k}, bs[1] = {c->dim};
    const int64_t up[3] = {hid, c->dim, k}, down[3] = {c->dim, hid, k};
    t->mlp_hidden = hid;
    duet_status s = load(ld, "patch_embedding.0.weight", true, 3, conv, &t->conv_w);
    if (s == DUET_OK) s = load(ld, "patch_embedding.0.bias", false, 1, bs, &t->conv_b);
    if (s == DUET_OK) s = load(ld, "patch_embedding.2.w1.weight", true, 3, up, &t->mlp_w1);
    if (s == DUET_OK) s = load(ld, "patch_embedding.2.w2.weight", true, 3, down, &t->mlp_w2);
    if (s == DUET_OK) s = load(ld, "patch_embedding.2.w3.weight", true, 3, up, &t->mlp_w3);
    return s;
}

static duet_status load_blocks(const loader *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    t->blocks = duet_arena_alloc(ld->arena, (size_t)c->n_layers * sizeof *t->blocks);
    if (!t->blocks) return DUET_ERR_OUT_OF_MEMORY;
    const duet_wan_block_params p = {.dim = c->dim, .ffn_dim = c->ffn_dim,
                                     .n_heads = c->n_heads, .eps = c->eps};
    duet_status s = DUET_OK;
    for (int64_t i = 0; i < c->n_layers && s == DUET_OK; i++) {
        char prefix[64];
        snprintf(prefix, sizeof prefix, "%sblocks.%lld.", ld->prefix, (long long)i);
        loader bl = *ld;
        bl.prefix = prefix;
        duet_dtype dt = matrix_dtype(&bl, "self_attn.q.weight");
        s = duet_fusion_block_load(&t->blocks[i], &p, ld->st, prefix, dt, ld->arena, ld->be);
    }
    return s;
}

static duet_status load_tower(const loader *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    const int64_t dim = c->dim;
    const int64_t n_out = c->out_dim * c->patch_size[0] * c->patch_size[1] * c->patch_size[2];
    const int64_t hm[3] = {1, 2, dim};
    duet_status s = c->is_audio ? load_audio_embed(ld, t) : load_video_embed(ld, t);
    if (s == DUET_OK)
        s = load_linear(ld, "text_embedding.0", dim, c->text_dim, &t->text0_w, &t->text0_b);
    if (s == DUET_OK) s = load_linear(ld, "text_embedding.2", dim, dim, &t->text2_w, &t->text2_b);
    if (s == DUET_OK)
        s = load_linear(ld, "time_embedding.0", dim, c->freq_dim, &t->time0_w, &t->time0_b);
    if (s == DUET_OK) s = load_linear(ld, "time_embedding.2", dim, dim, &t->time2_w, &t->time2_b);
    if (s == DUET_OK)
        s = load_linear(ld, "time_projection.1", 6 * dim, dim, &t->proj_w, &t->proj_b);
    if (s == DUET_OK) s = load_blocks(ld, t);
    if (s == DUET_OK) s = load(ld, "head.modulation", false, 3, hm, &t->head_mod);
    if (s == DUET_OK) s = load_linear(ld, "head.head", n_out, dim, &t->head_w, &t->head_b);
    return s;
}

/* ---------------------------------------------------------------- strictness */

static bool in_list(const char *name, const char *const *list, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (!strcmp(name, list[i])) return true;
    return false;
}

/* Whether `rest` (a name with the tower prefix removed) is a tensor the tower reads. */
static bool tower_uses(const duet_dit_tower_config *c, const char *rest) {
    static const char *const common[] = {
        "text_embedding.0.weight", "text_embedding.0.bias", "text_embedding.2.weight",
        "text_embedding.2.bias", "time_embedding.0.weight", "time_embedding.0.bias",
        "time_embedding.2.weight", "time_embedding.2.bias", "time_projection.1.weight",
        "time_projection.1.bias", "head.modulation", "head.head.weight", "head.head.bias"};
    static const char *const video[] = {"patch_embedding.weight", "patch_embedding.bias"};
    static const char *const audio[] = {
        "patch_embedding.0.weight", "patch_embedding.0.bias", "patch_embedding.2.w1.weight",
        "patch_embedding.2.w2.weight", "patch_embedding.2.w3.weight"};
    if (in_list(rest, common, sizeof common / sizeof common[0])) return true;
    if (c->is_audio ? in_list(rest, audio, sizeof audio / sizeof audio[0])
                    : in_list(rest, video, sizeof video / sizeof video[0]))
        return true;
    if (strncmp(rest, "blocks.", 7)) return false;
    char *end = NULL;
    long long i = strtoll(rest + 7, &end, 10);
    char expect[32];
    snprintf(expect, sizeof expect, "blocks.%lld.", i);
    if (i < 0 || i >= c->n_layers || strncmp(rest, expect, strlen(expect))) return false;
    const char *names[DUET_FUSION_BLOCK_N_TENSORS];
    duet_fusion_block_tensor_names(names);
    return in_list(rest + strlen(expect), names, DUET_FUSION_BLOCK_N_TENSORS);
}

static duet_status check_unused(const duet_dit_config *cfg, const duet_safetensors *st) {
    const duet_dit_tower_config *towers[DUET_DIT_N_TOWERS] = {&cfg->video, &cfg->audio};
    size_t n_bad = 0;
    for (size_t i = 0; i < duet_safetensors_count(st); i++) {
        const char *name = duet_safetensors_get(st, i)->name;
        for (int t = 0; t < DUET_DIT_N_TOWERS; t++) {
            size_t np = strlen(prefixes[t]);
            if (strncmp(name, prefixes[t], np) || tower_uses(towers[t], name + np)) continue;
            if (n_bad++ < 8)
                DUET_LOGE("%s: tensor %s: not used by the DiT (config: %lld layers, %s tower)",
                          duet_safetensors_name(st), name, (long long)towers[t]->n_layers,
                          t == DUET_DIT_VIDEO ? "video" : "audio");
        }
    }
    if (n_bad > 8) DUET_LOGE("%s: ... %zu unused tensors in all", duet_safetensors_name(st), n_bad);
    return n_bad ? DUET_ERR_FORMAT : DUET_OK;
}

duet_status duet_dit_load(const duet_dit_config *cfg, const duet_safetensors *st,
                          duet_backend *be, const duet_dit_load_params *p, duet_dit **out) {
    duet_dit_load_params lp = p ? *p : duet_dit_default_load_params();
    if (out) *out = NULL;
    if (!cfg || !st || !be || !out ||
        (lp.weight_dtype != DUET_DTYPE_COUNT && lp.weight_dtype != DUET_F32 &&
         lp.weight_dtype != DUET_F16 && lp.weight_dtype != DUET_BF16)) {
        DUET_LOGE("duet_dit_load: bad arguments");
        return DUET_ERR_INVALID_ARG;
    }
    duet_status s = check_unused(cfg, st);
    if (s != DUET_OK) return s;
    duet_dit *m = duet_calloc(1, sizeof *m);
    if (!m || !(m->arena = duet_arena_new(0))) {
        duet_free(m);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    m->cfg = *cfg;
    m->be = be;
    m->tower[DUET_DIT_VIDEO].c = cfg->video;
    m->tower[DUET_DIT_AUDIO].c = cfg->audio;
    for (int t = 0; t < DUET_DIT_N_TOWERS && s == DUET_OK; t++) {
        const loader ld = {st, prefixes[t], lp.weight_dtype, m->arena, be};
        s = load_tower(&ld, &m->tower[t]);
    }
    if (s != DUET_OK) {
        DUET_LOGE("%s: the DiT's weights do not load (%s)", duet_safetensors_name(st),
                  duet_status_str(s));
        duet_dit_free(&m);
        return s;
    }
    *out = m;
    return DUET_OK;
}

void duet_dit_free(duet_dit **m) {
    if (!m || !*m) return;
    duet_arena_free(&(*m)->arena);
    duet_free(*m);
    *m = NULL;
}

const duet_dit_config *duet_dit_get_config(const duet_dit *m) { return m ? &m->cfg : NULL; }

duet_backend *duet_dit_get_backend(const duet_dit *m) { return m ? m->be : NULL; }
