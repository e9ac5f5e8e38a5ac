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

/* name.weight [n_out, n_in] (PyTorch Linear) and name.bias [n_out]. */
static duet_status load_linear(duet_weights *w, const char *name, int64_t n_out, int64_t n_in,
                               duet_tensor **wt, duet_tensor **b) {
    const int64_t ws[2] = {n_out, n_in}, bs[1] = {n_out};
    duet_status s = duet_weights_load(w, DUET_WEIGHT_MATRIX, 2, ws, wt, "%s.weight", name);
    return s != DUET_OK ? s : duet_weights_load(w, DUET_WEIGHT_F32, 1, bs, b, "%s.bias", name);
}

/* ConvMLP(dim, 4 dim): hidden = int(2 hidden / 3) rounded up to a multiple of 256. */
static int64_t conv_mlp_hidden(int64_t dim) {
    int64_t h = 2 * (4 * dim) / 3;
    return 256 * ((h + 255) / 256);
}

static duet_status load_video_embed(duet_weights *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    const int64_t shape[5] = {c->dim, c->in_dim, c->patch_size[0], c->patch_size[1],
                              c->patch_size[2]};
    const int64_t bs[1] = {c->dim};
    duet_tensor *w5 = NULL;
    duet_status s =
        duet_weights_load(ld, DUET_WEIGHT_MATRIX, 5, shape, &w5, "patch_embedding.weight");
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, bs, &t->patch_b, "patch_embedding.bias");
    if (s != DUET_OK) return s;
    /* Conv3d with kernel = stride is a matmul over patches: [in_dim pt ph pw, dim]. */
    const int64_t ne[2] = {c->in_dim * c->patch_size[0] * c->patch_size[1] * c->patch_size[2],
                           c->dim};
    t->patch_w = duet_reshape(ld->arena, w5, 2, ne);
    return t->patch_w ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

static duet_status load_audio_embed(duet_weights *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    const int64_t k = DUET_DIT_AUDIO_KERNEL, hid = conv_mlp_hidden(c->dim);
    const int64_t conv[3] = {c->dim, c->in_dim, k}, bs[1] = {c->dim};
    const int64_t up[3] = {hid, c->dim, k}, down[3] = {c->dim, hid, k};
    t->mlp_hidden = hid;
    const duet_weight_kind m = DUET_WEIGHT_MATRIX;
    duet_status s = duet_weights_load(ld, m, 3, conv, &t->conv_w, "patch_embedding.0.weight");
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, bs, &t->conv_b, "patch_embedding.0.bias");
    if (s == DUET_OK)
        s = duet_weights_load(ld, m, 3, up, &t->mlp_w1, "patch_embedding.2.w1.weight");
    if (s == DUET_OK)
        s = duet_weights_load(ld, m, 3, down, &t->mlp_w2, "patch_embedding.2.w2.weight");
    if (s == DUET_OK)
        s = duet_weights_load(ld, m, 3, up, &t->mlp_w3, "patch_embedding.2.w3.weight");
    return s;
}

static duet_status load_blocks(duet_weights *ld, duet_dit_tower *t) {
    const duet_dit_tower_config *c = &t->c;
    t->blocks = duet_arena_alloc(ld->arena, (size_t)c->n_layers * sizeof *t->blocks);
    if (!t->blocks) return DUET_ERR_OUT_OF_MEMORY;
    const duet_wan_block_params p = {.dim = c->dim, .ffn_dim = c->ffn_dim,
                                     .n_heads = c->n_heads, .eps = c->eps};
    duet_status s = DUET_OK;
    for (int64_t i = 0; i < c->n_layers && s == DUET_OK; i++) {
        duet_weights bl;
        s = duet_weights_sub(ld, &bl, "blocks.%lld.", (long long)i);
        if (s == DUET_OK) s = duet_fusion_block_load(&t->blocks[i], &p, &bl);
    }
    return s;
}

static duet_status load_tower(duet_weights *ld, duet_dit_tower *t) {
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
    if (s == DUET_OK)
        s = duet_weights_load(ld, DUET_WEIGHT_F32, 3, hm, &t->head_mod, "head.modulation");
    if (s == DUET_OK) s = load_linear(ld, "head.head", n_out, dim, &t->head_w, &t->head_b);
    return s;
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
    duet_dit *m = duet_calloc(1, sizeof *m);
    if (!m || !(m->arena = duet_arena_new(0))) {
        duet_free(m);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    m->cfg = *cfg;
    m->be = be;
    m->tower[DUET_DIT_VIDEO].c = cfg->video;
    m->tower[DUET_DIT_AUDIO].c = cfg->audio;
    duet_weights root;
    duet_status s = duet_weights_open(&root, "DiT", st, "", m->arena, be, lp.weight_dtype);
    for (int t = 0; t < DUET_DIT_N_TOWERS && s == DUET_OK; t++) {
        duet_weights ld;
        s = duet_weights_sub(&root, &ld, "%s", prefixes[t]);
        if (s == DUET_OK) s = load_tower(&ld, &m->tower[t]);
    }
    if (s == DUET_OK) { /* nothing else under the towers' names: the config fits the file */
        char detail[80];
        snprintf(detail, sizeof detail, "config: %lld video and %lld audio layers",
                 (long long)cfg->video.n_layers, (long long)cfg->audio.n_layers);
        s = duet_weights_check_unused(&root, prefixes, DUET_DIT_N_TOWERS, detail);
    }
    duet_weights_close(&root);
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
