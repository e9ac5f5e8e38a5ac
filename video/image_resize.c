/* duet — centre crop + bilinear (triangle filter) resize of RGB8 reference images (see
 * image_resize.h). Two separable passes through a float buffer: along rows into
 * dst_w x (rows the second pass needs), then along columns into dst. Each axis has a table of
 * per-output taps built once (first source index, count, normalized weights). */
#include "image_resize.h"

#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/log.h"

#define MAX_SIZE 65536

typedef struct {
    int *first;   /* [n_dst] first source index of each output's taps */
    int *count;   /* [n_dst] taps used */
    float *w;     /* [n_dst * max_taps] weights, summing to 1 per output */
    int max_taps;
} axis_filter;

static void filter_free(axis_filter *f) {
    duet_free(f->first);
    duet_free(f->count);
    duet_free(f->w);
}

/* Output o covers source [start + o * scale, start + (o + 1) * scale) with scale = span / n_dst;
 * its value is the triangle-weighted mean around that interval's centre, of half-width
 * max(1, scale) source pixels. */
static duet_status filter_make(int n_src, double start, double span, int n_dst, axis_filter *f) {
    const double scale = span / n_dst, support = scale > 1 ? scale : 1;
    f->max_taps = (int)ceil(2 * support) + 2;
    f->first = duet_malloc(sizeof *f->first * (size_t)n_dst);
    f->count = duet_malloc(sizeof *f->count * (size_t)n_dst);
    f->w = duet_malloc(sizeof *f->w * (size_t)n_dst * (size_t)f->max_taps);
    if (!f->first || !f->count || !f->w) return DUET_ERR_OUT_OF_MEMORY;
    for (int o = 0; o < n_dst; o++) {
        const double c = start + (o + 0.5) * scale;
        int lo = (int)floor(c - support), hi = (int)ceil(c + support);
        if (lo < 0) lo = 0;
        if (hi > n_src - 1) hi = n_src - 1;
        float *w = f->w + (size_t)o * (size_t)f->max_taps;
        double sum = 0;
        int n = 0, first = -1;
        for (int i = lo; i <= hi; i++) {
            double x = 1 - fabs(i + 0.5 - c) / support;
            if (x <= 0) continue;
            if (first < 0) first = i;
            /* taps with positive weight are contiguous: |i + 0.5 - c| < support is an interval */
            w[n++] = (float)x;
            sum += x;
        }
        DUET_ASSERT(n > 0 && n <= f->max_taps && sum > 0);
        for (int k = 0; k < n; k++) w[k] = (float)(w[k] / sum);
        f->first[o] = first;
        f->count[o] = n;
    }
    return DUET_OK;
}

duet_status duet_image_center_crop(int src_w, int src_h, int dst_w, int dst_h, double *x0,
                                   double *y0, double *crop_w, double *crop_h) {
    if (src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1 || !x0 || !y0 || !crop_w || !crop_h)
        return DUET_ERR_INVALID_ARG;
    /* compare aspect ratios exactly in integers: src_w / src_h against dst_w / dst_h */
    int64_t lhs = (int64_t)src_w * dst_h, rhs = (int64_t)dst_w * src_h;
    *crop_w = src_w;
    *crop_h = src_h;
    if (lhs > rhs) *crop_w = (double)src_h * dst_w / dst_h; /* wider: cut the sides */
    else if (lhs < rhs) *crop_h = (double)src_w * dst_h / dst_w; /* taller: top and bottom */
    *x0 = (src_w - *crop_w) / 2;
    *y0 = (src_h - *crop_h) / 2;
    return DUET_OK;
}

/* Rows [row0, row0 + n_rows) of src filtered along x into tmp (dst_w * 3 floats per row). */
static void pass_rows(const uint8_t *src, int src_w, int row0, int n_rows, const axis_filter *fx,
                      int dst_w, float *tmp) {
    for (int y = 0; y < n_rows; y++) {
        const uint8_t *row = src + ((size_t)(row0 + y) * (size_t)src_w) * 3;
        float *out = tmp + (size_t)y * (size_t)dst_w * 3;
        for (int x = 0; x < dst_w; x++) {
            const float *w = fx->w + (size_t)x * (size_t)fx->max_taps;
            const uint8_t *p = row + (size_t)fx->first[x] * 3;
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < fx->count[x]; k++, p += 3) {
                r += w[k] * p[0];
                g += w[k] * p[1];
                b += w[k] * p[2];
            }
            out[3 * x] = r;
            out[3 * x + 1] = g;
            out[3 * x + 2] = b;
        }
    }
}

static uint8_t to_u8(float v) {
    v = roundf(v);
    return (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* tmp (rows from row0) filtered along y into dst. */
static void pass_cols(const float *tmp, int row0, const axis_filter *fy, int dst_w, int dst_h,
                      uint8_t *dst) {
    const size_t stride = (size_t)dst_w * 3;
    for (int y = 0; y < dst_h; y++) {
        const float *w = fy->w + (size_t)y * (size_t)fy->max_taps;
        const float *base = tmp + (size_t)(fy->first[y] - row0) * stride;
        uint8_t *out = dst + (size_t)y * stride;
        for (size_t i = 0; i < stride; i++) {
            float acc = 0;
            for (int k = 0; k < fy->count[y]; k++) acc += w[k] * base[(size_t)k * stride + i];
            out[i] = to_u8(acc);
        }
    }
}

duet_status duet_image_resize_crop(const uint8_t *src, int src_w, int src_h, uint8_t *dst,
                                   int dst_w, int dst_h) {
    if (!src || !dst || src_w < 1 || src_h < 1 || dst_w < 1 || dst_h < 1 || src_w > MAX_SIZE ||
        src_h > MAX_SIZE || dst_w > MAX_SIZE || dst_h > MAX_SIZE) {
        DUET_LOGE("duet_image_resize_crop: invalid arguments (%dx%d -> %dx%d)", src_w, src_h,
                  dst_w, dst_h);
        return DUET_ERR_INVALID_ARG;
    }
    if (src_w == dst_w && src_h == dst_h) {
        memcpy(dst, src, (size_t)src_w * (size_t)src_h * 3);
        return DUET_OK;
    }
    double x0, y0, cw, ch;
    duet_image_center_crop(src_w, src_h, dst_w, dst_h, &x0, &y0, &cw, &ch);
    axis_filter fx = {0}, fy = {0};
    float *tmp = NULL;
    duet_status st = filter_make(src_w, x0, cw, dst_w, &fx);
    if (st == DUET_OK) st = filter_make(src_h, y0, ch, dst_h, &fy);
    int row0 = 0, n_rows = 0;
    if (st == DUET_OK) {
        /* first[] grows with the output index, so the rows needed are one interval */
        row0 = fy.first[0];
        n_rows = fy.first[dst_h - 1] + fy.count[dst_h - 1] - row0;
        tmp = duet_malloc(sizeof *tmp * (size_t)n_rows * (size_t)dst_w * 3);
        if (!tmp) st = DUET_ERR_OUT_OF_MEMORY;
    }
    if (st == DUET_OK) {
        pass_rows(src, src_w, row0, n_rows, &fx, dst_w, tmp);
        pass_cols(tmp, row0, &fy, dst_w, dst_h, dst);
    } else {
        DUET_LOGE("duet_image_resize_crop: out of memory (%dx%d -> %dx%d)", src_w, src_h, dst_w,
                  dst_h);
    }
    duet_free(tmp);
    filter_free(&fx);
    filter_free(&fy);
    return st;
}
