/* duet — text tokenizer: prompt text -> token ids for the text encoder.
 *
 * Where it sits: the first step of the text path (job prompt -> ids -> text encoder -> DiT
 * context). Serves both google/umt5-xxl's tokenizer (Ovi's text encoder; spiece.model, a
 * SentencePiece unigram model with byte fallback, 256384 pieces) and duet-tiny's own small
 * SentencePiece unigram model.
 *
 * What it mirrors: Wan2.2 wan/modules/tokenizers.py (HuggingfaceTokenizer with clean=
 * 'whitespace', as Wan's and Ovi's T5EncoderModel call it) over a SentencePiece model: ids of
 * the pieces, then EOS (T5 convention: </s> = 1, pad = 0), truncated to a maximum length with
 * the EOS kept last. Encoding itself is done by the SentencePiece library (Debian's
 * libsentencepiece, behind a small C++ shim); duet checks the model file's structure itself
 * first, because the library trusts parts of the file (the normalization trie) that a damaged
 * or hostile file could use to make it read out of bounds.
 *
 * Not done here: ftfy.fix_text and html.unescape, which Wan's basic_clean also applies (they
 * change only text with mojibake or HTML entities such as "&amp;").
 *
 * Thread-safety: a loaded duet_tokenizer is immutable. duet_tokenizer_encode and the getters
 * may be called from any number of threads at once on the same tokenizer (the library's
 * encoding is const and keeps its work state on the stack). duet_tokenizer_free must not run
 * concurrently with any other use of that tokenizer. */
#ifndef DUET_TOKENIZER_H
#define DUET_TOKENIZER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/status.h"

typedef struct duet_tokenizer duet_tokenizer;

/* Longest accepted model file and input text, in bytes. Real models are a few MB (umT5's
 * spiece.model is about 4.5 MB); prompts are a few KB. The text limit keeps the library's int
 * offsets far from overflow. */
#define DUET_TOKENIZER_MAX_MODEL_BYTES ((size_t)256 << 20)
#define DUET_TOKENIZER_MAX_TEXT_BYTES ((size_t)1 << 20)

typedef struct {
    /* Append the model's EOS id after the pieces (default true: T5/umT5 convention). When the
     * output is truncated, the EOS is still the last id (as HuggingFace's tokenizer does with
     * truncation=True, add_special_tokens=True). Requires a model that defines EOS. */
    bool add_eos;
    /* Wan's whitespace cleaning before encoding (default true): strip the ends, replace every
     * run of Unicode White_Space characters with one ASCII space, strip again. "Strip" removes
     * White_Space plus U+001C..U+001F (Python's str.strip()). */
    bool clean_whitespace;
} duet_tokenizer_encode_params;

/* Defaults: add_eos = true, clean_whitespace = true (what Ovi and duet-tiny do). */
duet_tokenizer_encode_params duet_tokenizer_encode_default_params(void);

/* Loads and checks a SentencePiece model file (a serialized ModelProto). Only unigram models
 * are accepted. On success *out owns a new tokenizer (free with duet_tokenizer_free).
 * Returns DUET_OK; DUET_ERR_INVALID_ARG (NULL path/out); DUET_ERR_NOT_FOUND (no such file);
 * DUET_ERR_IO (cannot read); DUET_ERR_FORMAT (not a well-formed SentencePiece model: empty,
 * truncated, garbage, inconsistent); DUET_ERR_UNSUPPORTED (well-formed but not unigram);
 * DUET_ERR_OUT_OF_MEMORY. Every failure is logged with the path. *out is NULL on failure. */
duet_status duet_tokenizer_load(const char *path, duet_tokenizer **out);

/* Same, from a model held in memory (e.g. embedded in the binary). `name` is used in messages
 * (may be NULL). `data` is not referenced after the call returns. */
duet_status duet_tokenizer_load_from_memory(const void *data, size_t nbytes, const char *name,
                                            duet_tokenizer **out);

/* Encodes NUL-terminated UTF-8 `text` (invalid UTF-8 is accepted: each bad byte becomes
 * U+FFFD, as SentencePiece does) into at most `max_ids` ids written to `ids`. `params` may be
 * NULL for the defaults. *n_ids receives the number of ids written. If the full encoding (with
 * EOS when asked) does not fit, it is cut to max_ids ids, keeping the EOS last, and
 * *truncated is set to true (else false); `truncated` may be NULL. Truncation is not an error.
 * `ids` may be NULL only when max_ids == 0.
 * Returns DUET_OK; DUET_ERR_INVALID_ARG (NULL tok/text/n_ids, ids NULL with max_ids > 0,
 * text longer than DUET_TOKENIZER_MAX_TEXT_BYTES, add_eos with a model without EOS);
 * DUET_ERR_OUT_OF_MEMORY; DUET_ERR_BACKEND (the SentencePiece library reported a failure;
 * logged). On failure *n_ids is 0. Thread-safe (see above). */
duet_status duet_tokenizer_encode(const duet_tokenizer *tok, const char *text,
                                  const duet_tokenizer_encode_params *params, int32_t *ids,
                                  size_t max_ids, size_t *n_ids, bool *truncated);

/* Number of pieces (ids are in [0, vocab_size)); 256384 for umT5-XXL. */
int32_t duet_tokenizer_vocab_size(const duet_tokenizer *tok);
/* Special ids from the model, or -1 when the model does not define them (umT5: eos 1, pad 0,
 * unk 2; duet-tiny the same). */
int32_t duet_tokenizer_eos_id(const duet_tokenizer *tok);
int32_t duet_tokenizer_pad_id(const duet_tokenizer *tok);
int32_t duet_tokenizer_unk_id(const duet_tokenizer *tok);

/* Frees the tokenizer and sets *tok to NULL. Accepts NULL and *tok == NULL. */
void duet_tokenizer_free(duet_tokenizer **tok);

#endif
