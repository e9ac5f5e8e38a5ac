/* duet — rotary position tables (see rope.h): one general builder from per-pair frequencies
 * and axes and per-token positions, and the Wan 3-D and Ovi scaled 1-D tables built on it.
 * Tables are built once per shot on the host, then uploaded; nothing here runs per step. */
#include "rope.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "alloc.h"
#include "log.h"

void duet_rope_split_3d(int head_dim, int pairs[3]) {
    int c = head_dim / 2;
    pairs[1] = pairs[2] = c / 3;
    pairs[0] = c - 2 * (c / 3);
}

void duet_rope_axis_freqs(double *freq, int n_pairs, double theta, double scale) {
    /* rope_params: 1 / theta^(arange(0, dim, 2) / dim) in float64, dim = 2 n_pairs; Ovi
     * multiplies the frequencies (not the positions) by its scaling factor. */
    for (int j = 0; j < n_pairs; j++)
        freq[j] = scale * (1.0 / pow(theta, (double)(2 * j) / (double)(2 * n_pairs)));
}

duet_status duet_rope_table(float *out, int head_dim, int n_tokens, int n_axes,
                            const double *pos, const double *freq, const int *pair_axis) {
    if (!out || !freq || !pair_axis || (n_axes > 0 && !pos) || head_dim <= 0 ||
        head_dim % 2 || n_tokens < 1 || n_axes < 0) {
        DUET_LOGE("duet_rope_table: invalid arguments (head_dim %d, n_tokens %d, n_axes %d)",
                  head_dim, n_tokens, n_axes);
        return DUET_ERR_INVALID_ARG;
    }
    for (int j = 0; j < head_dim / 2; j++)
        if (pair_axis[j] >= n_axes) {
            DUET_LOGE("duet_rope_table: pair %d reads axis %d of %d", j, pair_axis[j], n_axes);
            return DUET_ERR_INVALID_ARG;
        }
    for (int l = 0; l < n_tokens; l++) {
        float *row = out + (size_t)l * (size_t)head_dim;
        for (int j = 0; j < head_dim / 2; j++) {
            double a = pair_axis[j] < 0 ? 0.0 : pos[(size_t)l * (size_t)n_axes + (size_t)pair_axis[j]] * freq[j];
            row[2 * j] = pair_axis[j] < 0 ? 1.0f : (float)cos(a);
            row[2 * j + 1] = pair_axis[j] < 0 ? 0.0f : (float)sin(a);
        }
    }
    return DUET_OK;
}

/* freq and axis arrays for head_dim / 2 pairs, in one allocation. */
static duet_status pair_arrays(int head_dim, double **freq, int **axis) {
    size_t n = (size_t)head_dim / 2;
    *freq = duet_malloc(n * (sizeof **freq + sizeof **axis));
    if (!*freq) return DUET_ERR_OUT_OF_MEMORY;
    *axis = (int *)(*freq + n);
    return DUET_OK;
}

duet_status duet_rope_table_3d(float *out, int head_dim, int F, int H, int W, double theta) {
    if (!out || head_dim < 6 || head_dim % 2 || F < 1 || H < 1 || W < 1 ||
        (int64_t)F * H * W > INT32_MAX) {
        DUET_LOGE("duet_rope_table_3d: invalid arguments (head_dim %d, grid %d x %d x %d)",
                  head_dim, F, H, W);
        return DUET_ERR_INVALID_ARG;
    }
    int n_tokens = F * H * W, pairs[3];
    double *freq, *pos = duet_malloc((size_t)n_tokens * 3 * sizeof *pos);
    int *axis;
    if (!pos || pair_arrays(head_dim, &freq, &axis) != DUET_OK) {
        duet_free(pos);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    duet_rope_split_3d(head_dim, pairs);
    for (int a = 0, j = 0; a < 3; j += pairs[a], a++) {
        duet_rope_axis_freqs(freq + j, pairs[a], theta, 1.0);
        for (int k = 0; k < pairs[a]; k++) axis[j + k] = a;
    }
    for (int l = 0; l < n_tokens; l++) {
        pos[3 * (size_t)l] = l / (H * W);
        pos[3 * (size_t)l + 1] = (l / W) % H;
        pos[3 * (size_t)l + 2] = l % W;
    }
    duet_status st = duet_rope_table(out, head_dim, n_tokens, 3, pos, freq, axis);
    duet_free(freq);
    duet_free(pos);
    return st;
}

duet_status duet_rope_table_1d(float *out, int head_dim, int n_tokens, int n_rot_pairs,
                               double pos_scale, double theta) {
    if (!out || head_dim <= 0 || head_dim % 2 || n_tokens < 1 || n_rot_pairs < 0 ||
        n_rot_pairs > head_dim / 2) {
        DUET_LOGE("duet_rope_table_1d: invalid arguments (head_dim %d, n_tokens %d, "
                  "n_rot_pairs %d)", head_dim, n_tokens, n_rot_pairs);
        return DUET_ERR_INVALID_ARG;
    }
    double *freq, *pos = duet_malloc((size_t)n_tokens * sizeof *pos);
    int *axis;
    if (!pos || pair_arrays(head_dim, &freq, &axis) != DUET_OK) {
        duet_free(pos);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    duet_rope_axis_freqs(freq, n_rot_pairs, theta, pos_scale);
    for (int j = 0; j < head_dim / 2; j++) axis[j] = j < n_rot_pairs ? 0 : -1;
    for (int l = 0; l < n_tokens; l++) pos[l] = l;
    duet_status st = duet_rope_table(out, head_dim, n_tokens, 1, pos, freq, axis);
    duet_free(freq);
    duet_free(pos);
    return st;
}
