/* duet — the joint DiT's input stages, per tower: patch embedding of the latent, the per-token
 * time embedding and the text MLP. Mirrors WanModel.prepare_transformer_block_kwargs in
 * character-ai/Ovi ovi/modules/model.py (with sinusoidal_embedding_1d, ChannelLastConv1d and
 * ConvMLP from the same file):
 *   video  Conv3d(in_dim, dim, kernel = stride = (1, ph, pw)), tokens in (f, h, w) order;
 *          computed as one gather of the patches and one matmul
 *   audio  Conv1d(in_dim, dim, 7, pad 3) + bias, SiLU, then w2(silu(w1 x) * w3 x) with
 *          bias-free Conv1d k7 p3 (channels last upstream, [length, channels] here)
 *   time   sinusoid (cos half, then sin; f_k = 10000^(-k / (freq_dim / 2))) -> Linear, SiLU,
 *          Linear = e;  SiLU, Linear -> e0 [6 dim]. Per token (Wan2.2 / Ovi), so computed
 *          once per distinct timestep and gathered.
 *   text   rows zero-padded to text_len, then Linear, GELU-tanh, Linear. */
#include <math.h>
#include <string.h>

#include "core/log.h"
#include "core/ops.h"
#include "dit_internal.h"

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

duet_status duet_dit_embed_video(duet_dit_tower_run *r, const int64_t grid[3],
                                 const duet_tensor *video) {
    const duet_dit_tower_config *c = &r->w->c;
    const int64_t pw = c->patch_size[2], ph = c->patch_size[1];
    const int64_t w = grid[2], h = grid[1], F = grid[0], W = w * pw, H = h * ph;
    const int64_t K = r->patches->ne[0];
    const size_t es = sizeof(float);
    /* Gather patches [in_dim ph pw, L]: feature (c ph + kh) pw + kw as Conv3d's weight
     * flattens, token (f h + hi) w + wi. In the latent [W, H, F, C] the rows hi of frame f and
     * the frame index merge into one stride (H = h ph), so five dims cover the gather. */
    const int64_t ne[5] = {pw, ph, c->in_dim, w, h * F};
    const size_t src_nb[5] = {es, es * (size_t)W, es * (size_t)(W * H * F), es * (size_t)pw,
                              es * (size_t)(W * ph)};
    const size_t dst_nb[5] = {es, es * (size_t)pw, es * (size_t)(pw * ph), es * (size_t)K,
                              es * (size_t)(K * w)};
    duet_tensor src = duet_view_at(video, 5, ne, src_nb, 0);
    duet_tensor dst = duet_view_at(r->patches, 5, ne, dst_nb, 0);
    TRY(duet_copy(&dst, &src));
    return duet_matmul(r->x, r->patches, r->w->patch_w, r->w->patch_b, false);
}

duet_status duet_dit_embed_audio(duet_dit_tower_run *r, const duet_tensor *audio) {
    const duet_dit_tower *w = r->w;
    const int64_t L = r->n_tokens, C = w->c.in_dim, dim = w->c.dim;
    const size_t es = sizeof(float);
    const int k_pad = DUET_DIT_AUDIO_PAD;
    /* [C, L] (channels innermost, PyTorch [L, C]) -> [L, C] for the convolutions */
    const int64_t t_ne[2] = {L, C};
    const size_t t_nb[2] = {es * (size_t)C, es};
    duet_tensor src = duet_view_at(audio, 2, t_ne, t_nb, 0);
    TRY(duet_copy(r->a_in, &src));
    TRY(duet_conv1d(r->a_conv, r->a_in, w->conv_w, w->conv_b, 1, k_pad, 1));
    TRY(duet_unary(r->a_conv, r->a_conv, DUET_UNARY_SILU));
    TRY(duet_conv1d(r->a_h1, r->a_conv, w->mlp_w1, NULL, 1, k_pad, 1));
    TRY(duet_conv1d(r->a_h3, r->a_conv, w->mlp_w3, NULL, 1, k_pad, 1));
    TRY(duet_swiglu(r->a_h1, r->a_h1, r->a_h3));
    TRY(duet_conv1d(r->a_out, r->a_h1, w->mlp_w2, NULL, 1, k_pad, 1));
    /* [L, dim] -> tokens [dim, L] */
    const int64_t x_ne[2] = {dim, L};
    const size_t x_nb[2] = {es * (size_t)L, es};
    src = duet_view_at(r->a_out, 2, x_ne, x_nb, 0);
    return duet_copy(r->x, &src);
}

/* Column of each token: the distinct timesteps in order of first appearance. Returns how
 * many there are, or -1 when more than DUET_DIT_MAX_T_VALUES (or a non-finite one). */
static int distinct_times(const float *t, int64_t n, float *values, int32_t *ids) {
    int n_values = 0;
    for (int64_t i = 0; i < n; i++) {
        if (!isfinite(t[i])) return -1;
        int j = 0;
        /* the previous token's value first: runs of equal timesteps are the common case */
        if (i > 0 && t[i] == values[ids[i - 1]]) j = ids[i - 1];
        else
            while (j < n_values && values[j] != t[i]) j++;
        if (j == n_values) {
            if (n_values == DUET_DIT_MAX_T_VALUES) return -1;
            values[n_values++] = t[i];
        }
        ids[i] = j;
    }
    return n_values;
}

/* Upstream's sinusoid, in double, for column j: cos(t f_k) for k < half, then sin. */
static void sinusoid(float *col, int64_t freq_dim, double t) {
    const int64_t half = freq_dim / 2;
    for (int64_t k = 0; k < half; k++) {
        double arg = t * pow(10000.0, -(double)k / (double)half);
        col[k] = (float)cos(arg);
        col[half + k] = (float)sin(arg);
    }
}

duet_status duet_dit_embed_time(duet_dit_tower_run *r, const float *t) {
    const duet_dit_tower *w = r->w;
    const int64_t fd = w->c.freq_dim;
    float values[DUET_DIT_MAX_T_VALUES];
    int n_values = distinct_times(t, r->n_tokens, values, r->host_ids);
    if (n_values < 0) {
        DUET_LOGE("dit: %s timesteps must be finite with at most %d distinct values",
                  w->c.is_audio ? "audio" : "video", DUET_DIT_MAX_T_VALUES);
        return DUET_ERR_UNSUPPORTED;
    }
    /* unused columns hold t = 0: computed, never gathered */
    for (int j = 0; j < DUET_DIT_MAX_T_VALUES; j++)
        sinusoid(r->host_sinus + j * fd, fd, j < n_values ? (double)values[j] : 0.0);
    TRY(duet_tensor_set_f32(r->t_sinus, r->host_sinus));
    TRY(duet_tensor_upload(r->t_ids, r->host_ids, DUET_I32));
    TRY(duet_matmul(r->t_hidden, r->t_sinus, w->time0_w, w->time0_b, false));
    TRY(duet_unary(r->t_hidden, r->t_hidden, DUET_UNARY_SILU));
    TRY(duet_matmul(r->e_u, r->t_hidden, w->time2_w, w->time2_b, false));
    TRY(duet_unary(r->e_act, r->e_u, DUET_UNARY_SILU));
    TRY(duet_matmul(r->e0_u, r->e_act, w->proj_w, w->proj_b, false));
    TRY(duet_get_rows(r->e, r->e_u, r->t_ids));
    return duet_get_rows(r->e0_rows, r->e0_u, r->t_ids);
}

duet_status duet_dit_embed_text(duet_dit_tower_run *r, const duet_tensor *context) {
    const duet_dit_tower *w = r->w;
    const int64_t n = context->ne[1], td = w->c.text_dim, tl = w->c.text_len;
    const size_t es = sizeof(float);
    const int64_t head_ne[2] = {td, n}, tail_ne[2] = {td, tl - n};
    const size_t nb[2] = {es, es * (size_t)td};
    duet_tensor head = duet_view_at(r->ctx_in, 2, head_ne, nb, 0);
    TRY(duet_copy(&head, context));
    if (n < tl) {
        /* Ovi pads with zero rows before the MLP; they are attended to like the others. */
        duet_tensor tail = duet_view_at(r->ctx_in, 2, tail_ne, nb, es * (size_t)(td * n));
        duet_tensor zero = duet_view_at(r->ctx_zero, 2, tail_ne, nb, 0);
        TRY(duet_copy(&tail, &zero));
    }
    TRY(duet_matmul(r->ctx_hidden, r->ctx_in, w->text0_w, w->text0_b, false));
    TRY(duet_unary(r->ctx_hidden, r->ctx_hidden, DUET_UNARY_GELU_TANH));
    return duet_matmul(r->ctx, r->ctx_hidden, w->text2_w, w->text2_b, false);
}
