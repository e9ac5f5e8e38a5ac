/* duet — unit tests for audio/loudness against ITU-R BS.1770-4 and EBU Tech 3341:
 * the K-weighting coefficients at 48 kHz equal the standard's table; a 997 Hz sine at
 * -20 dBFS reads -0.691 + 10 log10(0.005 |H(997 Hz)|^2) = -23.010 LUFS (the standard's
 * "-3.01 LKFS for a full-scale sine" scaled), at 48, 44.1 and 16 kHz (16 kHz: +0.04 LU, the
 * bilinear transform's warping of the shelf); absolute and relative
 * gating (Tech 3341 style tone bursts, tolerance +-0.1 LU as in Tech 3341); silence and short
 * clips; true peak of an inter-sample peak; normalization to the target, the peak ceiling and
 * the gain cap. */
#include <complex.h>
#include <math.h>
#include <stdlib.h>

#include "audio/loudness.h"
#include "io_test_util.h"

static void check_near(const char *what, double got, double want, double tol) {
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "FAIL %s: %.4f, expected %.4f +- %.3f\n", what, got, want, tol);
        duet_test_failures++;
    } else {
        printf("%s: %.4f (expected %.4f +- %.3f)\n", what, got, want, tol);
    }
}

static void test_coefficients(void) {
    /* ITU-R BS.1770-4, Tables 1 and 2 (48 kHz) */
    const double want[2][5] = {
        {1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585},
        {1.0, -2.0, 1.0, -1.99004745483398, 0.99007225036621},
    };
    double c[2][5];
    T_CHECK_OK(duet_loudness_k_filter(48000, c));
    for (int s = 0; s < 2; s++)
        for (int k = 0; k < 5; k++)
            if (!(fabs(c[s][k] - want[s][k]) < 1e-12)) {
                fprintf(stderr, "FAIL stage %d coef %d: %.15f, standard %.14f\n", s, k, c[s][k],
                        want[s][k]);
                duet_test_failures++;
            }
    io_capture_begin();
    T_CHECK(duet_loudness_k_filter(4000, c) == DUET_ERR_INVALID_ARG);
    io_capture_end();
}

/* |H(f)|^2 of the K-weighting cascade at a rate, from its coefficients. */
static double k_gain2(int rate, double hz) {
    double c[2][5];
    T_CHECK_OK(duet_loudness_k_filter(rate, c));
    double complex z1 = cexp(-I * 2 * M_PI * hz / rate), h = 1;
    for (int s = 0; s < 2; s++)
        h *= (c[s][0] + c[s][1] * z1 + c[s][2] * z1 * z1) / (1 + c[s][3] * z1 + c[s][4] * z1 * z1);
    return creal(h * conj(h));
}

/* Appends seconds of a 997 Hz sine at `dbfs` peak level (or silence for -INFINITY). */
static int64_t tone(float *x, int64_t at, int rate, double seconds, double dbfs) {
    int64_t n = (int64_t)llround(seconds * rate);
    double a = isinf(dbfs) ? 0 : pow(10, dbfs / 20);
    for (int64_t i = 0; i < n; i++) x[at + i] = (float)(a * sin(2 * M_PI * 997 * (double)(at + i) / rate));
    return at + n;
}

static double measure(const float *x, int64_t n, int rate) {
    double l = 0;
    T_CHECK_OK(duet_loudness_integrated(x, n, rate, &l));
    return l;
}

static void test_sine_levels(void) {
    const int rates[3] = {48000, 44100, 16000};
    float *x = malloc(sizeof *x * 48000 * 10);
    for (int r = 0; r < 3; r++) {
        int rate = rates[r];
        int64_t n = tone(x, 0, rate, 5.0, -20.0);
        double want = -0.691 + 10 * log10(0.005 * k_gain2(rate, 997));
        char what[80];
        snprintf(what, sizeof what, "997 Hz at -20 dBFS, %d Hz: LUFS vs its K-gain", rate);
        check_near(what, measure(x, n, rate), want, 0.005);
        snprintf(what, sizeof what, "997 Hz at -20 dBFS, %d Hz: LUFS vs the standard", rate);
        /* the bilinear transform warps the shelf near a low Nyquist: +0.04 LU at 16 kHz */
        check_near(what, measure(x, n, rate), -23.010, rate >= 44100 ? 0.005 : 0.05);
    }
    /* full scale reads -3.01 LUFS, the standard's own calibration statement */
    int64_t n = tone(x, 0, 48000, 3.0, 0.0);
    check_near("997 Hz at 0 dBFS", measure(x, n, 48000), -3.01, 0.01);
    free(x);
}

static void test_gating(void) {
    const int rate = 48000;
    float *x = malloc(sizeof *x * (size_t)rate * 30);
    /* Tech 3341 case 3 in mono: quiet bursts 13 LU below are removed by the relative gate */
    int64_t n = tone(x, 0, rate, 5, -33);
    n = tone(x, n, rate, 20, -20);
    n = tone(x, n, rate, 5, -33);
    check_near("-33/-20/-33 dBFS bursts (relative gate)", measure(x, n, rate), -23.0, 0.1);
    /* 6 LU quieter part passes the relative gate: the mean of the two powers */
    n = tone(x, 0, rate, 10, -20);
    n = tone(x, n, rate, 10, -26);
    check_near("-20 then -26 dBFS (both counted)", measure(x, n, rate),
               -23.010 + 10 * log10((1 + pow(10, -0.6)) / 2), 0.1);
    /* silence is removed by the absolute gate */
    n = tone(x, 0, rate, 10, -20);
    n = tone(x, n, rate, 10, -INFINITY);
    check_near("-20 dBFS then silence (absolute gate)", measure(x, n, rate), -23.0, 0.1);
    /* below -70 LUFS everything is gated: -INFINITY */
    n = tone(x, 0, rate, 5, -75);
    T_CHECK(isinf(measure(x, n, rate)));
    /* shorter than one 400 ms block */
    n = tone(x, 0, rate, 0.39, -20);
    T_CHECK(isinf(measure(x, n, rate)));
    n = tone(x, 0, rate, 0.41, -20);
    check_near("one block of 410 ms", measure(x, n, rate), -23.0, 0.1);
    free(x);
}

static void fade(float *x, int64_t n, int64_t len) {
    for (int64_t i = 0; i < len; i++) {
        float g = (float)(0.5 - 0.5 * cos(M_PI * (double)i / (double)len));
        x[i] *= g;
        x[n - 1 - i] *= g;
    }
}

static void test_true_peak(void) {
    const int rate = 48000;
    int64_t n = rate;
    float *x = malloc(sizeof *x * (size_t)n);
    /* fs/4 at 45 degrees: every sample is +-0.707 while the waveform reaches 1.0 */
    for (int64_t i = 0; i < n; i++) x[i] = (float)sin(M_PI / 2 * (double)i + M_PI / 4);
    fade(x, n, rate / 100);
    double tp = 0;
    T_CHECK_OK(duet_true_peak(x, n, rate, &tp));
    check_near("true peak of an fs/4 sine sampled at 45 degrees (dBFS)", tp, 0.0, 0.1);
    float sp = 0;
    for (int64_t i = 0; i < n; i++) sp = fmaxf(sp, fabsf(x[i]));
    T_CHECK(20 * log10(sp) < -3.0); /* the sample peak alone would miss 3 dB */
    for (int64_t i = 0; i < n; i++) x[i] = 0;
    T_CHECK_OK(duet_true_peak(x, n, rate, &tp));
    T_CHECK(isinf(tp) && tp < 0);
    free(x);
}

static void test_normalize(void) {
    const int rate = 16000;
    float *x = malloc(sizeof *x * (size_t)rate * 10);
    int64_t n = tone(x, 0, rate, 5, -20);
    duet_loudness_report r;
    T_CHECK_OK(duet_loudness_normalize(x, n, rate, NULL, &r));
    check_near("normalized sine (LUFS)", measure(x, n, rate), -16.0, 0.01);
    T_CHECK(!r.peak_limited && fabs(r.gain_db - (-16.0 - r.input_lufs)) < 1e-9);
    check_near("report's output LUFS", r.output_lufs, -16.0, 1e-9);
    /* a sparse, spiky signal: reaching -16 LUFS would clip, so the -1 dBFS ceiling wins */
    n = tone(x, 0, rate, 5, -40);
    for (int64_t i = 1000; i < n; i += 4000) x[i] = 0.5f;
    T_CHECK_OK(duet_loudness_normalize(x, n, rate, NULL, &r));
    double tp = 0;
    T_CHECK_OK(duet_true_peak(x, n, rate, &tp));
    T_CHECK(r.peak_limited && tp <= -1.0 + 1e-3 && measure(x, n, rate) < -17.0);
    check_near("peak-limited true peak (dBFS)", tp, -1.0, 1e-3);
    /* very quiet input: the gain is capped */
    duet_loudness_params p = duet_loudness_default_params();
    p.max_gain_db = 10;
    n = tone(x, 0, rate, 5, -60);
    T_CHECK_OK(duet_loudness_normalize(x, n, rate, &p, &r));
    check_near("capped gain (dB)", r.gain_db, 10.0, 1e-9);
    check_near("capped output (LUFS)", measure(x, n, rate), r.input_lufs + 10, 1e-3);
    check_near("capped input (LUFS)", r.input_lufs, -63.01, 0.05);
    /* silence and too-short audio are left untouched */
    n = tone(x, 0, rate, 0.2, -20);
    float keep = x[100];
    T_CHECK_OK(duet_loudness_normalize(x, n, rate, NULL, &r));
    T_CHECK(x[100] == keep && r.gain_db == 0 && isinf(r.input_lufs));
    io_capture_begin();
    T_CHECK(duet_loudness_integrated(x, n, 1000, &tp) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_loudness_integrated(NULL, n, rate, &tp) == DUET_ERR_INVALID_ARG);
    io_capture_end();
    free(x);
}

int main(void) {
    test_coefficients();
    test_sine_levels();
    test_gating();
    test_true_peak();
    test_normalize();
    return duet_test_end(NULL, 0);
}
