/* duet — the joint DiT's internals shared by diffusion/dit*.c: the weights of one tower, the
 * planned activations of one tower in a session, and the per-stage functions dit.c chains
 * (embedding, time, text, head). Not a public header. */
#ifndef DUET_DIT_INTERNAL_H
#define DUET_DIT_INTERNAL_H

#include "core/arena.h"
#include "diffusion/dit.h"
#include "diffusion/dit_fusion_block.h"

enum { DUET_DIT_VIDEO = 0, DUET_DIT_AUDIO = 1, DUET_DIT_N_TOWERS = 2 };

/* Distinct timesteps one evaluation may hold per tower: the time MLP runs on this many
 * columns and every token picks its column (duet_get_rows). */
#define DUET_DIT_MAX_T_VALUES 64
/* Rotary base of both towers (Ovi's rope_params default). */
#define DUET_DIT_ROPE_THETA 10000.0
/* The audio patch embedding's convolutions (Ovi hard-codes them). */
#define DUET_DIT_AUDIO_KERNEL 7
#define DUET_DIT_AUDIO_PAD 3

/* One tower's weights. PyTorch shapes as in the checkpoint, under "video_model." or
 * "audio_model.". */
typedef struct {
    duet_dit_tower_config c;
    /* video */
    duet_tensor *patch_w;   /* patch_embedding.weight [dim, in_dim, pt, ph, pw], kept as the
                               matmul operand [in_dim pt ph pw, dim] (innermost first) */
    duet_tensor *patch_b;   /* patch_embedding.bias [dim] */
    /* audio */
    duet_tensor *conv_w;    /* patch_embedding.0.weight [dim, in_dim, 7] */
    duet_tensor *conv_b;    /* patch_embedding.0.bias [dim] */
    duet_tensor *mlp_w1;    /* patch_embedding.2.w1.weight [hidden, dim, 7] */
    duet_tensor *mlp_w2;    /* patch_embedding.2.w2.weight [dim, hidden, 7] */
    duet_tensor *mlp_w3;    /* patch_embedding.2.w3.weight [hidden, dim, 7] */
    int64_t mlp_hidden;     /* ConvMLP hidden width: 256 ceil((2 (4 dim) / 3) / 256) */
    /* both */
    duet_tensor *text0_w;   /* text_embedding.0.weight [dim, text_dim] */
    duet_tensor *text0_b;   /* text_embedding.0.bias [dim] */
    duet_tensor *text2_w;   /* text_embedding.2.weight [dim, dim] */
    duet_tensor *text2_b;   /* text_embedding.2.bias [dim] */
    duet_tensor *time0_w;   /* time_embedding.0.weight [dim, freq_dim] */
    duet_tensor *time0_b;   /* time_embedding.0.bias [dim] */
    duet_tensor *time2_w;   /* time_embedding.2.weight [dim, dim] */
    duet_tensor *time2_b;   /* time_embedding.2.bias [dim] */
    duet_tensor *proj_w;    /* time_projection.1.weight [6 dim, dim] */
    duet_tensor *proj_b;    /* time_projection.1.bias [6 dim] */
    duet_fusion_block *blocks; /* blocks.N.* for N < n_layers */
    duet_tensor *head_mod;  /* head.modulation [1, 2, dim] */
    duet_tensor *head_w;    /* head.head.weight [out_dim ph pw, dim] */
    duet_tensor *head_b;    /* head.head.bias [out_dim ph pw] */
} duet_dit_tower;

struct duet_dit {
    duet_dit_config cfg;
    duet_backend *be;
    duet_arena *arena;      /* every weight tensor and its buffer */
    duet_dit_tower tower[DUET_DIT_N_TOWERS];
};

/* One tower's planned activations (all f32 on the model's backend). */
typedef struct {
    const duet_dit_tower *w;
    int64_t n_tokens;        /* L */
    duet_tensor *x;          /* [dim, L] the residual stream */
    duet_fusion_scratch blk; /* block activations, shared by every layer */
    duet_tensor *rope;       /* [head_dim, L] */
    /* time: the MLP on distinct values, then each token's row */
    duet_tensor *t_sinus;    /* [freq_dim, MAX_T_VALUES] */
    duet_tensor *t_hidden;   /* [dim, MAX_T_VALUES] */
    duet_tensor *e_u;        /* [dim, MAX_T_VALUES] e per distinct value */
    duet_tensor *e_act;      /* [dim, MAX_T_VALUES] SiLU(e) */
    duet_tensor *e0_u;       /* [6 dim, MAX_T_VALUES] */
    duet_tensor *t_ids;      /* [L] i32: each token's column */
    duet_tensor *e;          /* [dim, L] */
    duet_tensor *e0_rows;    /* [6 dim, L] each token's e0 */
    duet_tensor *e0;         /* [dim, 6, L] view of e0_rows (chunk c of token l: column
                                6 l + c) as the blocks read it */
    float *host_sinus;       /* [freq_dim MAX_T_VALUES] */
    int32_t *host_ids;       /* [L] */
    /* text */
    duet_tensor *ctx_in;     /* [text_dim, text_len] context, zero-padded */
    duet_tensor *ctx_zero;   /* [text_dim, text_len] zeros (the padding's source) */
    duet_tensor *ctx_hidden; /* [dim, text_len] */
    duet_tensor *ctx;        /* [dim, text_len] embedded context */
    /* embedding */
    duet_tensor *patches;    /* video [in_dim ph pw, L] */
    duet_tensor *a_in;       /* audio [L, in_dim] */
    duet_tensor *a_conv;     /* [L, dim] */
    duet_tensor *a_h1;       /* [L, hidden] */
    duet_tensor *a_h3;       /* [L, hidden] */
    duet_tensor *a_out;      /* [L, dim] */
    /* head */
    duet_tensor *head_out;   /* video [out_dim ph pw, L] before unpatchify */
} duet_dit_tower_run;

struct duet_dit_session {
    const duet_dit *m;
    duet_dit_shape shape;
    int64_t grid[3];         /* video tokens (f, h, w) */
    duet_arena *arena;       /* every activation */
    duet_dit_tower_run run[DUET_DIT_N_TOWERS];
};

/* dit_embed.c */
duet_status duet_dit_embed_video(duet_dit_tower_run *r, const int64_t grid[3],
                                 const duet_tensor *video);
duet_status duet_dit_embed_audio(duet_dit_tower_run *r, const duet_tensor *audio);
/* t: host, one per token. UNSUPPORTED when more than DUET_DIT_MAX_T_VALUES are distinct. */
duet_status duet_dit_embed_time(duet_dit_tower_run *r, const float *t);
duet_status duet_dit_embed_text(duet_dit_tower_run *r, const duet_tensor *context);

/* dit_head.c */
duet_status duet_dit_head_video(duet_dit_tower_run *r, const int64_t grid[3], duet_tensor *out);
duet_status duet_dit_head_audio(duet_dit_tower_run *r, duet_tensor *out);

#endif
