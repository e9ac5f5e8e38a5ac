/* duet — the deterministic Gaussian noise a generation starts from. It is made on the host, so a
 * seed gives the same latents on every backend; tools/duet_tiny/noise.py makes the same numbers
 * in Python (the golden tests compare the two).
 *
 * Definition: Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as
 * 1, 2, 3", SC 2011; Random123's constants and round function), key = (seed mod 2^32,
 * seed div 2^32), counter = (j mod 2^32, j div 2^32, stream, 0) for block j. Block j gives four
 * uint32 r0..r3 and elements 4j..4j+3 of the stream by Box-Muller on the pairs (r0, r1) and
 * (r2, r3), in double:
 *     u(r) = (r + 0.5) / 2^32,   R = sqrt(-2 ln u(r_even)),   a = 2 pi u(r_odd)
 *     z[4j + 2k] = R cos a,      z[4j + 2k + 1] = R sin a,    each rounded to float32.
 * Element i of a latent is element i of its stream in PyTorch memory order; the generation loop
 * uses stream 0 for the video latent [C, F, H, W] and stream 1 for the audio latent [L, C].
 * Counter-based: any element can be computed alone, and the streams do not depend on each
 * other's sizes. The C library's log, cos and sin are used (in double), so a float32 value can
 * differ between C libraries only where a last-bit difference straddles a float32 rounding
 * boundary. */
#ifndef DUET_NOISE_H
#define DUET_NOISE_H

#include <stddef.h>
#include <stdint.h>

enum { DUET_NOISE_STREAM_VIDEO = 0, DUET_NOISE_STREAM_AUDIO = 1 };

/* Random123 philox4x32 with 10 rounds: out = the block for counter ctr under key. */
void duet_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* out[0..n-1] = elements first .. first + n - 1 of `stream` for `seed`. Thread-safe. */
void duet_noise_fill(float *out, size_t n, uint64_t seed, uint32_t stream, uint64_t first);

#endif
