/* duet — internal interface between the tokenizer (tokenizer.c), duet's own structural check
 * of SentencePiece model files (spm_check.c) and the C++ shim over libsentencepiece
 * (spm_shim.cc). Not a public header. Messages are written into caller buffers (always
 * NUL-terminated) so that the caller logs them once, with the file name. */
#ifndef DUET_SPM_INTERNAL_H
#define DUET_SPM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "core/status.h"

/* Checks that `data` is a well-formed serialized SentencePiece ModelProto that the library
 * can load without trusting it: every field of the messages the library reads lies inside
 * the file, pieces, trainer_spec and normalizer_spec are present, piece strings hold no NUL
 * byte, the model type is unigram, and each precompiled normalization charsmap is a
 * double-array trie whose every reachable access stays inside the array, whose values point
 * into the replacement strings, and that yields at most 32 matches along any input (the size
 * of the library's fixed result array). Returns DUET_OK, DUET_ERR_FORMAT or
 * DUET_ERR_UNSUPPORTED (message in err), or DUET_ERR_OUT_OF_MEMORY. */
duet_status duet_spm_check(const uint8_t *data, size_t nbytes, char *err, size_t err_cap);

typedef struct duet_spm duet_spm;

typedef struct {
    int32_t n_pieces;
    int32_t eos_id, pad_id, unk_id; /* -1 when undefined */
} duet_spm_info;

/* Loads a serialized model with the library (data need not outlive the call). */
duet_status duet_spm_load(const void *data, size_t nbytes, duet_spm **out, duet_spm_info *info,
                          char *err, size_t err_cap);

/* Encodes text[0, text_len) into piece ids (no EOS); copies the first min(n, max_ids) into ids
 * and sets *n_total to the full count n. */
duet_status duet_spm_encode(const duet_spm *m, const char *text, size_t text_len, int32_t *ids,
                            size_t max_ids, size_t *n_total, char *err, size_t err_cap);

void duet_spm_free(duet_spm *m);

#ifdef __cplusplus
}
#endif

#endif
