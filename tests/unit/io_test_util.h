/* duet — helpers shared by the media I/O unit tests (PNG, WAV, audio, MP4): a scratch
 * directory, whole-file read/write, and capture of the last error logged so tests can check
 * that messages name the file and the problem. Header-only (static) to keep each test one
 * translation unit. */
#ifndef DUET_IO_TEST_UTIL_H
#define DUET_IO_TEST_UTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

static char io_last_error[1024];
static int io_n_errors;

static inline void io_capture_log(duet_log_level level, const char *msg, void *user_data) {
    (void)user_data;
    if (level == DUET_LOG_ERROR) {
        snprintf(io_last_error, sizeof io_last_error, "%s", msg);
        io_n_errors++;
    }
}

/* Routes errors into io_last_error (silently); call before the expected-error section. */
static inline void io_capture_begin(void) {
    io_last_error[0] = 0;
    io_n_errors = 0;
    duet_log_set_callback(io_capture_log, NULL);
}

static inline void io_capture_end(void) { duet_log_set_callback(NULL, NULL); }

/* True (and nothing printed) when the last captured error contains `want`. */
static inline int io_error_has(const char *want) {
    if (strstr(io_last_error, want)) return 1;
    fprintf(stderr, "  last error was \"%s\", expected it to contain \"%s\"\n", io_last_error, want);
    return 0;
}

/* A fresh scratch directory under $TMPDIR (or /tmp); path stays valid until exit. */
static inline const char *io_scratch_dir(void) {
    static char dir[512];
    if (dir[0]) return dir;
    const char *t = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/duet_io_XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        abort();
    }
    return dir;
}

/* <scratch>/name in a static ring of buffers (a few live at once). */
static inline const char *io_path(const char *name) {
    static char buf[4][640];
    static int i;
    char *p = buf[i++ & 3];
    snprintf(p, sizeof buf[0], "%s/%s", io_scratch_dir(), name);
    return p;
}

static inline void io_write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

/* Whole file into malloc'd memory (NULL if absent). */
static inline unsigned char *io_read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *d = malloc(len > 0 ? (size_t)len : 1);
    if (!d || fread(d, 1, (size_t)len, f) != (size_t)len) abort();
    fclose(f);
    *n = (size_t)len;
    return d;
}

static inline int io_exists(const char *path) { return access(path, F_OK) == 0; }

/* Removes the scratch directory's files (best effort) at the end of a test. */
static inline void io_scratch_cleanup(void) {
    char cmd[700];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", io_scratch_dir());
    if (system(cmd) != 0) fprintf(stderr, "warning: could not remove %s\n", io_scratch_dir());
}

#endif
