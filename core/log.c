/* duet — logging sink and assertion failure. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static void default_sink(duet_log_level level, const char *msg, void *user_data) {
    static const char *const names[DUET_LOG_COUNT_] = {"error", "warning", "info", "debug"};
    (void)user_data;
    fprintf(stderr, "duet: %s: %s\n", names[level], msg);
}

static duet_log_fn g_sink = default_sink;
static void *g_sink_user;
static duet_log_level g_level = DUET_LOG_WARN;

void duet_log_set_callback(duet_log_fn fn, void *user_data) {
    g_sink = fn ? fn : default_sink;
    g_sink_user = fn ? user_data : NULL;
}

void duet_log_set_level(duet_log_level max_level) { g_level = max_level; }
duet_log_level duet_log_get_level(void) { return g_level; }

void duet_log(duet_log_level level, const char *fmt, ...) {
    if (level > g_level || level < 0 || level >= DUET_LOG_COUNT_) return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    g_sink(level, buf, g_sink_user);
}

void duet_assert_fail(const char *file, int line, const char *expr) {
    fprintf(stderr, "duet: internal error: %s:%d: assertion failed: %s\n", file, line, expr);
    abort();
}
