/* duet — sample-rate conversion of mono float PCM (reference audio -> the model's rate, the
 * vocoder's rate -> a playback device's rate, 4x oversampling for true-peak estimates).
 *
 * A windowed-sinc (Kaiser) polyphase resampler written here rather than libswresample
 * reached through mux/: audio/ must not depend on FFmpeg (DESIGN.md section 2), so the model
 * path (WAV -> resample -> mel) builds and is golden-tested without libav*, and its numbers
 * do not change with the FFmpeg version installed. mux/ still uses libswresample internally
 * where audio is on its way into FFmpeg anyway (the AAC encoder's rate).
 *
 * The whole signal is converted at once (non-causal, no delay): output sample j is the
 * band-limited interpolation of the input at time j * in_rate / out_rate, samples outside the
 * input being zero. Exact rational phases are used when out_rate / gcd(in, out) <= 4096,
 * otherwise 4096 tabulated phases with linear interpolation between them. */
#ifndef DUET_RESAMPLE_H
#define DUET_RESAMPLE_H

#include <stdint.h>

#include "core/status.h"

typedef struct duet_resample_params {
    int half_width;     /* sinc zero crossings each side, counted at the lower rate (default 32) */
    double rolloff;     /* cutoff as a fraction of the lower rate's Nyquist (default 0.94) */
    double kaiser_beta; /* window shape; 9 gives about -90 dB stop band (default 9) */
} duet_resample_params;

duet_resample_params duet_resample_default_params(void);

/* Samples produced for n_in input samples: ceil(n_in * out_rate_hz / in_rate_hz); -1 when an
 * argument is out of range (rates <= 0, n_in < 0 or overflow). */
int64_t duet_resample_out_len(int64_t n_in, int in_rate_hz, int out_rate_hz);

/* Resample in[0..n_in) at in_rate_hz into out[0..n_out) at out_rate_hz; n_out may be any
 * length (duet_resample_out_len gives the natural one). params may be NULL.
 * in and out must not overlap. Equal rates copy exactly.
 * Returns DUET_OK, DUET_ERR_INVALID_ARG (rates, lengths, params), DUET_ERR_OUT_OF_MEMORY.
 * Thread-safe. */
duet_status duet_resample(const float *in, int64_t n_in, int in_rate_hz, float *out,
                          int64_t n_out, int out_rate_hz, const duet_resample_params *params);

/* The same, allocating *out (duet_resample_out_len samples, caller frees with duet_free). */
duet_status duet_resample_alloc(const float *in, int64_t n_in, int in_rate_hz, int out_rate_hz,
                                const duet_resample_params *params, float **out,
                                int64_t *n_out);

#endif
