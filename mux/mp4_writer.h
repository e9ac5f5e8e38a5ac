/* duet — write the finished clip: an MP4 with H.264 video (yuv420p) from RGB8 frames and AAC
 * audio from mono float PCM, playable in browsers, phones and editors.
 *
 * Video: libx264 through libavcodec (CRF rate control); if this FFmpeg has no libx264, the
 * first other H.264 encoder that opens is used (logged); none at all is
 * DUET_ERR_UNSUPPORTED. RGB -> YUV 4:2:0 uses BT.709 coefficients, limited range, and the
 * stream is tagged so (players assume BT.709 for HD and browsers honour the tag). Frames may
 * be enlarged by an integer factor for viewing tiny renders (nearest: exact pixel blocks;
 * bicubic: smooth). H.264 4:2:0 needs even sizes: an odd width or height (after scaling) is
 * padded by repeating the last column or row.
 *
 * Audio: FFmpeg's native AAC-LC encoder, mono, at 48 kHz by default whatever the input rate
 * (resampled with libswresample). 16 kHz AAC is legal in MP4, but 48 kHz is the rate video
 * editors, browsers and phone audio stacks run at, so nothing resamples on playback and no
 * tool trips over an unusual rate; the cost is a few kB/s. audio_rate_hz = 0 keeps the input
 * rate when AAC supports it.
 *
 * Timing: video pts count frames from 0 (time base fps_den/fps_num); audio pts count samples
 * from 0; AAC's encoder delay (priming) is hidden by the MP4 edit list, so both streams start
 * at 0. At close the audio is padded with silence or cut to exactly the video's length,
 * n_frames * fps_den / fps_num seconds, so both end together. Audio is encoded only up to
 * the duration of the frames added so far, which keeps the file interleaved.
 *
 * Output: written to a temporary next to the target ("clip.tmp.mp4" for "clip.mp4"),
 * with movflags=+faststart (index at the front, for progressive web playback), and renamed
 * onto the target only by a successful duet_mp4_writer_close(); any failure, or
 * duet_mp4_writer_abort(), removes the temporary. FFmpeg's log goes to duet_log.
 *
 * Threading: one writer is used by one thread at a time; distinct writers are independent. */
#ifndef DUET_MP4_WRITER_H
#define DUET_MP4_WRITER_H

#include <stdint.h>

#include "core/status.h"

typedef enum {
    DUET_SCALE_NEAREST = 0, /* each pixel becomes a scale x scale block */
    DUET_SCALE_BICUBIC = 1, /* swscale's bicubic */
    DUET_SCALE_FILTER_COUNT = 2,
} duet_scale_filter;

typedef struct duet_mp4_params {
    int width, height;          /* of the RGB frames passed to add_frame (required) */
    int fps_num, fps_den;       /* frame rate as a fraction (default 24/1) */
    int sample_rate_hz;         /* of the PCM passed to add_audio; 0 = no audio stream (default 16000) */
    int scale;                  /* integer enlargement 1..16 (default 1) */
    duet_scale_filter scale_filter; /* default DUET_SCALE_NEAREST */
    int crf;                    /* libx264 constant rate factor 0..51 (default 18) */
    const char *preset;         /* libx264 preset (default "medium") */
    int audio_rate_hz;          /* AAC sample rate; 0 = the input's (default 48000) */
    int audio_bitrate;          /* AAC bits per second (default 128000) */
    const char *video_encoder;  /* NULL: libx264, else the first other H.264 encoder that
                                   opens (default); a name ("libx264", "h264_nvenc"): only that */
} duet_mp4_params;

duet_mp4_params duet_mp4_default_params(void);

typedef struct duet_mp4_writer duet_mp4_writer;

/* Opens encoders and the temporary file. On error nothing is left on disk and *out is NULL.
 * Returns DUET_OK; DUET_ERR_INVALID_ARG (sizes, rates, scale, crf); DUET_ERR_UNSUPPORTED (no
 * H.264 or AAC encoder); DUET_ERR_IO (cannot create the file); DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_mp4_writer_open(const char *path, const duet_mp4_params *params,
                                 duet_mp4_writer **out);

/* Appends one frame: width * height * 3 bytes of RGB, rows top to bottom, no padding.
 * Returns DUET_OK or the error that also makes every later call fail (the writer must then
 * be aborted or closed, which removes the temporary). */
duet_status duet_mp4_writer_add_frame(duet_mp4_writer *w, const uint8_t *rgb);

/* Appends n_samples mono samples at params.sample_rate_hz (any amount per call; before,
 * between or after frames). Errors as for add_frame; DUET_ERR_INVALID_ARG without an audio
 * stream. */
duet_status duet_mp4_writer_add_audio(duet_mp4_writer *w, const float *pcm, int64_t n_samples);

/* Finishes: pads/trims audio to the video's length, drains the encoders, writes the index,
 * renames the temporary onto the target. Frees the writer and sets *w to NULL in every case
 * (NULL is accepted). At least one frame is required. Returns DUET_OK or the first error
 * (then the temporary is removed and the target left as it was). */
duet_status duet_mp4_writer_close(duet_mp4_writer **w);

/* Discards everything written: frees the writer, removes the temporary, sets *w to NULL.
 * Accepts NULL. */
void duet_mp4_writer_abort(duet_mp4_writer **w);

/* Number of frames added so far. */
int64_t duet_mp4_writer_n_frames(const duet_mp4_writer *w);

/* Convenience: the whole clip at once (frames packed back to back). pcm may be NULL when
 * params->sample_rate_hz is 0. Same results as open, add, close. */
duet_status duet_mp4_write(const char *path, const duet_mp4_params *params, const uint8_t *rgb,
                           int64_t n_frames, const float *pcm, int64_t n_samples);

#endif
