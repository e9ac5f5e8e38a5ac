/* duet — loading the video VAE decoder's weights: the architecture is read from the names and
 * shapes present (levels, residual blocks per level, widths, temporal upsampling), then every
 * tensor is loaded with the shape that architecture needs and nothing under the decoder's
 * names may be left unused. Mirrors the parameter layout of Decoder3d and WanVAE_.conv2 in
 * Wan-Video/Wan2.2 wan/modules/vae2_2.py (tools/duet_tiny/video_vae.py restates it). */
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"
#include "vae_internal.h"


duet_vae_load_params duet_vae_default_load_params(void) {
    duet_vae_load_params p = {.weight_dtype = DUET_DTYPE_COUNT};
    return p;
}

/* Levels, residual blocks, widths and resampling from the names present. */
static duet_status read_layout(const duet_weights *ld, duet_vae *m) {
    const duet_safetensors_tensor *mean = duet_weights_find(ld, "latent_mean");
    const duet_safetensors_tensor *c1 = duet_weights_find(ld, "decoder.conv1.weight");
    if (!mean) return duet_weights_missing(ld, "latent_mean");
    if (!c1) return duet_weights_missing(ld, "decoder.conv1.weight");
    m->info.z_dim = duet_weights_pt_dim(mean, 0);
    m->c0 = duet_weights_pt_dim(c1, 0);
    int n = 0;
    while (n < VAE_MAX_LEVELS &&
           duet_weights_find(ld, "decoder.upsamples.%d.upsamples.0.residual.0.gamma", n))
        n++;
    if (n == 0) return duet_weights_missing(ld, "decoder.upsamples.0.upsamples.0.residual.0.gamma");
    m->info.n_levels = n;
    int64_t cin = m->c0;
    m->info.spatial_factor = 1;
    m->info.temporal_factor = 1;
    for (int i = 0; i < n; i++) {
        vae_level *l = &m->level[i];
        while (l->n_res < VAE_MAX_RES &&
               duet_weights_find(ld, "decoder.upsamples.%d.upsamples.%d.residual.0.gamma", i,
                             l->n_res))
            l->n_res++;
        const duet_safetensors_tensor *w =
            duet_weights_find(ld, "decoder.upsamples.%d.upsamples.0.residual.2.weight", i);
        if (!w) {
            char nm[DUET_NAME_MAX];
            snprintf(nm, sizeof nm, "decoder.upsamples.%d.upsamples.0.residual.2.weight", i);
            return duet_weights_missing(ld, nm);
        }
        l->cin = cin;
        l->cout = cin = duet_weights_pt_dim(w, 0);
        l->up = duet_weights_find(ld, "decoder.upsamples.%d.upsamples.%d.resample.1.weight", i,
                              l->n_res);
        l->t_up = duet_weights_find(ld, "decoder.upsamples.%d.upsamples.%d.time_conv.weight", i,
                                l->n_res);
        m->info.spatial_factor *= l->up ? 2 : 1;
        m->info.temporal_factor *= l->t_up ? 2 : 1;
    }
    m->info.base_dim = cin;
    m->info.n_res_blocks = m->level[0].n_res;
    const duet_safetensors_tensor *head = duet_weights_find(ld, "decoder.head.2.weight");
    if (!head) return duet_weights_missing(ld, "decoder.head.2.weight");
    m->info.patch = 1;
    while (3 * (m->info.patch + 1) * (m->info.patch + 1) <= duet_weights_pt_dim(head, 0))
        m->info.patch++;
    m->info.spatial_factor *= m->info.patch;
    return DUET_OK;
}

/* DupUp3D picks input channel co g + (offset g) / N for output channel co and the offset
 * inside its ft x 2 x 2 block (g = cin / cout, N = 4 ft): duet implements g dividing N. */
static duet_status check_layout(const duet_weights *ld, const duet_vae *m) {
    const duet_vae_info *in = &m->info;
    const duet_safetensors_tensor *head = duet_weights_find(ld, "decoder.head.2.weight");
    bool ok = in->z_dim >= 1 && m->c0 >= 1 && in->base_dim >= 1 &&
              3 * in->patch * in->patch == duet_weights_pt_dim(head, 0);
    for (int i = 0; ok && i < in->n_levels; i++) {
        const vae_level *l = &m->level[i];
        int64_t n = (l->t_up ? 2 : 1) * 4;
        ok = l->cout >= 1 && (!l->t_up || l->up);
        if (ok && l->up && (l->cin % l->cout || n % (l->cin / l->cout))) {
            DUET_LOGE("%s: %sdecoder.upsamples.%d: a DupUp3D from %lld to %lld channels is not "
                      "supported (the ratio must divide %lld)", duet_safetensors_name(ld->st),
                      ld->prefix, i, (long long)l->cin, (long long)l->cout, (long long)n);
            return DUET_ERR_UNSUPPORTED;
        }
    }
    if (!ok) {
        DUET_LOGE("%s: %sdecoder.*: not a Wan2.2 VAE decoder layout (head channels, widths or a "
                  "time_conv without resample)", duet_safetensors_name(ld->st), ld->prefix);
        return DUET_ERR_FORMAT;
    }
    return DUET_OK;
}

static duet_status load_levels(duet_weights *ld, duet_vae *m) {
    duet_status s = DUET_OK;
    char base[DUET_NAME_MAX];
    for (int i = 0; i < m->info.n_levels && s == DUET_OK; i++) {
        vae_level *l = &m->level[i];
        for (int k = 0; k < l->n_res && s == DUET_OK; k++) {
            snprintf(base, sizeof base, "decoder.upsamples.%d.upsamples.%d", i, k);
            s = duet_vae_load_res(ld, base, k ? l->cout : l->cin, l->cout, &l->res[k]);
        }
        snprintf(base, sizeof base, "decoder.upsamples.%d.upsamples.%d.resample.1", i, l->n_res);
        if (s == DUET_OK && l->up)
            s = duet_vae_load_conv(ld, base, l->cout, l->cout, 0, 3, &l->resample);
        snprintf(base, sizeof base, "decoder.upsamples.%d.upsamples.%d.time_conv", i, l->n_res);
        if (s == DUET_OK && l->t_up)
            s = duet_vae_load_conv(ld, base, 2 * l->cout, l->cout, 3, 1, &l->time_conv);
    }
    return s;
}

static duet_status load_all(duet_weights *ld, duet_vae *m) {
    const int64_t z = m->info.z_dim, zs[1] = {z}, z4[4] = {1, 1, 1, z};
    duet_status s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, zs, &m->mean, "latent_mean");
    if (s == DUET_OK) s = duet_weights_reshape(ld, &m->mean, 4, z4);
    if (s == DUET_OK) s = duet_weights_load(ld, DUET_WEIGHT_F32, 1, zs, &m->std, "latent_std");
    if (s == DUET_OK) s = duet_weights_reshape(ld, &m->std, 4, z4);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, "conv2", z, z, 1, 1, &m->conv2);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, "decoder.conv1", m->c0, z, 3, 3, &m->conv1);
    if (s == DUET_OK) s = duet_vae_load_res(ld, "decoder.middle.0", m->c0, m->c0, &m->mid0);
    if (s == DUET_OK) s = duet_vae_load_attn(ld, "decoder.middle.1", m->c0, &m->attn);
    if (s == DUET_OK) s = duet_vae_load_res(ld, "decoder.middle.2", m->c0, m->c0, &m->mid2);
    if (s == DUET_OK) s = load_levels(ld, m);
    const int64_t cl = m->info.base_dim, p = m->info.patch;
    if (s == DUET_OK) s = duet_vae_load_gamma(ld, "decoder.head.0.gamma", cl, 4, &m->head_gamma);
    if (s == DUET_OK) s = duet_vae_load_conv(ld, "decoder.head.2", 3 * p * p, cl, 3, 3, &m->head);
    return s;
}

/* Every tensor under the decoder's names must have been loaded. */
static duet_status check_unused(const duet_weights *ld) {
    static const char *const owned[] = {"decoder.", "conv2.", "latent_mean", "latent_std"};
    return duet_weights_check_unused(ld, owned, sizeof owned / sizeof owned[0], NULL);
}

static duet_status load_model(duet_weights *ld, duet_vae *m) {
    duet_status s = read_layout(ld, m);
    if (s == DUET_OK) s = check_layout(ld, m);
    if (s == DUET_OK) s = load_all(ld, m);
    if (s == DUET_OK) s = check_unused(ld);
    return s;
}

duet_status duet_vae_load(const duet_safetensors *st, const char *prefix, duet_backend *be,
                          const duet_vae_load_params *p, duet_vae **out) {
    duet_vae_load_params lp = p ? *p : duet_vae_default_load_params();
    if (!out) {
        DUET_LOGE("duet_vae_load: bad arguments (out is NULL)");
        return DUET_ERR_INVALID_ARG;
    }
    *out = NULL;
    duet_vae *m = duet_calloc(1, sizeof *m);
    if (!m || !(m->arena = duet_arena_new(0))) {
        duet_free(m);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    m->be = be;
    duet_weights ld;
    duet_status s = duet_weights_open(&ld, "VAE decoder", st, prefix, m->arena, be,
                                      lp.weight_dtype);
    if (s == DUET_OK) {
        s = load_model(&ld, m);
        duet_weights_close(&ld);
        if (s != DUET_OK)
            DUET_LOGE("%s: the VAE decoder's weights under \"%s\" do not load (%s)",
                      duet_safetensors_name(st), prefix, duet_status_str(s));
    }
    if (s != DUET_OK) {
        duet_vae_free(&m);
        return s;
    }
    *out = m;
    return DUET_OK;
}

void duet_vae_free(duet_vae **m) {
    if (!m || !*m) return;
    duet_arena_free(&(*m)->arena);
    duet_free(*m);
    *m = NULL;
}

duet_vae_info duet_vae_get_info(const duet_vae *m) {
    duet_vae_info none = {0};
    return m ? m->info : none;
}

int64_t duet_vae_frames_out(const duet_vae *m, int64_t n_latent_frames) {
    if (!m || n_latent_frames < 1) return 0;
    return 1 + m->info.temporal_factor * (n_latent_frames - 1);
}
