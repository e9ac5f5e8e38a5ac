/* duet — multi-shot assembly of a clip: where each shot sits on the timeline, the soundtrack,
 * and the picture where two shots overlap.
 *
 * Timeline: shot i starts at frame T_i = T_(i-1) + n_frames_(i-1) - overlap_frames_i
 * (T_0 = 0); frame t starts at sample round(t * rate * fps_den / fps_num), rounded once from
 * the cumulative frame count, so timing never drifts. A cut has overlap 0; a crossfade of k
 * frames lays the first k frames of the incoming shot over the last k of the outgoing one, so
 * the clip is k frames shorter than the sum of its shots.
 *
 * Soundtrack: each shot's audio is laid from its first frame's time, padded with silence or cut
 * to its shot's length, and every join is smoothed so nothing clicks:
 *  - a crossfade (overlap > 0): an equal-power crossfade (cos/sin gains) from the outgoing
 *    shot's audio into the incoming one's over exactly the overlapping frames' time, each shot
 *    keeping its own audio aligned with its own frames;
 *  - a cut, when the outgoing shot's audio runs on past its last frame by at least the cut
 *    smoothing length (generators can be asked for a little extra): an equal-power crossfade
 *    (10 ms by default) from that run-on into the incoming shot, starting at the cut;
 *  - a cut otherwise: the outgoing audio fades out over the last half of the smoothing length
 *    before the cut and the incoming fades in over the first half after it (through zero).
 * Picture: frames are copied, except in an overlap, where they are blended linearly, the
 * incoming shot's weight rising as (k + 0.5) / overlap over the overlap's frames k (a
 * dissolve; neither end frame is a pure copy). Frames are produced one at a time so a caller
 * can stream them to the MP4 writer without a second copy of the clip.
 *
 * Plain C on host arrays; it sits in mux/ with the rest of the clip assembly and includes no
 * libav*. */
#ifndef DUET_ASSEMBLE_H
#define DUET_ASSEMBLE_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

/* Timeline rules shared by both halves (else DUET_ERR_INVALID_ARG): n_frames > 0; the first
 * shot's overlap is 0; 0 <= overlap_frames <= both shots' n_frames; a shot's incoming and
 * outgoing overlaps together are at most its n_frames. */

typedef struct duet_shot_audio {
    const float *pcm;   /* the shot's mono audio at the common rate (may be NULL if n_samples is 0) */
    int64_t n_samples;  /* may differ from the shot's length: padded or cut (run-on used at cuts) */
    int64_t n_frames;   /* the shot's video frames (> 0) */
    int64_t overlap_frames; /* frames shared with the previous shot (a crossfade); 0: a cut */
} duet_shot_audio;

typedef struct duet_assemble_params {
    int fps_num, fps_den;  /* default 24/1 */
    int sample_rate_hz;    /* default 16000 */
    double crossfade_s;    /* smoothing of cuts, default 0.010; 0 = hard cuts. Overlapping
                              shots crossfade over their overlap whatever this is */
} duet_assemble_params;

duet_assemble_params duet_assemble_default_params(void);

/* Samples of the assembled soundtrack: round(timeline_frames * rate * fps_den / fps_num);
 * -1 for invalid arguments. */
int64_t duet_assemble_audio_len(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params);

/* Builds the soundtrack into *out (duet_free it; duet_assemble_audio_len samples).
 * params may be NULL. Returns DUET_OK, DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY.
 * Thread-safe. */
duet_status duet_assemble_audio(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params, float **out,
                                int64_t *n_out);

typedef struct duet_shot_video {
    const uint8_t *frames;  /* n_frames frames of frame_nbytes each, back to back */
    int64_t n_frames;       /* > 0 */
    int64_t overlap_frames; /* as in duet_shot_audio */
} duet_shot_video;

/* Frames of the assembled picture (sum of n_frames minus the overlaps); -1 for invalid
 * arguments. */
int64_t duet_assemble_video_len(const duet_shot_video *shots, int n_shots);

/* Writes frame t (0 <= t < duet_assemble_video_len) of the assembled picture into out
 * (frame_nbytes bytes: any 8-bit interleaved layout, blended byte by byte). Returns DUET_OK or
 * DUET_ERR_INVALID_ARG (timeline, t, NULLs; logged). Thread-safe. */
duet_status duet_assemble_video_frame(const duet_shot_video *shots, int n_shots,
                                      size_t frame_nbytes, int64_t t, uint8_t *out);

#endif
