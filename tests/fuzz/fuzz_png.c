/* duet — libFuzzer target for the PNG reader (video/png_io.c, duet_png_read_mem on libpng).
 * Any input must decode or fail with a logged error; the size limits are lowered so that
 * inputs claiming huge images are rejected before allocation. */
#include <stddef.h>
#include <stdint.h>

#include "core/alloc.h"
#include "core/log.h"
#include "video/png_io.h"

static void quiet(duet_log_level level, const char *msg, void *user_data) {
    (void)level;
    (void)msg;
    (void)user_data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duet_log_set_callback(quiet, NULL);
    duet_png_read_params p = duet_png_default_read_params();
    p.max_width = p.max_height = 4096;
    p.max_pixels = 1 << 22;
    uint8_t *rgb = NULL;
    int w = 0, h = 0;
    if (duet_png_read_mem(data, size, "fuzz.png", &p, &rgb, &w, &h) == DUET_OK) {
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < (size_t)w * (size_t)h * 3; i++) sink ^= rgb[i];
        (void)sink;
    }
    duet_free(rgb);
    return 0;
}
