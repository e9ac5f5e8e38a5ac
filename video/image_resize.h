/* duet — fitting a reference image to the frame size a job renders at (image-to-video): the
 * largest centred region of the image with the frame's aspect ratio is kept (centre crop, as
 * Wan2.2's ti2v preprocessing does, wan/textimage2video.py), then resampled to the frame size
 * on the host. Ovi instead stretches the whole image to a size it picks from the image's
 * aspect ratio; a job that leaves the size to such a model gets that size (cli/job.h,
 * duet_job_size_for_image), and then the crop trims only the rounding of the sides. It sits between the PNG reader (video/png_io.h) and the video VAE
 * encoder (encoders/video_encoder.h), which takes images of the frame size only.
 *
 * Resampling is separable and bilinear (a triangle filter). When shrinking, the triangle is
 * widened by the shrink factor so every source pixel contributes (an anti-aliased bilinear,
 * what PIL's Image.resize(..., BILINEAR) does); when enlarging it is plain bilinear
 * interpolation between the two nearest pixel centres. Pixel centres sit at i + 0.5; taps
 * that fall outside the image are dropped and the remaining weights renormalized (edge
 * pixels are not mirrored or repeated). Equal sizes copy exactly. Results agree with PIL's
 * Image.resize(size, BILINEAR, box=crop) within one level (its 8-bit fixed-point weights). */
#ifndef DUET_IMAGE_RESIZE_H
#define DUET_IMAGE_RESIZE_H

#include <stdint.h>

#include "core/status.h"

/* The centred crop of a src_w x src_h image with the aspect ratio of dst_w x dst_h, in
 * source pixels (fractional: the crop is not snapped to whole pixels, so the scale is exact):
 * *x0, *y0 its top-left corner, *crop_w, *crop_h its size. Returns DUET_ERR_INVALID_ARG for
 * sizes < 1 or NULL outputs, else DUET_OK. */
duet_status duet_image_center_crop(int src_w, int src_h, int dst_w, int dst_h, double *x0,
                                   double *y0, double *crop_w, double *crop_h);

/* Resizes src (src_w x src_h packed RGB8, rows top to bottom) into dst (dst_w x dst_h packed
 * RGB8): centre crop to dst's aspect ratio, then the bilinear resampling above; values are
 * rounded to the nearest integer. Sizes 1..65536. src and dst must not overlap.
 * Returns DUET_OK, DUET_ERR_INVALID_ARG (NULLs, sizes; logged), DUET_ERR_OUT_OF_MEMORY
 * (one float buffer of dst_w x src_h x 3 and the filter tables). Thread-safe. */
duet_status duet_image_resize_crop(const uint8_t *src, int src_w, int src_h, uint8_t *dst,
                                   int dst_w, int dst_h);

#endif
