/* duet — loudness measurement and normalization of the mono soundtrack.
 *
 * Integrated loudness follows ITU-R BS.1770-4 (EBU R128 / Tech 3341 gating): K-weighting
 * (a high-shelf pre-filter and the RLB high-pass, designed for the actual sample rate so that
 * 48 kHz reproduces the standard's coefficients), mean square over 400 ms blocks stepped by
 * 100 ms (75 % overlap), block loudness -0.691 + 10 log10(z), an absolute gate at -70 LUFS,
 * then a relative gate 10 LU below the loudness of the blocks that passed the first.
 * A mono signal is measured as one channel of weight 1.0 (as libebur128 and the standard do;
 * some tools count mono as dual mono, reading 3 LU higher).
 *
 * Normalization default: -16 LUFS, the level AES TD1004 recommends for streamed and mobile
 * audio and what web video platforms play back at within ~2 LU (YouTube about -14, Apple -16);
 * -23 LUFS (EBU R128 broadcast) would sound quiet next to other web clips. The gain is then
 * capped so that the true peak (4x oversampled, BS.1770-4 Annex 2 style) stays at or below
 * -1 dBFS, leaving headroom for AAC encoding overshoot; a capped clip ends up quieter than the
 * target rather than clipped (no limiter, so the waveform's shape is kept). */
#ifndef DUET_LOUDNESS_H
#define DUET_LOUDNESS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

/* K-weighting biquads for a sample rate: coef[stage] = {b0, b1, b2, a1, a2} with a0 = 1;
 * stage 0 is the shelf, stage 1 the high-pass. Returns DUET_ERR_INVALID_ARG for rates
 * outside 8 kHz .. 384 kHz (where the shelf's design frequency would pass Nyquist too
 * closely), otherwise DUET_OK. Thread-safe. */
duet_status duet_loudness_k_filter(int sample_rate_hz, double coef[2][5]);

/* Integrated loudness in LUFS of n_samples mono samples. *lufs is -INFINITY when no 400 ms
 * block passes the gates (silence, or shorter than 400 ms). Returns DUET_OK,
 * DUET_ERR_INVALID_ARG (NULLs, rate), DUET_ERR_OUT_OF_MEMORY. Thread-safe. */
duet_status duet_loudness_integrated(const float *pcm, int64_t n_samples, int sample_rate_hz,
                                     double *lufs);

/* True peak in dBFS: the largest magnitude of the signal oversampled 4x (duet_resample) or of
 * the samples themselves; -INFINITY for silence. Returns as above. Thread-safe. */
duet_status duet_true_peak(const float *pcm, int64_t n_samples, int sample_rate_hz,
                           double *peak_dbfs);

typedef struct duet_loudness_params {
    double target_lufs;   /* default -16 */
    double max_peak_dbfs; /* true-peak ceiling after gain (default -1) */
    double max_gain_db;   /* never raise by more than this: quiet noise stays quiet (default 30) */
} duet_loudness_params;

duet_loudness_params duet_loudness_default_params(void);

typedef struct duet_loudness_report {
    double input_lufs, input_peak_dbfs;   /* before; -INFINITY for silence */
    double gain_db;                        /* applied (0 when the input was left unchanged) */
    double output_lufs, output_peak_dbfs;  /* after */
    bool peak_limited;                     /* the peak ceiling, not the target, set the gain */
} duet_loudness_report;

/* Scale pcm in place to params' target (NULL = defaults); report may be NULL. Silence and
 * clips shorter than one 400 ms block are left unchanged (logged at INFO).
 * Returns DUET_OK, DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY. Thread-safe for distinct
 * buffers. */
duet_status duet_loudness_normalize(float *pcm, int64_t n_samples, int sample_rate_hz,
                                    const duet_loudness_params *params,
                                    duet_loudness_report *report);

#endif
