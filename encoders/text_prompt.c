/* duet — prompt text -> context rows: tokenizer then text encoder (see text_prompt.h). Mirrors
 * T5EncoderModel.__call__ in Wan-Video/Wan2.2 wan/modules/t5.py and Ovi's zero padding. */
#include "encoders/text_prompt.h"

#include "core/alloc.h"
#include "core/log.h"

duet_status duet_text_encode_prompt(duet_text_encoder_session *s, const duet_tokenizer *tok,
                                    const char *text, duet_tensor *out, int64_t *n_tokens) {
    if (n_tokens) *n_tokens = 0;
    if (!s || !tok || !text || !out) {
        DUET_LOGE("duet_text_encode_prompt: NULL argument");
        return DUET_ERR_INVALID_ARG;
    }
    const duet_text_encoder_config *c = duet_text_encoder_session_config(s);
    if (duet_tokenizer_vocab_size(tok) > c->vocab_size) {
        DUET_LOGE("text prompt: the tokenizer has %d pieces, the text encoder's table only "
                  "%lld rows: they do not belong together",
                  (int)duet_tokenizer_vocab_size(tok), (long long)c->vocab_size);
        return DUET_ERR_INVALID_ARG;
    }
    /* Wan truncates to text_len; the session and the output may hold fewer rows */
    int64_t max_ids = c->text_len;
    if (max_ids > duet_text_encoder_session_max_tokens(s))
        max_ids = duet_text_encoder_session_max_tokens(s);
    if (max_ids > out->ne[1]) max_ids = out->ne[1];
    if (max_ids < 1) {
        DUET_LOGE("text prompt: out has no rows");
        return DUET_ERR_INVALID_ARG;
    }
    int32_t *ids = duet_malloc((size_t)max_ids * sizeof *ids);
    if (!ids) return DUET_ERR_OUT_OF_MEMORY;
    size_t n = 0;
    duet_status st = duet_tokenizer_encode(tok, text, NULL, ids, (size_t)max_ids, &n, NULL);
    if (st == DUET_OK) st = duet_text_encoder_encode(s, ids, (int64_t)n, out);
    duet_free(ids);
    if (st == DUET_OK && n_tokens) *n_tokens = (int64_t)n;
    return st;
}
