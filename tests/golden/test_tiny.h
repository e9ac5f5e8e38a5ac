/* duet — shared parts of the duet-tiny golden test (test_tiny*.c): the model under test (its
 * directory, model.safetensors, config.json read by each module's parser), opening a golden
 * file of tools/duet_tiny/golden.py with its model_sha256 checked, metadata readers. Host
 * copies and comparisons come from golden_util.h. */
#ifndef DUET_TEST_TINY_H
#define DUET_TEST_TINY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audio/audio_config.h"
#include "core/safetensors.h"
#include "diffusion/dit_config.h"
#include "encoders/text_encoder.h"
#include "golden_util.h"
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

/* Metadata value `key` parsed as a JSON number (integers too); false with a failure. */
bool tiny_meta_number(const duet_safetensors *st, const char *key, double *out);
/* Metadata value `key` parsed as a JSON array of exactly n integers; false with a failure. */
bool tiny_meta_ints(const duet_safetensors *st, const char *key, int64_t *out, size_t n);

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
