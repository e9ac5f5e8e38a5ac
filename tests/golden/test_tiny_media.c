/* duet — the sampler, video VAE and audio parts of the duet-tiny golden test (see test_tiny.c),
 * against tools/duet_tiny/golden.py's sampler, video_vae and audio files:
 *   sampler     diffusion/sampler.h: the shifted schedule (timesteps equal, f32 sigmas
 *               bit-equal) and 6-step UniPC and Euler trajectories on the toy velocity field
 *               v = x A + c (computed in double on the host from the sampler's own x each step,
 *               as golden.py does in f64 from its own);
 *   video VAE   video/vae.h: 2 latent frames decoded chunk by chunk (1 + 4 frames, clamped to
 *               [-1, 1] as the reference is); encoders/video_encoder.h: frame 0 of the clip
 *               encoded, against latent frame 0 of the reference's encode (causal: it sees
 *               frame 0 only). Latent frame 1 of the encode is not checked: duet encodes single
 *               images only (reference images), not clips;
 *   audio       audio/mel.h on the host; encoders/audio_encoder.h from PCM; audio/audio_vae.h
 *               encoder (from the reference mel) and decoder (from the reference latent);
 *               audio/vocoder.h on the reference decoded mel and chained after the decoder.
 * Tolerances (normalized mean squared error) below, with the largest value measured on the
 * trained duet-tiny and on a random-weight export of the same layout (f16 weights widened to
 * f32, f32 arithmetic on both sides). */
#include <stdlib.h>
#include <string.h>

#include "audio/audio_vae.h"
#include "audio/mel.h"
#include "audio/vocoder.h"
#include "diffusion/sampler.h"
#include "encoders/audio_encoder.h"
#include "encoders/video_encoder.h"
#include "test_tiny.h"
#include "video/vae.h"

/* Sampler arithmetic in f32 against float64: measured <= 3.8e-14 (CPU and lavapipe alike). */
#define STEP_NMSE 1e-11
/* Video VAE: measured decode 8.0e-13, encode 1.3e-13 (CPU); 1.3e-12, 9.7e-14 (lavapipe). */
#define VAE_CPU_NMSE 1e-9
#define VAE_GPU_NMSE 1e-8
/* Host mel (double) against PyTorch's f32 STFT: measured 1.6e-14. */
#define MEL_NMSE 1e-10
/* Audio encoder, VAE and vocoder: measured <= 1.1e-12 (CPU), <= 3.8e-11 (lavapipe: the
 * trained vocoder; the rest <= 1.1e-12). */
#define AUDIO_CPU_NMSE 1e-9
#define AUDIO_GPU_NMSE 1e-8

/* ---------------------------------------------------------------- sampler */

typedef struct {
    int n_steps;
    double shift;
    float *a, *c, *x_init; /* A [8, 8], c [1, 8], x.init [rows, 8] (PyTorch row-major) */
    int64_t rows, cols;
    int32_t *timesteps;    /* [n_steps] */
    float *sigmas;         /* [n_steps + 1] */
} toy_field;

/* v = x A + c on the host, in double. */
static void toy_velocity(const toy_field *f, const float *x, float *v) {
    for (int64_t r = 0; r < f->rows; r++)
        for (int64_t j = 0; j < f->cols; j++) {
            double s = f->c[j];
            for (int64_t k = 0; k < f->cols; k++)
                s += (double)x[r * f->cols + k] * f->a[k * f->cols + j];
            v[r * f->cols + j] = (float)s;
        }
}

static void trajectory_on(const duet_safetensors *g, const toy_field *f, duet_backend *be,
                          duet_solver solver) {
    const int64_t ne[2] = {f->cols, f->rows};
    const size_t n = (size_t)(f->rows * f->cols);
    duet_arena *a = duet_arena_new(0);
    duet_sampler *smp = NULL;
    duet_tensor *x = a ? duet_tensor_new(a, be, DUET_F32, 2, ne) : NULL;
    duet_tensor *v = a ? duet_tensor_new(a, be, DUET_F32, 2, ne) : NULL;
    float *hx = malloc(n * sizeof *hx), *hv = malloc(n * sizeof *hv);
    bool ready = x && v && hx && hv &&
                 duet_sampler_new(be, solver, f->n_steps, f->shift, 2, ne, &smp) == DUET_OK &&
                 duet_tensor_set_f32(x, f->x_init) == DUET_OK;
    T_CHECK(ready);
    int bad_t = 0, bad_s = 0;
    for (int i = 0; ready && i <= f->n_steps; i++) {
        const float s = duet_sampler_sigma(smp, i);
        bad_s += memcmp(&s, &f->sigmas[i], sizeof s) != 0;
        bad_t += i < f->n_steps && duet_sampler_timestep(smp, i) != f->timesteps[i];
    }
    if (ready) fprintf(stderr, "sampler %s on %s: %d of %d timesteps and %d of %d sigmas differ\n",
                       duet_solver_name(solver), tiny_backend_label(be), bad_t, f->n_steps, bad_s,
                       f->n_steps + 1);
    T_CHECK(bad_t == 0 && bad_s == 0);
    memcpy(hx, f->x_init, n * sizeof *hx);
    for (int i = 0; ready && i < f->n_steps; i++) {
        toy_velocity(f, hx, hv);
        T_CHECK_OK(duet_tensor_set_f32(v, hv));
        T_CHECK_OK(duet_sampler_step(smp, v, x));
        T_CHECK_OK(duet_tensor_get_f32(x, hx));
        char ref[32], label[96];
        snprintf(ref, sizeof ref, "%s.x.%d", duet_solver_name(solver), i);
        snprintf(label, sizeof label, "sampler on %s: %s", tiny_backend_label(be), ref);
        float *want = duet_golden_read(g, ref, DUET_F32, n, NULL);
        if (want) duet_golden_report(label, hx, want, n, STEP_NMSE);
        free(want);
    }
    free(hx), free(hv);
    duet_sampler_free(&smp);
    duet_arena_free(&a);
}

void tiny_check_sampler(const tiny_model *m, duet_backend *be, bool first) {
    (void)first; /* no host-only part */
    duet_safetensors *g = tiny_open_golden(m, "sampler");
    toy_field f = {0};
    double steps = 0;
    const duet_safetensors_tensor *x = g ? duet_safetensors_find(g, "x.init") : NULL;
    bool ok = x && x->n_dims == 2 && tiny_meta_number(g, "steps", &steps) &&
              tiny_meta_number(g, "shift", &f.shift) && steps >= 1 && steps <= 1000;
    if (ok) {
        f.n_steps = (int)steps;
        f.cols = x->ne[0], f.rows = x->ne[1];
        f.a = duet_golden_read(g, "A", DUET_F32, (size_t)(f.cols * f.cols), NULL);
        f.c = duet_golden_read(g, "c", DUET_F32, (size_t)f.cols, NULL);
        f.x_init = duet_golden_read(g, "x.init", DUET_F32, (size_t)(f.rows * f.cols), NULL);
        f.timesteps = duet_golden_read(g, "timesteps", DUET_I32, (size_t)f.n_steps, NULL);
        f.sigmas = duet_golden_read(g, "sigmas", DUET_F32, (size_t)f.n_steps + 1, NULL);
        ok = f.a && f.c && f.x_init && f.timesteps && f.sigmas;
    } else if (g) {
        fprintf(stderr, "FAIL: sampler: x.init or the metadata unusable\n");
        duet_test_failures++;
    }
    if (ok) {
        trajectory_on(g, &f, be, DUET_SOLVER_UNIPC);
        trajectory_on(g, &f, be, DUET_SOLVER_EULER);
    }
    free(f.a), free(f.c), free(f.x_init), free(f.timesteps), free(f.sigmas);
    duet_safetensors_close(&g);
}

/* ---------------------------------------------------------------- video VAE */

/* Frames [f0, f0 + t) of the reference video [3, n_frames, h, w] gathered as [3][t][h][w]. */
static void gather_frames(const float *video, int64_t n_frames, int64_t plane, int64_t f0,
                          int64_t t, float *out) {
    for (int64_t c = 0; c < 3; c++)
        for (int64_t f = 0; f < t; f++)
            memcpy(out + (c * t + f) * plane, video + (c * n_frames + f0 + f) * plane,
                   (size_t)plane * sizeof *out);
}

static void decode_on(const tiny_model *m, const duet_safetensors *g, duet_backend *be,
                      const float *video, int64_t n_frames) {
    duet_vae *vae = NULL;
    duet_vae_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *lat = NULL;
    bool ready = a && duet_safetensors_load(g, "in.latent", a, be, DUET_F32, &lat) == DUET_OK &&
                 duet_vae_load(m->st, "video_vae.", be, NULL, &vae) == DUET_OK &&
                 duet_vae_session_new(vae, lat->ne[1], lat->ne[0], &s) == DUET_OK &&
                 duet_vae_frames_out(vae, lat->ne[2]) == n_frames;
    T_CHECK(ready);
    const duet_vae_info info = ready ? duet_vae_get_info(vae) : (duet_vae_info){0};
    const int64_t plane = ready ? lat->ne[0] * lat->ne[1] * info.spatial_factor *
                                      info.spatial_factor : 0;
    const size_t n_max = (size_t)(3 * info.temporal_factor * plane);
    float *got = ready ? malloc(n_max * sizeof *got) : NULL;
    float *want = ready ? malloc(n_max * sizeof *want) : NULL;
    for (int64_t i = 0, f0 = 0; got && want && i < lat->ne[2]; i++) {
        const duet_tensor *px = NULL;
        T_CHECK_OK(duet_vae_decode_chunk(s, lat, i, &px));
        const int64_t t = i ? info.temporal_factor : 1;
        const size_t n = (size_t)(3 * t * plane);
        bool ok = px && (size_t)duet_nelements(px) == n && px->ne[2] == t &&
                  duet_tensor_get_f32(px, got) == DUET_OK;
        T_CHECK(ok);
        if (!ok) break;
        for (size_t k = 0; k < n; k++) /* the reference is clamped, as duet_vae_decode does */
            got[k] = got[k] < -1.0f ? -1.0f : got[k] > 1.0f ? 1.0f : got[k];
        gather_frames(video, n_frames, plane, f0, t, want);
        char label[128];
        snprintf(label, sizeof label, "video vae on %s: decode chunk %lld (frames %lld..%lld, "
                 "clamped)", tiny_backend_label(be), (long long)i, (long long)f0,
                 (long long)(f0 + t - 1));
        duet_golden_report(label, got, want, n, tiny_tol(be, VAE_CPU_NMSE, VAE_GPU_NMSE));
        f0 += t;
    }
    free(got), free(want);
    duet_vae_session_free(&s);
    duet_vae_free(&vae);
    duet_arena_free(&a);
}

/* Frame 0 of in.frames [F, H, W, 3] (0..255) encoded, against latent frame 0 of out.latent
 * [z, F', h, w]. */
static void encode_on(const tiny_model *m, duet_backend *be, const int32_t *frames,
                      const duet_safetensors_tensor *fr, const float *latent,
                      const duet_safetensors_tensor *lt) {
    const int64_t width = fr->ne[1], height = fr->ne[2], z = lt->ne[3];
    const int64_t cells = lt->ne[0] * lt->ne[1];
    duet_video_encoder *e = NULL;
    duet_video_encoder_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *dst = a ? duet_tensor_new4(a, be, DUET_F32, lt->ne[0], lt->ne[1], 1, z) : NULL;
    uint8_t *rgb = malloc((size_t)(width * height * 3));
    float *want = malloc((size_t)(z * cells) * sizeof *want);
    bool ready = dst && rgb && want &&
                 duet_video_encoder_load(m->st, "video_vae.", be, NULL, &e) == DUET_OK &&
                 duet_video_encoder_session_new(e, height, width, &s) == DUET_OK;
    T_CHECK(ready);
    if (ready) {
        for (int64_t i = 0; i < width * height * 3; i++) rgb[i] = (uint8_t)frames[i];
        for (int64_t c = 0; c < z; c++)
            memcpy(want + c * cells, latent + c * lt->ne[2] * cells, (size_t)cells * sizeof *want);
        T_CHECK_OK(duet_video_encoder_encode(s, rgb, dst));
        char label[96];
        snprintf(label, sizeof label, "video vae on %s: encode frame 0", tiny_backend_label(be));
        duet_golden_compare_tensor(label, dst, want, (size_t)(z * cells),
                                   tiny_tol(be, VAE_CPU_NMSE, VAE_GPU_NMSE));
    }
    free(rgb), free(want);
    duet_video_encoder_session_free(&s);
    duet_video_encoder_free(&e);
    duet_arena_free(&a);
}

void tiny_check_video_vae(const tiny_model *m, duet_backend *be, bool first) {
    (void)first; /* no host-only part */
    duet_safetensors *g = tiny_open_golden(m, "video_vae");
    const duet_safetensors_tensor *vt = g ? duet_safetensors_find(g, "out.video") : NULL;
    const duet_safetensors_tensor *fr = g ? duet_safetensors_find(g, "in.frames") : NULL;
    const duet_safetensors_tensor *lt = g ? duet_safetensors_find(g, "out.latent") : NULL;
    bool ok = vt && fr && lt && vt->n_dims == 4 && vt->ne[3] == 3 && fr->n_dims == 4 &&
              fr->ne[0] == 3 && lt->n_dims == 4;
    if (!ok && g) {
        fprintf(stderr, "FAIL: video_vae: out.video [3, F, H, W], in.frames [F, H, W, 3] or "
                "out.latent [z, F, h, w] unusable\n");
        duet_test_failures++;
    }
    float *video = ok ? duet_golden_read(g, "out.video", DUET_F32, 0, NULL) : NULL;
    int32_t *frames = ok ? duet_golden_read(g, "in.frames", DUET_I32, 0, NULL) : NULL;
    float *latent = ok ? duet_golden_read(g, "out.latent", DUET_F32, 0, NULL) : NULL;
    if (video && frames && latent) {
        decode_on(m, g, be, video, vt->ne[2]);
        encode_on(m, be, frames, fr, latent, lt);
    }
    free(video), free(frames), free(latent);
    duet_safetensors_close(&g);
}

/* ---------------------------------------------------------------- audio */

typedef struct {
    const tiny_model *m;
    const duet_safetensors *g;
    float *wav;           /* in.wav [n_samples] */
    int64_t n_samples, n_mel, n_latent;
    float *latent;        /* out.latent as the DiT lays it out: [L][C] (the file has [C, L]) */
} audio_case;

static void check_mel(const audio_case *c) {
    duet_mel *mel = NULL;
    T_CHECK_OK(duet_mel_new(&c->m->audio.mel, &mel));
    const int64_t nf = mel ? duet_mel_n_frames(mel, c->n_samples) : -1;
    const size_t n = (size_t)(nf * c->m->audio.mel.n_mels);
    float *got = nf == c->n_mel ? malloc(n * sizeof *got) : NULL;
    float *want = got ? duet_golden_read(c->g, "out.mel", DUET_F32, n, NULL) : NULL;
    T_CHECK(got != NULL);
    if (want) {
        T_CHECK_OK(duet_mel_compute(mel, c->wav, c->n_samples, got, nf));
        duet_golden_report("mel (host)", got, want, n, MEL_NMSE);
    }
    free(got), free(want);
    duet_mel_free(&mel);
}

/* Compares backend tensor t with golden tensor `ref` (or with `want` when not NULL). */
static void audio_compare(const audio_case *c, duet_backend *be, const char *what,
                          const duet_tensor *t, const char *ref, const float *want) {
    const size_t n = (size_t)duet_nelements(t);
    float *file = want ? NULL : duet_golden_read(c->g, ref, DUET_F32, n, NULL);
    char label[128];
    snprintf(label, sizeof label, "audio on %s: %s", tiny_backend_label(be), what);
    if (want || file)
        duet_golden_compare_tensor(label, t, want ? want : file, n,
                                   tiny_tol(be, AUDIO_CPU_NMSE, AUDIO_GPU_NMSE));
    free(file);
}

static void encoder_on(const audio_case *c, duet_backend *be, duet_arena *a) {
    const duet_audio_config *cfg = &c->m->audio;
    duet_audio_encoder *enc = NULL;
    duet_audio_encoder_session *s = NULL;
    duet_tensor *lat = duet_tensor_new4(a, be, DUET_F32, cfg->vae.embed_dim, c->n_latent, 1, 1);
    bool ready = lat && duet_audio_encoder_load(cfg, c->m->st, be, NULL, &enc) == DUET_OK &&
                 duet_audio_encoder_session_new(enc, c->n_samples, &s) == DUET_OK &&
                 duet_audio_encoder_session_latents(s) == c->n_latent;
    T_CHECK(ready);
    if (ready) {
        T_CHECK_OK(duet_audio_encode(s, c->wav, c->n_samples, lat));
        audio_compare(c, be, "audio encoder (pcm) out.latent", lat, NULL, c->latent);
    }
    duet_audio_encoder_session_free(&s);
    duet_audio_encoder_free(&enc);
}

typedef struct {
    duet_audio_vae_encoder *enc;
    duet_audio_vae_decoder *dec;
    duet_vocoder *voc;
    duet_audio_vae_session *se, *sd;
    duet_vocoder_session *sv;
} audio_models;

static void vae_vocoder_on(const audio_case *c, duet_backend *be, duet_arena *a) {
    const duet_audio_config *cfg = &c->m->audio;
    const int64_t T = c->n_mel, L = c->n_latent, C = cfg->vae.embed_dim;
    const int64_t z_ne[2] = {C, L};
    audio_models am = {0};
    duet_tensor *mel = NULL, *dmel_ref = NULL;
    duet_tensor *z = duet_tensor_new4(a, be, DUET_F32, C, L, 1, 1);
    duet_tensor *zin = duet_test_tensor(a, be, DUET_F32, 2, z_ne, c->latent, "latent");
    duet_tensor *dmel = duet_tensor_new4(a, be, DUET_F32, T, cfg->mel.n_mels, 1, 1);
    duet_tensor *pcm = duet_tensor_new4(a, be, DUET_F32, duet_vocoder_n_samples(&cfg->vocoder, T),
                                        1, 1, 1);
    bool ready = z && zin && dmel && pcm &&
                 duet_safetensors_load(c->g, "out.mel", a, be, DUET_F32, &mel) == DUET_OK &&
                 duet_safetensors_load(c->g, "out.mel_decoded", a, be, DUET_F32, &dmel_ref) ==
                     DUET_OK &&
                 duet_audio_vae_encoder_load(&cfg->vae, c->m->st, be, NULL, &am.enc) == DUET_OK &&
                 duet_audio_vae_decoder_load(&cfg->vae, c->m->st, be, NULL, &am.dec) == DUET_OK &&
                 duet_vocoder_load(&cfg->vocoder, c->m->st, be, NULL, &am.voc) == DUET_OK &&
                 duet_audio_vae_encoder_session_new(am.enc, T, &am.se) == DUET_OK &&
                 duet_audio_vae_decoder_session_new(am.dec, L, &am.sd) == DUET_OK &&
                 duet_vocoder_session_new(am.voc, T, &am.sv) == DUET_OK;
    T_CHECK(ready);
    if (ready) {
        T_CHECK_OK(duet_audio_vae_encode(am.se, mel, z));
        audio_compare(c, be, "vae encoder (reference mel) out.latent", z, NULL, c->latent);
        T_CHECK_OK(duet_audio_vae_decode(am.sd, zin, dmel));
        audio_compare(c, be, "vae decoder out.mel_decoded", dmel, "out.mel_decoded", NULL);
        T_CHECK_OK(duet_vocoder_eval(am.sv, dmel_ref, pcm));
        audio_compare(c, be, "vocoder (reference mel) out.wav_vocoded", pcm, "out.wav_vocoded",
                      NULL);
        T_CHECK_OK(duet_vocoder_eval(am.sv, dmel, pcm));
        audio_compare(c, be, "decoder + vocoder out.wav_vocoded", pcm, "out.wav_vocoded", NULL);
    }
    duet_vocoder_session_free(&am.sv);
    duet_audio_vae_session_free(&am.sd);
    duet_audio_vae_session_free(&am.se);
    duet_vocoder_free(&am.voc);
    duet_audio_vae_decoder_free(&am.dec);
    duet_audio_vae_encoder_free(&am.enc);
}

void tiny_check_audio(const tiny_model *m, duet_backend *be, bool first) {
    duet_safetensors *g = tiny_open_golden(m, "audio");
    audio_case c = {.m = m, .g = g};
    const duet_safetensors_tensor *mel = g ? duet_safetensors_find(g, "out.mel") : NULL;
    const duet_safetensors_tensor *lat = g ? duet_safetensors_find(g, "out.latent") : NULL;
    size_t n = 0;
    c.wav = g ? duet_golden_read(g, "in.wav", DUET_F32, 0, &n) : NULL;
    const int64_t C = m->audio.vae.embed_dim;
    bool ok = c.wav && mel && lat && mel->n_dims == 2 && lat->n_dims == 2 && lat->ne[1] == C &&
              mel->ne[1] == m->audio.mel.n_mels;
    float *file = NULL;
    if (ok) {
        c.n_samples = (int64_t)n, c.n_mel = mel->ne[0], c.n_latent = lat->ne[0];
        file = duet_golden_read(g, "out.latent", DUET_F32, (size_t)(C * c.n_latent), NULL);
        c.latent = malloc((size_t)(C * c.n_latent) * sizeof *c.latent);
        ok = file && c.latent;
        for (int64_t l = 0; ok && l < c.n_latent; l++)
            for (int64_t k = 0; k < C; k++) c.latent[l * C + k] = file[k * c.n_latent + l];
    } else if (g) {
        fprintf(stderr, "FAIL: audio: in.wav, out.mel [n_mels, T] or out.latent [%lld, L] "
                "unusable\n", (long long)C);
        duet_test_failures++;
    }
    if (ok && first) check_mel(&c);
    if (ok) {
        duet_arena *a = duet_arena_new(0);
        T_CHECK(a != NULL);
        if (a) {
            encoder_on(&c, be, a);
            vae_vocoder_on(&c, be, a);
        }
        duet_arena_free(&a);
    }
    free(file), free(c.latent), free(c.wav);
    duet_safetensors_close(&g);
}
