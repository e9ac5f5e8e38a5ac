/* duet — WAV read/write (see wav_io.h). Reference audio enters the pipeline here (then
 * resample.c to the model rate, then the mel front end); soundtrack dumps leave here.
 * Follows the RIFF/WAVE layout of Microsoft's "Multimedia Programming Interface and Data
 * Specifications 1.0" and the WAVE_FORMAT_EXTENSIBLE layout of mmreg.h/ksmedia.h. */
#include "wav_io.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

#define TAG_PCM 0x0001
#define TAG_FLOAT 0x0003
#define TAG_EXTENSIBLE 0xFFFE
#define MAX_RATE_HZ 1536000
#define BLOCK_BYTES 65536

/* The 14 bytes after the format code in a KSDATAFORMAT_SUBTYPE_* GUID (ksmedia.h). */
static const uint8_t ks_guid_tail[14] = {0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80,
                                         0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71};

duet_wav_read_params duet_wav_default_read_params(void) {
    duet_wav_read_params p = {.max_frames = (int64_t)1 << 28};
    return p;
}

/* Random access to the bytes of a file or a memory block. */
typedef struct wav_src {
    const char *name;
    FILE *f;
    const uint8_t *mem;
    int64_t size;
    int io_errno;
} wav_src;

static size_t read_at(wav_src *s, int64_t off, void *out, size_t n) {
    if (off < 0 || off >= s->size) return 0;
    if ((int64_t)n > s->size - off) n = (size_t)(s->size - off);
    if (!s->f) {
        memcpy(out, s->mem + off, n);
        return n;
    }
    if (fseeko(s->f, (off_t)off, SEEK_SET) != 0) {
        s->io_errno = errno;
        return 0;
    }
    size_t got = fread(out, 1, n, s->f);
    if (got < n) s->io_errno = ferror(s->f) ? (errno ? errno : EIO) : 0;
    return got;
}

static uint32_t rd_u16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd_u32(const uint8_t *p) { return rd_u16(p) | rd_u16(p + 2) << 16; }

static duet_status io_failed(const wav_src *s) {
    DUET_LOGE("%s: read failed: %s", s->name, strerror(s->io_errno));
    return DUET_ERR_IO;
}

static const char *tag_name(uint32_t tag) {
    switch (tag) {
    case 0x0002: return "MS ADPCM";
    case 0x0006: return "A-law";
    case 0x0007: return "mu-law";
    case 0x0011: return "IMA ADPCM";
    case 0x0055: return "MP3";
    default: return "unknown";
    }
}

/* Validates a fmt chunk body (n >= 16 bytes available in f) and fills info. */
static duet_status parse_fmt(const wav_src *s, const uint8_t *f, uint32_t n, duet_wav_info *info) {
    uint32_t tag = rd_u16(f), ch = rd_u16(f + 2), rate = rd_u32(f + 4);
    uint32_t align = rd_u16(f + 12), bits = rd_u16(f + 14);
    if (tag == TAG_EXTENSIBLE) {
        if (n < 40 || rd_u16(f + 16) < 22) {
            DUET_LOGE("%s: WAVE_FORMAT_EXTENSIBLE fmt chunk is %u bytes, 40 needed", s->name, n);
            return DUET_ERR_FORMAT;
        }
        if (memcmp(f + 26, ks_guid_tail, sizeof ks_guid_tail) != 0) {
            DUET_LOGE("%s: WAVE_FORMAT_EXTENSIBLE with an unknown sub-format GUID", s->name);
            return DUET_ERR_UNSUPPORTED;
        }
        uint32_t valid_bits = rd_u16(f + 18);
        if (valid_bits > bits) {
            DUET_LOGE("%s: %u valid bits in a %u-bit container", s->name, valid_bits, bits);
            return DUET_ERR_FORMAT;
        }
        tag = rd_u16(f + 24); /* samples are left-justified: the container is read whole */
    }
    if (ch == 0) {
        DUET_LOGE("%s: fmt chunk says zero channels", s->name);
        return DUET_ERR_FORMAT;
    }
    if (rate == 0) {
        DUET_LOGE("%s: fmt chunk says the sample rate is 0 Hz", s->name);
        return DUET_ERR_FORMAT;
    }
    if (tag != TAG_PCM && tag != TAG_FLOAT) {
        DUET_LOGE("%s: format tag 0x%04x (%s) not supported: PCM or IEEE float only", s->name,
                  tag, tag_name(tag));
        return DUET_ERR_UNSUPPORTED;
    }
    int ok_bits = tag == TAG_PCM ? (bits == 8 || bits == 16 || bits == 24 || bits == 32)
                                 : (bits == 32 || bits == 64);
    if (!ok_bits || ch > DUET_WAV_MAX_CHANNELS || rate > MAX_RATE_HZ) {
        DUET_LOGE("%s: %u-bit %s, %u channels, %u Hz not supported (8/16/24/32-bit PCM or "
                  "32/64-bit float, 1..%d channels, up to %d Hz)", s->name, bits,
                  tag == TAG_PCM ? "PCM" : "float", ch, rate, DUET_WAV_MAX_CHANNELS, MAX_RATE_HZ);
        return DUET_ERR_UNSUPPORTED;
    }
    if (align != ch * bits / 8) {
        DUET_LOGE("%s: block align %u does not match %u channels of %u bits", s->name, align, ch,
                  bits);
        return DUET_ERR_FORMAT;
    }
    if (rd_u32(f + 8) != rate * align)
        DUET_LOGD("%s: byte rate %u should be %u (ignored)", s->name, rd_u32(f + 8), rate * align);
    info->sample_rate_hz = (int)rate;
    info->n_channels = (int)ch;
    info->bits_per_sample = (int)bits;
    info->is_float = tag == TAG_FLOAT;
    return DUET_OK;
}

/* Where the chunks were found. */
typedef struct wav_layout {
    int have_fmt, have_data;
    int64_t data_off, data_size;
} wav_layout;

static duet_status read_fmt_chunk(wav_src *s, int64_t body, uint32_t size, wav_layout *l,
                                  duet_wav_info *info) {
    if (l->have_fmt) {
        DUET_LOGE("%s: second fmt chunk at offset %lld", s->name, (long long)body - 8);
        return DUET_ERR_FORMAT;
    }
    if (size < 16) {
        DUET_LOGE("%s: fmt chunk is %u bytes, at least 16 needed", s->name, size);
        return DUET_ERR_FORMAT;
    }
    uint8_t f[40] = {0};
    uint32_t n = size < sizeof f ? size : (uint32_t)sizeof f;
    if (read_at(s, body, f, n) < n) return s->io_errno ? io_failed(s) : DUET_ERR_FORMAT;
    l->have_fmt = 1;
    return parse_fmt(s, f, n, info);
}

/* Walks the chunks after "RIFF....WAVE" until both fmt and data are found. */
static duet_status walk_chunks(wav_src *s, int64_t end, wav_layout *l, duet_wav_info *info) {
    int64_t pos = 12;
    while (!(l->have_fmt && l->have_data)) {
        if (end - pos < 8) {
            DUET_LOGE("%s: truncated: no %s chunk before the end of the file", s->name,
                      l->have_fmt ? "data" : "fmt");
            return DUET_ERR_FORMAT;
        }
        uint8_t h[8];
        if (read_at(s, pos, h, 8) < 8) return s->io_errno ? io_failed(s) : DUET_ERR_FORMAT;
        uint32_t size = rd_u32(h + 4);
        int64_t body = pos + 8, left = end - body;
        int is_data = !memcmp(h, "data", 4);
        if (is_data && size == 0xFFFFFFFFu) size = (uint32_t)(left < 0xFFFFFFFE ? left : 0xFFFFFFFE);
        if ((int64_t)size > left) {
            DUET_LOGE("%s: %.4s chunk at offset %lld claims %u bytes but only %lld remain",
                      s->name, (const char *)h, (long long)pos, size, (long long)left);
            return DUET_ERR_FORMAT;
        }
        if (!memcmp(h, "fmt ", 4)) {
            duet_status st = read_fmt_chunk(s, body, size, l, info);
            if (st != DUET_OK) return st;
        } else if (is_data && !l->have_data) {
            l->have_data = 1;
            l->data_off = body;
            l->data_size = size;
        }
        pos = body + size + (size & 1);
    }
    return DUET_OK;
}

static float sample_at(const uint8_t *p, int bits, int is_float) {
    if (is_float) {
        if (bits == 32) {
            uint32_t u = rd_u32(p);
            float f;
            memcpy(&f, &u, 4);
            return f;
        }
        uint64_t u = rd_u32(p) | (uint64_t)rd_u32(p + 4) << 32;
        double d;
        memcpy(&d, &u, 8);
        return (float)d;
    }
    switch (bits) {
    case 8: return ((int)p[0] - 128) * (1.0f / 128);
    case 16: return (float)(int16_t)rd_u16(p) * (1.0f / 32768);
    case 24: {
        int32_t v = (int32_t)(rd_u16(p) | (uint32_t)p[2] << 16);
        return (float)(v >= 0x800000 ? v - 0x1000000 : v) * (1.0f / 8388608);
    }
    default: return (float)((double)(int32_t)rd_u32(p) * (1.0 / 2147483648.0));
    }
}

/* Converts the data chunk block by block into mono floats. */
static duet_status convert(wav_src *s, const wav_layout *l, const duet_wav_info *info,
                           float *out) {
    int ch = info->n_channels, bits = info->bits_per_sample;
    size_t frame = (size_t)ch * (size_t)bits / 8;
    uint8_t *buf = duet_malloc(BLOCK_BYTES);
    if (!buf) return DUET_ERR_OUT_OF_MEMORY;
    size_t frames_per_block = BLOCK_BYTES / frame;
    float inv_ch = 1.0f / (float)ch;
    for (int64_t i = 0; i < info->n_frames;) {
        int64_t n = info->n_frames - i;
        if (n > (int64_t)frames_per_block) n = (int64_t)frames_per_block;
        size_t nbytes = (size_t)n * frame;
        if (read_at(s, l->data_off + i * (int64_t)frame, buf, nbytes) < nbytes) {
            duet_free(buf);
            if (s->io_errno) return io_failed(s);
            DUET_LOGE("%s: truncated data chunk", s->name);
            return DUET_ERR_FORMAT;
        }
        for (int64_t k = 0; k < n; k++) {
            const uint8_t *p = buf + (size_t)k * frame;
            float acc = 0;
            for (int c = 0; c < ch; c++) acc += sample_at(p + (size_t)c * bits / 8, bits, info->is_float);
            out[i + k] = ch == 1 ? acc : acc * inv_ch;
        }
        i += n;
    }
    duet_free(buf);
    return DUET_OK;
}

static duet_status parse(wav_src *s, const duet_wav_read_params *p, float **pcm, duet_wav_info *info) {
    uint8_t h[12];
    if (s->size < 12) {
        if (s->size > 0 && read_at(s, 0, h, 4) == 4 && memcmp(h, "RIFF", 4) != 0) goto not_wav;
        DUET_LOGE("%s: truncated header (%lld bytes; a WAV file starts with 12)", s->name,
                  (long long)s->size);
        return DUET_ERR_FORMAT;
    }
    if (read_at(s, 0, h, 12) < 12) return s->io_errno ? io_failed(s) : DUET_ERR_FORMAT;
    if (!memcmp(h, "RF64", 4) && !memcmp(h + 8, "WAVE", 4)) {
        DUET_LOGE("%s: RF64 (WAV over 4 GiB) not supported", s->name);
        return DUET_ERR_UNSUPPORTED;
    }
    if (memcmp(h, "RIFF", 4) != 0 || memcmp(h + 8, "WAVE", 4) != 0) goto not_wav;
    int64_t end = 8 + (int64_t)rd_u32(h + 4);
    if (end > s->size || end < 12) {
        DUET_LOGD("%s: RIFF size %u disagrees with the file size %lld; using the file's end",
                  s->name, rd_u32(h + 4), (long long)s->size);
        end = s->size;
    }
    wav_layout l = {0};
    duet_status st = walk_chunks(s, end, &l, info);
    if (st != DUET_OK) return st;
    int64_t frame = (int64_t)info->n_channels * info->bits_per_sample / 8;
    if (l.data_size % frame != 0) {
        DUET_LOGE("%s: data chunk of %lld bytes is not a whole number of %lld-byte frames",
                  s->name, (long long)l.data_size, (long long)frame);
        return DUET_ERR_FORMAT;
    }
    info->n_frames = l.data_size / frame;
    if (info->n_frames > p->max_frames) {
        DUET_LOGE("%s: %lld frames, above the limit of %lld", s->name, (long long)info->n_frames,
                  (long long)p->max_frames);
        return DUET_ERR_UNSUPPORTED;
    }
    *pcm = duet_malloc((size_t)(info->n_frames ? info->n_frames : 1) * sizeof **pcm);
    if (!*pcm) {
        DUET_LOGE("%s: out of memory for %lld samples", s->name, (long long)info->n_frames);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    st = convert(s, &l, info, *pcm);
    if (st != DUET_OK) {
        duet_free(*pcm);
        *pcm = NULL;
    }
    return st;
not_wav:
    DUET_LOGE("%s: not a WAV file (no RIFF/WAVE header)", s->name);
    return DUET_ERR_FORMAT;
}

static duet_status read_src(wav_src *s, const duet_wav_read_params *params, float **pcm,
                            int64_t *n_samples, duet_wav_info *info) {
    if (!pcm || !n_samples) {
        DUET_LOGE("%s: duet_wav_read: NULL output", s->name);
        return DUET_ERR_INVALID_ARG;
    }
    *pcm = NULL;
    *n_samples = 0;
    duet_wav_read_params p = params ? *params : duet_wav_default_read_params();
    duet_wav_info tmp = {0};
    duet_status st = parse(s, &p, pcm, &tmp);
    if (st == DUET_OK) *n_samples = tmp.n_frames;
    if (info) *info = st == DUET_OK ? tmp : (duet_wav_info){0};
    return st;
}

duet_status duet_wav_read(const char *path, const duet_wav_read_params *params, float **pcm,
                          int64_t *n_samples, duet_wav_info *info) {
    if (!path) {
        DUET_LOGE("duet_wav_read: NULL path");
        return DUET_ERR_INVALID_ARG;
    }
    wav_src s = {.name = path};
    s.f = fopen(path, "rb");
    if (!s.f) {
        int e = errno;
        DUET_LOGE("%s: cannot open: %s", path, strerror(e));
        if (pcm) *pcm = NULL;
        if (n_samples) *n_samples = 0;
        return e == ENOENT ? DUET_ERR_NOT_FOUND : DUET_ERR_IO;
    }
    if (fseeko(s.f, 0, SEEK_END) != 0 || (s.size = (int64_t)ftello(s.f)) < 0) {
        s.io_errno = errno;
        fclose(s.f);
        return io_failed(&s);
    }
    duet_status st = read_src(&s, params, pcm, n_samples, info);
    fclose(s.f);
    return st;
}

duet_status duet_wav_read_mem(const void *data, size_t nbytes, const char *name,
                              const duet_wav_read_params *params, float **pcm,
                              int64_t *n_samples, duet_wav_info *info) {
    wav_src s = {.name = name ? name : "<memory>", .mem = data, .size = data ? (int64_t)nbytes : 0};
    return read_src(&s, params, pcm, n_samples, info);
}

static void wr_u16(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void wr_u32(uint8_t *p, uint32_t v) {
    wr_u16(p, v & 0xFFFF);
    wr_u16(p + 2, v >> 16);
}

/* Header of a mono file: RIFF, fmt (16 bytes for PCM; 18 + fact chunk for float), data. */
static size_t make_header(uint8_t *h, uint32_t data_bytes, int64_t n, int rate, int is_float) {
    uint32_t bits = is_float ? 32 : 16, align = bits / 8, fmt_size = is_float ? 18 : 16;
    size_t hdr = 12 + 8 + fmt_size + (is_float ? 12 : 0) + 8;
    memcpy(h, "RIFF", 4);
    wr_u32(h + 4, (uint32_t)(hdr - 8 + data_bytes));
    memcpy(h + 8, "WAVEfmt ", 8);
    wr_u32(h + 16, fmt_size);
    wr_u16(h + 20, is_float ? TAG_FLOAT : TAG_PCM);
    wr_u16(h + 22, 1);
    wr_u32(h + 24, (uint32_t)rate);
    wr_u32(h + 28, (uint32_t)rate * align);
    wr_u16(h + 32, align);
    wr_u16(h + 34, bits);
    uint8_t *p = h + 36;
    if (is_float) {
        wr_u16(p, 0); /* cbSize */
        memcpy(p + 2, "fact", 4);
        wr_u32(p + 6, 4);
        wr_u32(p + 10, (uint32_t)n);
        p += 14;
    }
    memcpy(p, "data", 4);
    wr_u32(p + 4, data_bytes);
    return hdr;
}

static int write_samples(FILE *f, const float *pcm, int64_t n, int is_float) {
    uint8_t buf[4096];
    size_t per = is_float ? 4 : 2, fill = 0;
    for (int64_t i = 0; i < n; i++) {
        float x = pcm[i];
        if (is_float) {
            uint32_t u;
            memcpy(&u, &x, 4);
            wr_u32(buf + fill, u);
        } else {
            float v = x == x ? x * 32768.0f : 0.0f; /* NaN -> 0 */
            long q = v >= 32767.0f ? 32767 : v <= -32768.0f ? -32768 : lrintf(v);
            wr_u16(buf + fill, (uint32_t)(q & 0xFFFF));
        }
        fill += per;
        if (fill == sizeof buf || i + 1 == n) {
            if (fwrite(buf, 1, fill, f) != fill) return -1;
            fill = 0;
        }
    }
    return 0;
}

duet_status duet_wav_write(const char *path, const float *pcm, int64_t n_samples,
                           int sample_rate_hz, duet_wav_format format) {
    if (!path || (!pcm && n_samples) || n_samples < 0 || sample_rate_hz <= 0 ||
        sample_rate_hz > MAX_RATE_HZ || (int)format < 0 || format >= DUET_WAV_FORMAT_COUNT) {
        DUET_LOGE("%s: duet_wav_write: invalid arguments", path ? path : "(null)");
        return DUET_ERR_INVALID_ARG;
    }
    int is_float = format == DUET_WAV_FLOAT32;
    int64_t data_bytes = n_samples * (is_float ? 4 : 2);
    if (data_bytes > 0xFFFFFFFFll - 64) {
        DUET_LOGE("%s: %lld samples need more than 4 GiB (RF64), not supported", path,
                  (long long)n_samples);
        return DUET_ERR_UNSUPPORTED;
    }
    size_t len = strlen(path);
    char *tmp = duet_malloc(len + 5);
    if (!tmp) return DUET_ERR_OUT_OF_MEMORY;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        DUET_LOGE("%s: cannot create %s: %s", path, tmp, strerror(errno));
        duet_free(tmp);
        return DUET_ERR_IO;
    }
    uint8_t h[64];
    size_t hdr = make_header(h, (uint32_t)data_bytes, n_samples, sample_rate_hz, is_float);
    int bad = fwrite(h, 1, hdr, f) != hdr || write_samples(f, pcm, n_samples, is_float) != 0;
    bad |= fclose(f) != 0;
    duet_status st = DUET_OK;
    if (bad) {
        DUET_LOGE("%s: write failed: %s", path, strerror(errno));
        st = DUET_ERR_IO;
    } else if (rename(tmp, path) != 0) {
        DUET_LOGE("%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        st = DUET_ERR_IO;
    }
    if (st != DUET_OK) remove(tmp);
    duet_free(tmp);
    return st;
}
