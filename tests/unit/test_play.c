/* duet — unit test for audio/play: argument checks, and that playback either works or fails
 * with DUET_ERR_UNSUPPORTED and "no audio output device" (machines without sound hardware,
 * CI), and in every case returns within a bounded time instead of hanging. Where a device
 * exists, a progress callback that returns false cancels playback. Which branch ran is
 * printed, so a log shows whether sound was actually played. */
#include <math.h>
#include <time.h>

#include "audio/play.h"
#include "io_test_util.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int n_progress;

static bool stop_at_once(double played_s, double total_s, void *user_data) {
    (void)played_s;
    (void)total_s;
    (void)user_data;
    n_progress++;
    return false;
}

int main(void) {
    enum { RATE = 16000, N = RATE / 5 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = 0.05f * (float)sin(2 * M_PI * 440 * i / RATE);
    io_capture_begin();
    T_CHECK(duet_play(NULL, 10, RATE, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_play(x, N, 0, NULL) == DUET_ERR_INVALID_ARG);
    duet_play_params p = duet_play_default_params();
    p.timeout_slack_s = -1;
    T_CHECK(duet_play(x, N, RATE, &p) == DUET_ERR_INVALID_ARG);

    double t0 = now_s();
    io_last_error[0] = 0;
    duet_status st = duet_play(x, N, RATE, NULL);
    double elapsed = now_s() - t0;
    io_capture_end();
    printf("portaudio in build: %s; play: %s after %.2f s%s%s\n",
           duet_play_available() ? "yes" : "no", duet_status_str(st), elapsed,
           io_last_error[0] ? "; message: " : "", io_last_error);
    T_CHECK(st == DUET_OK || st == DUET_ERR_UNSUPPORTED);
    /* 0.2 s of audio + 2 s slack + 1 s start-up is the most playback may take */
    T_CHECK(elapsed < 3.2 + 2.0);
    if (st == DUET_ERR_UNSUPPORTED) {
        T_CHECK(io_error_has("no audio output device"));
    } else if (st == DUET_OK) {
        T_CHECK(elapsed >= 0.15); /* it did play for about the audio's length */
        p = duet_play_default_params();
        p.progress = stop_at_once;
        T_CHECK(duet_play(x, N, RATE, &p) == DUET_ERR_CANCELLED && n_progress == 1);
    }
    return duet_test_end(NULL, 0);
}
