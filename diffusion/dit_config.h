/* duet — the joint DiT's configuration: the sizes of its video and audio towers, read from a
 * JSON file with Ovi's field names. Used by diffusion/dit*.c to build and check the model and by
 * `duet dit --config`.
 *
 * Upstream: character-ai/Ovi ovi/configs/model/dit/{video,audio}.json hold one tower each and
 * WanModel.__init__ (ovi/modules/model.py) supplies the defaults of absent fields. duet reads
 * one file holding both: {"video": {...}, "audio": {...}} (duet-tiny's config.json names them
 * "video_model" and "audio_model"; both spellings are accepted, other top-level keys ignored).
 *
 * Fields per tower (required unless a default is given; defaults are WanModel's):
 *   dim, ffn_dim, num_heads, num_layers, in_dim, out_dim     positive integers
 *   model_type     "t2v" | "ti2v" (video), "t2a" (audio); default from the tower's key
 *   patch_size     video [t, h, w] (default [1, 2, 2]; t must be 1), audio [1]
 *   freq_dim 256, text_len 512, text_dim 4096 (Ovi's files omit it), eps 1e-6
 *   temporal_rope_scaling_factor 1.0 (audio: Ovi 0.19676; ignored by the video tower)
 *   qk_norm true, cross_attn_norm true, window_size [-1, -1]: only these values are supported
 * Both towers must agree on dim, num_heads and num_layers (fusion attention projects the other
 * tower's stream with its own Linear layers; blocks run in pairs). Unknown fields are warned
 * about, not refused. */
#ifndef DUET_DIT_CONFIG_H
#define DUET_DIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct {
    bool is_audio;          /* model_type t2a */
    char model_type[8];     /* "t2v", "ti2v" or "t2a" */
    int64_t dim;            /* model width (Ovi 3072) */
    int64_t ffn_dim;        /* FFN hidden width (Ovi 14336) */
    int64_t n_heads;        /* num_heads (Ovi 24); head_dim = dim / n_heads */
    int64_t n_layers;       /* num_layers (Ovi 30) */
    int64_t in_dim;         /* latent channels in (Ovi video 48, audio 20) */
    int64_t out_dim;        /* latent channels out */
    int64_t freq_dim;       /* width of the timestep sinusoid (256) */
    int64_t text_len;       /* text rows after zero padding (512) */
    int64_t text_dim;       /* text encoder width (umT5-XXL 4096) */
    int n_patch_dims;       /* 3 (video) or 1 (audio) */
    int64_t patch_size[3];  /* video (t, h, w); audio {1} */
    float eps;              /* every LayerNorm and RMSNorm of the tower's blocks and head */
    double rope_scale;      /* temporal_rope_scaling_factor (audio positions n * scale) */
} duet_dit_tower_config;

typedef struct {
    duet_dit_tower_config video;
    duet_dit_tower_config audio;
} duet_dit_config;

/* Reads and checks the JSON file at `path`. Returns DUET_OK, DUET_ERR_IO (cannot read),
 * DUET_ERR_FORMAT (bad JSON, a field missing, of the wrong type or out of range, towers that
 * disagree; each logged as "path: video.dim: ..."), DUET_ERR_UNSUPPORTED (a valid upstream
 * setting duet does not implement, such as qk_norm false or model_type i2v) or
 * DUET_ERR_INVALID_ARG (NULL arguments). *out is written only on success. Thread-safe. */
duet_status duet_dit_config_load(const char *path, duet_dit_config *out);

/* The same from text in memory; `name` stands for the file in messages (may be NULL). */
duet_status duet_dit_config_parse(const char *text, size_t len, const char *name,
                                  duet_dit_config *out);

/* head_dim = dim / n_heads. */
int64_t duet_dit_tower_head_dim(const duet_dit_tower_config *c);

#endif
