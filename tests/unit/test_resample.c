/* duet — unit tests for audio/resample: sines keep frequency, phase and amplitude (compared
 * sample by sample with the analytic sine at the new rate, away from the edges where the
 * input's zero extension matters), tones above the new Nyquist are removed, DC passes
 * exactly, equal rates copy, lengths, and bad arguments. Rate pairs cover integer ratios,
 * rational ones with many phases (44.1k <-> 16k, 22.05k -> 24k) and one with more than
 * 4096 phases (44.101 kHz), which takes the interpolated-phase path. */
#include <math.h>
#include <stdlib.h>

#include "audio/resample.h"
#include "core/alloc.h"
#include "io_test_util.h"

static float *sine(int64_t n, int rate, double hz, double amp, double phase) {
    float *x = malloc(sizeof *x * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(amp * sin(2 * M_PI * hz * (double)i / rate + phase));
    return x;
}

/* Resamples one second of a sine and returns the worst interior error (and checks length). */
static double sine_error(int in_rate, int out_rate, double hz) {
    int64_t n_in = in_rate;
    float *x = sine(n_in, in_rate, hz, 0.5, 0.3), *y = NULL;
    int64_t n_out = 0;
    T_CHECK_OK(duet_resample_alloc(x, n_in, in_rate, out_rate, NULL, &y, &n_out));
    T_CHECK(n_out == out_rate);
    float *want = sine(n_out, out_rate, hz, 0.5, 0.3);
    /* skip 20 ms at each end: the filter spans at most 32 periods of the lower rate (4 ms at
     * 8 kHz) around each sample, and the signal is zero outside */
    int64_t skip = out_rate / 50, worst = skip;
    double err = 0;
    for (int64_t j = skip; j < n_out - skip; j++) {
        double e = fabs((double)y[j] - want[j]);
        if (e > err) {
            err = e;
            worst = j;
        }
    }
    if (err > 1e-4)
        fprintf(stderr, "  %d -> %d Hz, %.0f Hz sine: sample %lld is %.7f, expected %.7f\n",
                in_rate, out_rate, hz, (long long)worst, y[worst], want[worst]);
    free(x);
    free(want);
    duet_free(y);
    return err;
}

/* The pass band is flat to 0.1 % up to ~0.81 of the lower Nyquist (6.5 kHz of 8 kHz); the
 * cutoff (rolloff 0.94) and the transition band lie above that. */
static void test_sines(void) {
    static const struct { int in, out; double hz; } cases[] = {
        {48000, 16000, 1000},  {48000, 16000, 6500}, {16000, 48000, 997},  {16000, 48000, 6500},
        {44100, 16000, 3000},  {16000, 44100, 440},  {22050, 24000, 9000}, {24000, 22050, 100},
        {44101, 16000, 2500},  {16000, 8000, 3333},  {32000, 16000, 20},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        double err = sine_error(cases[k].in, cases[k].out, cases[k].hz);
        printf("sine %6d -> %6d Hz at %5.0f Hz: max error %.2e\n", cases[k].in, cases[k].out,
               cases[k].hz, err);
        /* 1e-4 of a 0.5 amplitude sine: the error is 74 dB below the signal */
        if (!(err <= 1e-4)) {
            fprintf(stderr, "FAIL sine %d -> %d Hz at %.0f Hz: max error %.2e > 1e-4\n",
                    cases[k].in, cases[k].out, cases[k].hz, err);
            duet_test_failures++;
        }
    }
}

/* A tone above the output's Nyquist must be suppressed (>= 80 dB) on downsampling. */
static void test_stopband(void) {
    static const struct { int in, out; double hz; } cases[] = {
        {48000, 16000, 9000}, {48000, 16000, 15000}, {44100, 16000, 12000}, {44101, 16000, 10000},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        float *x = sine(cases[k].in, cases[k].in, cases[k].hz, 0.5, 0), *y = NULL;
        int64_t n = 0;
        T_CHECK_OK(duet_resample_alloc(x, cases[k].in, cases[k].in, cases[k].out, NULL, &y, &n));
        double peak = 0;
        for (int64_t j = n / 50; j < n - n / 50; j++) peak = fmax(peak, fabs((double)y[j]));
        double atten_db = 20 * log10(0.5 / fmax(peak, 1e-12));
        printf("stop band %6d -> %6d Hz at %5.0f Hz: %.1f dB down\n", cases[k].in, cases[k].out,
               cases[k].hz, atten_db);
        if (!(atten_db >= 80)) {
            fprintf(stderr, "FAIL stop band %d -> %d Hz, %.0f Hz: only %.1f dB down\n",
                    cases[k].in, cases[k].out, cases[k].hz, atten_db);
            duet_test_failures++;
        }
        free(x);
        duet_free(y);
    }
}

static void test_dc_copy_len(void) {
    float x[2000], y[6000];
    for (int i = 0; i < 2000; i++) x[i] = 0.3f;
    T_CHECK_OK(duet_resample(x, 2000, 16000, y, 6000, 48000, NULL));
    float want[5000];
    for (int i = 0; i < 5000; i++) want[i] = 0.3f;
    T_CHECK(duet_test_close("dc 16k->48k", y + 500, want, 5000, 1e-12));
    /* equal rates copy exactly and pad with zeros */
    for (int i = 0; i < 2000; i++) x[i] = (float)i * 0.001f;
    T_CHECK_OK(duet_resample(x, 2000, 22050, y, 2100, 22050, NULL));
    int same = 1;
    for (int i = 0; i < 2100; i++) same &= y[i] == (i < 2000 ? x[i] : 0.0f);
    T_CHECK(same);
    T_CHECK(duet_resample_out_len(16000, 48000, 16000) == 5334);
    T_CHECK(duet_resample_out_len(1, 8000, 48000) == 6);
    T_CHECK(duet_resample_out_len(0, 8000, 48000) == 0);
    T_CHECK(duet_resample_out_len(10, 0, 48000) == -1);
    /* the first output sample is the first input sample: no delay */
    float imp[64] = {1.0f}, out[192];
    T_CHECK_OK(duet_resample(imp, 64, 16000, out, 192, 48000, NULL));
    int argmax = 0;
    for (int i = 0; i < 192; i++) if (fabsf(out[i]) > fabsf(out[argmax])) argmax = i;
    T_CHECK(argmax == 0);
    io_capture_begin();
    duet_resample_params p = duet_resample_default_params();
    p.rolloff = 2.0;
    T_CHECK(duet_resample(x, 10, 16000, y, 10, 8000, &p) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_resample(NULL, 10, 16000, y, 10, 8000, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_resample(x, 10, -5, y, 10, 8000, NULL) == DUET_ERR_INVALID_ARG);
    io_capture_end();
}

int main(void) {
    test_sines();
    test_stopband();
    test_dc_copy_len();
    return duet_test_end(NULL, 0);
}
