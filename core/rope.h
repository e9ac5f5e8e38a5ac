/* duet — host-side builders of the rotary position table that DUET_OP_ROPE consumes: f32
 * [head_dim, n_tokens], table[2j + head_dim l] = cos and table[2j + 1 + head_dim l] = sin of
 * the angle of pair j at token l (see duet_rope in ops.h). Every table is one mechanism:
 * pair j has a frequency and reads the position of one axis (or none: identity, cos 1 sin 0),
 * and its angle is position x frequency. Angles and cos/sin are computed in double, as Wan's
 * rope_params (torch.polar on float64) does, and rounded to f32 once.
 *
 * Mirrors Wan2.1 wan/modules/model.py at 9737cba: rope_params (lines 32-40: frequencies
 * 1 / theta^(arange(0, dim, 2) / dim) in float64, angle = position x frequency, torch.polar);
 * WanModel.__init__ (lines 479-484: freqs = cat(rope_params(1024, d - 4 (d // 6)),
 * rope_params(1024, 2 (d // 6)) twice) for head dim d, i.e. each axis' frequencies use its own
 * dim = 2 x its pair count); rope_apply (line 47: the d/2 pairs split [c - 2 (c // 3), c // 3,
 * c // 3] over f, h, w; line 55: view_as_complex pairs adjacent elements). The two splits
 * agree for every even d since (d / 2) // 3 == d // 6.
 * And Ovi ovi/modules/model.py at 5b69b25: rope_params (line 42: freqs_scaling multiplies the
 * frequencies), set_rope_params (line 679: the audio tower keeps only rope_params(1024,
 * d - 4 (d // 6)), the temporal frequencies, scaled by temporal_rope_scaling_factor = 0.19676
 * in configs/model/dit/audio.json), rope_apply_1d (lines 50-61: those first c_rope pairs turn,
 * the rest pass through). All functions are thread-safe (no shared state). */
#ifndef DUET_ROPE_H
#define DUET_ROPE_H

#include "status.h"

/* Wan's split of the head_dim / 2 pairs over (t, h, w): with c = head_dim / 2,
 * pairs = {c - 2 (c / 3), c / 3, c / 3} (integer division); 128 gives {22, 21, 21}. */
void duet_rope_split_3d(int head_dim, int pairs[3]);

/* Frequencies of one axis with n_pairs pairs, as Wan's rope_params(dim = 2 n_pairs, theta)
 * times Ovi's scaling: freq[j] = scale / theta^(2j / (2 n_pairs)), j < n_pairs. */
void duet_rope_axis_freqs(double *freq, int n_pairs, double theta, double scale);

/* The general builder. out: f32 [head_dim, n_tokens]. pos: [n_tokens][n_axes] positions
 * (token l's position on axis a is pos[l n_axes + a]). freq and pair_axis: [head_dim / 2];
 * pair j turns by pos[l][pair_axis[j]] * freq[j], or not at all when pair_axis[j] < 0.
 * Returns DUET_OK, or DUET_ERR_INVALID_ARG (logged) for NULL pointers, an odd or non-positive
 * head_dim, n_tokens < 1 or an axis index >= n_axes. */
duet_status duet_rope_table(float *out, int head_dim, int n_tokens, int n_axes,
                            const double *pos, const double *freq, const int *pair_axis);

/* Wan / Ovi video: a grid of F x H x W tokens in f-major order (token (f H + h) W + w), pairs
 * split by duet_rope_split_3d with each axis' own frequencies (duet_rope_axis_freqs, scale 1;
 * theta 10000 in Wan). out: f32 [head_dim, F H W]. Returns DUET_OK, DUET_ERR_INVALID_ARG
 * (logged: bad sizes, head_dim < 6 or odd) or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_rope_table_3d(float *out, int head_dim, int F, int H, int W, double theta);

/* Ovi audio: token n sits at position n * pos_scale (Ovi: 0.19676 ~ 31/157, so audio token n
 * lines up with video latent frame n * 31/157); its first n_rot_pairs pairs turn with the
 * frequencies of an axis of n_rot_pairs pairs (for n_rot_pairs = the temporal count of
 * duet_rope_split_3d(head_dim), the video tower's temporal frequencies), the remaining
 * head_dim / 2 - n_rot_pairs pairs are identity. out: f32 [head_dim, n_tokens].
 * Returns DUET_OK, DUET_ERR_INVALID_ARG (logged) or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_rope_table_1d(float *out, int head_dim, int n_tokens, int n_rot_pairs,
                               double pos_scale, double theta);

#endif
