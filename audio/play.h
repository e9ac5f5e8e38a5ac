/* duet — play mono float PCM on the default (or a chosen) output device through PortAudio
 * (`duet play`, previews). Only audio/ talks to PortAudio; builds without it still link and
 * report DUET_ERR_UNSUPPORTED. Playback never hangs: it is abandoned when it runs
 * `timeout_slack_s` past the audio's length, and a progress callback can cancel it. */
#ifndef DUET_PLAY_H
#define DUET_PLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/* Called about every 50 ms from the calling thread; return false to stop playback. */
typedef bool (*duet_play_progress_fn)(double played_s, double total_s, void *user_data);

typedef struct duet_play_params {
    int device;               /* PortAudio device index; -1 = the default output (default) */
    double timeout_slack_s;   /* give up this long after the audio should have ended (2 s) */
    duet_play_progress_fn progress; /* optional */
    void *user_data;
} duet_play_params;

duet_play_params duet_play_default_params(void);

/* True when this build has PortAudio. */
bool duet_play_available(void);

/* Play n_samples at sample_rate_hz and return when done. If the device does not take that
 * rate, the audio is resampled to the device's default rate. Mono is duplicated to stereo when
 * the device wants two channels. Blocks the calling thread.
 * Returns DUET_OK; DUET_ERR_UNSUPPORTED with "no audio output device" when there is none (or
 * the build has no PortAudio, or the device refuses every format tried); DUET_ERR_IO when the
 * stream fails or stalls; DUET_ERR_CANCELLED when progress returned false;
 * DUET_ERR_INVALID_ARG; DUET_ERR_OUT_OF_MEMORY. Not thread-safe: PortAudio's
 * initialization is process-global, so play from one thread at a time. */
duet_status duet_play(const float *pcm, int64_t n_samples, int sample_rate_hz,
                      const duet_play_params *params);

#endif
