/* duet — what the mux/ files share and nothing outside mux/ sees: the one translation of
 * AVERROR codes into duet_status, the one route from av_log into duet_log, and the
 * temporary-file name used while an output is being written. */
#ifndef DUET_MUX_INTERNAL_H
#define DUET_MUX_INTERNAL_H

#include "core/status.h"

/* Installs the av_log -> duet_log bridge once per process (idempotent, thread-safe). Every
 * public mux/ entry point calls it before touching libav*. */
void duet_mux_log_init(void);

/* Logs "<name>: <what>: <FFmpeg's text for err>" and returns the matching duet_status. */
duet_status duet_mux_averror(int err, const char *name, const char *what);

/* "<stem>.tmp.mp4" for "<stem>.mp4", else "<path>.tmp.mp4" (the muxer is chosen by name, so
 * the suffix only helps people who look at a half-written file). duet_free the result;
 * NULL when out of memory. */
char *duet_mux_temp_path(const char *path);

#endif
