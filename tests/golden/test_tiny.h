/* duet — shared parts of the duet-tiny golden test (test_tiny*.c): the model under test (its
 * directory, model.safetensors, config.json read by each module's parser), opening a golden
 * file of tools/duet_tiny/golden.py with its model_sha256 checked, host copies of golden
 * tensors, and comparisons that print the normalized mean squared error. */
#ifndef DUET_TEST_TINY_H
#define DUET_TEST_TINY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/audio_config.h"
#include "core/safetensors.h"
#include "diffusion/dit_config.h"
#include "encoders/text_encoder.h"
#include "harness.h"

/* The model directory as tools/duet_tiny/export.py writes it, opened once. */
typedef struct {
    const char *dir;        /* holds model.safetensors, config.json, tokenizer.model */
    const char *golden_dir; /* holds tokenizer.safetensors ... audio.safetensors */
    duet_safetensors *st;   /* model.safetensors */
    char sha256[65];        /* of model.safetensors, lowercase hex */
    duet_dit_config dit;
    duet_text_encoder_config text;
    duet_audio_config audio;
} tiny_model;

/* SHA-256 (FIPS 180-4) of the file at `path` as 64 lowercase hex digits; false (logged) when
 * it cannot be read. tiny_sha256_self_test checks the implementation on the standard's
 * examples. (test_tiny_sha256.c) */
bool tiny_sha256_file(const char *path, char hex[65]);
bool tiny_sha256_self_test(void);

/* Opens <golden_dir>/<name>.safetensors and checks that its metadata model_sha256 is the
 * model's. NULL, with a failure that says to regenerate, otherwise. */
duet_safetensors *tiny_open_golden(const tiny_model *m, const char *name);

/* Host copies of golden tensors (f32, i32 as such): NULL with a failure when absent, of
 * another dtype, or (n_want > 0) not of n_want elements. *n_out may be NULL. Free with free(). */
float *tiny_read_f32(const duet_safetensors *st, const char *name, size_t n_want,
                     size_t *n_out);
int32_t *tiny_read_i32(const duet_safetensors *st, const char *name, size_t n_want,
                       size_t *n_out);
/* Metadata value `key` parsed as a JSON number (integers too); false with a failure. */
bool tiny_meta_number(const duet_safetensors *st, const char *key, double *out);
/* Metadata value `key` parsed as a JSON array of exactly n integers; false with a failure. */
bool tiny_meta_ints(const duet_safetensors *st, const char *key, int64_t *out, size_t n);

double tiny_nmse(const float *got, const float *want, size_t n);
/* Prints "label: nmse X (limit Y)" and checks with duet_test_close. */
void tiny_compare(const char *label, const float *got, const float *want, size_t n,
                  double max_nmse);
/* The same for a backend tensor of n elements (downloaded). */
void tiny_compare_tensor(const char *label, const duet_tensor *t, const float *want, size_t n,
                         double max_nmse);
/* "cpu" or "vulkan". */
const char *tiny_backend_label(duet_backend *be);
/* The tolerance for `be`: cpu_nmse on the CPU, gpu_nmse elsewhere. */
double tiny_tol(duet_backend *be, double cpu_nmse, double gpu_nmse);

/* The text encoder's rows for ids[0..n) against want ([n, dim] rows, PyTorch order) on `be`;
 * `what` names the case. (test_tiny.c) */
void tiny_check_encoder(const tiny_model *m, duet_backend *be, const int32_t *ids, size_t n,
                        const float *want, const char *what);

/* The module checks on one backend; each opens its golden file. `first`: also run the host-only
 * parts (tokenizer, mel), once. */
void tiny_check_text(const tiny_model *m, duet_backend *be, bool first);      /* test_tiny.c */
void tiny_check_dit_block(const tiny_model *m, duet_backend *be, bool first); /* test_tiny_dit.c */
void tiny_check_dit_full(const tiny_model *m, duet_backend *be, bool first);
void tiny_check_sampler(const tiny_model *m, duet_backend *be, bool first);  /* test_tiny_media.c */
void tiny_check_video_vae(const tiny_model *m, duet_backend *be, bool first);
void tiny_check_audio(const tiny_model *m, duet_backend *be, bool first);

#endif
