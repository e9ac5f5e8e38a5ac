/* duet render — the shots joined into the clip (mux/assemble.h does the joining, mux/mp4_writer.h
 * the file). Cuts: frames follow each other, the sound gets the assembler's 10 ms smoothing.
 * Crossfades ("transition": "crossfade", transition_ms): the two shots overlap by the
 * transition's length in whole frames, so the clip is that much shorter than the sum of its
 * shots; the picture dissolves linearly and the sound crossfades with equal power over the
 * same frames. Continuations join like cuts: their first frame already follows on from the
 * previous shot's last (render_shot.c). Frames are assembled one at a time straight into the
 * MP4 writer, so the clip is never held twice. */
#include <string.h>

#include "cli/render.h"
#include "core/alloc.h"
#include "mux/assemble.h"
#include "mux/mp4_writer.h"

/* round(transition_ms * fps / 1000), at least one frame (a crossfade is never silently a cut),
 * at most the incoming shot and what the previous shot's own incoming crossfade leaves of it
 * (the script check bounds these in milliseconds; frame rounding can overstep by one). */
int64_t duet_render_overlap_frames(const duet_job *job, int i) {
    if (i <= 0 || job->shots[i].transition != DUET_TRANSITION_CROSSFADE) return 0;
    int64_t k = ((int64_t)job->shots[i].transition_ms * job->fps + 500) / 1000;
    int64_t cap = job->shots[i - 1].n_frames - duet_render_overlap_frames(job, i - 1);
    if (cap > job->shots[i].n_frames) cap = job->shots[i].n_frames;
    if (k < 1) k = 1;
    return k < cap ? k : cap;
}

duet_status duet_render_clip_audio(const duet_job *job, const duet_render_shot_out *outs,
                                   float **pcm, int64_t *n_samples) {
    duet_shot_audio *sa = duet_malloc(sizeof *sa * (size_t)job->n_shots);
    if (!sa) return DUET_ERR_OUT_OF_MEMORY;
    for (int i = 0; i < job->n_shots; i++)
        sa[i] = (duet_shot_audio){outs[i].pcm, outs[i].n_samples, outs[i].n_frames,
                                  duet_render_overlap_frames(job, i)};
    duet_assemble_params p = duet_assemble_default_params();
    p.fps_num = job->fps;
    p.fps_den = 1;
    p.sample_rate_hz = DUET_RENDER_RATE_HZ;
    duet_status st = duet_assemble_audio(sa, job->n_shots, &p, pcm, n_samples);
    duet_free(sa);
    return st;
}

/* Frames and sound go in together, the sound up to the end of the frames written so far, so
 * the file is interleaved (as duet_mp4_write does). */
static duet_status stream(duet_mp4_writer *w, const duet_shot_video *sv, int n_shots,
                          size_t frame_nbytes, uint8_t *frame, int64_t total, int fps,
                          const float *pcm, int64_t n_samples) {
    duet_status st = DUET_OK;
    int64_t fed = 0;
    for (int64_t t = 0; st == DUET_OK && t < total; t++) {
        st = duet_assemble_video_frame(sv, n_shots, frame_nbytes, t, frame);
        if (st == DUET_OK) st = duet_mp4_writer_add_frame(w, frame);
        int64_t upto = (t + 1) * DUET_RENDER_RATE_HZ / fps;
        if (upto > n_samples || t + 1 == total) upto = n_samples;
        if (st == DUET_OK && upto > fed) {
            st = duet_mp4_writer_add_audio(w, pcm + fed, upto - fed);
            fed = upto;
        }
    }
    return st;
}

duet_status duet_render_clip_write(const char *path, const duet_job *job, int scale,
                                   const duet_render_shot_out *outs, const float *pcm,
                                   int64_t n_samples, int64_t *n_frames) {
    const size_t fb = (size_t)job->width * (size_t)job->height * 3;
    duet_shot_video *sv = duet_malloc(sizeof *sv * (size_t)job->n_shots);
    uint8_t *frame = duet_malloc(fb);
    if (!sv || !frame) {
        duet_free(sv);
        duet_free(frame);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < job->n_shots; i++)
        sv[i] = (duet_shot_video){outs[i].rgb, outs[i].n_frames, duet_render_overlap_frames(job, i)};
    int64_t total = duet_assemble_video_len(sv, job->n_shots);
    duet_mp4_params mp = duet_mp4_default_params();
    mp.width = job->width;
    mp.height = job->height;
    mp.fps_num = job->fps;
    mp.fps_den = 1;
    mp.sample_rate_hz = DUET_RENDER_RATE_HZ;
    mp.scale = scale;
    duet_mp4_writer *w = NULL;
    duet_status st = total > 0 ? duet_mp4_writer_open(path, &mp, &w) : DUET_ERR_INVALID_ARG;
    if (st == DUET_OK)
        st = stream(w, sv, job->n_shots, fb, frame, total, job->fps, pcm, n_samples);
    if (st == DUET_OK) st = duet_mp4_writer_close(&w);
    else duet_mp4_writer_abort(&w);
    duet_free(sv);
    duet_free(frame);
    *n_frames = st == DUET_OK ? total : 0;
    return st;
}
