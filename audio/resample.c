/* duet — windowed-sinc polyphase resampler (see resample.h). The filter follows the textbook
 * band-limited interpolation of J. O. Smith, "Digital Audio Resampling Home Page" (CCRMA):
 * h(x) = 2fc sinc(2fc x) w(x), cutoff below the lower Nyquist, Kaiser window. */
#include "resample.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

#define MAX_PHASES 4096
#define MAX_RATE_HZ 1536000

duet_resample_params duet_resample_default_params(void) {
    duet_resample_params p = {.half_width = 32, .rolloff = 0.94, .kaiser_beta = 9.0};
    return p;
}

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

int64_t duet_resample_out_len(int64_t n_in, int in_rate_hz, int out_rate_hz) {
    if (n_in < 0 || in_rate_hz <= 0 || out_rate_hz <= 0 || in_rate_hz > MAX_RATE_HZ ||
        out_rate_hz > MAX_RATE_HZ || n_in > ((int64_t)1 << 40))
        return -1;
    return (n_in * out_rate_hz + in_rate_hz - 1) / in_rate_hz;
}

/* Zeroth-order modified Bessel function of the first kind, by its power series. */
static double bessel_i0(double x) {
    double sum = 1, term = 1, q = x * x / 4;
    for (int k = 1; k < 64 && term > 1e-17 * sum; k++) {
        term *= q / ((double)k * k);
        sum += term;
    }
    return sum;
}

/* The polyphase table: n_phases + 1 rows (the last is phase 1.0, for interpolation) of
 * n_taps = 2 * radius coefficients; row p holds h(k - p / n_phases) for k = 1 - radius..radius,
 * normalized to sum 1 so DC passes unchanged. */
typedef struct filter {
    int64_t up, down;   /* out/in = up/down, reduced */
    int n_phases, radius, n_taps;
    float *coef;
} filter;

static duet_status make_filter(filter *f, int in_rate, int out_rate, const duet_resample_params *p) {
    int64_t g = gcd64(in_rate, out_rate);
    f->up = out_rate / g;
    f->down = in_rate / g;
    f->n_phases = f->up <= MAX_PHASES ? (int)f->up : MAX_PHASES;
    double scale = f->up < f->down ? (double)f->up / (double)f->down : 1.0;
    double fc2 = scale * p->rolloff; /* 2 * cutoff, in cycles per input sample */
    f->radius = (int)ceil(p->half_width / scale);
    f->n_taps = 2 * f->radius;
    f->coef = duet_malloc(sizeof *f->coef * (size_t)(f->n_phases + 1) * (size_t)f->n_taps);
    if (!f->coef) return DUET_ERR_OUT_OF_MEMORY;
    double i0_beta = bessel_i0(p->kaiser_beta);
    for (int ph = 0; ph <= f->n_phases; ph++) {
        float *row = f->coef + (size_t)ph * (size_t)f->n_taps;
        double frac = (double)ph / f->n_phases, sum = 0;
        for (int t = 0; t < f->n_taps; t++) {
            double x = (double)(t + 1 - f->radius) - frac, r = x / f->radius, h = 0;
            if (fabs(r) < 1) {
                double arg = M_PI * fc2 * x;
                double sinc = fabs(arg) < 1e-12 ? 1.0 : sin(arg) / arg;
                h = fc2 * sinc * bessel_i0(p->kaiser_beta * sqrt(1 - r * r)) / i0_beta;
            }
            row[t] = (float)h;
            sum += h;
        }
        for (int t = 0; t < f->n_taps; t++) row[t] = (float)(row[t] / sum);
    }
    return DUET_OK;
}

/* One output sample: taps of row `c` (and `c2` blended by w, when interpolating) against the
 * inputs starting at index `first`; inputs outside [0, n_in) count as zero. */
static float dot(const float *in, int64_t n_in, int64_t first, const float *c, const float *c2,
                 float w, int n_taps) {
    int t0 = first < 0 ? (int)-first : 0;
    int t1 = first + n_taps > n_in ? (int)(n_in - first) : n_taps;
    double acc = 0;
    if (c2) {
        for (int t = t0; t < t1; t++) acc += (double)in[first + t] * (c[t] + w * (c2[t] - c[t]));
    } else {
        for (int t = t0; t < t1; t++) acc += (double)in[first + t] * c[t];
    }
    return (float)acc;
}

static duet_status check_args(const float *in, int64_t n_in, int in_rate_hz, const float *out,
                              int64_t n_out, int out_rate_hz, const duet_resample_params *p) {
    if ((!in && n_in) || (!out && n_out) || n_out < 0 ||
        duet_resample_out_len(n_in, in_rate_hz, out_rate_hz) < 0 || p->half_width < 2 ||
        p->half_width > 256 || !(p->rolloff > 0.1 && p->rolloff <= 1.0) ||
        !(p->kaiser_beta >= 0 && p->kaiser_beta <= 40)) {
        DUET_LOGE("duet_resample: invalid arguments (%lld samples, %d Hz -> %d Hz)",
                  (long long)n_in, in_rate_hz, out_rate_hz);
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

duet_status duet_resample(const float *in, int64_t n_in, int in_rate_hz, float *out,
                          int64_t n_out, int out_rate_hz, const duet_resample_params *params) {
    duet_resample_params p = params ? *params : duet_resample_default_params();
    duet_status st = check_args(in, n_in, in_rate_hz, out, n_out, out_rate_hz, &p);
    if (st != DUET_OK) return st;
    if (in_rate_hz == out_rate_hz) {
        int64_t n = n_in < n_out ? n_in : n_out;
        if (n) memcpy(out, in, sizeof *out * (size_t)n);
        for (int64_t j = n; j < n_out; j++) out[j] = 0;
        return DUET_OK;
    }
    filter f = {0};
    st = make_filter(&f, in_rate_hz, out_rate_hz, &p);
    if (st != DUET_OK) {
        DUET_LOGE("duet_resample: out of memory for the filter table");
        return st;
    }
    int interp = f.n_phases != f.up;
    for (int64_t j = 0; j < n_out; j++) {
        int64_t pos = j * f.down, i0 = pos / f.up, r = pos % f.up;
        int64_t q = r * f.n_phases;
        int64_t ph = q / f.up;
        const float *c = f.coef + (size_t)ph * (size_t)f.n_taps;
        const float *c2 = interp ? c + f.n_taps : NULL;
        float w = interp ? (float)((double)(q % f.up) / (double)f.up) : 0.0f;
        out[j] = dot(in, n_in, i0 + 1 - f.radius, c, c2, w, f.n_taps);
    }
    duet_free(f.coef);
    return DUET_OK;
}

duet_status duet_resample_alloc(const float *in, int64_t n_in, int in_rate_hz, int out_rate_hz,
                                const duet_resample_params *params, float **out,
                                int64_t *n_out) {
    if (!out || !n_out) {
        DUET_LOGE("duet_resample_alloc: NULL output");
        return DUET_ERR_INVALID_ARG;
    }
    *out = NULL;
    *n_out = 0;
    int64_t n = duet_resample_out_len(n_in, in_rate_hz, out_rate_hz);
    if (n < 0) {
        DUET_LOGE("duet_resample: invalid arguments (%lld samples, %d Hz -> %d Hz)",
                  (long long)n_in, in_rate_hz, out_rate_hz);
        return DUET_ERR_INVALID_ARG;
    }
    float *o = duet_malloc(sizeof *o * (size_t)(n ? n : 1));
    if (!o) {
        DUET_LOGE("duet_resample: out of memory for %lld samples", (long long)n);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    duet_status st = duet_resample(in, n_in, in_rate_hz, o, n, out_rate_hz, params);
    if (st != DUET_OK) {
        duet_free(o);
        return st;
    }
    *out = o;
    *n_out = n;
    return DUET_OK;
}
