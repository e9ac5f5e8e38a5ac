/* duet — the joint DiT's output stage, per tower: the modulated head and, for video, the
 * unpatchify back to the latent layout. Mirrors Head.forward and WanModel.unpatchify /
 * post_transformer_block_out in character-ai/Ovi ovi/modules/model.py:
 *   m = head.modulation [2, dim] + e (per token; e, not e0)
 *   y = head.head(LN(x) (1 + m[1]) + m[0])          LN without affine, the tower's eps
 *   video: y [(q r c), L] -> [C, F, H, W] by einsum 'fhwpqrc->cfphqwr' (p = 1). */
#include <string.h>

#include "core/ops.h"
#include "dit_internal.h"

#define TRY(expr)                                                                              \
    do {                                                                                       \
        duet_status st_ = (expr);                                                              \
        if (st_ != DUET_OK) return st_;                                                        \
    } while (0)

/* y = head(LN(x) (1 + scale) + shift) into dst [out, L]. The block scratch's q and k (idle
 * after the last block) hold shift and scale, h the normalized stream. */
static duet_status head(duet_dit_tower_run *r, duet_tensor *dst) {
    const duet_dit_tower *w = r->w;
    duet_wan_block_scratch *ws = &r->blk.wan;
    const int64_t dim = w->c.dim;
    const size_t es = sizeof(float);
    const int64_t ne[2] = {dim, 1};
    const size_t nb[2] = {es, es * (size_t)dim};
    duet_tensor m0 = duet_view_at(w->head_mod, 2, ne, nb, 0);
    duet_tensor m1 = duet_view_at(w->head_mod, 2, ne, nb, es * (size_t)dim);
    TRY(duet_add(ws->q, r->e, &m0));
    TRY(duet_add(ws->k, r->e, &m1));
    TRY(duet_layernorm(ws->h, r->x, NULL, NULL, w->c.eps));
    TRY(duet_modulate(ws->h, ws->h, ws->k, ws->q));
    return duet_matmul(dst, ws->h, w->head_w, w->head_b, false);
}

duet_status duet_dit_head_audio(duet_dit_tower_run *r, duet_tensor *out) {
    /* [out_dim, L] is already PyTorch's [L, C] */
    return head(r, out);
}

duet_status duet_dit_head_video(duet_dit_tower_run *r, const int64_t grid[3], duet_tensor *out) {
    const duet_dit_tower_config *c = &r->w->c;
    TRY(head(r, r->head_out));
    const int64_t C = c->out_dim, ph = c->patch_size[1], pw = c->patch_size[2];
    const int64_t F = grid[0], h = grid[1], w = grid[2], W = w * pw, H = h * ph;
    const int64_t P = r->head_out->ne[0];
    const size_t es = sizeof(float);
    /* head_out feature (q pw + r) C + c of token (f h + hi) w + wi goes to
     * out[c, f, hi ph + q, wi pw + r]; hi and f merge into one stride on both sides. Dims
     * (r, wi, q, hi+f, c), innermost first. */
    const int64_t ne[5] = {pw, w, ph, h * F, C};
    const size_t src_nb[5] = {es * (size_t)C, es * (size_t)P, es * (size_t)(pw * C),
                              es * (size_t)(P * w), es};
    const size_t dst_nb[5] = {es, es * (size_t)pw, es * (size_t)W, es * (size_t)(W * ph),
                              es * (size_t)(W * H * F)};
    duet_tensor src = duet_view_at(r->head_out, 5, ne, src_nb, 0);
    duet_tensor dst = duet_view_at(out, 5, ne, dst_nb, 0);
    return duet_copy(&dst, &src);
}
