/* duet — the two translation points between FFmpeg and duet (see mux_internal.h): AVERROR
 * codes to duet_status, and av_log lines to duet_log. FFmpeg's levels map as: panic, fatal,
 * error -> error; warning -> warning; info -> debug (libx264's statistics and the like are
 * chatty); verbose and below are dropped. */
#include "mux_internal.h"

#include <libavutil/error.h>
#include <libavutil/log.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

/* av_log delivers a message in pieces that end with '\n'; pieces are gathered per thread
 * (encoders log from their worker threads) and a whole line goes to duet_log. */
static _Thread_local char line_buf[1024];
static _Thread_local size_t line_len;
static _Thread_local int print_prefix = 1;

static int map_level(int av_level, duet_log_level *out) {
    if (av_level <= AV_LOG_ERROR) *out = DUET_LOG_ERROR;
    else if (av_level <= AV_LOG_WARNING) *out = DUET_LOG_WARN;
    else if (av_level <= AV_LOG_INFO) *out = DUET_LOG_DEBUG;
    else return 0;
    return 1;
}

static void av_log_to_duet(void *avcl, int level, const char *fmt, va_list vl) {
    duet_log_level dl;
    if (!map_level(level, &dl) || dl > duet_log_get_level()) return;
    char piece[1024];
    av_log_format_line2(avcl, level, fmt, vl, piece, sizeof piece, &print_prefix);
    size_t n = strlen(piece), room = sizeof line_buf - 1 - line_len;
    if (n > room) n = room;
    memcpy(line_buf + line_len, piece, n);
    line_len += n;
    line_buf[line_len] = 0;
    if (line_len && (line_buf[line_len - 1] == '\n' || line_len == sizeof line_buf - 1)) {
        while (line_len && (line_buf[line_len - 1] == '\n' || line_buf[line_len - 1] == '\r'))
            line_buf[--line_len] = 0;
        if (line_len) duet_log(dl, "ffmpeg: %s", line_buf);
        line_len = 0;
    }
}

static pthread_once_t log_once = PTHREAD_ONCE_INIT;

static void install_log(void) { av_log_set_callback(av_log_to_duet); }

void duet_mux_log_init(void) { pthread_once(&log_once, install_log); }

duet_status duet_mux_averror(int err, const char *name, const char *what) {
    char text[AV_ERROR_MAX_STRING_SIZE];
    av_strerror(err, text, sizeof text);
    DUET_LOGE("%s: %s: %s", name ? name : "(null)", what, text);
    if (err == AVERROR(ENOMEM)) return DUET_ERR_OUT_OF_MEMORY;
    if (err == AVERROR(ENOENT)) return DUET_ERR_NOT_FOUND;
    if (err == AVERROR_INVALIDDATA || err == AVERROR_EOF) return DUET_ERR_FORMAT;
    if (err == AVERROR_ENCODER_NOT_FOUND || err == AVERROR_DECODER_NOT_FOUND ||
        err == AVERROR_DEMUXER_NOT_FOUND || err == AVERROR_MUXER_NOT_FOUND ||
        err == AVERROR_PATCHWELCOME || err == AVERROR(ENOSYS))
        return DUET_ERR_UNSUPPORTED;
    if (err == AVERROR(EINVAL) || err == AVERROR(ERANGE)) return DUET_ERR_INVALID_ARG;
    return DUET_ERR_IO;
}

char *duet_mux_temp_path(const char *path) {
    size_t n = strlen(path);
    int has_mp4 = n > 4 && strcmp(path + n - 4, ".mp4") == 0;
    size_t stem = has_mp4 ? n - 4 : n;
    char *t = duet_malloc(stem + sizeof ".tmp.mp4");
    if (!t) return NULL;
    memcpy(t, path, stem);
    memcpy(t + stem, ".tmp.mp4", sizeof ".tmp.mp4");
    return t;
}
