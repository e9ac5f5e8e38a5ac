/* duet — clip assembly across shot joins (see assemble.h). Equal-power crossfade as in any
 * editor's "constant power" transition: gains cos(theta) and sin(theta), theta 0..pi/2, so
 * uncorrelated material keeps its power through the join; the picture's dissolve is linear,
 * as an editor's cross dissolve. */
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

/* Shot i's frame count and overlap against the timeline rules (assemble.h); prev_n and
 * prev_in are the previous shot's n_frames and incoming overlap. */
static int shot_ok(int i, int64_t n, int64_t ov, int64_t prev_n, int64_t prev_in) {
    if (n <= 0 || ov < 0) return 0;
    if (i == 0) return ov == 0;
    return ov <= n && ov <= prev_n && prev_in + ov <= prev_n;
}

int64_t duet_assemble_audio_len(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params) {
    duet_assemble_params p = params ? *params : duet_assemble_default_params();
    if (!shots || n_shots <= 0 || p.fps_num <= 0 || p.fps_den <= 0 || p.sample_rate_hz <= 0 ||
        p.sample_rate_hz > 768000 || !(p.crossfade_s >= 0 && p.crossfade_s <= 1))
        return -1;
    int64_t frames = 0;
    for (int i = 0; i < n_shots; i++) {
        const duet_shot_audio *s = &shots[i];
        if (!shot_ok(i, s->n_frames, s->overlap_frames, i ? shots[i - 1].n_frames : 0,
                     i ? shots[i - 1].overlap_frames : 0) ||
            s->n_samples < 0 || (!s->pcm && s->n_samples))
            return -1;
        frames += s->n_frames - s->overlap_frames;
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

/* Lays shot b from timeline sample `start` (len samples on the timeline); its first `span`
 * samples crossfade with what the outgoing shot left there. */
static void lay_overlapped(float *out, int64_t start, int64_t len, int64_t span,
                           const duet_shot_audio *b) {
    int64_t n = b->n_samples < len ? b->n_samples : len;
    for (int64_t k = 0; k < span; k++) {
        double th = M_PI / 2 * ((double)k + 0.5) / (double)span;
        double in = k < n ? b->pcm[k] : 0.0;
        out[start + k] = (float)(out[start + k] * cos(th) + in * sin(th));
    }
    if (n > span) memcpy(out + start + span, b->pcm + span, sizeof *out * (size_t)(n - span));
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
    int64_t xfade = (int64_t)llround(p.crossfade_s * p.sample_rate_hz);
    int64_t t = 0, prev_start = 0; /* t: the timeline frame where the previous shot ends */
    for (int i = 0; i < n_shots; i++) {
        const duet_shot_audio *s = &shots[i];
        int64_t first = t - s->overlap_frames;
        int64_t start = frame_start(first, &p), end = frame_start(first + s->n_frames, &p);
        int64_t len = end - start;
        if (s->overlap_frames > 0) {
            lay_overlapped(o, start, len, frame_start(t, &p) - start, s);
        } else {
            int64_t n = s->n_samples < len ? s->n_samples : len;
            if (n > 0) memcpy(o + start, s->pcm, sizeof *o * (size_t)n);
            if (i > 0) smooth_cut(o, start, &shots[i - 1], start - prev_start, len, xfade);
        }
        prev_start = start;
        t = first + s->n_frames;
    }
    *out = o;
    *n_out = total;
    return DUET_OK;
}

int64_t duet_assemble_video_len(const duet_shot_video *shots, int n_shots) {
    if (!shots || n_shots <= 0) return -1;
    int64_t frames = 0;
    for (int i = 0; i < n_shots; i++) {
        const duet_shot_video *s = &shots[i];
        if (!s->frames || !shot_ok(i, s->n_frames, s->overlap_frames,
                                   i ? shots[i - 1].n_frames : 0,
                                   i ? shots[i - 1].overlap_frames : 0))
            return -1;
        frames += s->n_frames - s->overlap_frames;
    }
    return frames;
}

duet_status duet_assemble_video_frame(const duet_shot_video *shots, int n_shots,
                                      size_t frame_nbytes, int64_t t, uint8_t *out) {
    int64_t total = duet_assemble_video_len(shots, n_shots);
    if (total < 0 || !out || !frame_nbytes || t < 0 || t >= total) {
        DUET_LOGE("duet_assemble_video_frame: invalid arguments (frame %lld of %lld)",
                  (long long)t, (long long)total);
        return DUET_ERR_INVALID_ARG;
    }
    /* j: the last shot starting at or before t; start, prev_start: where shots j and j - 1 start */
    int64_t start = 0, prev_start = 0;
    int j = 0;
    for (int i = 1; i < n_shots; i++) {
        int64_t s = start + shots[i - 1].n_frames - shots[i].overlap_frames;
        if (s > t) break;
        prev_start = start;
        start = s;
        j = i;
    }
    const duet_shot_video *b = &shots[j];
    int64_t k = t - start;
    const uint8_t *fb = b->frames + frame_nbytes * (size_t)k;
    if (k >= b->overlap_frames) {
        memcpy(out, fb, frame_nbytes);
        return DUET_OK;
    }
    const uint8_t *fa = shots[j - 1].frames + frame_nbytes * (size_t)(t - prev_start);
    double w = ((double)k + 0.5) / (double)b->overlap_frames;
    for (size_t i = 0; i < frame_nbytes; i++)
        out[i] = (uint8_t)lrint(fa[i] + (fb[i] - (double)fa[i]) * w);
    return DUET_OK;
}
