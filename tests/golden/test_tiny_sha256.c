/* duet — SHA-256 for the duet-tiny golden test: each golden file names the model.safetensors it
 * was computed from by its SHA-256 (tools/duet_tiny/export.py file_sha256), and the test refuses
 * golden files of another model. A plain implementation of FIPS 180-4 section 6.2, written for
 * this test (the library has no use for a hash). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_tiny.h"

typedef struct {
    uint32_t h[8];
    uint8_t block[64];
    size_t n_block;   /* bytes waiting in block */
    uint64_t n_total; /* bytes hashed so far */
} sha256_state;

static const uint32_t k_round[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2};

static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void sha256_init(sha256_state *s) {
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    memcpy(s->h, h0, sizeof h0);
    s->n_block = 0;
    s->n_total = 0;
}

/* One 64-byte block into the state (the standard's compression function). */
static void compress(sha256_state *s, const uint8_t *p) {
    uint32_t w[64];
    for (int t = 0; t < 16; t++)
        w[t] = (uint32_t)p[4 * t] << 24 | (uint32_t)p[4 * t + 1] << 16 |
               (uint32_t)p[4 * t + 2] << 8 | (uint32_t)p[4 * t + 3];
    for (int t = 16; t < 64; t++) {
        uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
        uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
        w[t] = w[t - 16] + s0 + w[t - 7] + s1;
    }
    uint32_t a = s->h[0], b = s->h[1], c = s->h[2], d = s->h[3];
    uint32_t e = s->h[4], f = s->h[5], g = s->h[6], h = s->h[7];
    for (int t = 0; t < 64; t++) {
        uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) +
                      k_round[t] + w[t];
        uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
        h = g, g = f, f = e, e = d + t1;
        d = c, c = b, b = a, a = t1 + t2;
    }
    s->h[0] += a, s->h[1] += b, s->h[2] += c, s->h[3] += d;
    s->h[4] += e, s->h[5] += f, s->h[6] += g, s->h[7] += h;
}

static void sha256_update(sha256_state *s, const uint8_t *p, size_t n) {
    s->n_total += n;
    while (n > 0) {
        if (s->n_block == 0 && n >= 64) {
            compress(s, p);
            p += 64, n -= 64;
            continue;
        }
        size_t take = 64 - s->n_block < n ? 64 - s->n_block : n;
        memcpy(s->block + s->n_block, p, take);
        s->n_block += take, p += take, n -= take;
        if (s->n_block == 64) {
            compress(s, s->block);
            s->n_block = 0;
        }
    }
}

/* Padding (0x80, zeros, the bit length big-endian) and the digest as hex. */
static void sha256_final(sha256_state *s, char hex[65]) {
    const uint64_t n_bits = s->n_total * 8;
    uint8_t pad[72] = {0x80};
    size_t n_pad = (s->n_block < 56 ? 56 : 120) - s->n_block;
    for (int i = 0; i < 8; i++) pad[n_pad + (size_t)i] = (uint8_t)(n_bits >> (56 - 8 * i));
    sha256_update(s, pad, n_pad + 8);
    for (int i = 0; i < 8; i++) snprintf(hex + 8 * i, 9, "%08x", (unsigned)s->h[i]);
}

static void sha256_hex(const void *data, size_t n, char hex[65]) {
    sha256_state s;
    sha256_init(&s);
    sha256_update(&s, data, n);
    sha256_final(&s, hex);
}

bool tiny_sha256_file(const char *path, char hex[65]) {
    FILE *f = fopen(path, "rb");
    uint8_t *buf = malloc(1 << 20);
    bool ok = f && buf;
    sha256_state s;
    sha256_init(&s);
    size_t n;
    while (ok && (n = fread(buf, 1, 1 << 20, f)) > 0) sha256_update(&s, buf, n);
    ok = ok && !ferror(f);
    if (ok) sha256_final(&s, hex);
    else fprintf(stderr, "FAIL: cannot read %s to hash it\n", path);
    if (f) fclose(f);
    free(buf);
    return ok;
}

bool tiny_sha256_self_test(void) {
    /* FIPS 180-4 examples (one block, two blocks) and one million 'a's, which crosses the
     * streaming path's block boundaries in every way */
    static const struct {
        const char *msg;
        const char *want;
    } kat[] = {
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    };
    bool ok = true;
    char hex[65];
    for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
        sha256_hex(kat[i].msg, strlen(kat[i].msg), hex);
        if (strcmp(hex, kat[i].want)) {
            fprintf(stderr, "FAIL: sha256(\"%s\") = %s, want %s\n", kat[i].msg, hex,
                    kat[i].want);
            ok = false;
        }
    }
    sha256_state s;
    sha256_init(&s);
    uint8_t a[1001];
    memset(a, 'a', sizeof a);
    for (int i = 0; i < 1000; i++) sha256_update(&s, a, (size_t)(i % 2 ? 999 : 1001));
    sha256_final(&s, hex);
    const char *want = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    if (strcmp(hex, want)) {
        fprintf(stderr, "FAIL: sha256 of a million 'a' = %s, want %s\n", hex, want);
        ok = false;
    }
    return ok;
}
