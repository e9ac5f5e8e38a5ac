/* duet — golden test of the video VAE: the decoder (video/vae*.c) and the image encoder
 * (encoders/video_encoder.c) against the PyTorch reference written by tools/golden/video_vae.py
 * (tests/golden/video_vae.safetensors: random weights with Wan2.2's names under "video_vae.",
 * f16 kernels and f32 vectors, dim 3, dec_dim 4, z 5, dim_mult [1, 2, 4, 4], 1 residual block
 * per level (+1 in the decoder), temporal downsampling [False, True, True]; computed in float64
 * by tools/duet_tiny/video_vae.py).
 * On every backend under test:
 *   - the 3 latent frames [5, 3, 2, 3] decoded chunk by chunk (1, 4 and 4 frames; chunks 1 and
 *     2 read the causal caches) against decode_raw's frames (unclamped, PyTorch's chunked
 *     decode), each chunk by normalized mean squared error;
 *   - the same session decoding the clip again to RGB8 (index 0 resets the caches) against
 *     sample.tensor_to_video's bytes (off by at most 1 where the f64 value sits at a rounding
 *     boundary; stored kernels only);
 *   - the 32 x 48 image encoded into frame 0 of a [5, 3, 2, 3] latent (a strided view; frames
 *     1 and 2 must stay untouched) against WanVAE.encode;
 *   - kernels forced to f32 (same values: same tolerance) and bf16 (rounded: loose check).
 * Also: missing tensors, wrong shapes and unused tensors refused with their names; the decoder
 * ignoring the encoder's tensors and vice versa; bad latents, chunks out of order and image
 * sizes that do not fit refused; every host allocation of load + plan failing in turn.
 * Tolerances: CPU_NMSE for f32 arithmetic on the CPU, GPU_NMSE on Vulkan; far below what slips
 * cost (tools/golden/video_vae.py prints: latents not un-normalized 4e-1, frames repeated 1). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "encoders/video_encoder.h"
#include "golden_util.h"
#include "harness.h"
#include "video/vae.h"

#define CPU_NMSE 1e-10
#define GPU_NMSE 1e-9
/* bf16 kernels against the f16-kernel reference: bf16 keeps 8 bits of mantissa. */
#define BF16_NMSE 1e-3
/* RGB8 bytes that may differ by one (values at a rounding boundary), as a fraction. */
#define RGB_OFF_BY_ONE_MAX 0.002

static const char *const golden_path = DUET_TEST_DATA_DIR "/golden/video_vae.safetensors";
static const char *const prefix = "video_vae.";

enum { LW = 3, LH = 2, LF = 3, Z = 5, IMG_W = 48, IMG_H = 32, N_FRAMES = 9 };

/* ---------------------------------------------------------------- decoder */

static const char *dtype_label(duet_dtype d) {
    return d == DUET_DTYPE_COUNT ? "stored" : duet_dtype_name(d);
}

/* Frames [f0, f0 + t) of the reference video [3, 9, 32, 48] as a [48, 32, t, 3] array. */
static void ref_chunk(const float *video, int64_t f0, int64_t t, float *out) {
    const int64_t plane = IMG_W * IMG_H;
    for (int64_t c = 0; c < 3; c++)
        for (int64_t f = 0; f < t; f++)
            memcpy(out + (c * t + f) * plane, video + (c * N_FRAMES + f0 + f) * plane,
                   (size_t)plane * sizeof *out);
}

/* Chunk by chunk against decode_raw; returns false if something could not run. */
static bool decode_chunks(duet_vae_session *s, const duet_tensor *lat, const float *video,
                          const char *label, double tol) {
    float *got = malloc(3 * 4 * IMG_W * IMG_H * sizeof *got);
    float *want = malloc(3 * 4 * IMG_W * IMG_H * sizeof *want);
    bool ok = got && want;
    for (int64_t i = 0; ok && i < LF; i++) {
        const duet_tensor *px = NULL;
        T_CHECK_OK(duet_vae_decode_chunk(s, lat, i, &px));
        const int64_t t = i ? 4 : 1, f0 = i ? 1 + 4 * (i - 1) : 0;
        ok = px && px->ne[0] == IMG_W && px->ne[1] == IMG_H && px->ne[2] == t && px->ne[3] == 3 &&
             duet_tensor_get_f32(px, got) == DUET_OK;
        T_CHECK(ok);
        if (!ok) break;
        ref_chunk(video, f0, t, want);
        char what[160];
        snprintf(what, sizeof what, "%s: decode chunk %lld (frames %lld..%lld)", label,
                 (long long)i, (long long)f0, (long long)(f0 + t - 1));
        duet_golden_report(what, got, want, (size_t)(3 * t * IMG_W * IMG_H), tol);
    }
    free(got);
    free(want);
    return ok;
}

/* The whole clip to RGB8 against tensor_to_video. */
static void decode_rgb(duet_vae_session *s, const duet_tensor *lat, const float *rgb_ref,
                       const char *label) {
    const size_t n = (size_t)N_FRAMES * IMG_W * IMG_H * 3;
    uint8_t *rgb = malloc(n);
    if (!rgb) return;
    T_CHECK(duet_vae_decode(s, lat, rgb, n) == DUET_OK);
    size_t off1 = 0, worst = 0, at = 0;
    for (size_t i = 0; i < n; i++) {
        size_t d = (size_t)abs((int)rgb[i] - (int)rgb_ref[i]);
        off1 += d == 1;
        if (d > worst) worst = d, at = i;
    }
    fprintf(stderr, "%s: rgb8 %zu of %zu bytes off by one, worst %zu (byte %zu: %d vs %d)\n",
            label, off1, n, worst, at, rgb[at], (int)rgb_ref[at]);
    T_CHECK(worst <= 1 && off1 <= RGB_OFF_BY_ONE_MAX * (double)n);
    free(rgb);
}

static void run_decoder(const duet_safetensors *st, duet_backend *be, duet_dtype dtype,
                        double tol) {
    duet_vae_load_params lp = duet_vae_default_load_params();
    lp.weight_dtype = dtype;
    duet_vae *m = NULL;
    duet_vae_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *lat = NULL;
    float *video = duet_golden_floats(st, "out.video_raw", (size_t)3 * N_FRAMES * IMG_W * IMG_H);
    float *rgb = duet_golden_floats(st, "out.rgb8", (size_t)3 * N_FRAMES * IMG_W * IMG_H);
    char label[96];
    snprintf(label, sizeof label, "vae on %s, %s kernels",
             duet_backend_get_kind(be) == DUET_BACKEND_CPU ? "cpu" : "vulkan",
             dtype_label(dtype));
    bool ready = a && video && rgb && duet_vae_load(st, prefix, be, &lp, &m) == DUET_OK &&
                 duet_vae_session_new(m, LH, LW, &s) == DUET_OK &&
                 duet_safetensors_load(st, "in.latent", a, be, DUET_F32, &lat) == DUET_OK;
    T_CHECK(ready);
    /* the RGB8 pass (a second clip on the same session) once per backend: Vulkan under the
     * validation layers takes about a second per chunk */
    if (ready && decode_chunks(s, lat, video, label, tol) && dtype == DUET_DTYPE_COUNT)
        decode_rgb(s, lat, rgb, label);
    free(video);
    free(rgb);
    duet_vae_session_free(&s);
    duet_vae_free(&m);
    duet_arena_free(&a);
}

/* ---------------------------------------------------------------- encoder */

static void run_encoder(const duet_safetensors *st, duet_backend *be, duet_dtype dtype,
                        double tol) {
    duet_video_encoder_load_params lp = duet_video_encoder_default_load_params();
    lp.weight_dtype = dtype;
    duet_video_encoder *e = NULL;
    duet_video_encoder_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    float *img = duet_golden_floats(st, "in.image", (size_t)IMG_W * IMG_H * 3);
    float *want = duet_golden_floats(st, "out.latent", (size_t)Z * LH * LW);
    const size_t n_lat = (size_t)LW * LH * LF * Z;
    float *fill = malloc(n_lat * sizeof *fill), *got = malloc(n_lat * sizeof *got);
    uint8_t *rgb = malloc((size_t)IMG_W * IMG_H * 3);
    duet_tensor *lat = a ? duet_tensor_new4(a, be, DUET_F32, LW, LH, LF, Z) : NULL;
    bool ready = img && want && fill && got && rgb && lat &&
                 duet_video_encoder_load(st, prefix, be, &lp, &e) == DUET_OK &&
                 duet_video_encoder_session_new(e, IMG_H, IMG_W, &s) == DUET_OK;
    T_CHECK(ready);
    if (ready) {
        for (size_t i = 0; i < n_lat; i++) fill[i] = 1000.0f + (float)i;
        for (size_t i = 0; i < (size_t)IMG_W * IMG_H * 3; i++) rgb[i] = (uint8_t)img[i];
        T_CHECK_OK(duet_tensor_set_f32(lat, fill));
        duet_tensor *frame0 = duet_slice(a, lat, 2, 0, 1);
        T_CHECK_OK(duet_video_encoder_encode(s, rgb, frame0));
        T_CHECK_OK(duet_tensor_get_f32(lat, got));
        /* frame 0 of [w, h, F, z] gathered, the other frames must still hold `fill` */
        float f0[Z * LH * LW];
        size_t kept = 0;
        for (size_t c = 0; c < Z; c++)
            for (size_t f = 0; f < LF; f++)
                for (size_t i = 0; i < LH * LW; i++) {
                    size_t k = (c * LF + f) * LH * LW + i;
                    if (f == 0) f0[c * LH * LW + i] = got[k];
                    else kept += got[k] == fill[k];
                }
        T_CHECK(kept == (size_t)Z * (LF - 1) * LH * LW);
        char label[128];
        snprintf(label, sizeof label, "video encoder on %s, %s kernels: latent",
                 duet_backend_get_kind(be) == DUET_BACKEND_CPU ? "cpu" : "vulkan",
                 dtype_label(dtype));
        duet_golden_report(label, f0, want, (size_t)Z * LH * LW, tol);
    }
    free(img);
    free(want);
    free(fill);
    free(got);
    free(rgb);
    duet_video_encoder_session_free(&s);
    duet_video_encoder_free(&e);
    duet_arena_free(&a);
}

/* ---------------------------------------------------------------- bad inputs */

/* Loads `path` with the decoder (encoder = false) or the encoder: `want`, and when it is an
 * error a message naming `needle`. */
static void expect_load(const char *path, bool encoder, duet_backend *be, duet_status want,
                        const char *needle) {
    duet_safetensors *st = NULL;
    T_CHECK_OK(duet_safetensors_open(path, &st));
    if (!st) return;
    duet_vae *m = NULL;
    duet_video_encoder *e = NULL;
    if (want != DUET_OK) duet_golden_capture_begin();
    duet_status s = encoder ? duet_video_encoder_load(st, prefix, be, NULL, &e)
                            : duet_vae_load(st, prefix, be, NULL, &m);
    if (want != DUET_OK) T_CHECK(duet_golden_capture_end(needle));
    if (s != want)
        fprintf(stderr, "FAIL: %s %s gave %s, expected %s\n", encoder ? "encoder" : "decoder",
                path, duet_status_str(s), duet_status_str(want));
    T_CHECK(s == want && (s == DUET_OK) == (m != NULL || e != NULL));
    duet_vae_free(&m);
    duet_video_encoder_free(&e);
    duet_safetensors_close(&st);
}

static void check_bad_weights(const duet_safetensors *st, duet_backend *be) {
    char path[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/duet_test_video_vae_%ld.safetensors", tmp, (long)getpid());
    const char *dec_missing = "video_vae.decoder.upsamples.1.upsamples.1.residual.6.bias";
    const char *enc_missing = "video_vae.encoder.middle.1.proj.weight";
    const char *dec_wrong = "video_vae.decoder.middle.0.residual.2.weight";
    const char *enc_wrong = "video_vae.encoder.downsamples.2.downsamples.0.shortcut.weight";
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.drop = dec_missing})) {
        expect_load(path, false, be, DUET_ERR_NOT_FOUND, dec_missing);
        expect_load(path, true, be, DUET_OK, NULL); /* not the encoder's */
    }
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.drop = enc_missing})) {
        expect_load(path, true, be, DUET_ERR_NOT_FOUND, enc_missing);
        expect_load(path, false, be, DUET_OK, NULL);
    }
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.narrow = dec_wrong}))
        expect_load(path, false, be, DUET_ERR_FORMAT, dec_wrong);
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.narrow = enc_wrong}))
        expect_load(path, true, be, DUET_ERR_FORMAT, enc_wrong);
    const char *dec_extra = "video_vae.decoder.middle.3.gamma";
    const char *enc_extra = "video_vae.conv1.extra", *mean = "video_vae.latent_mean";
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.extra = dec_extra}))
        expect_load(path, false, be, DUET_ERR_FORMAT, dec_extra);
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.extra = enc_extra}))
        expect_load(path, true, be, DUET_ERR_FORMAT, enc_extra);
    if (duet_golden_write_variant(st, path, &(duet_golden_variant){.drop = mean}))
        expect_load(path, false, be, DUET_ERR_NOT_FOUND, mean);
    remove(path);
}

static void check_bad_inputs(const duet_safetensors *st, duet_backend *be) {
    duet_vae *m = NULL;
    duet_vae_session *s = NULL, *s2 = NULL;
    duet_video_encoder *e = NULL;
    duet_video_encoder_session *es = NULL;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *lat = NULL, *wide = a ? duet_tensor_new4(a, be, DUET_F32, LW + 1, LH, LF, Z)
                                       : NULL;
    bool ready = wide && duet_vae_load(st, prefix, be, NULL, &m) == DUET_OK &&
                 duet_vae_session_new(m, LH, LW, &s) == DUET_OK &&
                 duet_video_encoder_load(st, prefix, be, NULL, &e) == DUET_OK &&
                 duet_safetensors_load(st, "in.latent", a, be, DUET_F32, &lat) == DUET_OK;
    T_CHECK(ready);
    if (ready) {
        const duet_vae_info in = duet_vae_get_info(m);
        T_CHECK(in.z_dim == Z && in.base_dim == 4 && in.n_levels == 4 && in.n_res_blocks == 2 &&
                in.patch == 2 && in.spatial_factor == 16 && in.temporal_factor == 4);
        T_CHECK(duet_vae_frames_out(m, LF) == N_FRAMES && duet_vae_frames_out(m, 0) == 0);
        const duet_video_encoder_info ei = duet_video_encoder_get_info(e);
        T_CHECK(ei.z_dim == Z && ei.base_dim == 3 && ei.n_levels == 4 && ei.spatial_factor == 16);
        const duet_tensor *px = NULL;
        duet_golden_capture_begin();
        T_CHECK(duet_vae_decode_chunk(s, wide, 0, &px) == DUET_ERR_INVALID_ARG && !px);
        T_CHECK(duet_golden_capture_end("must be f32 [3, 2, F, 5]"));
        T_CHECK_OK(duet_vae_decode_chunk(s, lat, 0, &px));
        duet_golden_capture_begin();
        T_CHECK(duet_vae_decode_chunk(s, lat, 2, &px) == DUET_ERR_INVALID_ARG);
        T_CHECK(duet_golden_capture_end("out of order"));
        uint8_t small[16];
        duet_golden_capture_begin();
        T_CHECK(duet_vae_decode(s, lat, small, sizeof small) == DUET_ERR_INVALID_ARG);
        T_CHECK(duet_golden_capture_end("RGB buffer"));
        duet_golden_capture_begin();
        T_CHECK(duet_vae_session_new(m, 0, LW, &s2) == DUET_ERR_INVALID_ARG && !s2);
        T_CHECK(duet_golden_capture_end("out of range"));
        duet_golden_capture_begin();
        T_CHECK(duet_video_encoder_session_new(e, IMG_H + 8, IMG_W, &es) ==
                    DUET_ERR_INVALID_ARG && !es);
        T_CHECK(duet_golden_capture_end("multiples of 16"));
        T_CHECK_OK(duet_video_encoder_session_new(e, IMG_H, IMG_W, &es));
        uint8_t *img = calloc((size_t)IMG_W * IMG_H * 3, 1);
        duet_golden_capture_begin();
        T_CHECK(img && duet_video_encoder_encode(es, img, lat) == DUET_ERR_INVALID_ARG);
        T_CHECK(duet_golden_capture_end("must be f32 [3, 2, 1, 5]"));
        free(img);
    }
    duet_video_encoder_session_free(&es);
    duet_video_encoder_free(&e);
    duet_vae_session_free(&s);
    duet_vae_free(&m);
    duet_arena_free(&a);
}

/* Load + plan of the decoder, or of the encoder (run with the n-th host allocation failing). */
static duet_status decoder_load_plan(void *user, duet_backend *be) {
    duet_vae *m = NULL;
    duet_vae_session *vs = NULL;
    duet_status s = duet_vae_load(user, prefix, be, NULL, &m);
    if (s == DUET_OK) s = duet_vae_session_new(m, LH, LW, &vs);
    T_CHECK((s == DUET_OK) == (vs != NULL));
    duet_vae_session_free(&vs);
    duet_vae_free(&m);
    return s;
}

static duet_status encoder_load_plan(void *user, duet_backend *be) {
    duet_video_encoder *e = NULL;
    duet_video_encoder_session *es = NULL;
    duet_status s = duet_video_encoder_load(user, prefix, be, NULL, &e);
    if (s == DUET_OK) s = duet_video_encoder_session_new(e, IMG_H, IMG_W, &es);
    T_CHECK((s == DUET_OK) == (es != NULL));
    duet_video_encoder_session_free(&es);
    duet_video_encoder_free(&e);
    return s;
}

/* Every host allocation of load + plan failing in turn (decoder, then encoder): each ends in
 * an out-of-memory status, and the run with none failing works. */
static void check_alloc_failures(const duet_safetensors *st, duet_backend *be, bool encoder) {
    long n = duet_golden_alloc_failures(encoder ? encoder_load_plan : decoder_load_plan,
                                        (void *)st, be, 100000, true);
    fprintf(stderr, "allocation failures: %ld points of %s load + plan, all reported\n", n,
            encoder ? "encoder" : "decoder");
}

int main(void) {
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    duet_safetensors *st = NULL;
    if (nb < 1 || !duet_golden_open(golden_path, "tools/golden/video_vae.py", &st))
        return duet_test_end(bes, nb);
    check_bad_weights(st, bes[0]);
    check_bad_inputs(st, bes[0]);
    check_alloc_failures(st, bes[0], false);
    check_alloc_failures(st, bes[0], true);
    for (int b = 0; b < nb; b++) {
        double tol = duet_backend_get_kind(bes[b]) == DUET_BACKEND_CPU ? CPU_NMSE : GPU_NMSE;
        run_decoder(st, bes[b], DUET_DTYPE_COUNT, tol);
        run_encoder(st, bes[b], DUET_DTYPE_COUNT, tol);
        run_decoder(st, bes[b], DUET_F32, tol);
        run_encoder(st, bes[b], DUET_F32, tol);
        run_decoder(st, bes[b], DUET_BF16, BF16_NMSE);
        run_encoder(st, bes[b], DUET_BF16, BF16_NMSE);
    }
    duet_safetensors_close(&st);
    return duet_test_end(bes, nb);
}
