/* duet — unit tests for mux/assemble: shot placement on the timeline (cumulative rounding),
 * padding and cutting, hard cuts reproduce the input exactly, the two smoothing modes remove
 * the click at a cut (largest sample-to-sample step near the cut stays at the level of the
 * signals' own steps, against ~1.0 for a hard cut), and the crossfade gains are equal-power
 * (g_out^2 + g_in^2 = 1 at every sample). */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "io_test_util.h"
#include "mux/assemble.h"

enum { RATE = 16000 };

static float *sine(int64_t n, double hz, double phase) {
    float *x = malloc(sizeof *x * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (float)(0.5 * sin(2 * M_PI * hz * (double)i / RATE + phase));
    return x;
}

static double max_step(const float *x, int64_t from, int64_t to) {
    double m = 0;
    for (int64_t i = from; i < to; i++) m = fmax(m, fabs((double)x[i + 1] - x[i]));
    return m;
}

static void test_layout(void) {
    float a[7000], b[9000];
    for (int i = 0; i < 7000; i++) a[i] = 1.0f + (float)i;
    for (int i = 0; i < 9000; i++) b[i] = -1.0f - (float)i;
    /* 10 frames = 6666.67 samples: a is cut to 6667; 13 frames: b (9000) is cut too */
    duet_shot_audio shots[3] = {{a, 7000, 10}, {b, 9000, 13}, {b, 100, 1}};
    duet_assemble_params p = duet_assemble_default_params();
    p.crossfade_s = 0;
    T_CHECK(duet_assemble_audio_len(shots, 3, &p) == 16000);
    float *o = NULL;
    int64_t n = 0;
    T_CHECK_OK(duet_assemble_audio(shots, 3, &p, &o, &n));
    T_CHECK(n == 16000);
    if (n == 16000) {
        int ok = 1;
        for (int64_t i = 0; i < n; i++) {
            float want = i < 6667 ? a[i] : i < 15333 ? b[i - 6667] : (i - 15333 < 100 ? b[i - 15333] : 0.0f);
            ok &= o[i] == want;
        }
        T_CHECK(ok); /* hard cuts: exact copy, third shot padded with zeros after 100 samples */
    }
    duet_free(o);
    io_capture_begin();
    duet_shot_audio bad = {a, 10, 0};
    T_CHECK(duet_assemble_audio(&bad, 1, &p, &o, &n) == DUET_ERR_INVALID_ARG && o == NULL);
    T_CHECK(duet_assemble_audio_len(shots, 0, &p) == -1);
    io_capture_end();
}

/* Two sines that meet at the cut with opposite extremes: a hard cut jumps by ~1.0. */
static void test_smoothing(void) {
    const int64_t cut = 8000; /* 12 frames at 24 fps */
    float *a = sine(cut + 400, 500, M_PI / 2 - 2 * M_PI * 500 * (double)cut / RATE); /* +0.5 at cut */
    float *b = sine(8000, 500, -M_PI / 2);                                           /* -0.5 at 0 */
    duet_assemble_params p = duet_assemble_default_params();
    const double natural = 0.5 * 2 * M_PI * 500 / RATE; /* largest step of the sines themselves */
    for (int mode = 0; mode < 3; mode++) {
        /* mode 0: hard cut; 1: fades (no run-on); 2: crossfade from a's run-on */
        duet_shot_audio shots[2] = {{a, mode == 2 ? cut + 400 : cut, 12}, {b, 8000, 12}};
        p.crossfade_s = mode == 0 ? 0 : 0.010;
        float *o = NULL;
        int64_t n = 0;
        T_CHECK_OK(duet_assemble_audio(shots, 2, &p, &o, &n));
        double step = max_step(o, cut - 200, cut + 200);
        printf("cut mode %d: largest step near the cut %.4f (sines' own %.4f)\n", mode, step, natural);
        if (mode == 0) T_CHECK(step > 0.9);
        else T_CHECK(step < natural * 1.25);
        if (mode == 2) { /* a untouched before the cut, b untouched after the crossfade */
            int ok = 1;
            for (int64_t i = cut - 500; i < cut; i++) ok &= o[i] == a[i];
            for (int64_t i = cut + 160; i < cut + 1000; i++) ok &= o[i] == b[i - cut];
            T_CHECK(ok);
        }
        duet_free(o);
    }
    free(a);
    free(b);
}

/* Gains measured with constant signals: out-going alone gives g_out, in-coming alone g_in. */
static void test_equal_power(void) {
    float *ones = malloc(sizeof(float) * 9000), *zeros = calloc(9000, sizeof(float));
    for (int i = 0; i < 9000; i++) ones[i] = 1.0f;
    duet_assemble_params p = duet_assemble_default_params();
    duet_shot_audio s1[2] = {{ones, 9000, 12}, {zeros, 8000, 12}};
    duet_shot_audio s2[2] = {{zeros, 9000, 12}, {ones, 8000, 12}};
    float *g_out = NULL, *g_in = NULL;
    int64_t n1 = 0, n2 = 0;
    T_CHECK_OK(duet_assemble_audio(s1, 2, &p, &g_out, &n1));
    T_CHECK_OK(duet_assemble_audio(s2, 2, &p, &g_in, &n2));
    double worst = 0;
    for (int64_t i = 8000; i < 8160; i++)
        worst = fmax(worst, fabs((double)g_out[i] * g_out[i] + (double)g_in[i] * g_in[i] - 1.0));
    printf("equal power: max |g_out^2 + g_in^2 - 1| = %.2e over the 160-sample crossfade\n", worst);
    T_CHECK(worst < 1e-6);
    T_CHECK(g_out[8000] > 0.99f && g_out[8159] < 0.01f && g_in[8000] < 0.01f && g_in[8159] > 0.99f);
    duet_free(g_out);
    duet_free(g_in);
    free(ones);
    free(zeros);
}

int main(void) {
    test_layout();
    test_smoothing();
    test_equal_power();
    return duet_test_end(NULL, 0);
}
