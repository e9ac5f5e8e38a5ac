/* duet — the video VAE decoder: latent frames from the DiT -> RGB frames. The last stage of a
 * shot's video path (DESIGN.md §1); the encoder half lives in encoders/video_encoder.h.
 *
 * Upstream: Wan-Video/Wan2.2 wan/modules/vae2_2.py (WanVAE_.decode, Decoder3d, Up_ResidualBlock
 * with its DupUp3D shortcut, Resample "upsample3d"/"upsample2d", ResidualBlock, AttentionBlock,
 * CausalConv3d with the feature cache); the project's PyTorch statement is
 * tools/duet_tiny/video_vae.py and the golden test tools/golden/video_vae.py. Decoding:
 *
 *   z     = latents * latent_std + latent_mean          (per channel; latents are normalized)
 *   x     = conv2(z)                                     (1x1x1)
 *   for each latent frame i (one "chunk"; Wan's decode loop):
 *     y   = decoder(x[:, i])   causal 3-D convs see the previous chunk's last frames (the
 *                              cache), zeros before chunk 0; time upsampling passes chunk 0's
 *                              single frame through, so chunk 0 gives 1 frame, later chunks
 *                              temporal_factor (4) frames: 1 + 4 (F - 1) frames in all
 *     rgb = unpatchify(y)      12 channels -> 3 x 2 x 2 pixels (pixel_shuffle, Wan2.2 order)
 *   out   = clamp(rgb, -1, 1) -> uint8 round((x + 1) 127.5)  (on the host, after download)
 *
 * The architecture is read from the weights, not from a config: widths from the tensors'
 * shapes, the number of levels and of residual blocks from the names present, temporal
 * upsampling where a level has a time_conv. The Wan2.2 VAE (dec_dim 256, z 48) and duet-tiny's
 * (dec_dim 24, z 16) load alike. Names are Wan's under a prefix ("video_vae." in duet-tiny's
 * model.safetensors), plus latent_mean [z] and latent_std [z] (Wan2.2 hard-codes its 48 pairs
 * in Python; a conversion script stores them).
 *
 * Model vs run state: a duet_vae (weights, immutable) serves many duet_vae_sessions; a session
 * holds, for one latent size, the causal caches and the activations of one chunk, planned when
 * it is created, so decoding allocates nothing. Everything is computed in f32; conv kernels
 * stay in the file's dtype unless the load parameters ask for another. */
#ifndef DUET_VAE_H
#define DUET_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "core/backend.h"
#include "core/safetensors.h"
#include "core/status.h"
#include "core/tensor.h"

typedef struct duet_vae duet_vae;
typedef struct duet_vae_session duet_vae_session;

typedef struct {
    /* DUET_DTYPE_COUNT (default): conv kernels and 1x1 projections as the file stores them;
     * DUET_F32, DUET_F16 or DUET_BF16: converted to that. Biases, norm gammas and the latent
     * statistics are always f32. */
    duet_dtype weight_dtype;
} duet_vae_load_params;

duet_vae_load_params duet_vae_default_load_params(void);

/* What the weights say about the model. */
typedef struct {
    int64_t z_dim;           /* latent channels (Wan2.2 48, duet-tiny 16) */
    int64_t base_dim;        /* width of the last level (dec_dim: 256, 24) */
    int n_levels;            /* len(dim_mult) (4) */
    int n_res_blocks;        /* residual blocks per level (num_res_blocks + 1: 3, 2) */
    int64_t patch;           /* pixel patch (2) */
    int64_t spatial_factor;  /* pixels per latent cell along H and W (16) */
    int64_t temporal_factor; /* frames per later chunk (4) */
} duet_vae_info;

/* Loads the decoder's tensors under `prefix` (e.g. "video_vae."): decoder.*, conv2.*,
 * latent_mean and latent_std. Strict: a missing tensor (DUET_ERR_NOT_FOUND), a wrong shape, or
 * a tensor under prefix + "decoder." / "conv2." that the decoder does not use (DUET_ERR_FORMAT)
 * is refused and logged with the tensor's name; a layout duet does not implement (a DupUp3D
 * whose channel ratio does not divide its block) is DUET_ERR_UNSUPPORTED. Encoder tensors and
 * other prefixes are not looked at. Weights are uploaded to `be` once. p may be NULL.
 * Returns DUET_OK, those errors, DUET_ERR_INVALID_ARG, DUET_ERR_OUT_OF_MEMORY or a backend
 * error; *out is NULL on failure. The model keeps `be` (which must outlive it) but not `st`.
 * Not thread-safe against other users of `be`. */
duet_status duet_vae_load(const duet_safetensors *st, const char *prefix, duet_backend *be,
                          const duet_vae_load_params *p, duet_vae **out);
/* Releases the weights. Accepts NULL; clears *m. Sessions must be freed first. */
void duet_vae_free(duet_vae **m);
duet_vae_info duet_vae_get_info(const duet_vae *m);
/* Frames decoded from n latent frames: 1 + temporal_factor (n - 1) (0 for n < 1). */
int64_t duet_vae_frames_out(const duet_vae *m, int64_t n_latent_frames);

/* Plans decoding of latents of latent_h x latent_w cells (frames of latent_h * spatial_factor
 * rows, latent_w * spatial_factor columns): allocates the causal caches and the activations of
 * one chunk on the model's backend. Returns DUET_OK, DUET_ERR_INVALID_ARG (sizes out of range;
 * logged), DUET_ERR_OUT_OF_MEMORY / DUET_ERR_DEVICE_OOM or a backend error; *out NULL on
 * failure. */
duet_status duet_vae_session_new(const duet_vae *m, int64_t latent_h, int64_t latent_w,
                                 duet_vae_session **out);
/* Accepts NULL; clears *s. */
void duet_vae_session_free(duet_vae_session **s);

/* Decodes latent frame `index` of `latents` [w, h, F, z] (PyTorch [z, F, h, w]; f32, any
 * strides, on the model's backend; normalized as the DiT sees them). Chunks run in order:
 * index 0 resets the causal caches and starts a clip; otherwise index must follow the last
 * one decoded. *pixels receives the session's tensor [W, H, T, 3] (PyTorch [3, T, H, W]), f32,
 * unclamped, T = 1 for chunk 0 and temporal_factor after; it is valid until the next call.
 * Ops are recorded on the backend; results are ready when it syncs (duet_tensor_download
 * syncs). Returns DUET_OK, DUET_ERR_INVALID_ARG (shapes, index out of order; logged) or the
 * first failing op's status. Not thread-safe for one session; sessions of one model on one
 * backend run one at a time. */
duet_status duet_vae_decode_chunk(duet_vae_session *s, const duet_tensor *latents,
                                  int64_t index, const duet_tensor **pixels);

/* Decodes a whole clip to 8-bit RGB: rgb receives duet_vae_frames_out(F) frames of
 * H rows of W pixels of R, G, B bytes (H = h * spatial_factor, W = w * spatial_factor), each
 * clamp(x, -1, 1) mapped to round((x + 1) * 127.5) as Wan and duet-tiny's sampler do.
 * rgb_nbytes must be at least that size. Returns as duet_vae_decode_chunk, plus
 * DUET_ERR_INVALID_ARG for a short buffer. */
duet_status duet_vae_decode(duet_vae_session *s, const duet_tensor *latents, uint8_t *rgb,
                            size_t rgb_nbytes);

/* The host conversion duet_vae_decode applies: planar pixels [3][t][h][w] (a downloaded
 * [W, H, T, 3] tensor) to t frames of interleaved RGB8. */
void duet_vae_pixels_to_rgb8(const float *pixels, int64_t w, int64_t h, int64_t t,
                             uint8_t *rgb);

#endif
