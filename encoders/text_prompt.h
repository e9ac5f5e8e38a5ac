/* duet — prompt text -> the DiT's context rows: the tokenizer (encoders/tokenizer.h) chained
 * with the text encoder (encoders/text_encoder.h), as Wan's T5EncoderModel.__call__ does it
 * (Wan-Video/Wan2.2 wan/modules/t5.py: tokenize with whitespace cleaning, EOS appended,
 * truncated to text_len ids, encode, keep the true length) and Ovi then pads (zero rows up to
 * text_len). duet-tiny's tools/duet_tiny/text.py (Tokenizer.encode, encode_context) is the
 * same. */
#ifndef DUET_TEXT_PROMPT_H
#define DUET_TEXT_PROMPT_H

#include <stdint.h>

#include "core/status.h"
#include "core/tensor.h"
#include "encoders/text_encoder.h"
#include "encoders/tokenizer.h"

/* Tokenizes `text` (UTF-8, NUL-terminated; "" gives the lone EOS, Ovi's negative prompt) with
 * the default parameters, keeping at most min(text_len, the session's max_tokens, out's rows)
 * ids (EOS last), and encodes them into out, a contiguous f32 [dim, n_rows] tensor on the
 * encoder's backend: rows 0 .. n - 1 get the encoder's output, the rest zeros (n_rows =
 * text_len: Ovi's padded context). *n_tokens (may be NULL) receives n. Allocates a small host
 * buffer for the ids per call. Returns DUET_OK; DUET_ERR_INVALID_ARG (NULL arguments, a
 * tokenizer whose vocabulary is larger than the encoder's, out of the wrong shape; logged);
 * the tokenizer's or the encoder's errors. Not thread-safe for one session. */
duet_status duet_text_encode_prompt(duet_text_encoder_session *s, const duet_tokenizer *tok,
                                    const char *text, duet_tensor *out, int64_t *n_tokens);

#endif
