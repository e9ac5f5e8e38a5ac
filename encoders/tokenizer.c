/* duet — text tokenizer (see tokenizer.h): loads and checks a SentencePiece model, applies
 * Wan's whitespace cleaning, encodes through libsentencepiece (spm_shim.cc) and appends EOS
 * with HuggingFace-style truncation.
 *
 * Mirrors Wan2.2 wan/modules/tokenizers.py: HuggingfaceTokenizer(name='google/umt5-xxl',
 * seq_len=512, clean='whitespace') calls whitespace_clean(basic_clean(text)) — strip(),
 * regex.sub(r'\s+', ' '), strip() — then the tokenizer with add_special_tokens=True,
 * truncation=True, max_length=seq_len, which keeps </s> as the last id of a cut sequence. */
#include "encoders/tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/log.h"
#include "encoders/spm_internal.h"

struct duet_tokenizer {
    duet_spm *spm;
    duet_spm_info info;
    char *name; /* file path or caller's name, for messages */
};

duet_tokenizer_encode_params duet_tokenizer_encode_default_params(void) {
    return (duet_tokenizer_encode_params){.add_eos = true, .clean_whitespace = true};
}

static duet_status load_bytes(const uint8_t *data, size_t nbytes, const char *name,
                              duet_tokenizer **out) {
    char err[512];
    if (nbytes > DUET_TOKENIZER_MAX_MODEL_BYTES) {
        DUET_LOGE("%s: %zu bytes is too large for a SentencePiece model (limit %zu)", name,
                  nbytes, DUET_TOKENIZER_MAX_MODEL_BYTES);
        return DUET_ERR_FORMAT;
    }
    duet_status s = duet_spm_check(data, nbytes, err, sizeof(err));
    if (s != DUET_OK) {
        if (s == DUET_ERR_OUT_OF_MEMORY) DUET_LOGE("%s: out of memory while checking", name);
        else DUET_LOGE("%s: not a usable SentencePiece model: %s", name, err);
        return s;
    }
    duet_tokenizer *t = duet_calloc(1, sizeof(*t));
    if (!t || !(t->name = duet_strdup(name))) {
        DUET_LOGE("%s: out of memory", name);
        duet_tokenizer_free(&t);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    s = duet_spm_load(data, nbytes, &t->spm, &t->info, err, sizeof(err));
    if (s == DUET_OK && t->info.n_pieces <= 0) {
        snprintf(err, sizeof(err), "the model has no pieces");
        s = DUET_ERR_FORMAT;
    }
    if (s != DUET_OK) {
        DUET_LOGE("%s: %s", name, err);
        duet_tokenizer_free(&t);
        return s;
    }
    DUET_LOGD("%s: SentencePiece unigram model, %d pieces, eos %d, pad %d, unk %d", name,
              (int)t->info.n_pieces, (int)t->info.eos_id, (int)t->info.pad_id,
              (int)t->info.unk_id);
    *out = t;
    return DUET_OK;
}

duet_status duet_tokenizer_load_from_memory(const void *data, size_t nbytes, const char *name,
                                            duet_tokenizer **out) {
    if (out) *out = NULL;
    if (!name) name = "(tokenizer model in memory)";
    if (!out || (!data && nbytes > 0)) {
        DUET_LOGE("%s: duet_tokenizer_load_from_memory: NULL argument", name);
        return DUET_ERR_INVALID_ARG;
    }
    return load_bytes(data ? data : (const void *)"", nbytes, name, out);
}

/* Reads a whole regular file into a new buffer. */
static duet_status read_file(const char *path, uint8_t **data, size_t *nbytes) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        const int e = errno;
        DUET_LOGE("%s: cannot open tokenizer model: %s", path, strerror(e));
        return e == ENOENT ? DUET_ERR_NOT_FOUND : DUET_ERR_IO;
    }
    duet_status s = DUET_OK;
    uint8_t *buf = NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        DUET_LOGE("%s: tokenizer model is not a regular file", path);
        s = DUET_ERR_IO;
        goto fail;
    }
    if ((unsigned long long)st.st_size > DUET_TOKENIZER_MAX_MODEL_BYTES) {
        DUET_LOGE("%s: %lld bytes is too large for a SentencePiece model (limit %zu)", path,
                  (long long)st.st_size, DUET_TOKENIZER_MAX_MODEL_BYTES);
        s = DUET_ERR_FORMAT;
        goto fail;
    }
    const size_t n = (size_t)st.st_size;
    buf = duet_malloc(n ? n : 1);
    if (!buf) {
        DUET_LOGE("%s: out of memory reading %zu bytes", path, n);
        s = DUET_ERR_OUT_OF_MEMORY;
        goto fail;
    }
    if (fread(buf, 1, n, f) != n) {
        DUET_LOGE("%s: cannot read tokenizer model: %s", path,
                  ferror(f) ? strerror(errno) : "file shrank while reading");
        s = DUET_ERR_IO;
        goto fail;
    }
    fclose(f);
    *data = buf;
    *nbytes = n;
    return DUET_OK;
fail:
    duet_free(buf);
    fclose(f);
    return s;
}

duet_status duet_tokenizer_load(const char *path, duet_tokenizer **out) {
    if (out) *out = NULL;
    if (!path || !out) {
        DUET_LOGE("duet_tokenizer_load: NULL %s", path ? "out" : "path");
        return DUET_ERR_INVALID_ARG;
    }
    uint8_t *data = NULL;
    size_t nbytes = 0;
    duet_status s = read_file(path, &data, &nbytes);
    if (s != DUET_OK) return s;
    s = load_bytes(data, nbytes, path, out);
    duet_free(data);
    return s;
}

/* One UTF-8 sequence at s (n > 0 bytes left): its length, and its code point in *cp, or
 * UINT32_MAX (length 1) when the bytes are not valid UTF-8. */
static size_t utf8_next(const uint8_t *s, size_t n, uint32_t *cp) {
    *cp = UINT32_MAX;
    const uint8_t b = s[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    const size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 0;
    if (len == 0 || len > n) return 1;
    uint32_t v = b & (0x7fu >> len);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 1;
        v = v << 6 | (s[i] & 0x3fu);
    }
    static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (v < min_cp[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff)) return 1;
    *cp = v;
    return len;
}

/* Python's `regex` \s (the Unicode White_Space property). */
static bool is_white_space(uint32_t c) {
    return (c >= 0x09 && c <= 0x0d) || c == 0x20 || c == 0x85 || c == 0xa0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200a) || c == 0x2028 || c == 0x2029 || c == 0x202f ||
           c == 0x205f || c == 0x3000;
}

/* Python's str.isspace(), which str.strip() uses: White_Space plus U+001C..U+001F. */
static bool is_strip_space(uint32_t c) {
    return is_white_space(c) || (c >= 0x1c && c <= 0x1f);
}

/* Wan's whitespace_clean(text.strip()): strip the ends, then each run of White_Space becomes
 * one ' ' (the final strip() of whitespace_clean then has nothing left to remove). Writes at
 * most n bytes to out; returns the length. Invalid UTF-8 bytes are kept as they are. */
static size_t clean_whitespace(const uint8_t *s, size_t n, uint8_t *out) {
    size_t begin = 0, end = 0, i = 0;
    bool seen = false;
    while (i < n) { /* [begin, end): from the first to past the last non-strip character */
        uint32_t cp;
        const size_t len = utf8_next(s + i, n - i, &cp);
        if (!is_strip_space(cp)) {
            if (!seen) begin = i;
            seen = true;
            end = i + len;
        }
        i += len;
    }
    size_t o = 0;
    bool in_run = false;
    for (i = begin; i < end;) {
        uint32_t cp;
        const size_t len = utf8_next(s + i, end - i, &cp);
        if (is_white_space(cp)) {
            if (!in_run) out[o++] = ' ';
            in_run = true;
        } else {
            memcpy(out + o, s + i, len);
            o += len;
            in_run = false;
        }
        i += len;
    }
    return o;
}

static duet_status check_encode_args(const duet_tokenizer *tok, const char *text,
                                     const duet_tokenizer_encode_params *p, const int32_t *ids,
                                     size_t max_ids, size_t *text_len) {
    if (!tok || !text || (!ids && max_ids > 0)) {
        DUET_LOGE("duet_tokenizer_encode: NULL %s", !tok ? "tokenizer" : !text ? "text" : "ids");
        return DUET_ERR_INVALID_ARG;
    }
    *text_len = strnlen(text, DUET_TOKENIZER_MAX_TEXT_BYTES + 1);
    if (*text_len > DUET_TOKENIZER_MAX_TEXT_BYTES) {
        DUET_LOGE("%s: text longer than %zu bytes", tok->name, DUET_TOKENIZER_MAX_TEXT_BYTES);
        return DUET_ERR_INVALID_ARG;
    }
    if (p->add_eos && tok->info.eos_id < 0) {
        DUET_LOGE("%s: add_eos asked, but the model defines no EOS piece", tok->name);
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

duet_status duet_tokenizer_encode(const duet_tokenizer *tok, const char *text,
                                  const duet_tokenizer_encode_params *params, int32_t *ids,
                                  size_t max_ids, size_t *n_ids, bool *truncated) {
    if (truncated) *truncated = false;
    if (!n_ids) {
        DUET_LOGE("duet_tokenizer_encode: NULL n_ids");
        return DUET_ERR_INVALID_ARG;
    }
    *n_ids = 0;
    const duet_tokenizer_encode_params p = params ? *params
                                                  : duet_tokenizer_encode_default_params();
    size_t len = 0;
    duet_status s = check_encode_args(tok, text, &p, ids, max_ids, &len);
    if (s != DUET_OK) return s;

    uint8_t *cleaned = NULL;
    const char *src = text;
    if (p.clean_whitespace) {
        if (!(cleaned = duet_malloc(len + 1))) {
            DUET_LOGE("%s: out of memory cleaning a %zu-byte text", tok->name, len);
            return DUET_ERR_OUT_OF_MEMORY;
        }
        len = clean_whitespace((const uint8_t *)text, len, cleaned);
        src = (const char *)cleaned;
    }
    /* Room for the pieces: the EOS, when asked, takes the last slot even when cutting. */
    const size_t room = p.add_eos ? (max_ids > 0 ? max_ids - 1 : 0) : max_ids;
    size_t n_total = 0;
    char err[512];
    s = duet_spm_encode(tok->spm, src, len, ids, room, &n_total, err, sizeof(err));
    duet_free(cleaned);
    if (s != DUET_OK) {
        DUET_LOGE("%s: %s", tok->name, err);
        return s;
    }
    size_t n = n_total < room ? n_total : room;
    const bool cut = n_total > room || (p.add_eos && max_ids == 0);
    if (p.add_eos && max_ids > 0) ids[n++] = tok->info.eos_id;
    *n_ids = n;
    if (truncated) *truncated = cut;
    return DUET_OK;
}

int32_t duet_tokenizer_vocab_size(const duet_tokenizer *tok) {
    return tok ? tok->info.n_pieces : 0;
}

int32_t duet_tokenizer_eos_id(const duet_tokenizer *tok) {
    return tok ? tok->info.eos_id : -1;
}

int32_t duet_tokenizer_pad_id(const duet_tokenizer *tok) {
    return tok ? tok->info.pad_id : -1;
}

int32_t duet_tokenizer_unk_id(const duet_tokenizer *tok) {
    return tok ? tok->info.unk_id : -1;
}

void duet_tokenizer_free(duet_tokenizer **tok) {
    if (!tok || !*tok) return;
    duet_spm_free((*tok)->spm);
    duet_free((*tok)->name);
    duet_free(*tok);
    *tok = NULL;
}
