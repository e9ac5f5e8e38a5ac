/* duet — multi-shot assembly of the soundtrack: each shot's audio is laid on the timeline at
 * its first frame's time (cumulative frame counts, rounded once, so timing never drifts),
 * padded with silence or cut to its shot's length, and every cut is smoothed so nothing
 * clicks:
 *  - when the outgoing shot's audio runs on past its last frame by at least the crossfade
 *    length (generators can be asked for a little extra), an equal-power crossfade
 *    (cos/sin gains, 10 ms by default) from that run-on into the incoming shot starts at
 *    the cut: the incoming shot's own audio stays aligned with its frames;
 *  - otherwise the outgoing audio fades out over the last half of the crossfade length
 *    before the cut and the incoming fades in over the first half after it (through zero).
 * Frames need no assembly: they go to the MP4 writer shot after shot. Plain C on host
 * arrays; it sits in mux/ with the rest of the clip assembly and includes no libav*. */
#ifndef DUET_ASSEMBLE_H
#define DUET_ASSEMBLE_H

#include <stdint.h>

#include "core/status.h"

typedef struct duet_shot_audio {
    const float *pcm;   /* the shot's mono audio at the common rate (may be NULL if n_samples is 0) */
    int64_t n_samples;  /* may differ from the shot's length: padded or cut (run-on used at cuts) */
    int64_t n_frames;   /* the shot's video frames (> 0) */
} duet_shot_audio;

typedef struct duet_assemble_params {
    int fps_num, fps_den;  /* default 24/1 */
    int sample_rate_hz;    /* default 16000 */
    double crossfade_s;    /* default 0.010; 0 = hard cuts */
} duet_assemble_params;

duet_assemble_params duet_assemble_default_params(void);

/* Samples of the assembled soundtrack: round(total_frames * rate * fps_den / fps_num);
 * -1 for invalid arguments. */
int64_t duet_assemble_audio_len(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params);

/* Builds the soundtrack into *out (duet_free it; duet_assemble_audio_len samples).
 * params may be NULL. Returns DUET_OK, DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY.
 * Thread-safe. */
duet_status duet_assemble_audio(const duet_shot_audio *shots, int n_shots,
                                const duet_assemble_params *params, float **out,
                                int64_t *n_out);

#endif
