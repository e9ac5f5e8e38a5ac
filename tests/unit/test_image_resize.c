/* duet — unit tests for video/image_resize: equal sizes copy exactly; a flat image stays flat
 * through any resize; bilinear enlargement reproduces a linear ramp exactly between the outer
 * pixel centres and holds the edge pixel beyond them; a same-aspect 2x shrink keeps a ramp
 * along x and along y (so rows and columns are not swapped); a 4x shrink of 1-pixel stripes
 * gives their mean (63.75) where plain point-sampled bilinear would give 0 (the anti-alias
 * widening); the centre crop's geometry, and a wide image cropped to a square keeps only its
 * middle; bad arguments. Every mismatch prints the pixel, channel and both values. */
#include <math.h>
#include <stdlib.h>

#include "core/alloc.h"
#include "io_test_util.h"
#include "video/image_resize.h"

typedef uint8_t (*pixel_fn)(int x, int y, int c);

static uint8_t *make(int w, int h, pixel_fn f) {
    uint8_t *p = malloc((size_t)w * (size_t)h * 3);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < 3; c++) p[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c] = f(x, y, c);
    return p;
}

static uint8_t *resized(const uint8_t *src, int sw, int sh, int dw, int dh) {
    uint8_t *d = malloc((size_t)dw * (size_t)dh * 3);
    T_CHECK_OK(duet_image_resize_crop(src, sw, sh, d, dw, dh));
    return d;
}

static int px(const uint8_t *p, int w, int x, int y, int c) {
    return p[((size_t)y * (size_t)w + (size_t)x) * 3 + (size_t)c];
}

/* Compares d[x0..x1) x [y0..y1), channel c, with want(x, y) within tol; prints the worst. */
static void expect_region(const char *what, const uint8_t *d, int w, int x0, int x1, int y0,
                          int y1, int c, double (*want)(int x, int y), double tol) {
    double worst = -1;
    int wx = 0, wy = 0;
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            double e = fabs(px(d, w, x, y, c) - want(x, y));
            if (e > worst) { worst = e; wx = x; wy = y; }
        }
    if (worst > tol)
        printf("  %s: pixel (%d, %d) channel %d is %d, expected %.2f\n", what, wx, wy, c,
               px(d, w, wx, wy, c), want(wx, wy));
    T_CHECK(worst <= tol);
}

static uint8_t noise(int x, int y, int c) { return (uint8_t)((x * 37 + y * 101 + c * 59) * 2654435761u >> 24); }
static uint8_t flat(int x, int y, int c) { (void)x; (void)y; return (uint8_t)(c == 0 ? 200 : c == 1 ? 17 : 93); }
static uint8_t ramp8(int x, int y, int c) { (void)y; (void)c; return (uint8_t)(8 * x + 4); }
static uint8_t ramp_xy(int x, int y, int c) { return (uint8_t)(c == 0 ? 4 * x + 2 : c == 1 ? 4 * y + 2 : 50); }
static uint8_t stripes(int x, int y, int c) { (void)y; (void)c; return x % 4 == 0 ? 255 : 0; }
static uint8_t thirds(int x, int y, int c) { (void)y; return x / 100 == c ? 255 : 0; }

static double want_ramp_up(int x, int y) {
    (void)y;
    double c = (x + 0.5) / 2; /* source position of output x (2x enlargement) */
    if (c < 0.5) c = 0.5;      /* beyond the outer centres: the edge pixel */
    if (c > 15.5) c = 15.5;
    return 8 * (c - 0.5) + 4;
}
static double want_x_half(int x, int y) { (void)y; return 8 * x + 4; } /* 4 (2x + 1) */
static double want_y_half(int x, int y) { (void)x; return 8 * y + 4; }
static double want_stripes(int x, int y) { (void)x; (void)y; return 63.75; }
static double want_255(int x, int y) { (void)x; (void)y; return 255; }
static double want_0(int x, int y) { (void)x; (void)y; return 0; }

static void test_copy_and_flat(void) {
    uint8_t *s = make(37, 23, noise), *d = resized(s, 37, 23, 37, 23);
    T_CHECK(memcmp(s, d, 37 * 23 * 3) == 0);
    free(s);
    free(d);
    static const int sizes[][4] = {{37, 23, 128, 128}, {300, 200, 64, 96}, {5, 400, 48, 16}};
    for (int k = 0; k < 3; k++) {
        const int *z = sizes[k];
        s = make(z[0], z[1], flat);
        d = resized(s, z[0], z[1], z[2], z[3]);
        uint8_t *want = make(z[2], z[3], flat);
        T_CHECK(memcmp(d, want, (size_t)z[2] * (size_t)z[3] * 3) == 0);
        free(s);
        free(d);
        free(want);
    }
}

static void test_ramps(void) {
    /* 16x4 -> 32x8: same aspect, no crop, plain bilinear */
    uint8_t *s = make(16, 4, ramp8), *d = resized(s, 16, 4, 32, 8);
    for (int c = 0; c < 3; c++) expect_region("2x enlarged ramp", d, 32, 0, 32, 0, 8, c, want_ramp_up, 0);
    free(s);
    free(d);
    /* 40x20 -> 20x10: symmetric taps keep a linear ramp; x and y ramps stay on their axes */
    s = make(40, 20, ramp_xy);
    d = resized(s, 40, 20, 20, 10);
    expect_region("2x shrunk x ramp", d, 20, 1, 19, 0, 10, 0, want_x_half, 0);
    expect_region("2x shrunk y ramp", d, 20, 0, 20, 1, 9, 1, want_y_half, 0);
    free(s);
    free(d);
    /* 64x8 -> 16x2: 1-pixel stripes every 4 pixels average to 255 / 4 */
    s = make(64, 8, stripes);
    d = resized(s, 64, 8, 16, 2);
    expect_region("4x shrunk stripes", d, 16, 1, 15, 0, 2, 0, want_stripes, 0.5);
    free(s);
    free(d);
}

static void test_crop(void) {
    double x0, y0, cw, ch;
    T_CHECK_OK(duet_image_center_crop(300, 100, 64, 64, &x0, &y0, &cw, &ch));
    T_CHECK(x0 == 100 && y0 == 0 && cw == 100 && ch == 100);
    T_CHECK_OK(duet_image_center_crop(100, 300, 128, 64, &x0, &y0, &cw, &ch));
    T_CHECK(x0 == 0 && y0 == 125 && cw == 100 && ch == 50);
    T_CHECK_OK(duet_image_center_crop(333, 100, 128, 128, &x0, &y0, &cw, &ch));
    T_CHECK(x0 == 116.5 && cw == 100 && ch == 100);
    T_CHECK_OK(duet_image_center_crop(64, 32, 128, 64, &x0, &y0, &cw, &ch));
    T_CHECK(x0 == 0 && y0 == 0 && cw == 64 && ch == 32);
    /* red | green | blue thirds of 300x100 -> 64x64: the green middle only (the two outer
     * columns may take one tap from the neighbouring third) */
    uint8_t *s = make(300, 100, thirds), *d = resized(s, 300, 100, 64, 64);
    expect_region("cropped middle, green", d, 64, 1, 63, 0, 64, 1, want_255, 0);
    expect_region("cropped middle, red", d, 64, 1, 63, 0, 64, 0, want_0, 0);
    expect_region("cropped middle, blue", d, 64, 1, 63, 0, 64, 2, want_0, 0);
    expect_region("cropped edge, green", d, 64, 0, 64, 0, 64, 1, want_255, 64);
    free(s);
    free(d);
}

static void test_bad_args(void) {
    uint8_t s[12] = {0}, d[12];
    double a, b, c, e;
    io_capture_begin();
    T_CHECK(duet_image_resize_crop(NULL, 2, 2, d, 2, 2) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_image_resize_crop(s, 0, 2, d, 2, 2) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_image_resize_crop(s, 2, 2, d, 2, -1) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_image_resize_crop(s, 70000, 1, d, 2, 2) == DUET_ERR_INVALID_ARG);
    io_capture_end();
    T_CHECK(duet_image_center_crop(0, 2, 2, 2, &a, &b, &c, &e) == DUET_ERR_INVALID_ARG);
}

int main(void) {
    test_copy_and_flat();
    test_ramps();
    test_crop();
    test_bad_args();
    return duet_test_end(NULL, 0);
}
