/* duet — WAV read/write for reference audio and soundtrack dumps (RIFF/WAVE, little-endian).
 *
 * Reading accepts PCM 8 (unsigned), 16, 24 and 32-bit integer and 32/64-bit IEEE float, in
 * plain and WAVE_FORMAT_EXTENSIBLE fmt chunks, 1..8 channels, any sample rate; channels are
 * averaged into one mono float channel, integers scaled by 2^-(bits-1) into [-1, 1).
 * Chunks are walked by their sizes (odd sizes padded), unknown chunks skipped, fmt may come
 * after data. A RIFF size that disagrees with the file is tolerated (the file's end is used);
 * a data size of 0xFFFFFFFF (written by streaming encoders) means "to the end of the file".
 * Everything else that is inconsistent is an error whose message names the file and the
 * problem: "voice.wav: data chunk claims 88200 bytes but only 1000 remain".
 *
 * Writing produces mono 16-bit PCM or 32-bit float (with the fact chunk the spec requires for
 * non-PCM data) via `<path>.tmp` + rename; on error the temporary is removed. */
#ifndef DUET_WAV_IO_H
#define DUET_WAV_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

#define DUET_WAV_MAX_CHANNELS 8

typedef enum {
    DUET_WAV_PCM16 = 0,   /* 16-bit signed integer: x * 32768, rounded, clamped */
    DUET_WAV_FLOAT32 = 1, /* 32-bit IEEE float, written as is */
    DUET_WAV_FORMAT_COUNT = 2,
} duet_wav_format;

/* What the file held (the returned samples are always mono float). */
typedef struct duet_wav_info {
    int sample_rate_hz;
    int n_channels;
    int bits_per_sample; /* container size: 8, 16, 24, 32 or 64 */
    int is_float;
    int64_t n_frames;    /* samples per channel == number of mono samples returned */
} duet_wav_info;

typedef struct duet_wav_read_params {
    int64_t max_frames;  /* longer files are rejected (default 2^28, ~93 min at 48 kHz) */
} duet_wav_read_params;

duet_wav_read_params duet_wav_default_read_params(void);

/* Read `path` into *pcm (info->n_frames mono floats; caller frees with duet_free; never NULL
 * on success, even for an empty data chunk). params and info may be NULL.
 * Returns DUET_OK; DUET_ERR_NOT_FOUND / DUET_ERR_IO (cannot open/read); DUET_ERR_FORMAT
 * (malformed: truncated, inconsistent sizes, zero channels, 0 Hz, missing chunks);
 * DUET_ERR_UNSUPPORTED (a valid encoding we do not decode: ADPCM, A-law, RF64, > 8 channels,
 * too long); DUET_ERR_OUT_OF_MEMORY; DUET_ERR_INVALID_ARG. Every error is logged with the
 * file name. On error *pcm is NULL and *n_samples 0. Thread-safe. */
duet_status duet_wav_read(const char *path, const duet_wav_read_params *params, float **pcm,
                          int64_t *n_samples, duet_wav_info *info);

/* The same from memory; `name` is used in messages (fuzzing, embedded data). */
duet_status duet_wav_read_mem(const void *data, size_t nbytes, const char *name,
                              const duet_wav_read_params *params, float **pcm,
                              int64_t *n_samples, duet_wav_info *info);

/* Write n_samples mono samples at sample_rate_hz. n_samples may be 0 (pcm may then be NULL).
 * Returns DUET_OK; DUET_ERR_INVALID_ARG (NULLs, rate <= 0, unknown format);
 * DUET_ERR_UNSUPPORTED (data over 4 GiB, which needs RF64); DUET_ERR_IO; DUET_ERR_OUT_OF_MEMORY.
 * Thread-safe for distinct paths. */
duet_status duet_wav_write(const char *path, const float *pcm, int64_t n_samples,
                           int sample_rate_hz, duet_wav_format format);

#endif
