/* duet — log-mel spectrogram on the host (see mel.h): reflect padding, periodic Hann window,
 * a real FFT by a half-size complex radix-2 FFT, librosa's slaney mel filterbank, log10.
 * Mirrors MelConverter in tools/duet_tiny/audio.py (MMAudio mel_converter.py) and
 * librosa.filters.mel(htk=False, norm='slaney'). */
#include "mel.h"

#include <math.h>
#include <stdbool.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

struct duet_mel {
    duet_mel_params p;
    int n_bins;       /* n_fft / 2 + 1 */
    int pad;          /* (n_fft - hop) / 2 reflected samples on each side */
    double *window;   /* [n_fft]: the Hann window (float32 values) centred, zeros around */
    double *fb;       /* [n_mels, n_bins] filterbank (float32 values) */
    int *fb_lo;       /* [n_mels] first non-zero bin of each filter */
    int *fb_hi;       /* [n_mels] one past the last */
    double *tw;       /* [n_fft / 2] complex twiddles e^(-2 pi i k / (n_fft / 2)), k < n_fft/4 */
    double *split;    /* [n_fft / 2 + 1] complex e^(-2 pi i k / n_fft) for the real split */
    int *bitrev;      /* [n_fft / 2] */
};

duet_mel_params duet_mel_default_params(void) {
    duet_mel_params p = {.sample_rate_hz = 16000, .n_fft = 1024, .hop = 256, .win = 1024,
                         .n_mels = 80, .fmin_hz = 0.0, .fmax_hz = 8000.0, .log_clamp = 1e-5};
    return p;
}

/* ---------------------------------------------------------------- mel scale (slaney) */

/* librosa's slaney scale: linear below 1 kHz (200/3 Hz per mel), logarithmic above. */
static double hz_to_mel(double f) {
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, logstep = log(6.4) / 27.0;
    if (f >= min_log_hz) return min_log_hz / f_sp + log(f / min_log_hz) / logstep;
    return f / f_sp;
}

static double mel_to_hz(double m) {
    const double f_sp = 200.0 / 3, min_log_hz = 1000.0, logstep = log(6.4) / 27.0;
    const double min_log_mel = min_log_hz / f_sp;
    if (m >= min_log_mel) return min_log_hz * exp(logstep * (m - min_log_mel));
    return m * f_sp;
}

/* Triangles between n_mels + 2 points equally spaced in mel, each scaled by 2 / its width in
 * Hz (slaney "area" normalization), then rounded to float32 like the module's buffer. */
static duet_status build_filterbank(duet_mel *m) {
    const int nm = m->p.n_mels, nb = m->n_bins;
    double *mel_f = duet_malloc((size_t)(nm + 2) * sizeof *mel_f);
    if (!mel_f) return DUET_ERR_OUT_OF_MEMORY;
    const double lo = hz_to_mel(m->p.fmin_hz), hi = hz_to_mel(m->p.fmax_hz);
    const double step = (hi - lo) / (nm + 1);
    for (int i = 0; i < nm + 2; i++) mel_f[i] = mel_to_hz(i == nm + 1 ? hi : lo + i * step);
    const double fft_step = (m->p.sample_rate_hz / 2.0) / (nb - 1);
    for (int i = 0; i < nm; i++) {
        const double enorm = 2.0 / (mel_f[i + 2] - mel_f[i]);
        m->fb_lo[i] = nb;
        m->fb_hi[i] = 0;
        for (int k = 0; k < nb; k++) {
            const double f = k * fft_step;
            const double lower = (f - mel_f[i]) / (mel_f[i + 1] - mel_f[i]);
            const double upper = (mel_f[i + 2] - f) / (mel_f[i + 2] - mel_f[i + 1]);
            double w = fmax(0.0, fmin(lower, upper)) * enorm;
            w = (double)(float)w;
            m->fb[(size_t)i * nb + k] = w;
            if (w != 0.0) {
                if (k < m->fb_lo[i]) m->fb_lo[i] = k;
                m->fb_hi[i] = k + 1;
            }
        }
        if (m->fb_hi[i] == 0) m->fb_lo[i] = 0; /* an empty filter (too many mels): all zeros */
    }
    duet_free(mel_f);
    return DUET_OK;
}

/* ---------------------------------------------------------------- FFT */

static void build_fft_tables(duet_mel *m) {
    const int n = m->p.n_fft, h = n / 2;
    for (int k = 0; k < h / 2; k++) {
        m->tw[2 * k] = cos(2 * M_PI * k / h);
        m->tw[2 * k + 1] = -sin(2 * M_PI * k / h);
    }
    for (int k = 0; k <= h; k++) {
        m->split[2 * k] = cos(2 * M_PI * k / n);
        m->split[2 * k + 1] = -sin(2 * M_PI * k / n);
    }
    int bits = 0;
    while ((1 << bits) < h) bits++;
    for (int i = 0; i < h; i++) {
        int r = 0;
        for (int b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
        m->bitrev[i] = r;
    }
}

/* In-place forward DFT of h complex values z[2i], z[2i + 1] (h a power of two). */
static void fft_complex(const duet_mel *m, double *z, int h) {
    for (int i = 0; i < h; i++) {
        int r = m->bitrev[i];
        if (r > i) {
            double t0 = z[2 * i], t1 = z[2 * i + 1];
            z[2 * i] = z[2 * r];
            z[2 * i + 1] = z[2 * r + 1];
            z[2 * r] = t0;
            z[2 * r + 1] = t1;
        }
    }
    for (int len = 2; len <= h; len *= 2) {
        const int half = len / 2, tstep = h / len;
        for (int s = 0; s < h; s += len) {
            for (int j = 0; j < half; j++) {
                const double wr = m->tw[2 * j * tstep], wi = m->tw[2 * j * tstep + 1];
                double *a = z + 2 * (s + j), *b = z + 2 * (s + j + half);
                const double br = b[0] * wr - b[1] * wi, bi = b[0] * wi + b[1] * wr;
                b[0] = a[0] - br;
                b[1] = a[1] - bi;
                a[0] += br;
                a[1] += bi;
            }
        }
    }
}

/* |DFT| of n real samples x (n = n_fft) into mag[0..n/2]: x packed as n/2 complex values,
 * transformed, then split: X[k] = E[k] + e^(-2 pi i k / n) O[k] with
 * E[k] = (Z[k] + conj Z[h-k]) / 2 and O[k] = (Z[k] - conj Z[h-k]) / 2i. */
static void real_fft_mag(const duet_mel *m, double *z, double *mag) {
    const int h = m->p.n_fft / 2;
    fft_complex(m, z, h);
    for (int k = 0; k <= h; k++) {
        const int a = k % h, b = (h - k) % h;
        const double zr = z[2 * a], zi = z[2 * a + 1], cr = z[2 * b], ci = -z[2 * b + 1];
        const double er = 0.5 * (zr + cr), ei = 0.5 * (zi + ci);
        const double orr = 0.5 * (zi - ci), oi = -0.5 * (zr - cr);
        const double wr = m->split[2 * k], wi = m->split[2 * k + 1];
        const double re = er + wr * orr - wi * oi, im = ei + wr * oi + wi * orr;
        mag[k] = sqrt(re * re + im * im + 1e-9);
    }
}

/* ---------------------------------------------------------------- object */

static bool params_ok(const duet_mel_params *p) {
    const bool pow2 = p->n_fft >= 16 && p->n_fft <= 65536 && (p->n_fft & (p->n_fft - 1)) == 0;
    return pow2 && p->sample_rate_hz > 0 && p->hop >= 1 && p->hop <= p->n_fft && p->win >= 1 &&
           p->win <= p->n_fft && p->n_mels >= 1 && p->n_mels <= 4096 && p->fmin_hz >= 0 &&
           p->fmax_hz > p->fmin_hz && p->fmax_hz <= p->sample_rate_hz / 2.0 &&
           p->log_clamp > 0 && isfinite(p->log_clamp);
}

duet_status duet_mel_new(const duet_mel_params *p, duet_mel **out) {
    if (out) *out = NULL;
    if (!p || !out || !params_ok(p)) {
        DUET_LOGE("duet_mel_new: bad parameters (n_fft %d must be a power of two in [16, 65536], "
                  "1 <= hop, win <= n_fft, 0 <= fmin < fmax <= rate / 2, log_clamp > 0)",
                  p ? p->n_fft : 0);
        return DUET_ERR_INVALID_ARG;
    }
    duet_mel *m = duet_calloc(1, sizeof *m);
    if (!m) return DUET_ERR_OUT_OF_MEMORY;
    m->p = *p;
    const int n = p->n_fft;
    m->n_bins = n / 2 + 1;
    m->pad = (n - p->hop) / 2;
    m->window = duet_calloc((size_t)n, sizeof *m->window);
    m->fb = duet_calloc((size_t)p->n_mels * (size_t)m->n_bins, sizeof *m->fb);
    m->fb_lo = duet_calloc((size_t)p->n_mels, sizeof *m->fb_lo);
    m->fb_hi = duet_calloc((size_t)p->n_mels, sizeof *m->fb_hi);
    m->tw = duet_calloc((size_t)n / 2, sizeof *m->tw);
    m->split = duet_calloc((size_t)n + 2, sizeof *m->split);
    m->bitrev = duet_calloc((size_t)n / 2, sizeof *m->bitrev);
    if (!m->window || !m->fb || !m->fb_lo || !m->fb_hi || !m->tw || !m->split || !m->bitrev ||
        build_filterbank(m) != DUET_OK) {
        duet_mel_free(&m);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    /* torch.hann_window(win) is periodic: 0.5 - 0.5 cos(2 pi i / win). */
    const int off = (n - p->win) / 2;
    for (int i = 0; i < p->win; i++)
        m->window[off + i] = (double)(float)(0.5 - 0.5 * cos(2 * M_PI * i / p->win));
    build_fft_tables(m);
    *out = m;
    return DUET_OK;
}

void duet_mel_free(duet_mel **m) {
    if (!m || !*m) return;
    duet_mel *x = *m;
    duet_free(x->window);
    duet_free(x->fb);
    duet_free(x->fb_lo);
    duet_free(x->fb_hi);
    duet_free(x->tw);
    duet_free(x->split);
    duet_free(x->bitrev);
    duet_free(x);
    *m = NULL;
}

const duet_mel_params *duet_mel_get_params(const duet_mel *m) { return m ? &m->p : NULL; }

int64_t duet_mel_n_frames(const duet_mel *m, int64_t n_samples) {
    if (!m || n_samples <= m->pad || n_samples > ((int64_t)1 << 40)) return -1;
    const int64_t padded = n_samples + 2 * (int64_t)m->pad;
    if (padded < m->p.n_fft) return -1;
    return (padded - m->p.n_fft) / m->p.hop + 1;
}

/* Sample j of the clamped, reflect-padded signal (torch's 'reflect': the edge sample is not
 * repeated). */
static double padded_sample(const float *pcm, int64_t n, int64_t j) {
    if (j < 0) j = -j;
    if (j >= n) j = 2 * (n - 1) - j;
    const double x = pcm[j];
    return x < -1.0 ? -1.0 : x > 1.0 ? 1.0 : x;
}

duet_status duet_mel_compute(const duet_mel *m, const float *pcm, int64_t n_samples, float *out,
                             int64_t n_frames) {
    const int64_t want = duet_mel_n_frames(m, n_samples);
    if (!m || !pcm || !out || want < 0 || n_frames != want) {
        DUET_LOGE("duet_mel_compute: %lld samples give %lld frames, not %lld (or NULL arguments)",
                  (long long)n_samples, (long long)want, (long long)n_frames);
        return DUET_ERR_INVALID_ARG;
    }
    const int n = m->p.n_fft, nb = m->n_bins;
    double *z = duet_malloc(((size_t)n + (size_t)nb) * sizeof *z);
    if (!z) return DUET_ERR_OUT_OF_MEMORY;
    double *mag = z + n;
    for (int64_t t = 0; t < n_frames; t++) {
        const int64_t start = t * m->p.hop - m->pad;
        for (int i = 0; i < n; i++) z[i] = padded_sample(pcm, n_samples, start + i) * m->window[i];
        real_fft_mag(m, z, mag);
        for (int b = 0; b < m->p.n_mels; b++) {
            const double *w = m->fb + (size_t)b * nb;
            double acc = 0.0;
            for (int k = m->fb_lo[b]; k < m->fb_hi[b]; k++) acc += w[k] * mag[k];
            out[(size_t)b * (size_t)n_frames + (size_t)t] =
                (float)log10(acc > m->p.log_clamp ? acc : m->p.log_clamp);
        }
    }
    duet_free(z);
    return DUET_OK;
}
