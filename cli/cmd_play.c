/* duet play — `duet play FILE.wav|FILE.mp4 [--device N] [--quiet]`: plays a WAV, or the audio
 * track of an MP4 (or any file FFmpeg decodes), on an output device to preview a render.
 * WAV files (RIFF/WAVE magic) go through audio/wav_io, everything else through
 * mux/media_reader; playback is audio/play (PortAudio), which never blocks past the audio's
 * length plus a slack. A progress line is drawn when stderr is a terminal; Ctrl-C stops
 * playback and exits 130 (a second Ctrl-C kills at once). Exit codes: 0 played, 1 the file
 * could not be read or playback failed, 2 usage, 3 no audio output device, 130 interrupted. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audio/play.h"
#include "audio/wav_io.h"
#include "cli.h"
#include "core/alloc.h"
#include "core/log.h"
#include "mux/media_reader.h"

enum { EXIT_PLAYED = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_NO_DEVICE = 3, EXIT_INTERRUPTED = 130 };

typedef struct {
    const char *path;
    int device; /* -1: the default output */
    bool quiet;
} play_args;

static volatile sig_atomic_t g_interrupted;

static void on_sigint(int sig) {
    (void)sig;
    g_interrupted = 1;
}

/* Library errors raised while playing are held here and reported as one line afterwards, so
 * "no audio output device" is what the user reads first, prefixed with the command. */
static char g_play_error[512];
static bool g_capture;

static void log_sink(duet_log_level level, const char *msg, void *user_data) {
    (void)user_data;
    if (g_capture && level == DUET_LOG_ERROR) {
        size_t used = strlen(g_play_error);
        if (used + 3 < sizeof g_play_error)
            snprintf(g_play_error + used, sizeof g_play_error - used, "%s%s", used ? "; " : "", msg);
        return;
    }
    static const char *const names[DUET_LOG_COUNT_] = {"error", "warning", "info", "debug"};
    fprintf(stderr, "duet play: %s%s%s\n", level == DUET_LOG_ERROR ? "" : names[level],
            level == DUET_LOG_ERROR ? "" : ": ", msg);
}

static void usage(FILE *f) {
    fprintf(f,
            "usage: duet play FILE.wav|FILE.mp4 [--device N] [--quiet]\n"
            "\n"
            "Plays a WAV file, or the audio track of an MP4 (any file FFmpeg decodes), on the\n"
            "default audio output or on PortAudio device N. Shows played / total seconds when\n"
            "stderr is a terminal (--quiet: never). Ctrl-C stops playback.\n"
            "\n"
            "exit codes:\n"
            "  0    played to the end\n"
            "  1    the file could not be read, or playback failed\n"
            "  2    usage error\n"
            "  3    no audio output device (or no output device N): nothing was played\n"
            "  130  stopped with Ctrl-C\n");
}

/* Returns -1 to go on, else the exit code. */
static int parse_args(int argc, char **argv, play_args *a) {
    *a = (play_args){.path = NULL, .device = -1, .quiet = false};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        if (!strcmp(o, "--help") || !strcmp(o, "-h")) {
            usage(stdout);
            return EXIT_PLAYED;
        }
        if (!strcmp(o, "--quiet")) {
            a->quiet = true;
        } else if (!strcmp(o, "--device")) {
            char *end;
            errno = 0;
            long v = i + 1 < argc ? strtol(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || errno || end == argv[i + 1] || *end || v < 0 || v > 1024) {
                fprintf(stderr, "duet play: --device needs a device number 0..1024\n");
                return EXIT_USAGE;
            }
            a->device = (int)v;
            i++;
        } else if (o[0] == '-' && o[1]) {
            fprintf(stderr, "duet play: unknown option '%s'\n", o);
            usage(stderr);
            return EXIT_USAGE;
        } else if (a->path) {
            fprintf(stderr, "duet play: more than one file given ('%s', '%s')\n", a->path, o);
            return EXIT_USAGE;
        } else {
            a->path = o;
        }
    }
    if (!a->path) {
        fprintf(stderr, "duet play: no file given\n");
        usage(stderr);
        return EXIT_USAGE;
    }
    return -1;
}

/* Whether `path` starts like a RIFF/WAVE file; false with a message when it cannot be read. */
static bool sniff_wav(const char *path, bool *is_wav) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "duet play: cannot open %s: %s\n", path, strerror(errno));
        return false;
    }
    unsigned char head[12] = {0};
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    *is_wav = n == sizeof head && !memcmp(head, "RIFF", 4) && !memcmp(head + 8, "WAVE", 4);
    return true;
}

/* Loads the file's audio as mono float PCM (freed with duet_free). */
static bool load_audio(const char *path, float **pcm, int64_t *n, int *rate_hz) {
    bool is_wav = false;
    if (!sniff_wav(path, &is_wav)) return false;
    duet_status st;
    if (is_wav) {
        duet_wav_info info = {0};
        st = duet_wav_read(path, NULL, pcm, n, &info);
        *rate_hz = info.sample_rate_hz;
    } else {
        duet_media_read_params mp = duet_media_default_read_params();
        mp.video = false;
        duet_media_clip clip;
        st = duet_media_read(path, &mp, &clip);
        if (st == DUET_OK && clip.pcm) {
            *pcm = clip.pcm; /* ownership moves to the caller; clip's other buffers are empty */
            *n = clip.n_samples;
            *rate_hz = clip.sample_rate_hz;
            clip.pcm = NULL;
        } else if (st == DUET_OK) {
            st = DUET_ERR_NOT_FOUND;
        }
        duet_media_clip_free(&clip);
    }
    if (st != DUET_OK) {
        fprintf(stderr, "duet play: cannot read audio from %s (%s)\n", path, duet_status_str(st));
        return false;
    }
    if (*n == 0) {
        fprintf(stderr, "duet play: %s holds no audio samples\n", path);
        duet_free(*pcm);
        *pcm = NULL;
        return false;
    }
    return true;
}

static bool on_progress(double played_s, double total_s, void *user_data) {
    const play_args *a = user_data;
    if (!a->quiet && isatty(STDERR_FILENO))
        fprintf(stderr, "\rplaying %s  %6.1f / %.1f s\033[K", a->path, played_s, total_s);
    return !g_interrupted;
}

/* Maps the playback status to the exit code and its message. */
static int report(const play_args *a, duet_status st, double total_s) {
    if (!a->quiet && isatty(STDERR_FILENO)) fputc('\n', stderr);
    switch (st) {
    case DUET_OK:
        if (!a->quiet) fprintf(stderr, "duet play: played %s (%.1f s)\n", a->path, total_s);
        return EXIT_PLAYED;
    case DUET_ERR_CANCELLED:
        fprintf(stderr, "duet play: stopped\n");
        return EXIT_INTERRUPTED;
    case DUET_ERR_UNSUPPORTED:
        if (!strncmp(g_play_error, "no audio output device", 22))
            fprintf(stderr, "duet play: %s (nothing was played)\n", g_play_error);
        else
            fprintf(stderr, "duet play: no audio output device can play this: %s\n", g_play_error);
        return EXIT_NO_DEVICE;
    default:
        if (st == DUET_ERR_INVALID_ARG && a->device >= 0) { /* no such device, or not an output */
            fprintf(stderr, "duet play: no audio output device %d: %s\n", a->device, g_play_error);
            return EXIT_NO_DEVICE;
        }
        fprintf(stderr, "duet play: playback of %s failed (%s)%s%s\n", a->path,
                duet_status_str(st), g_play_error[0] ? ": " : "", g_play_error);
        return EXIT_FAILED;
    }
}

/* Ctrl-C sets a flag that the progress callback turns into a clean stop; SA_RESETHAND makes
 * a second Ctrl-C take the default action, should anything not return. */
static void catch_sigint(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
}

int duet_cmd_play(int argc, char **argv) {
    play_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc >= 0) return rc;
    duet_log_set_callback(log_sink, NULL);
    catch_sigint();
    float *pcm = NULL;
    int64_t n = 0;
    int rate_hz = 0;
    if (!load_audio(a.path, &pcm, &n, &rate_hz)) {
        rc = EXIT_FAILED;
    } else if (g_interrupted) { /* Ctrl-C while a long file was decoding */
        fprintf(stderr, "duet play: stopped\n");
        rc = EXIT_INTERRUPTED;
    } else {
        duet_play_params p = duet_play_default_params();
        p.device = a.device;
        p.progress = on_progress;
        p.user_data = &a;
        g_capture = true;
        duet_status st = duet_play(pcm, n, rate_hz, &p);
        g_capture = false;
        rc = report(&a, st, (double)n / rate_hz);
    }
    duet_free(pcm);
    signal(SIGINT, SIG_DFL);
    duet_log_set_callback(NULL, NULL);
    return rc;
}
