/* duet — PNG read/write for reference images and frame dumps (libpng; only video/ links it).
 *
 * Reading accepts every PNG colour type and bit depth and returns packed 8-bit RGB:
 * palette and low-bit grey are expanded, 16-bit samples are rounded to 8 bits
 * (v * 255 / 65535), grey is replicated into R, G and B. Alpha (an alpha channel or a tRNS
 * chunk) is composited over a solid background, white by default, in the stored (sRGB-encoded)
 * values: out = (c * a + bg * (255 - a)) / 255, rounded. White because transparent reference
 * images are usually cut-outs and logos drawn for light pages; note that PIL's
 * convert("RGB") instead drops alpha and keeps whatever colour the transparent pixels hold.
 * gAMA/iCCP/sRGB chunks are ignored: samples are taken as sRGB.
 *
 * Writing produces an 8-bit RGB PNG. It writes `<path>.tmp` and renames it over `path` only
 * when complete, so a reader never sees a half-written file; on error the temporary is removed.
 *
 * Errors (libpng's longjmp) are translated in one place into a duet_status and a message that
 * names the file, e.g. "ref.png: not a PNG file", "ref.png: truncated". */
#ifndef DUET_PNG_IO_H
#define DUET_PNG_IO_H

#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct duet_png_read_params {
    int max_width;          /* larger images are rejected before decoding (default 16384) */
    int max_height;         /* default 16384 */
    int64_t max_pixels;     /* width * height limit (default 64 Mi pixels = 192 MiB of RGB) */
    uint8_t background[3];  /* RGB that alpha is composited over (default 255, 255, 255) */
} duet_png_read_params;

duet_png_read_params duet_png_default_read_params(void);

/* Read `path` into *rgb (width * height * 3 bytes, rows top to bottom, no row padding;
 * caller frees with duet_free). params may be NULL for the defaults.
 * Returns DUET_OK; DUET_ERR_NOT_FOUND / DUET_ERR_IO when the file cannot be opened or read;
 * DUET_ERR_FORMAT for anything that is not a complete, valid PNG (not a PNG, truncated,
 * corrupt, zero size); DUET_ERR_UNSUPPORTED when the image exceeds the size limits;
 * DUET_ERR_OUT_OF_MEMORY; DUET_ERR_INVALID_ARG for NULL outputs. Every error is logged with
 * the file name. On error *rgb is NULL and *width and *height are 0. Thread-safe (no shared
 * state). */
duet_status duet_png_read(const char *path, const duet_png_read_params *params, uint8_t **rgb,
                          int *width, int *height);

/* The same from memory; `name` is used in messages (fuzzing, embedded images). */
duet_status duet_png_read_mem(const void *data, size_t nbytes, const char *name,
                              const duet_png_read_params *params, uint8_t **rgb, int *width,
                              int *height);

/* Only the size of the image at `path`, from its header: no pixel is decoded. The header's
 * errors and the size limits are those of duet_png_read (a file whose data is damaged after
 * the header passes here and fails duet_png_read). On error *width and *height are 0. */
duet_status duet_png_read_size(const char *path, const duet_png_read_params *params, int *width,
                               int *height);

/* Write width x height packed RGB8 (rows top to bottom) to `path` via `<path>.tmp` + rename.
 * Returns DUET_OK; DUET_ERR_INVALID_ARG for bad sizes or NULLs; DUET_ERR_IO when the file
 * cannot be written (nothing is left at `path`'s temporary); DUET_ERR_OUT_OF_MEMORY.
 * Thread-safe for distinct paths. */
duet_status duet_png_write(const char *path, const uint8_t *rgb, int width, int height);

#endif
