/* duet — soundtrack assembly across shot cuts (see assemble.h). Equal-power crossfade as in
 * any editor's "constant power" transition: gains cos(theta) and sin(theta), theta 0..pi/2,
 * so uncorrelated material keeps its power through the cut. */
#include "assemble.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

duet_assemble_params duet_assemble_default_params(void) {
    duet_assemble_params p = {.fps_num = 24, .fps_den = 1, .sample_rate_hz = 16000, .crossfade_s = 0.010};
    return p;
}

/* Timeline sample where the frame with index `frame` starts. */
static int64_t frame_start(int64_t frame, const duet_assemble_params *p) {
    int64_t num = frame * p->sample_rate_hz * p->fps_den;
    return (num + p->fps_num / 2) / p->fps_num;
}

int64_t duet_assemble_audio_len(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params) {
    duet_assemble_params p = params ? *params : duet_assemble_default_params();
    if (!shots || n_shots <= 0 || p.fps_num <= 0 || p.fps_den <= 0 || p.sample_rate_hz <= 0 ||
        p.sample_rate_hz > 768000 || !(p.crossfade_s >= 0 && p.crossfade_s <= 1))
        return -1;
    int64_t frames = 0;
    for (int i = 0; i < n_shots; i++) {
        if (shots[i].n_frames <= 0 || shots[i].n_samples < 0 || (!shots[i].pcm && shots[i].n_samples))
            return -1;
        frames += shots[i].n_frames;
    }
    return frame_start(frames, &p);
}

/* Smooths the cut at timeline sample `cut` between shot a (ending there) and the incoming
 * audio already laid from `cut`; a_len is a's length on the timeline. */
static void smooth_cut(float *out, int64_t cut, const duet_shot_audio *a, int64_t a_len,
                       int64_t b_len, int64_t xfade) {
    if (xfade > b_len) xfade = b_len;
    if (a->n_samples >= a_len + xfade && xfade > 0) {
        for (int64_t i = 0; i < xfade; i++) {
            double th = M_PI / 2 * ((double)i + 0.5) / (double)xfade;
            out[cut + i] = (float)(a->pcm[a_len + i] * cos(th) + out[cut + i] * sin(th));
        }
        return;
    }
    int64_t half = xfade / 2;
    if (half > a_len) half = a_len;
    for (int64_t i = 0; i < half; i++) {
        double th = M_PI / 2 * ((double)i + 0.5) / (double)half;
        out[cut - half + i] *= (float)cos(th);
        out[cut + i] *= (float)sin(th);
    }
}

duet_status duet_assemble_audio(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params, float **out,
                                int64_t *n_out) {
    duet_assemble_params p = params ? *params : duet_assemble_default_params();
    int64_t total = duet_assemble_audio_len(shots, n_shots, &p);
    if (out) *out = NULL;
    if (n_out) *n_out = 0;
    if (!out || !n_out || total < 0) {
        DUET_LOGE("duet_assemble_audio: invalid arguments");
        return DUET_ERR_INVALID_ARG;
    }
    float *o = duet_calloc((size_t)(total ? total : 1), sizeof *o);
    if (!o) {
        DUET_LOGE("duet_assemble_audio: out of memory for %lld samples", (long long)total);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    int64_t xfade = (int64_t)llround(p.crossfade_s * p.sample_rate_hz), frames = 0;
    for (int i = 0; i < n_shots; i++) {
        int64_t start = frame_start(frames, &p);
        frames += shots[i].n_frames;
        int64_t len = frame_start(frames, &p) - start;
        int64_t n = shots[i].n_samples < len ? shots[i].n_samples : len;
        if (n > 0) memcpy(o + start, shots[i].pcm, sizeof *o * (size_t)n);
        if (i > 0) {
            int64_t prev_start = frame_start(frames - shots[i].n_frames - shots[i - 1].n_frames, &p);
            smooth_cut(o, start, &shots[i - 1], start - prev_start, len, xfade);
        }
    }
    *out = o;
    *n_out = total;
    return DUET_OK;
}
