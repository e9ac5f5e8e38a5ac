/* duet — Philox4x32-10 counter-based generator and Box-Muller Gaussians (see noise.h for the
 * definition shared with tools/duet_tiny/noise.py). The round function and constants are those
 * of Salmon et al. (SC 2011), checked against Random123's known-answer vectors in
 * tests/unit/test_noise.c. */
#include "diffusion/noise.h"

#include <math.h>

#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

void duet_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uint32_t c0 = ctr[0], c1 = ctr[1], c2 = ctr[2], c3 = ctr[3];
    uint32_t k0 = key[0], k1 = key[1];
    for (int r = 0; r < 10; r++) {
        if (r) k0 += PHILOX_W0, k1 += PHILOX_W1;
        const uint64_t p0 = (uint64_t)PHILOX_M0 * c0, p1 = (uint64_t)PHILOX_M1 * c2;
        const uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0, n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        c0 = n0, c1 = (uint32_t)p1, c2 = n2, c3 = (uint32_t)p0;
    }
    out[0] = c0, out[1] = c1, out[2] = c2, out[3] = c3;
}

/* The four float32 values of block j. */
static void block(uint64_t j, const uint32_t key[2], uint32_t stream, float z[4]) {
    const uint32_t ctr[4] = {(uint32_t)j, (uint32_t)(j >> 32), stream, 0};
    uint32_t r[4];
    duet_philox4x32_10(ctr, key, r);
    const double two_pi = 6.283185307179586; /* float64(2 pi), Python's 2.0 * math.pi */
    for (int k = 0; k < 2; k++) {
        const double u1 = ((double)r[2 * k] + 0.5) / 4294967296.0;
        const double u2 = ((double)r[2 * k + 1] + 0.5) / 4294967296.0;
        const double rad = sqrt(-2.0 * log(u1)), ang = two_pi * u2;
        z[2 * k] = (float)(rad * cos(ang));
        z[2 * k + 1] = (float)(rad * sin(ang));
    }
}

void duet_noise_fill(float *out, size_t n, uint64_t seed, uint32_t stream, uint64_t first) {
    const uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    float z[4];
    uint64_t cached = UINT64_MAX;
    for (size_t k = 0; k < n; k++) {
        const uint64_t i = first + k, j = i / 4;
        if (j != cached) block(j, key, stream, z), cached = j;
        out[k] = z[i % 4];
    }
}
