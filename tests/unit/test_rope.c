/* duet — unit tests for the RoPE table builders (core/rope.h): Wan's per-axis pair split,
 * entries of the 3-D video table and the scaled 1-D audio table against values produced by
 * Wan's and Ovi's own formulas (rope_params + rope_apply's split, run in PyTorch float64 and
 * pasted here as literals), the whole tables against an independent closed form, identity
 * pairs, the generic builder on a hand-computed example, and argument errors. */
#include <math.h>
#include <stdlib.h>

#include "core/rope.h"
#include "harness.h"

/* |got - want| <= tol, printing both on failure. */
static void near(const char *what, double got, double want, double tol) {
    if (!(fabs(got - want) <= tol)) {
        fprintf(stderr, "FAIL %s: got %.9f, want %.9f\n", what, got, want);
        duet_test_failures++;
    }
}

static void test_split(void) {
    const int dims[4] = {128, 64, 8, 6}, want[4][3] = {{22, 21, 21}, {12, 10, 10}, {2, 1, 1}, {1, 1, 1}};
    for (int i = 0; i < 4; i++) {
        int p[3];
        duet_rope_split_3d(dims[i], p);
        T_CHECK(p[0] == want[i][0] && p[1] == want[i][1] && p[2] == want[i][2]);
        T_CHECK(p[0] + p[1] + p[2] == dims[i] / 2);
    }
}

/* Closed form, independent of the builder: pair j of axis a with n_a pairs turns by
 * pos_a * 10000^(-2 j / (2 n_a)). */
static double angle_3d(int j, int f, int h, int w) {
    const int n[3] = {22, 21, 21};
    int axis = j < 22 ? 0 : j < 43 ? 1 : 2, jj = j - (axis == 0 ? 0 : axis == 1 ? 22 : 43);
    int pos = axis == 0 ? f : axis == 1 ? h : w;
    return pos * exp(-log(10000.0) * (2.0 * jj) / (2.0 * n[axis]));
}

static void test_3d(void) {
    enum { D = 128, F = 3, H = 2, W = 4 };
    float *t = malloc(sizeof(float) * D * F * H * W);
    T_CHECK_OK(duet_rope_table_3d(t, D, F, H, W, 10000.0));
    /* Token (f 2, h 1, w 3) = 23; from Wan's rope_params/rope_apply in float64. */
    const struct { int j; double c, s; } lit[] = {
        {0, -0.416146837, 0.909297427},  {1, 0.252177553, 0.967680981},
        {21, 0.999999954, 0.000303982},  {22, 0.540302306, 0.841470985},
        {23, 0.799131823, 0.601155827},  {42, 0.999999988, 0.000155052},
        {43, -0.989992497, 0.141120008}, {44, -0.356055833, 0.934464683},
        {63, 0.999999892, 0.000465155},
    };
    for (size_t i = 0; i < sizeof lit / sizeof *lit; i++) {
        char what[64];
        snprintf(what, sizeof what, "3d token 23 pair %d cos", lit[i].j);
        near(what, t[23 * D + 2 * lit[i].j], lit[i].c, 2e-7);
        snprintf(what, sizeof what, "3d token 23 pair %d sin", lit[i].j);
        near(what, t[23 * D + 2 * lit[i].j + 1], lit[i].s, 2e-7);
    }
    /* every entry against the closed form; token order is f-major, then h, then w */
    for (int f = 0; f < F; f++)
        for (int h = 0; h < H; h++)
            for (int w = 0; w < W; w++)
                for (int j = 0; j < D / 2; j++) {
                    int l = (f * H + h) * W + w;
                    double a = angle_3d(j, f, h, w);
                    near("3d table cos", t[l * D + 2 * j], cos(a), 2e-7);
                    near("3d table sin", t[l * D + 2 * j + 1], sin(a), 2e-7);
                }
    /* token 0 is the identity everywhere */
    for (int j = 0; j < D / 2; j++) T_CHECK(t[2 * j] == 1.0f && t[2 * j + 1] == 0.0f);
    free(t);
}

static void test_1d(void) {
    enum { D = 128, N = 157 };
    float *t = malloc(sizeof(float) * D * N);
    T_CHECK_OK(duet_rope_table_1d(t, D, N, 22, 0.19676, 10000.0));
    /* From Ovi's rope_params(1024, 44, freqs_scaling=0.19676) in float64. */
    const struct { int n, j; double c, s; } lit[] = {
        {5, 0, 0.553862643, 0.832608055},    {5, 1, 0.797730151, 0.603014599},
        {5, 21, 0.999999989, 0.000149529},   {156, 0, 0.750903955, -0.660411425},
        {156, 1, 0.223478140, 0.974708942},  {156, 21, 0.999989118, 0.004665283},
    };
    for (size_t i = 0; i < sizeof lit / sizeof *lit; i++) {
        near("1d cos", t[lit[i].n * D + 2 * lit[i].j], lit[i].c, 2e-7);
        near("1d sin", t[lit[i].n * D + 2 * lit[i].j + 1], lit[i].s, 2e-7);
    }
    int bad = 0;
    for (int n = 0; n < N; n++) {
        for (int j = 22; j < D / 2; j++) /* pass-through pairs: exactly identity */
            bad += t[n * D + 2 * j] != 1.0f || t[n * D + 2 * j + 1] != 0.0f;
        for (int j = 0; j < 22; j++) {
            double a = n * 0.19676 * exp(-log(10000.0) * (2.0 * j) / 44.0);
            near("1d table cos", t[n * D + 2 * j], cos(a), 2e-7);
            near("1d table sin", t[n * D + 2 * j + 1], sin(a), 2e-7);
        }
    }
    T_CHECK(bad == 0);
    /* no rotating pairs at all: the identity table */
    T_CHECK_OK(duet_rope_table_1d(t, 8, 3, 0, 1.0, 10000.0));
    for (int i = 0; i < 24; i++) T_CHECK(t[i] == (i % 2 ? 0.0f : 1.0f));
    free(t);
}

static void test_generic(void) {
    /* 2 tokens, 2 axes; pair 0 reads axis 1 at frequency 0.5, pair 1 axis 0 at 2,
     * pair 2 is identity. */
    const double pos[4] = {1.5, -2.0, 0.0, 3.0}, freq[3] = {0.5, 2.0, 7.0};
    const int axis[3] = {1, 0, -1};
    float t[12];
    T_CHECK_OK(duet_rope_table(t, 6, 2, 2, pos, freq, axis));
    const double want[12] = {cos(-1.0), sin(-1.0), cos(3.0), sin(3.0), 1, 0,
                             cos(1.5), sin(1.5), 1, 0, 1, 0};
    for (int i = 0; i < 12; i++) near("generic table", t[i], want[i], 1e-7);
}

static void test_errors(void) {
    float t[64];
    const double pos[2] = {0, 1}, freq[2] = {1, 1};
    const int bad_axis[2] = {0, 1};
    /* each logs one error line: expected */
    T_CHECK(duet_rope_table(t, 4, 2, 1, pos, freq, bad_axis) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_rope_table(t, 5, 2, 1, pos, freq, bad_axis) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_rope_table_3d(t, 7, 1, 1, 1, 10000.0) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_rope_table_3d(t, 8, 0, 1, 1, 10000.0) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_rope_table_1d(t, 8, 2, 5, 1.0, 10000.0) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_rope_table_1d(t, 8, 0, 2, 1.0, 10000.0) == DUET_ERR_INVALID_ARG);
}

int main(void) {
    test_split();
    test_3d();
    test_1d();
    test_generic();
    test_errors();
    if (duet_test_failures) fprintf(stderr, "%d check(s) failed\n", duet_test_failures);
    else fprintf(stderr, "all rope checks passed\n");
    return duet_test_failures ? 1 : 0;
}
