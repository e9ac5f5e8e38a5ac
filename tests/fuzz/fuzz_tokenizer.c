/* duet — libFuzzer target for the tokenizer (encoders/tokenizer.c, spm_check.c, spm_shim.cc).
 * Each input is used twice:
 *   - as a SentencePiece model file: loading must give OK or an error, never a crash; an
 *     accepted model then encodes a few fixed texts (so the library walks whatever trie the
 *     check let through) and must keep the API's promises;
 *   - as prompt text (bytes up to the first NUL) for the golden model in
 *     tests/golden/tokenizer, with and without cleaning and EOS, and cut to a few lengths:
 *     ids in range, the cut result a prefix of the full one with EOS last.
 * Promises are checked with abort(). Built only with -Dfuzz=true and clang (docs/testing.md);
 * seeds: tests/fuzz/corpus/tokenizer (tools/golden/tokenizer.py writes them). To see library
 * out-of-bounds reads too, link a libsentencepiece built with -fsanitize=address. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "encoders/tokenizer.h"

#ifndef DUET_TOKENIZER_GOLDEN_DIR
#define DUET_TOKENIZER_GOLDEN_DIR "tests/golden/tokenizer"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { MAX_IDS = 1024 };

static void quiet(duet_log_level level, const char *msg, void *user_data) {
    (void)level, (void)msg, (void)user_data;
}

static duet_tokenizer *g_golden;
static int g_init;

/* Encodes text with every parameter combination and a few limits; checks the promises. */
static void encode_checked(const duet_tokenizer *tok, const char *text) {
    static int32_t full[MAX_IDS], cut[MAX_IDS];
    const int32_t vocab = duet_tokenizer_vocab_size(tok), eos = duet_tokenizer_eos_id(tok);
    for (int mode = 0; mode < 4; mode++) {
        duet_tokenizer_encode_params p = duet_tokenizer_encode_default_params();
        p.add_eos = (mode & 1) && eos >= 0;
        p.clean_whitespace = mode & 2;
        size_t n = 0, m = 0;
        bool was_cut = false, cut_flag = false;
        if (duet_tokenizer_encode(tok, text, &p, full, MAX_IDS, &n, &was_cut) != DUET_OK) {
            if (n != 0) abort();
            continue;
        }
        if (n > MAX_IDS || (p.add_eos && (n == 0 || full[n - 1] != eos))) abort();
        for (size_t i = 0; i < n; i++)
            if (full[i] < 0 || full[i] >= vocab) abort();
        if (was_cut) continue;
        const size_t limits[3] = {0, 1, 7};
        for (int k = 0; k < 3; k++) {
            if (duet_tokenizer_encode(tok, text, &p, limits[k] ? cut : NULL, limits[k], &m,
                                      &cut_flag) != DUET_OK)
                abort();
            const size_t want = n < limits[k] ? n : limits[k];
            if (m != want || cut_flag != (n > limits[k])) abort();
            const size_t pieces = p.add_eos && m > 0 ? m - 1 : m;
            if (memcmp(cut, full, pieces * sizeof(*cut))) abort();
            if (p.add_eos && m > 0 && cut[m - 1] != eos) abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!g_init) {
        g_init = 1;
        duet_log_set_callback(quiet, NULL);
        if (duet_tokenizer_load(DUET_TOKENIZER_GOLDEN_DIR "/tokenizer.model", &g_golden) !=
            DUET_OK)
            abort();
    }
    duet_tokenizer *tok = NULL;
    if (duet_tokenizer_load_from_memory(data, size, "fuzz", &tok) == DUET_OK) {
        if (!tok || duet_tokenizer_vocab_size(tok) <= 0) abort();
        encode_checked(tok, "A red round head on a beach, says <S>ba di mo<E>. "
                            "<AUDCAP>soft waves<ENDAUDCAP>");
        encode_checked(tok, "\xef\xbc\xa1 caf\xc3\xa9 \xe2\x91\xa0 \xf0\x9f\x98\x80  x\xff");
    } else if (tok) {
        abort();
    }
    duet_tokenizer_free(&tok);

    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    encode_checked(g_golden, text);
    free(text);
    return 0;
}
