/* duet — audio playback through PortAudio (see play.h). Used by `duet play` to preview a
 * rendered soundtrack. Follows PortAudio's callback-stream model (paex_sine.c pattern):
 * the audio thread copies from our buffer, the calling thread polls with a deadline. */
#include "play.h"

#include <stdlib.h>

#include "core/alloc.h"
#include "core/log.h"

duet_play_params duet_play_default_params(void) {
    duet_play_params p = {.device = -1, .timeout_slack_s = 2.0, .progress = NULL, .user_data = NULL};
    return p;
}

static duet_status check_args(const float *pcm, int64_t n, int rate, const duet_play_params *p) {
    if ((!pcm && n) || n < 0 || rate <= 0 || rate > 768000 || !(p->timeout_slack_s >= 0)) {
        DUET_LOGE("duet_play: invalid arguments (%lld samples at %d Hz)", (long long)n, rate);
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

#ifndef DUET_HAVE_PORTAUDIO

bool duet_play_available(void) { return false; }

duet_status duet_play(const float *pcm, int64_t n_samples, int sample_rate_hz,
                      const duet_play_params *params) {
    duet_play_params p = params ? *params : duet_play_default_params();
    duet_status st = check_args(pcm, n_samples, sample_rate_hz, &p);
    if (st != DUET_OK) return st;
    DUET_LOGE("no audio output device: this build of duet has no PortAudio");
    return DUET_ERR_UNSUPPORTED;
}

#else

#include <dlfcn.h>
#include <portaudio.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "resample.h"

typedef struct play_state {
    const float *buf;
    int64_t n;
    _Atomic int64_t pos; /* written by the audio thread, read by the polling thread */
    int channels;
} play_state;

static int on_audio(const void *input, void *output, unsigned long frames,
                    const PaStreamCallbackTimeInfo *time_info, PaStreamCallbackFlags flags,
                    void *user_data) {
    (void)input;
    (void)time_info;
    (void)flags;
    play_state *s = user_data;
    float *out = output;
    int64_t pos = atomic_load(&s->pos);
    for (unsigned long k = 0; k < frames; k++) {
        float v = pos < s->n ? s->buf[pos++] : 0.0f;
        for (int c = 0; c < s->channels; c++) out[k * (unsigned long)s->channels + (unsigned long)c] = v;
    }
    atomic_store(&s->pos, pos);
    return pos >= s->n ? paComplete : paContinue;
}

/* PortAudio's ALSA and JACK host APIs print straight to stderr (missing cards, no JACK
 * server) unless given handlers. Their libraries are loaded with PortAudio, so the setters
 * are found at run time without a build dependency on either; the messages go to duet_log at
 * debug level, since "no device" is reported by our own status anyway. */
static void alsa_message(const char *file, int line, const char *function, int err,
                         const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    DUET_LOGD("alsa: %s:%d (%s): %s%s%s", file, line, function, msg, err ? ": " : "",
              err ? strerror(err < 0 ? -err : err) : "");
}

static void jack_message(const char *msg) { DUET_LOGD("jack: %s", msg); }

static void quiet_host_apis(void) {
    typedef int (*alsa_set_fn)(void (*)(const char *, int, const char *, int, const char *, ...));
    typedef void (*jack_set_fn)(void (*)(const char *));
    void *sym = dlsym(RTLD_DEFAULT, "snd_lib_error_set_handler");
    if (sym) {
        alsa_set_fn set;
        memcpy(&set, &sym, sizeof set);
        set(alsa_message);
    }
    const char *jack_setters[2] = {"jack_set_error_function", "jack_set_info_function"};
    for (int i = 0; i < 2; i++) {
        sym = dlsym(RTLD_DEFAULT, jack_setters[i]);
        if (sym) {
            jack_set_fn set;
            memcpy(&set, &sym, sizeof set);
            set(jack_message);
        }
    }
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* First format the device accepts: mono then stereo, at our rate then the device's own. */
static duet_status pick_format(PaDeviceIndex dev, int rate, PaStreamParameters *op,
                               double *out_rate) {
    const PaDeviceInfo *di = Pa_GetDeviceInfo(dev);
    if (!di || di->maxOutputChannels < 1) {
        DUET_LOGE("audio device %d is not an output device", (int)dev);
        return DUET_ERR_INVALID_ARG;
    }
    op->device = dev;
    op->sampleFormat = paFloat32;
    op->suggestedLatency = di->defaultHighOutputLatency;
    op->hostApiSpecificStreamInfo = NULL;
    const double rates[2] = {(double)rate, di->defaultSampleRate};
    for (int ch = 1; ch <= 2 && ch <= di->maxOutputChannels; ch++) {
        for (int r = 0; r < 2; r++) {
            op->channelCount = ch;
            if (rates[r] > 0 && Pa_IsFormatSupported(NULL, op, rates[r]) == paFormatIsSupported) {
                *out_rate = rates[r];
                return DUET_OK;
            }
        }
    }
    DUET_LOGE("audio device '%s' accepts neither mono nor stereo float at %d or %.0f Hz",
              di->name, rate, di->defaultSampleRate);
    return DUET_ERR_UNSUPPORTED;
}

/* Polls until the stream ends, the caller cancels, or the deadline passes. */
static duet_status wait_done(PaStream *stream, play_state *s, double rate, const duet_play_params *p) {
    double total = (double)s->n / rate;
    double deadline = now_s() + total + p->timeout_slack_s + 1.0; /* + 1 s for start-up */
    int active;
    while ((active = Pa_IsStreamActive(stream)) == 1) {
        Pa_Sleep(50);
        double played = (double)atomic_load(&s->pos) / rate;
        if (p->progress && !p->progress(played < total ? played : total, total, p->user_data)) {
            Pa_AbortStream(stream);
            return DUET_ERR_CANCELLED;
        }
        if (now_s() > deadline) {
            Pa_AbortStream(stream);
            DUET_LOGE("audio playback stalled (%.1f of %.1f s played); abandoned", played, total);
            return DUET_ERR_IO;
        }
    }
    if (active < 0) {
        DUET_LOGE("audio playback failed: %s", Pa_GetErrorText(active));
        return DUET_ERR_IO;
    }
    return DUET_OK;
}

static duet_status play_on(const float *pcm, int64_t n, int rate, const duet_play_params *p) {
    PaDeviceIndex dev = p->device < 0 ? Pa_GetDefaultOutputDevice() : (PaDeviceIndex)p->device;
    if (dev == paNoDevice) {
        DUET_LOGE("no audio output device");
        return DUET_ERR_UNSUPPORTED;
    }
    if (dev >= Pa_GetDeviceCount()) {
        DUET_LOGE("audio device %d does not exist (%d devices)", (int)dev, (int)Pa_GetDeviceCount());
        return DUET_ERR_INVALID_ARG;
    }
    PaStreamParameters op;
    double dev_rate = 0;
    duet_status st = pick_format(dev, rate, &op, &dev_rate);
    if (st != DUET_OK) return st;
    float *resampled = NULL;
    play_state s = {.buf = pcm, .n = n, .channels = op.channelCount};
    atomic_init(&s.pos, 0);
    if ((int)dev_rate != rate) {
        DUET_LOGI("audio device wants %.0f Hz; resampling from %d Hz", dev_rate, rate);
        st = duet_resample_alloc(pcm, n, rate, (int)dev_rate, NULL, &resampled, &s.n);
        if (st != DUET_OK) return st;
        s.buf = resampled;
    }
    PaStream *stream = NULL;
    PaError e = Pa_OpenStream(&stream, NULL, &op, dev_rate, paFramesPerBufferUnspecified,
                              paClipOff, on_audio, &s);
    if (e == paNoError) e = Pa_StartStream(stream);
    if (e != paNoError) {
        DUET_LOGE("cannot start audio playback: %s", Pa_GetErrorText(e));
        st = DUET_ERR_IO;
    } else {
        st = wait_done(stream, &s, dev_rate, p);
    }
    if (stream) Pa_CloseStream(stream);
    duet_free(resampled);
    return st;
}

bool duet_play_available(void) { return true; }

duet_status duet_play(const float *pcm, int64_t n_samples, int sample_rate_hz,
                      const duet_play_params *params) {
    duet_play_params p = params ? *params : duet_play_default_params();
    duet_status st = check_args(pcm, n_samples, sample_rate_hz, &p);
    if (st != DUET_OK) return st;
    /* JACK's client library would otherwise try to launch a server where none runs. */
    setenv("JACK_NO_START_SERVER", "1", 0);
    quiet_host_apis();
    PaError e = Pa_Initialize();
    if (e != paNoError) {
        DUET_LOGE("no audio output device: PortAudio failed to start: %s", Pa_GetErrorText(e));
        return DUET_ERR_UNSUPPORTED;
    }
    st = play_on(pcm, n_samples, sample_rate_hz, &p);
    Pa_Terminate();
    return st;
}

#endif
