/* duet — PNG read/write (see png_io.h). Sits at the edges of the pipeline: reference images
 * come in here before the video VAE encoder, decoded frames may leave here as PNG dumps.
 * Uses libpng's classic API (libpng-manual.txt, "Reading PNG files"); every libpng error
 * longjmps back to one setjmp per direction and is translated by `translate()`. */
#include "png_io.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

#define PNG_DIM_MAX 0x7fffffff            /* the format's own limit (PNG spec, IHDR) */
#define CHUNK_MALLOC_MAX (8u << 20)        /* ancillary chunks (iCCP, zTXt) above this fail */
/* libpng's own allocations (chunk buffers, rows, zlib state) never legitimately approach
 * this; a chunk length field claiming 2 GiB (libpng 1.6.39 allocates sPLT's claimed size
 * before reading it) is refused here instead of exhausting memory. Pixels are allocated by
 * us, outside this cap. */
#define LIBPNG_ALLOC_MAX ((png_alloc_size_t)64 << 20)

duet_png_read_params duet_png_default_read_params(void) {
    duet_png_read_params p;
    p.max_width = 16384;
    p.max_height = 16384;
    p.max_pixels = (int64_t)64 << 20;
    p.background[0] = p.background[1] = p.background[2] = 255;
    return p;
}

/* Where bytes come from (a FILE or memory) and what went wrong, for translate(). */
typedef struct png_src {
    const char *name;
    FILE *f;
    const uint8_t *mem;
    size_t n, pos;
    int truncated;    /* the data ended where libpng needed more */
    int io_errno;     /* a read or write call failed with this errno */
    char msg[200];    /* libpng's error message */
} png_src;

/* libpng state of one decode/encode; lives in memory so it survives longjmp intact. */
typedef struct png_job {
    png_structp png;
    png_infop info;
    uint8_t *pix;
    png_bytep *rows;
    int width, height, channels;
    int header_only;  /* stop after the header: size only, no pixels */
} png_job;

static void on_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg ? msg : "unknown error");
    png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    DUET_LOGD("%s: libpng: %s", s->name, msg);
}

/* libpng allocates through duet_malloc so tests can make its allocations fail too. */
static png_voidp on_malloc(png_structp png, png_alloc_size_t n) {
    if (n > LIBPNG_ALLOC_MAX) {
        png_src *s = png_get_mem_ptr(png);
        DUET_LOGD("%s: libpng asked for %zu bytes; refused", s ? s->name : "png", (size_t)n);
        return NULL;
    }
    return duet_malloc(n);
}

static void on_free(png_structp png, png_voidp p) {
    (void)png;
    duet_free(p);
}

static size_t src_read(png_src *s, uint8_t *out, size_t n) {
    if (s->f) {
        size_t got = fread(out, 1, n, s->f);
        if (got < n && ferror(s->f)) s->io_errno = errno ? errno : EIO;
        return got;
    }
    size_t got = n < s->n - s->pos ? n : s->n - s->pos;
    if (got) memcpy(out, s->mem + s->pos, got);
    s->pos += got;
    return got;
}

static void read_fn(png_structp png, png_bytep out, size_t n) {
    png_src *s = png_get_io_ptr(png);
    if (src_read(s, out, n) < n) {
        if (!s->io_errno) s->truncated = 1;
        png_error(png, "truncated");
    }
}

/* The one place libpng failures become a duet_status and a message naming the file. */
static duet_status translate(const png_src *s, int writing) {
    if (s->io_errno) {
        DUET_LOGE("%s: %s failed: %s", s->name, writing ? "write" : "read", strerror(s->io_errno));
        return DUET_ERR_IO;
    }
    if (s->truncated) {
        DUET_LOGE("%s: truncated", s->name);
        return DUET_ERR_FORMAT;
    }
    if (strstr(s->msg, "ut of memory") || strstr(s->msg, "nsufficient memory")) {
        DUET_LOGE("%s: out of memory decoding PNG (%s)", s->name, s->msg);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    if (writing) {
        DUET_LOGE("%s: cannot write PNG: %s", s->name, s->msg);
        return DUET_ERR_IO;
    }
    DUET_LOGE("%s: invalid PNG: %s", s->name, s->msg);
    return DUET_ERR_FORMAT;
}

/* Sets up the transformations to 8-bit RGB(A); returns the channel count (3 or 4). */
static int set_transforms(png_structp png, png_infop info) {
    int color = png_get_color_type(png, info);
    int alpha = (color & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS);
    png_set_expand(png); /* palette -> RGB, grey < 8 bit -> 8 bit, tRNS -> alpha */
    if (png_get_bit_depth(png, info) == 16) png_set_scale_16(png);
    if (!(color & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    return alpha ? 4 : 3;
}

static duet_status check_limits(const png_src *s, const duet_png_read_params *p, uint32_t w,
                                uint32_t h) {
    if ((int64_t)w > p->max_width || (int64_t)h > p->max_height ||
        (int64_t)w * (int64_t)h > p->max_pixels) {
        DUET_LOGE("%s: image is %ux%u, above the limit of %dx%d and %lld pixels", s->name, w, h,
                  p->max_width, p->max_height, (long long)p->max_pixels);
        return DUET_ERR_UNSUPPORTED;
    }
    return DUET_OK;
}

/* Everything between setjmp and a longjmp touches only *s and *j (memory, not locals). */
static duet_status decode(png_src *s, const duet_png_read_params *p, png_job *j) {
    if (setjmp(png_jmpbuf(j->png))) return translate(s, 0);
    png_set_read_fn(j->png, s, read_fn);
    png_set_sig_bytes(j->png, 8);
    png_set_user_limits(j->png, PNG_DIM_MAX, PNG_DIM_MAX); /* our own check names the limit */
    png_set_chunk_malloc_max(j->png, CHUNK_MALLOC_MAX);
    png_read_info(j->png, j->info);
    uint32_t w = png_get_image_width(j->png, j->info), h = png_get_image_height(j->png, j->info);
    duet_status st = check_limits(s, p, w, h);
    if (st != DUET_OK) return st;
    if (j->header_only) {
        j->width = (int)w;
        j->height = (int)h;
        return DUET_OK;
    }
    j->channels = set_transforms(j->png, j->info);
    png_read_update_info(j->png, j->info);
    j->width = (int)w;
    j->height = (int)h;
    size_t row = (size_t)w * (size_t)j->channels;
    DUET_ASSERT(png_get_rowbytes(j->png, j->info) == row);
    j->pix = duet_malloc(row * h);
    j->rows = duet_malloc(sizeof *j->rows * h);
    if (!j->pix || !j->rows) {
        DUET_LOGE("%s: out of memory for a %ux%u image", s->name, w, h);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    for (uint32_t y = 0; y < h; y++) j->rows[y] = j->pix + row * y;
    png_read_image(j->png, j->rows);
    png_read_end(j->png, NULL); /* checks the trailing chunks' CRCs and IEND */
    return DUET_OK;
}

/* RGBA -> RGB in place, alpha composited over bg. */
static void composite(uint8_t *pix, size_t n_pixels, const uint8_t bg[3]) {
    for (size_t i = 0; i < n_pixels; i++) {
        const uint8_t *in = pix + 4 * i;
        unsigned a = in[3];
        uint8_t out[3];
        for (int c = 0; c < 3; c++) out[c] = (uint8_t)((in[c] * a + bg[c] * (255 - a) + 127) / 255);
        memcpy(pix + 3 * i, out, 3);
    }
}

/* rgb == NULL: the header only (duet_png_read_size). */
static duet_status read_src(png_src *s, const duet_png_read_params *params, uint8_t **rgb,
                            int *width, int *height) {
    if (!width || !height) {
        DUET_LOGE("%s: duet_png_read: NULL output", s->name);
        return DUET_ERR_INVALID_ARG;
    }
    if (rgb) *rgb = NULL;
    *width = *height = 0;
    duet_png_read_params p = params ? *params : duet_png_default_read_params();
    uint8_t sig[8];
    size_t got = src_read(s, sig, sizeof sig);
    if (s->io_errno) return translate(s, 0);
    if (got == 0 || png_sig_cmp(sig, 0, got) != 0) {
        DUET_LOGE("%s: not a PNG file%s", s->name, got == 0 ? " (empty)" : "");
        return DUET_ERR_FORMAT;
    }
    if (got < sizeof sig) {
        DUET_LOGE("%s: truncated", s->name);
        return DUET_ERR_FORMAT;
    }
    png_job j = {.header_only = !rgb};
    j.png = png_create_read_struct_2(PNG_LIBPNG_VER_STRING, s, on_error, on_warning, s,
                                     on_malloc, on_free);
    if (j.png) j.info = png_create_info_struct(j.png);
    duet_status st = DUET_ERR_OUT_OF_MEMORY;
    if (j.info) st = decode(s, &p, &j);
    else DUET_LOGE("%s: out of memory creating the PNG decoder", s->name);
    if (j.png) png_destroy_read_struct(&j.png, j.info ? &j.info : NULL, NULL);
    duet_free(j.rows);
    if (st != DUET_OK || !rgb) {
        duet_free(j.pix);
        *width = st == DUET_OK ? j.width : 0;
        *height = st == DUET_OK ? j.height : 0;
        return st;
    }
    size_t n_pixels = (size_t)j.width * (size_t)j.height;
    if (j.channels == 4) {
        composite(j.pix, n_pixels, p.background);
        uint8_t *shrunk = duet_realloc(j.pix, n_pixels * 3);
        if (shrunk) j.pix = shrunk; /* keeping the larger block is harmless */
    }
    *rgb = j.pix;
    *width = j.width;
    *height = j.height;
    return DUET_OK;
}

/* rgb == NULL: the header only. */
static duet_status read_path(const char *path, const duet_png_read_params *params, uint8_t **rgb,
                             int *width, int *height) {
    if (!path) {
        DUET_LOGE("duet_png_read: NULL path");
        return DUET_ERR_INVALID_ARG;
    }
    png_src s = {.name = path};
    s.f = fopen(path, "rb");
    if (!s.f) {
        int e = errno;
        DUET_LOGE("%s: cannot open: %s", path, strerror(e));
        if (rgb) *rgb = NULL;
        if (width) *width = 0;
        if (height) *height = 0;
        return e == ENOENT ? DUET_ERR_NOT_FOUND : DUET_ERR_IO;
    }
    duet_status st = read_src(&s, params, rgb, width, height);
    fclose(s.f);
    return st;
}

duet_status duet_png_read(const char *path, const duet_png_read_params *params, uint8_t **rgb,
                          int *width, int *height) {
    if (!rgb) {
        DUET_LOGE("%s: duet_png_read: NULL output", path ? path : "(null)");
        return DUET_ERR_INVALID_ARG;
    }
    return read_path(path, params, rgb, width, height);
}

duet_status duet_png_read_size(const char *path, const duet_png_read_params *params, int *width,
                               int *height) {
    return read_path(path, params, NULL, width, height);
}

duet_status duet_png_read_mem(const void *data, size_t nbytes, const char *name,
                              const duet_png_read_params *params, uint8_t **rgb, int *width,
                              int *height) {
    png_src s = {.name = name ? name : "<memory>", .mem = data, .n = data ? nbytes : 0};
    if (!rgb) {
        DUET_LOGE("%s: duet_png_read: NULL output", s.name);
        return DUET_ERR_INVALID_ARG;
    }
    return read_src(&s, params, rgb, width, height);
}

static void write_fn(png_structp png, png_bytep data, size_t n) {
    png_src *s = png_get_io_ptr(png);
    if (fwrite(data, 1, n, s->f) != n) {
        s->io_errno = errno ? errno : EIO;
        png_error(png, "write failed");
    }
}

static void flush_fn(png_structp png) { (void)png; }

static duet_status encode(png_src *s, png_job *j, const uint8_t *rgb) {
    if (setjmp(png_jmpbuf(j->png))) return translate(s, 1);
    png_set_write_fn(j->png, s, write_fn, flush_fn);
    png_set_IHDR(j->png, j->info, (uint32_t)j->width, (uint32_t)j->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(j->png, j->info);
    for (int y = 0; y < j->height; y++)
        j->rows[y] = (png_bytep)(uintptr_t)(rgb + (size_t)y * (size_t)j->width * 3);
    png_write_image(j->png, j->rows);
    png_write_end(j->png, NULL);
    return DUET_OK;
}

static duet_status write_file(png_src *s, const uint8_t *rgb, int width, int height) {
    png_job j = {.width = width, .height = height};
    j.rows = duet_malloc(sizeof *j.rows * (size_t)height);
    if (j.rows)
        j.png = png_create_write_struct_2(PNG_LIBPNG_VER_STRING, s, on_error, on_warning, s,
                                          on_malloc, on_free);
    if (j.png) j.info = png_create_info_struct(j.png);
    duet_status st = DUET_ERR_OUT_OF_MEMORY;
    if (j.info) st = encode(s, &j, rgb);
    else DUET_LOGE("%s: out of memory creating the PNG encoder", s->name);
    if (j.png) png_destroy_write_struct(&j.png, j.info ? &j.info : NULL);
    duet_free(j.rows);
    return st;
}

duet_status duet_png_write(const char *path, const uint8_t *rgb, int width, int height) {
    if (!path || !rgb || width <= 0 || height <= 0 || width > PNG_DIM_MAX / 3) {
        DUET_LOGE("%s: duet_png_write: invalid arguments (%dx%d)", path ? path : "(null)", width,
                  height);
        return DUET_ERR_INVALID_ARG;
    }
    size_t n = strlen(path);
    char *tmp = duet_malloc(n + 5);
    if (!tmp) return DUET_ERR_OUT_OF_MEMORY;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    png_src s = {.name = path};
    duet_status st = DUET_OK;
    s.f = fopen(tmp, "wb");
    if (!s.f) {
        DUET_LOGE("%s: cannot create %s: %s", path, tmp, strerror(errno));
        duet_free(tmp);
        return DUET_ERR_IO;
    }
    st = write_file(&s, rgb, width, height);
    if (fclose(s.f) != 0 && st == DUET_OK) {
        DUET_LOGE("%s: write failed: %s", path, strerror(errno));
        st = DUET_ERR_IO;
    }
    if (st == DUET_OK && rename(tmp, path) != 0) {
        DUET_LOGE("%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
        st = DUET_ERR_IO;
    }
    if (st != DUET_OK) remove(tmp);
    duet_free(tmp);
    return st;
}
