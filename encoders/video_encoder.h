/* duet — the video VAE encoder for reference images: an RGB image -> one clean latent frame
 * (image-to-video: the DiT keeps latent frame 0 fixed at it). First stage of a shot's image
 * reference (DESIGN.md §1); the decoder half lives in video/vae.h.
 *
 * Upstream: Wan-Video/Wan2.2 wan/modules/vae2_2.py (WanVAE_.encode, Encoder3d,
 * Down_ResidualBlock with its AvgDown3D shortcut, Resample "downsample2d"/"downsample3d",
 * ResidualBlock, AttentionBlock, CausalConv3d); the project's PyTorch statement is
 * tools/duet_tiny/video_vae.py and the golden test tools/golden/video_vae.py. For one frame:
 *
 *   x     = rgb / 127.5 - 1, patchify 2 x 2 (RGB -> 12 channels, pixel_unshuffle, Wan2.2 order)
 *   x     = encoder(x)   causal convs see zeros before the frame; a downsample3d passes a first
 *                        frame through its time conv untouched; AvgDown3D pads the frame with
 *                        a zero frame in front, so half its channels average zeros
 *   mu    = conv1(x)[:z]                 (1x1x1; the log-variance half is not computed)
 *   out   = (mu - latent_mean) / latent_std
 *
 * The architecture is read from the weights (widths from shapes, levels and residual blocks
 * from the names present, temporal downsampling where a level has a time_conv), under a prefix
 * ("video_vae." in duet-tiny's model.safetensors): encoder.*, conv1.*, latent_mean,
 * latent_std. The time convolutions are loaded (so the strict check accepts the file) but one
 * frame never reaches them. Only single images are encoded: clips of 1 + 4k frames (video
 * continuation) would need the chunked, cached encode.
 *
 * Model vs run state as everywhere: a duet_video_encoder (weights) serves many sessions; a
 * session holds the activations for one image size. f32 compute; kernels in the file's dtype
 * unless the load parameters ask for another. */
#ifndef DUET_VIDEO_ENCODER_H
#define DUET_VIDEO_ENCODER_H

#include <stdint.h>

#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct duet_video_encoder duet_video_encoder;
typedef struct duet_video_encoder_session duet_video_encoder_session;

typedef struct {
    /* DUET_DTYPE_COUNT (default): kernels and 1x1 projections as stored; DUET_F32, DUET_F16 or
     * DUET_BF16: converted. Biases, gammas and statistics are always f32. */
    duet_dtype weight_dtype;
} duet_video_encoder_load_params;

duet_video_encoder_load_params duet_video_encoder_default_load_params(void);

typedef struct {
    int64_t z_dim;          /* latent channels (Wan2.2 48, duet-tiny 16) */
    int64_t base_dim;       /* width of conv1 (dim: 160, 16) */
    int n_levels;           /* len(dim_mult) (4) */
    int64_t patch;          /* pixel patch (2) */
    int64_t spatial_factor; /* pixels per latent cell along H and W (16) */
} duet_video_encoder_info;

/* Loads the encoder's tensors under `prefix`. Strict like duet_vae_load: a missing tensor
 * (DUET_ERR_NOT_FOUND), a wrong shape or an unused tensor under prefix + "encoder." /
 * "conv1." (DUET_ERR_FORMAT), each logged with its name; an AvgDown3D layout duet does not
 * implement (output width other than input width x its time factor) is DUET_ERR_UNSUPPORTED.
 * p may be NULL. Returns DUET_OK, those errors, DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY
 * or a backend error; *out NULL on failure. Keeps `be` (must outlive it), not `st`. Not
 * thread-safe against other users of `be`. */
duet_status duet_video_encoder_load(const duet_safetensors *st, const char *prefix,
                                    duet_backend *be, const duet_video_encoder_load_params *p,
                                    duet_video_encoder **out);
/* Accepts NULL; clears *e. Sessions must be freed first. */
void duet_video_encoder_free(duet_video_encoder **e);
duet_video_encoder_info duet_video_encoder_get_info(const duet_video_encoder *e);

/* Plans encoding of height x width images (multiples of spatial_factor; resizing is the
 * caller's job). Returns DUET_OK, DUET_ERR_INVALID_ARG (sizes; logged),
 * DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM or a backend error; *out NULL on failure. */
duet_status duet_video_encoder_session_new(const duet_video_encoder *e, int64_t height,
                                           int64_t width, duet_video_encoder_session **out);
/* Accepts NULL; clears *s. */
void duet_video_encoder_session_free(duet_video_encoder_session **s);

/* Encodes `rgb` (height rows of width pixels of R, G, B bytes, top row first) into dst
 * [w, h, 1, z] (PyTorch [z, 1, h, w]; w = width / spatial_factor, h likewise): f32 on the
 * encoder's backend, any strides, so it may be frame 0 of the DiT's latent [w, h, F, z]. The
 * latent is normalized as the DiT sees it. Ops are recorded; results are ready when the backend
 * syncs. Returns DUET_OK, DUET_ERR_INVALID_ARG (dst's shape; logged), or the first failing
 * upload's or op's status. Not thread-safe for one session. */
duet_status duet_video_encoder_encode(duet_video_encoder_session *s, const uint8_t *rgb,
                                      duet_tensor *dst);

#endif
