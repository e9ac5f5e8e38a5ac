/* duet — unit tests for mux/assemble: shot placement on the timeline (cumulative rounding),
 * padding and cutting, hard cuts reproduce the input exactly, the two smoothing modes remove
 * the click at a cut (largest sample-to-sample step near the cut stays at the level of the
 * signals' own steps, against ~1.0 for a hard cut), and the crossfade gains are equal-power
 * (g_out^2 + g_in^2 = 1 at every sample). Overlapping shots (crossfades): the timeline is
 * shorter by the overlap, the audio crossfade spans exactly the overlapping frames' samples
 * with equal power and each shot's audio stays aligned with its frames (exact outside the
 * span, gain x sample inside it); the picture copies frames outside the overlap (each from
 * the right shot and index) and blends a + (b - a) (k + 0.5) / overlap inside; timelines
 * breaking the overlap rules are refused by both halves. */
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

/* Samples of n timeline frames under p. */
static int64_t frame_len(int64_t n, const duet_assemble_params *p) {
    return (n * p->sample_rate_hz * p->fps_den + p->fps_num / 2) / p->fps_num;
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
    duet_shot_audio shots[3] = {{a, 7000, 10, 0}, {b, 9000, 13, 0}, {b, 100, 1, 0}};
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
    duet_shot_audio bad = {a, 10, 0, 0};
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
        duet_shot_audio shots[2] = {{a, mode == 2 ? cut + 400 : cut, 12, 0}, {b, 8000, 12, 0}};
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
    duet_shot_audio s1[2] = {{ones, 9000, 12, 0}, {zeros, 8000, 12, 0}};
    duet_shot_audio s2[2] = {{zeros, 9000, 12, 0}, {ones, 8000, 12, 0}};
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

/* Two shots of 20 and 16 frames at 24 fps overlapping by 6: 30 frames, 20000 samples; the
 * overlap spans timeline frames 14..20, samples 9333..13333. */
static void test_overlap_audio(void) {
    enum { NA = 14000, NB = 12000, S0 = 9333, S1 = 13333 };
    float *a = malloc(sizeof(float) * NA), *b = malloc(sizeof(float) * NB);
    float *zeros = calloc(NA, sizeof(float)), *ones = malloc(sizeof(float) * NA);
    for (int i = 0; i < NA; i++) { a[i] = 0.25f + (float)i * 1e-5f; ones[i] = 1.0f; }
    for (int i = 0; i < NB; i++) b[i] = -0.5f + (float)i * 2e-5f;
    duet_assemble_params p = duet_assemble_default_params();
    duet_shot_audio shots[2] = {{a, NA, 20, 0}, {b, NB, 16, 6}};
    T_CHECK(duet_assemble_audio_len(shots, 2, &p) == 20000);
    float *o = NULL, *g_out = NULL, *g_in = NULL;
    int64_t n = 0, n1 = 0, n2 = 0;
    T_CHECK_OK(duet_assemble_audio(shots, 2, &p, &o, &n));
    T_CHECK(n == 20000);
    /* outside the span: each shot exact at its own position; inside: a cos + b sin */
    double worst = 0;
    int64_t at = 0;
    for (int64_t i = 0; n == 20000 && i < n; i++) {
        double want = i < S0 ? a[i] : i >= S1 ? b[i - S0] : 0;
        if (i >= S0 && i < S1) {
            double th = M_PI / 2 * ((double)(i - S0) + 0.5) / (S1 - S0);
            want = a[i] * cos(th) + b[i - S0] * sin(th);
        }
        double e = fabs(o[i] - want);
        if (e > worst) { worst = e; at = i; }
    }
    if (worst > 1e-6) printf("overlap audio: sample %lld is %.7f\n", (long long)at, o[at]);
    T_CHECK(worst <= 1e-6);
    /* equal power over the span: gains measured with ones against zeros */
    duet_shot_audio s1[2] = {{ones, NA, 20, 0}, {zeros, NB, 16, 6}};
    duet_shot_audio s2[2] = {{zeros, NA, 20, 0}, {ones, NB, 16, 6}};
    T_CHECK_OK(duet_assemble_audio(s1, 2, &p, &g_out, &n1));
    T_CHECK_OK(duet_assemble_audio(s2, 2, &p, &g_in, &n2));
    worst = 0;
    for (int64_t i = S0; i < S1; i++)
        worst = fmax(worst, fabs((double)g_out[i] * g_out[i] + (double)g_in[i] * g_in[i] - 1.0));
    printf("overlap: max |g_out^2 + g_in^2 - 1| = %.2e over the %d-sample span\n", worst, S1 - S0);
    T_CHECK(worst < 1e-6);
    T_CHECK(g_out[S0 - 1] == 1.0f && g_in[S0 - 1] == 0.0f && g_out[S1] == 0.0f && g_in[S1] == 1.0f);
    T_CHECK(g_out[S0] > 0.9999f && g_in[S1 - 1] > 0.9999f);
    duet_free(o);
    duet_free(g_out);
    duet_free(g_in);
    /* the rules: no overlap into the first shot, none longer than a shot, in + out <= shot */
    duet_shot_audio bad1[2] = {{a, NA, 20, 1}, {b, NB, 16, 0}};
    duet_shot_audio bad2[2] = {{a, NA, 20, 0}, {b, NB, 16, 17}};
    duet_shot_audio bad3[3] = {{a, NA, 20, 0}, {b, NB, 16, 10}, {b, NB, 16, 7}};
    duet_shot_audio good3[3] = {{a, NA, 20, 0}, {b, NB, 16, 10}, {b, NB, 16, 6}};
    T_CHECK(duet_assemble_audio_len(bad1, 2, &p) == -1);
    T_CHECK(duet_assemble_audio_len(bad2, 2, &p) == -1);
    T_CHECK(duet_assemble_audio_len(bad3, 3, &p) == -1);
    T_CHECK(duet_assemble_audio_len(good3, 3, &p) == frame_len(36, &p));
    free(a);
    free(b);
    free(zeros);
    free(ones);
}

/* Frames of 3 bytes; shot a's frame f holds f, f + 1, f + 2; shot b's 100 + f, ... */
static void test_overlap_video(void) {
    uint8_t fa[10 * 3], fb[8 * 3], out[3];
    for (int f = 0; f < 10; f++) for (int c = 0; c < 3; c++) fa[f * 3 + c] = (uint8_t)(f + c);
    for (int f = 0; f < 8; f++) for (int c = 0; c < 3; c++) fb[f * 3 + c] = (uint8_t)(100 + f + c);
    duet_shot_video shots[2] = {{fa, 10, 0}, {fb, 8, 4}};
    T_CHECK(duet_assemble_video_len(shots, 2) == 14);
    int bad = 0;
    for (int64_t t = 0; t < 14; t++) {
        T_CHECK_OK(duet_assemble_video_frame(shots, 2, 3, t, out));
        for (int c = 0; c < 3; c++) {
            double want = t < 6 ? fa[t * 3 + c] : t >= 10 ? fb[(t - 6) * 3 + c] : 0;
            if (t >= 6 && t < 10) {
                double w = ((double)(t - 6) + 0.5) / 4, x = fa[t * 3 + c], y = fb[(t - 6) * 3 + c];
                want = (double)lrint(x + (y - x) * w);
            }
            if (out[c] != want) {
                printf("overlap video: frame %lld byte %d is %d, expected %.0f\n", (long long)t, c,
                       out[c], want);
                bad++;
            }
        }
    }
    T_CHECK(bad == 0);
    /* a cut: plain concatenation */
    duet_shot_video cut[2] = {{fa, 10, 0}, {fb, 8, 0}};
    T_CHECK(duet_assemble_video_len(cut, 2) == 18);
    T_CHECK_OK(duet_assemble_video_frame(cut, 2, 3, 10, out));
    T_CHECK(out[0] == 100 && out[2] == 102);
    io_capture_begin();
    duet_shot_video bad1[2] = {{fa, 10, 0}, {fb, 8, 9}};
    duet_shot_video bad2[3] = {{fa, 10, 0}, {fb, 8, 5}, {fa, 10, 4}};
    T_CHECK(duet_assemble_video_len(bad1, 2) == -1);
    T_CHECK(duet_assemble_video_len(bad2, 3) == -1);
    T_CHECK(duet_assemble_video_frame(shots, 2, 3, 14, out) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_assemble_video_frame(bad1, 2, 3, 0, out) == DUET_ERR_INVALID_ARG);
    io_capture_end();
}

int main(void) {
    test_layout();
    test_smoothing();
    test_equal_power();
    test_overlap_audio();
    test_overlap_video();
    return duet_test_end(NULL, 0);
}
