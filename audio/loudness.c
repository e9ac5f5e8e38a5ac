/* duet — loudness (see loudness.h). Applied to the vocoder's soundtrack before muxing.
 * Mirrors ITU-R BS.1770-4 section 2 and Annex 1 (gating) and EBU Tech 3341. The K-weighting
 * filters for rates other than 48 kHz come from the analog prototypes fitted to the
 * standard's 48 kHz coefficients (shelf: f0 1681.97 Hz, gain 4.00 dB, Q 0.7072; high-pass:
 * f0 38.135 Hz, Q 0.5003; as published with libebur128 / B. De Man's pyloudnorm notes),
 * mapped through the bilinear transform with pre-warping. */
#include "loudness.h"

#include <math.h>

#include "core/alloc.h"
#include "core/log.h"
#include "resample.h"

#define ABS_GATE_LUFS (-70.0)
#define REL_GATE_LU (-10.0)
#define OVERSAMPLE 4

duet_loudness_params duet_loudness_default_params(void) {
    duet_loudness_params p = {.target_lufs = -16.0, .max_peak_dbfs = -1.0, .max_gain_db = 30.0};
    return p;
}

duet_status duet_loudness_k_filter(int sample_rate_hz, double coef[2][5]) {
    if (!coef || sample_rate_hz < 8000 || sample_rate_hz > 384000) {
        DUET_LOGE("duet_loudness_k_filter: sample rate %d Hz outside 8000..384000",
                  sample_rate_hz);
        return DUET_ERR_INVALID_ARG;
    }
    double fs = sample_rate_hz;
    /* stage 1: high shelf */
    double k = tan(M_PI * 1681.974450955533 / fs), q = 0.7071752369554196;
    double vh = pow(10.0, 3.999843853973347 / 20.0), vb = pow(vh, 0.4996667741545416);
    double a0 = 1 + k / q + k * k;
    coef[0][0] = (vh + vb * k / q + k * k) / a0;
    coef[0][1] = 2 * (k * k - vh) / a0;
    coef[0][2] = (vh - vb * k / q + k * k) / a0;
    coef[0][3] = 2 * (k * k - 1) / a0;
    coef[0][4] = (1 - k / q + k * k) / a0;
    /* stage 2: RLB high-pass; the standard keeps the numerator at 1, -2, 1 */
    k = tan(M_PI * 38.13547087602444 / fs);
    q = 0.5003270373238773;
    a0 = 1 + k / q + k * k;
    coef[1][0] = 1;
    coef[1][1] = -2;
    coef[1][2] = 1;
    coef[1][3] = 2 * (k * k - 1) / a0;
    coef[1][4] = (1 - k / q + k * k) / a0;
    return DUET_OK;
}

/* Start sample of 100 ms segment `j` (exact for rates that are not multiples of 10 Hz too). */
static int64_t seg_start(int64_t j, int rate) { return j * rate / 10; }

/* K-weighted energy (sum of squares) of each complete 100 ms segment; returns the count. */
static int64_t segment_energies(const float *pcm, int64_t n, int rate, const double c[2][5],
                                double *energy) {
    double s1[2] = {0, 0}, s2[2] = {0, 0}; /* transposed direct form II states per stage */
    int64_t n_seg = 0;
    while (seg_start(n_seg + 1, rate) <= n) {
        double e = 0;
        for (int64_t i = seg_start(n_seg, rate); i < seg_start(n_seg + 1, rate); i++) {
            double x = pcm[i];
            for (int st = 0; st < 2; st++) {
                double y = c[st][0] * x + s1[st];
                s1[st] = c[st][1] * x - c[st][3] * y + s2[st];
                s2[st] = c[st][2] * x - c[st][4] * y;
                x = y;
            }
            e += x * x;
        }
        energy[n_seg++] = e;
    }
    return n_seg;
}

static double block_z(const double *energy, int64_t j, int rate) {
    double e = energy[j] + energy[j + 1] + energy[j + 2] + energy[j + 3];
    return e / (double)(seg_start(j + 4, rate) - seg_start(j, rate));
}

static double to_lufs(double z) { return z > 0 ? -0.691 + 10 * log10(z) : -INFINITY; }

duet_status duet_loudness_integrated(const float *pcm, int64_t n_samples, int sample_rate_hz,
                                     double *lufs) {
    double c[2][5];
    if (!lufs || (!pcm && n_samples) || n_samples < 0 ||
        duet_loudness_k_filter(sample_rate_hz, c) != DUET_OK) {
        DUET_LOGE("duet_loudness_integrated: invalid arguments");
        return DUET_ERR_INVALID_ARG;
    }
    *lufs = -INFINITY;
    int64_t max_seg = n_samples / (sample_rate_hz / 10) + 1;
    double *energy = duet_malloc(sizeof *energy * (size_t)max_seg);
    if (!energy) {
        DUET_LOGE("duet_loudness_integrated: out of memory");
        return DUET_ERR_OUT_OF_MEMORY;
    }
    int64_t n_blocks = segment_energies(pcm, n_samples, sample_rate_hz, c, energy) - 3;
    /* pass 1: absolute gate; pass 2: relative gate from pass 1's mean */
    double sum = 0;
    int64_t count = 0;
    for (int64_t j = 0; j < n_blocks; j++) {
        double z = block_z(energy, j, sample_rate_hz);
        if (to_lufs(z) > ABS_GATE_LUFS) {
            sum += z;
            count++;
        }
    }
    if (count > 0) {
        double rel_gate = to_lufs(sum / (double)count) + REL_GATE_LU;
        double sum2 = 0;
        int64_t count2 = 0;
        for (int64_t j = 0; j < n_blocks; j++) {
            double z = block_z(energy, j, sample_rate_hz), l = to_lufs(z);
            if (l > ABS_GATE_LUFS && l > rel_gate) {
                sum2 += z;
                count2++;
            }
        }
        if (count2 > 0) *lufs = to_lufs(sum2 / (double)count2);
    }
    duet_free(energy);
    return DUET_OK;
}

duet_status duet_true_peak(const float *pcm, int64_t n_samples, int sample_rate_hz,
                           double *peak_dbfs) {
    if (!peak_dbfs || (!pcm && n_samples) || n_samples < 0 || sample_rate_hz <= 0 ||
        sample_rate_hz > 384000) {
        DUET_LOGE("duet_true_peak: invalid arguments");
        return DUET_ERR_INVALID_ARG;
    }
    *peak_dbfs = -INFINITY;
    float *up = NULL;
    int64_t n_up = 0;
    duet_status st = duet_resample_alloc(pcm, n_samples, sample_rate_hz,
                                         sample_rate_hz * OVERSAMPLE, NULL, &up, &n_up);
    if (st != DUET_OK) return st;
    double peak = 0;
    for (int64_t i = 0; i < n_samples; i++) peak = fmax(peak, fabs((double)pcm[i]));
    for (int64_t i = 0; i < n_up; i++) peak = fmax(peak, fabs((double)up[i]));
    duet_free(up);
    if (peak > 0) *peak_dbfs = 20 * log10(peak);
    return DUET_OK;
}

duet_status duet_loudness_normalize(float *pcm, int64_t n_samples, int sample_rate_hz,
                                    const duet_loudness_params *params,
                                    duet_loudness_report *report) {
    duet_loudness_params p = params ? *params : duet_loudness_default_params();
    duet_loudness_report r = {0};
    if (!isfinite(p.target_lufs) || !isfinite(p.max_peak_dbfs) || !(p.max_gain_db >= 0)) {
        DUET_LOGE("duet_loudness_normalize: invalid parameters");
        return DUET_ERR_INVALID_ARG;
    }
    duet_status st = duet_loudness_integrated(pcm, n_samples, sample_rate_hz, &r.input_lufs);
    if (st == DUET_OK) st = duet_true_peak(pcm, n_samples, sample_rate_hz, &r.input_peak_dbfs);
    if (st != DUET_OK) return st;
    r.output_lufs = r.input_lufs;
    r.output_peak_dbfs = r.input_peak_dbfs;
    if (isinf(r.input_lufs)) {
        DUET_LOGI("loudness: silent or shorter than 400 ms; left unchanged");
    } else {
        double gain = fmin(p.target_lufs - r.input_lufs, p.max_gain_db);
        if (r.input_peak_dbfs + gain > p.max_peak_dbfs) {
            gain = p.max_peak_dbfs - r.input_peak_dbfs;
            r.peak_limited = true;
        }
        float g = (float)pow(10.0, gain / 20.0);
        for (int64_t i = 0; i < n_samples; i++) pcm[i] *= g;
        r.gain_db = gain;
        r.output_lufs = r.input_lufs + gain;
        r.output_peak_dbfs = r.input_peak_dbfs + gain;
        DUET_LOGI("loudness: %.2f LUFS -> %.2f LUFS (gain %+.2f dB%s), true peak %.2f dBFS",
                  r.input_lufs, r.output_lufs, gain, r.peak_limited ? ", peak-limited" : "",
                  r.output_peak_dbfs);
    }
    if (report) *report = r;
    return DUET_OK;
}
