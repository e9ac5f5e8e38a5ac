/* duet — unit tests for audio/wav_io: write/read round trips (16-bit PCM, float); every
 * accepted encoding (8/16/24/32-bit PCM, 32/64-bit float, WAVE_FORMAT_EXTENSIBLE) in mono and
 * stereo against values computed here; chunk walking (odd-sized chunks, fmt after data,
 * trailing junk, wrong RIFF size, streaming data size); every malformed case with its status
 * and message; random mutations (no crash); allocation failures. WAV bytes are built by this
 * file, not by the code under test. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audio/wav_io.h"
#include "core/alloc.h"
#include "io_test_util.h"

typedef struct buf {
    uint8_t d[1 << 16];
    size_t n;
} buf;

static void add(buf *b, const void *p, size_t n) {
    if (b->n + n > sizeof b->d) abort();
    memcpy(b->d + b->n, p, n);
    b->n += n;
}
static void add16(buf *b, uint32_t v) {
    uint8_t x[2] = {(uint8_t)v, (uint8_t)(v >> 8)};
    add(b, x, 2);
}
static void add32(buf *b, uint32_t v) {
    add16(b, v & 0xFFFF);
    add16(b, v >> 16);
}
static void add_chunk(buf *b, const char *id, const void *body, uint32_t n) {
    add(b, id, 4);
    add32(b, n);
    if (n) add(b, body, n);
    if (n & 1) add(b, "", 1);
}

typedef struct fmt_spec {
    int tag, ch, rate, bits, extensible, valid_bits;
} fmt_spec;

static uint32_t fmt_body(uint8_t *out, const fmt_spec *f) {
    buf b = {.n = 0};
    uint32_t align = (uint32_t)(f->ch * f->bits / 8);
    add16(&b, f->extensible ? 0xFFFE : (uint32_t)f->tag);
    add16(&b, (uint32_t)f->ch);
    add32(&b, (uint32_t)f->rate);
    add32(&b, (uint32_t)f->rate * align);
    add16(&b, align);
    add16(&b, (uint32_t)f->bits);
    if (f->extensible) {
        static const uint8_t tail[14] = {0, 0, 0, 0, 0x10, 0, 0x80, 0, 0, 0xAA, 0, 0x38, 0x9B, 0x71};
        add16(&b, 22);
        add16(&b, (uint32_t)(f->valid_bits ? f->valid_bits : f->bits));
        add32(&b, f->ch == 1 ? 4 : 3);
        add16(&b, (uint32_t)f->tag);
        add(&b, tail, 14);
    }
    memcpy(out, b.d, b.n);
    return (uint32_t)b.n;
}

/* RIFF header + fmt + data, RIFF size filled in. */
static void make_wav(buf *b, const fmt_spec *f, const void *data, uint32_t n) {
    uint8_t fb[64];
    b->n = 0;
    add(b, "RIFF\0\0\0\0WAVE", 12);
    add_chunk(b, "fmt ", fb, fmt_body(fb, f));
    add_chunk(b, "data", data, n);
    uint32_t riff = (uint32_t)b->n - 8;
    memcpy(b->d + 4, &(uint8_t[4]){(uint8_t)riff, (uint8_t)(riff >> 8), (uint8_t)(riff >> 16),
                                   (uint8_t)(riff >> 24)}, 4);
}

/* Integer sample patterns for a given width: extremes, zero and a ramp. */
static int64_t int_sample(int bits, int i) {
    int64_t max = ((int64_t)1 << (bits - 1)) - 1, min = -max - 1;
    switch (i % 5) {
    case 0: return max;
    case 1: return min;
    case 2: return 0;
    case 3: return (i * 7919) % (max + 1);
    default: return -((i * 104729) % (max + 1));
    }
}

static void put_int(buf *b, int bits, int64_t v) {
    uint64_t u = (uint64_t)v;
    if (bits == 8) u = (uint64_t)(v + 128);
    for (int k = 0; k < bits / 8; k++) {
        uint8_t x = (uint8_t)(u >> (8 * k));
        add(b, &x, 1);
    }
}

static void check_read(const char *name, const buf *b, const float *want, int64_t n, int ch,
                       int rate, double tol) {
    float *pcm = NULL;
    int64_t got_n = -1;
    duet_wav_info info;
    duet_status st = duet_wav_read_mem(b->d, b->n, name, NULL, &pcm, &got_n, &info);
    if (st != DUET_OK) fprintf(stderr, "FAIL %s: %s\n", name, duet_status_str(st));
    T_CHECK(st == DUET_OK && got_n == n && info.n_channels == ch && info.sample_rate_hz == rate);
    if (st == DUET_OK && got_n == n) {
        int64_t worst = 0;
        for (int64_t i = 0; i < n; i++)
            if (fabsf(pcm[i] - want[i]) > fabsf(pcm[worst] - want[worst])) worst = i;
        if (n && !(fabsf(pcm[worst] - want[worst]) <= tol)) {
            fprintf(stderr, "FAIL %s: sample %lld is %.9g, expected %.9g\n", name,
                    (long long)worst, pcm[worst], want[worst]);
            duet_test_failures++;
        }
    }
    duet_free(pcm);
}

static void test_encodings(void) {
    enum { N = 50 };
    static const struct { const char *name; int tag, bits, ext; } cases[] = {
        {"u8", 1, 8, 0},  {"s16", 1, 16, 0},     {"s24", 1, 24, 0},       {"s32", 1, 32, 0},
        {"f32", 3, 32, 0}, {"f64", 3, 64, 0},    {"ext_s16", 1, 16, 1},   {"ext_s24", 1, 24, 1},
        {"ext_f32", 3, 32, 1},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        for (int ch = 1; ch <= 2; ch++) {
            buf data = {.n = 0}, file;
            float want[N];
            for (int i = 0; i < N; i++) {
                double acc = 0;
                for (int c = 0; c < ch; c++) {
                    int j = i * ch + c;
                    if (cases[k].tag == 3) {
                        double v = sin(0.37 * j) * 0.9;
                        if (cases[k].bits == 32) {
                            float f = (float)v;
                            uint32_t u;
                            memcpy(&u, &f, 4);
                            add32(&data, u);
                            acc += f;
                        } else {
                            uint64_t u;
                            memcpy(&u, &v, 8);
                            add32(&data, (uint32_t)u);
                            add32(&data, (uint32_t)(u >> 32));
                            acc += v;
                        }
                    } else {
                        int64_t v = int_sample(cases[k].bits, j);
                        put_int(&data, cases[k].bits, v);
                        acc += (double)v / (double)((int64_t)1 << (cases[k].bits - 1));
                    }
                }
                want[i] = (float)(acc / ch);
            }
            fmt_spec f = {cases[k].tag, ch, 22050 + ch, cases[k].bits, cases[k].ext, 0};
            make_wav(&file, &f, data.d, (uint32_t)data.n);
            char name[64];
            snprintf(name, sizeof name, "%s_ch%d.wav", cases[k].name, ch);
            check_read(name, &file, want, N, ch, 22050 + ch, 1e-7);
        }
    }
}

static void test_round_trip(void) {
    enum { N = 1001 };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)(i - 500) / 512.0f; /* exact in 16 bits too */
    x[0] = 1.5f;           /* clamps to 32767 */
    x[1] = -2.0f;          /* clamps to -32768 */
    x[2] = NAN;            /* becomes 0 in 16-bit */
    const char *p16 = io_path("rt16.wav"), *pf = io_path("rtf.wav");
    T_CHECK_OK(duet_wav_write(p16, x, N, 16000, DUET_WAV_PCM16));
    T_CHECK_OK(duet_wav_write(pf, x, N, 48000, DUET_WAV_FLOAT32));
    T_CHECK(!io_exists(io_path("rt16.wav.tmp")) && !io_exists(io_path("rtf.wav.tmp")));
    float *y = NULL;
    int64_t n = 0;
    duet_wav_info info;
    T_CHECK_OK(duet_wav_read(p16, NULL, &y, &n, &info));
    T_CHECK(n == N && info.bits_per_sample == 16 && !info.is_float && info.sample_rate_hz == 16000);
    if (n == N) {
        T_CHECK(y[0] == 32767.0f / 32768.0f && y[1] == -1.0f && y[2] == 0.0f);
        T_CHECK(duet_test_close("pcm16 round trip", y + 3, x + 3, N - 3, 0.0));
    }
    duet_free(y);
    T_CHECK_OK(duet_wav_read(pf, NULL, &y, &n, &info));
    T_CHECK(n == N && info.is_float && info.bits_per_sample == 32 && info.sample_rate_hz == 48000);
    if (n == N) {
        T_CHECK(y[0] == 1.5f && y[1] == -2.0f && isnan(y[2]));
        T_CHECK(duet_test_close("float round trip", y + 3, x + 3, N - 3, 0.0));
    }
    duet_free(y);
    /* the float file carries a fact chunk with the frame count */
    size_t fn = 0;
    unsigned char *raw = io_read_file(pf, &fn);
    T_CHECK(raw && fn == 58 + 4 * (size_t)N && memcmp(raw + 38, "fact", 4) == 0 &&
            raw[46] == (N & 0xFF) && raw[47] == (N >> 8));
    free(raw);
    /* empty audio is a valid file */
    T_CHECK_OK(duet_wav_write(p16, NULL, 0, 8000, DUET_WAV_PCM16));
    T_CHECK_OK(duet_wav_read(p16, NULL, &y, &n, NULL));
    T_CHECK(n == 0 && y != NULL);
    duet_free(y);
}

static void test_chunk_walking(void) {
    enum { N = 6 };
    int16_t s[N] = {1000, -1000, 32767, -32768, 0, 12345};
    float want[N];
    for (int i = 0; i < N; i++) want[i] = s[i] / 32768.0f;
    fmt_spec f = {1, 1, 16000, 16, 0, 0};
    uint8_t fb[64];
    uint32_t fl = fmt_body(fb, &f);
    buf b = {.n = 0};
    /* LIST chunk of odd size (padded) before fmt; fmt after data; junk after */
    add(&b, "RIFF\0\0\0\0WAVE", 12);
    add_chunk(&b, "LIST", "INFOabc", 7);
    add_chunk(&b, "data", s, sizeof s);
    add_chunk(&b, "fmt ", fb, fl);
    add(&b, "junk that is not a chunk", 24);
    b.d[4] = (uint8_t)(b.n - 8 - 24); /* RIFF size excludes the junk */
    check_read("walk.wav", &b, want, N, 1, 16000, 0);
    /* RIFF size larger than the file, and zero: the file's end is used */
    b.d[4] = 0xF0;
    b.d[5] = 0xFF;
    check_read("riff_big.wav", &b, want, N, 1, 16000, 0);
    memset(b.d + 4, 0, 4);
    check_read("riff_zero.wav", &b, want, N, 1, 16000, 0);
    /* streaming writers' data size 0xFFFFFFFF: data runs to the end of the file */
    buf c;
    make_wav(&c, &f, s, sizeof s);
    memset(c.d + 40, 0xFF, 4);
    check_read("stream.wav", &c, want, N, 1, 16000, 0);
}

static void expect_fail(const char *file, const buf *b, duet_status want, const char *msg) {
    const char *path = io_path(file);
    io_write_file(path, b->d, b->n);
    float *pcm = (float *)1;
    int64_t n = -1;
    io_capture_begin();
    duet_status st = duet_wav_read(path, NULL, &pcm, &n, NULL);
    io_capture_end();
    if (st != want)
        fprintf(stderr, "FAIL %s: status %s, expected %s\n", file, duet_status_str(st),
                duet_status_str(want));
    T_CHECK(st == want && pcm == NULL && n == 0);
    T_CHECK(io_error_has(msg));
    T_CHECK(strstr(io_last_error, file) != NULL);
}

static void test_malformed(void) {
    int16_t s[8] = {0};
    fmt_spec ok = {1, 2, 16000, 16, 0, 0};
    buf b;
    make_wav(&b, &ok, s, sizeof s);
    buf t = b;
    t.n = 10;
    expect_fail("short.wav", &t, DUET_ERR_FORMAT, "short.wav: truncated header");
    t.n = 30;
    expect_fail("cut_fmt.wav", &t, DUET_ERR_FORMAT, "claims 16 bytes but only 10 remain");
    t.n = 40;
    expect_fail("cut_hdr.wav", &t, DUET_ERR_FORMAT, "truncated: no data chunk");
    t.n = b.n - 6;
    expect_fail("cut_data.wav", &t, DUET_ERR_FORMAT,
                "cut_data.wav: data chunk at offset 36 claims 16 bytes but only 10 remain");
    t = b;
    memcpy(t.d, "RIFX", 4);
    expect_fail("rifx.wav", &t, DUET_ERR_FORMAT, "not a WAV file");
    t.n = 3;
    expect_fail("tiny.wav", &t, DUET_ERR_FORMAT, "tiny.wav: truncated header");
    t = b;
    memcpy(t.d, "RF64", 4);
    expect_fail("rf64.wav", &t, DUET_ERR_UNSUPPORTED, "RF64");
    fmt_spec f = ok;
    f.ch = 0;
    make_wav(&t, &f, s, sizeof s);
    expect_fail("zero_ch.wav", &t, DUET_ERR_FORMAT, "zero_ch.wav: fmt chunk says zero channels");
    f = ok;
    f.rate = 0;
    make_wav(&t, &f, s, sizeof s);
    expect_fail("zero_hz.wav", &t, DUET_ERR_FORMAT, "sample rate is 0 Hz");
    f = ok;
    f.tag = 2;
    make_wav(&t, &f, s, sizeof s);
    expect_fail("adpcm.wav", &t, DUET_ERR_UNSUPPORTED, "format tag 0x0002 (MS ADPCM) not supported");
    f = ok;
    f.tag = 0x1234;
    make_wav(&t, &f, s, sizeof s);
    expect_fail("unknown.wav", &t, DUET_ERR_UNSUPPORTED, "format tag 0x1234 (unknown)");
    f = ok;
    f.bits = 12;
    make_wav(&t, &f, s, 12);
    expect_fail("pcm12.wav", &t, DUET_ERR_UNSUPPORTED, "12-bit PCM");
    f = ok;
    f.ch = 9;
    static const uint8_t zeros18[18];
    make_wav(&t, &f, zeros18, 18);
    expect_fail("nine.wav", &t, DUET_ERR_UNSUPPORTED, "9 channels");
    make_wav(&t, &ok, s, 6); /* 6 bytes: 1.5 stereo frames */
    expect_fail("partial.wav", &t, DUET_ERR_FORMAT, "not a whole number of 4-byte frames");
    make_wav(&t, &ok, s, sizeof s);
    t.d[32] = 3; /* block align 3 for 2 x 16 bits */
    expect_fail("align.wav", &t, DUET_ERR_FORMAT, "block align 3 does not match 2 channels of 16 bits");
    make_wav(&t, &ok, s, sizeof s);
    t.d[16] = 14; /* fmt chunk size 14: the walk now lands inside the old fmt body */
    expect_fail("fmt14.wav", &t, DUET_ERR_FORMAT, "fmt chunk is 14 bytes, at least 16 needed");
    f = ok;
    f.extensible = 1;
    make_wav(&t, &f, s, sizeof s);
    t.d[46] ^= 0xFF; /* corrupt the sub-format GUID tail */
    expect_fail("guid.wav", &t, DUET_ERR_UNSUPPORTED, "unknown sub-format GUID");
}

static void test_malformed_chunks(void) {
    int16_t s[8] = {0};
    fmt_spec ok = {1, 2, 16000, 16, 0, 0};
    buf b, t;
    make_wav(&b, &ok, s, sizeof s);
    /* no data, no fmt, two fmt chunks */
    uint8_t fb[64];
    uint32_t fl = fmt_body(fb, &ok);
    t.n = 0;
    add(&t, "RIFF\x1c\0\0\0WAVE", 12);
    add_chunk(&t, "fmt ", fb, fl);
    expect_fail("nodata.wav", &t, DUET_ERR_FORMAT, "no data chunk");
    t.n = 0;
    add(&t, "RIFF\x1c\0\0\0WAVE", 12);
    add_chunk(&t, "data", s, sizeof s);
    expect_fail("nofmt.wav", &t, DUET_ERR_FORMAT, "no fmt chunk");
    t.n = 0;
    add(&t, "RIFF\0\0\0\0WAVE", 12);
    add_chunk(&t, "fmt ", fb, fl);
    add_chunk(&t, "fmt ", fb, fl);
    add_chunk(&t, "data", s, sizeof s);
    expect_fail("twofmt.wav", &t, DUET_ERR_FORMAT, "second fmt chunk");
    /* length limit */
    duet_wav_read_params rp = duet_wav_default_read_params();
    rp.max_frames = 3;
    float *pcm;
    int64_t n;
    io_capture_begin();
    T_CHECK(duet_wav_read_mem(b.d, b.n, "long.wav", &rp, &pcm, &n, NULL) == DUET_ERR_UNSUPPORTED);
    T_CHECK(io_error_has("long.wav: 4 frames, above the limit of 3"));
    T_CHECK(duet_wav_read(io_path("absent.wav"), NULL, &pcm, &n, NULL) == DUET_ERR_NOT_FOUND);
    T_CHECK(duet_wav_write(io_path("x.wav"), NULL, 5, 16000, DUET_WAV_PCM16) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_wav_write(io_path("x.wav"), (const float *)s, 1, 0, DUET_WAV_PCM16) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_wav_write(io_path("no/dir/x.wav"), (const float *)s, 1, 8000, DUET_WAV_FLOAT32) == DUET_ERR_IO);
    io_capture_end();
}

static void test_mutations(void) {
    int16_t s[40];
    for (int i = 0; i < 40; i++) s[i] = (int16_t)(i * 1000 - 20000);
    fmt_spec f = {1, 2, 16000, 16, 1, 0};
    buf b, m;
    make_wav(&b, &f, s, sizeof s);
    uint64_t x = 777;
    int n_ok = 0, n_err = 0;
    io_capture_begin();
    for (int it = 0; it < 5000; it++) {
        m = b;
        for (int k = 0; k < 1 + it % 3; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            size_t at = (size_t)(x >> 8) % 72; /* the headers, mostly */
            if ((x & 31) == 0) m.n = at;
            else m.d[at] = (uint8_t)(m.d[at] ^ (1u << ((x >> 40) & 7)));
        }
        float *pcm = NULL;
        int64_t n = -1;
        duet_status st = duet_wav_read_mem(m.d, m.n, "mutant.wav", NULL, &pcm, &n, NULL);
        if (st == DUET_OK) {
            n_ok++;
            T_CHECK(pcm != NULL && n >= 0);
            for (int64_t i = 0; i < n; i++) (void)pcm[i]; /* ASan: every sample is readable */
        } else {
            n_err++;
            T_CHECK(pcm == NULL && n == 0);
        }
        duet_free(pcm);
    }
    io_capture_end();
    printf("mutations: %d read, %d rejected\n", n_ok, n_err);
    T_CHECK(n_ok > 100 && n_err > 100);
}

static void test_alloc_failure(void) {
    float x[100] = {0.5f};
    const char *p = io_path("oom.wav");
    T_CHECK_OK(duet_wav_write(p, x, 100, 8000, DUET_WAV_PCM16));
    int n_oom = 0;
    io_capture_begin();
    for (long k = 0; k < 6; k++) {
        float *pcm = NULL;
        int64_t n;
        duet_alloc_fail_after(k);
        duet_status st = duet_wav_read(p, NULL, &pcm, &n, NULL);
        duet_status st2 = duet_wav_write(io_path("oom2.wav"), x, 100, 8000, DUET_WAV_FLOAT32);
        duet_alloc_fail_after(-1);
        T_CHECK(st == DUET_OK || (st == DUET_ERR_OUT_OF_MEMORY && pcm == NULL));
        T_CHECK(st2 == DUET_OK || st2 == DUET_ERR_OUT_OF_MEMORY);
        n_oom += (st != DUET_OK) + (st2 != DUET_OK);
        duet_free(pcm);
    }
    io_capture_end();
    T_CHECK(n_oom >= 3);
}

int main(void) {
    test_encodings();
    test_round_trip();
    test_chunk_walking();
    test_malformed();
    test_malformed_chunks();
    test_mutations();
    test_alloc_failure();
    io_scratch_cleanup();
    return duet_test_end(NULL, 0);
}
