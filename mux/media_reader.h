/* duet — decode a media file (an MP4 written by mp4_writer, or any file FFmpeg opens) back
 * into packed RGB8 frames and mono float PCM at a requested rate, and probe its streams.
 * Used for reference clips (a clip's frames and voice as conditioning) and by the e2e tests
 * that check what the renderer wrote. YUV is converted with the matrix and range the stream
 * is tagged with (BT.601 when untagged, as players do); audio channels are averaged into
 * mono (the same rule as audio/wav_io) and resampled with libswresample.
 * Thread-safe: calls share no state. */
#ifndef DUET_MEDIA_READER_H
#define DUET_MEDIA_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "core/status.h"

#define DUET_MEDIA_MAX_STREAMS 16

typedef enum {
    DUET_MEDIA_OTHER = 0,
    DUET_MEDIA_VIDEO = 1,
    DUET_MEDIA_AUDIO = 2,
    DUET_MEDIA_KIND_COUNT = 3,
} duet_media_kind;

typedef struct duet_media_stream_info {
    duet_media_kind kind;
    char codec[32];        /* FFmpeg's codec name: "h264", "aac", ... */
    char profile[32];      /* "High", "LC", ... ("" when unknown) */
    double start_s;        /* presentation start; NAN when the container does not say */
    double duration_s;     /* NAN when unknown */
    int64_t n_frames;      /* frames (video) or packets (audio) the container lists; 0 = unknown */
    int width, height;     /* video */
    int fps_num, fps_den;  /* video average frame rate; 0/0 when unknown */
    char pix_fmt[32];      /* video: "yuv420p", ... */
    int sample_rate_hz, n_channels; /* audio */
} duet_media_stream_info;

typedef struct duet_media_info {
    char format[64];       /* demuxer names: "mov,mp4,m4a,3gp,3g2,mj2" */
    double start_s, duration_s; /* container's; NAN when unknown */
    int n_streams;         /* all streams; the first DUET_MEDIA_MAX_STREAMS are described */
    duet_media_stream_info streams[DUET_MEDIA_MAX_STREAMS];
} duet_media_info;

/* Fills *info from the container headers (and a short read where headers are incomplete).
 * Returns DUET_OK; DUET_ERR_NOT_FOUND; DUET_ERR_FORMAT (not a media file FFmpeg knows, or
 * corrupt); DUET_ERR_IO; DUET_ERR_INVALID_ARG. Errors are logged with the file name. */
duet_status duet_media_probe(const char *path, duet_media_info *info);

typedef struct duet_media_read_params {
    bool video;              /* decode the best video stream (default true) */
    bool audio;              /* decode the best audio stream (default true) */
    int audio_rate_hz;       /* resample to this rate; 0 = the stream's own (default 0) */
    int64_t max_frames;      /* stop after this many frames; 0 = all (default 0) */
    int64_t max_rgb_bytes;   /* fail with DUET_ERR_UNSUPPORTED beyond (default 1 GiB) */
    int64_t max_samples;     /* same for audio (default 2^28) */
} duet_media_read_params;

duet_media_read_params duet_media_default_read_params(void);

typedef struct duet_media_clip {
    int width, height;       /* 0 without video */
    int fps_num, fps_den;
    int64_t n_frames;
    uint8_t *rgb;            /* n_frames * width * height * 3, frames back to back */
    double video_start_s;    /* time of the first decoded frame; NAN without video */
    int sample_rate_hz;      /* 0 without audio */
    int64_t n_samples;
    float *pcm;              /* n_samples mono samples */
    double audio_start_s;    /* time of the first decoded sample; NAN without audio */
} duet_media_clip;

/* Decodes `path` into *clip (zeroed first; on error left empty). A stream that was asked for
 * but is absent is not an error: its fields stay 0/NULL/NAN; asking for neither, or finding
 * neither, is DUET_ERR_INVALID_ARG / DUET_ERR_NOT_FOUND. Free with duet_media_clip_free.
 * Returns as duet_media_probe, plus DUET_ERR_UNSUPPORTED (limits, changing frame size),
 * DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_media_read(const char *path, const duet_media_read_params *params,
                            duet_media_clip *clip);

/* Frees the buffers and zeroes *clip. Accepts NULL and an already freed clip. */
void duet_media_clip_free(duet_media_clip *clip);

#endif
