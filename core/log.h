/* duet — logging. The library never prints: every message goes through duet_log() to a
 * settable callback (default: stderr for WARN and above, plus INFO when verbose). */
#ifndef DUET_LOG_H
#define DUET_LOG_H

typedef enum {
    DUET_LOG_ERROR = 0,
    DUET_LOG_WARN = 1,
    DUET_LOG_INFO = 2,
    DUET_LOG_DEBUG = 3,
    DUET_LOG_COUNT_ = 4,
} duet_log_level;

typedef void (*duet_log_fn)(duet_log_level level, const char *msg, void *user_data);

/* Replace the log sink; fn == NULL restores the default. Not thread-safe against concurrent
 * duet_log() calls: set it once at start-up. */
void duet_log_set_callback(duet_log_fn fn, void *user_data);
/* Messages above this level are dropped before formatting (default DUET_LOG_WARN). */
void duet_log_set_level(duet_log_level max_level);
duet_log_level duet_log_get_level(void);

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void duet_log(duet_log_level level, const char *fmt, ...);

#define DUET_LOGE(...) duet_log(DUET_LOG_ERROR, __VA_ARGS__)
#define DUET_LOGW(...) duet_log(DUET_LOG_WARN, __VA_ARGS__)
#define DUET_LOGI(...) duet_log(DUET_LOG_INFO, __VA_ARGS__)
#define DUET_LOGD(...) duet_log(DUET_LOG_DEBUG, __VA_ARGS__)

/* Broken internal invariant: log file and line, then abort. Not for bad user input. */
void duet_assert_fail(const char *file, int line, const char *expr);
#define DUET_ASSERT(x) do { if (!(x)) duet_assert_fail(__FILE__, __LINE__, #x); } while (0)

#endif
