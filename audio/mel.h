/* duet — log-mel spectrogram of mono PCM: the audio VAE encoder's input (reference audio ->
 * mel -> encoders/audio_encoder) and the representation the audio VAE decoder and the
 * vocoder exchange.
 *
 * Mirrors MMAudio's mel_converter.py (16 kHz model; hkchengrex/MMAudio, vendored in
 * character-ai/Ovi) as restated in tools/duet_tiny/audio.py (MelConverter):
 *   x = clamp(pcm, -1, 1), reflect-padded by (n_fft - hop) / 2 on each side;
 *   frames t = 0.. of n_fft samples every hop (torch.stft center=False), times a periodic
 *   Hann window of win samples centred in the frame; one-sided DFT;
 *   mag = sqrt(re^2 + im^2 + 1e-9); mel = filterbank . mag with librosa's slaney mel scale and
 *   slaney area normalization (librosa.filters.mel(htk=False, norm='slaney'));
 *   out = log10(max(mel, log_clamp)).
 * N samples give floor((N + 2 pad - n_fft) / hop) + 1 frames: N / hop when N is a multiple of
 * hop. The window and the filterbank are rounded to float32 as the PyTorch module's buffers
 * are; everything else is computed in double on the host.
 *
 * Why on the host: log10 and sqrt are not core ops, and the whole transform is ~2 MFLOP per
 * second of audio (a real radix-2 FFT of 1024 points per 16 ms frame), nothing next to the
 * VAE. The FFT is written here (an iterative complex radix-2 FFT of n_fft / 2 points with
 * the usual split step for real input) rather than taken from FFTW, whose GPL licence does
 * not fit an Apache-2.0 library and whose planner is not needed at one fixed size. */
#ifndef DUET_MEL_H
#define DUET_MEL_H

#include <stdint.h>

#include "core/status.h"

typedef struct duet_mel_params {
    int sample_rate_hz; /* 16000 */
    int n_fft;          /* 1024; a power of two in [16, 65536] */
    int hop;            /* 256 */
    int win;            /* 1024; <= n_fft (a shorter window is centred, as torch.stft does) */
    int n_mels;         /* 80 */
    double fmin_hz;     /* 0 */
    double fmax_hz;     /* 8000; <= sample_rate_hz / 2 */
    double log_clamp;   /* 1e-5: smallest mel value before log10 */
} duet_mel_params;

/* MMAudio's 16 kHz settings (duet-tiny's and Ovi's). */
duet_mel_params duet_mel_default_params(void);

typedef struct duet_mel duet_mel;

/* Builds the window, filterbank and FFT tables. Returns DUET_OK, DUET_ERR_INVALID_ARG (params
 * out of range; logged) or DUET_ERR_OUT_OF_MEMORY. *out is NULL on failure. */
duet_status duet_mel_new(const duet_mel_params *p, duet_mel **out);
/* Accepts NULL; clears *m. */
void duet_mel_free(duet_mel **m);
const duet_mel_params *duet_mel_get_params(const duet_mel *m);

/* Frames produced for n_samples samples; -1 when too short (reflect padding needs more than
 * (n_fft - hop) / 2 samples, and at least one whole frame must fit). */
int64_t duet_mel_n_frames(const duet_mel *m, int64_t n_samples);

/* log-mel of pcm[0..n_samples) into out[b * n_frames + t] (PyTorch [n_mels, T]; duet's conv1d
 * layout ne [T, n_mels]); n_frames must equal duet_mel_n_frames(). Returns DUET_OK,
 * DUET_ERR_INVALID_ARG (NULLs, a length that does not fit; logged) or DUET_ERR_OUT_OF_MEMORY
 * (one work buffer per call). Thread-safe (the object is read-only after creation). */
duet_status duet_mel_compute(const duet_mel *m, const float *pcm, int64_t n_samples, float *out,
                             int64_t n_frames);

#endif
