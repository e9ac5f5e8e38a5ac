/* duet — unit tests for the tokenizer (encoders/tokenizer.c) against the python sentencepiece
 * library: tests/golden/tokenizer/ (written by tools/golden/tokenizer.py) holds a small unigram
 * model (byte fallback, nmt_nfkc, Ovi's tags as user-defined pieces) and, per case, the ids
 * python produced for the raw text and for Wan's whitespace-cleaned text. Every id must be
 * equal. Also: EOS and truncation (HuggingFace's: the EOS stays last), argument errors,
 * missing/truncated/garbage/corrupted model files (an error naming the file, never a crash),
 * failing allocations, and concurrent encoding from several threads. */
#include <jansson.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "encoders/tokenizer.h"
#include "harness.h"

#define GOLDEN DUET_TOKENIZER_GOLDEN_DIR
#define MAX_IDS 4096

/* ---------------------------------------------------------------- golden cases */

typedef struct {
    char name[64];
    char *text; /* NUL-terminated bytes (may be invalid UTF-8) */
    int32_t *ids, *ids_clean;
    size_t n_ids, n_clean;
    bool has_clean;
} tcase;

typedef struct {
    tcase *cases;
    size_t n;
    long vocab_size, eos_id, pad_id, unk_id;
} golden;

static int32_t *json_ids(json_t *arr, size_t *n) {
    *n = json_array_size(arr);
    int32_t *v = malloc((*n + 1) * sizeof(*v));
    for (size_t i = 0; i < *n; i++) v[i] = (int32_t)json_integer_value(json_array_get(arr, i));
    return v;
}

static char *hex_decode(const char *hex) {
    size_t n = strlen(hex) / 2;
    char *s = malloc(n + 1);
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        s[i] = (char)v;
    }
    s[n] = '\0';
    return s;
}

static bool load_golden(golden *g) {
    json_error_t jerr;
    json_t *doc = json_load_file(GOLDEN "/cases.json", 0, &jerr);
    if (!doc) {
        fprintf(stderr, "FAIL: %s/cases.json:%d: %s\n", GOLDEN, jerr.line, jerr.text);
        return false;
    }
    g->vocab_size = (long)json_integer_value(json_object_get(doc, "vocab_size"));
    g->eos_id = (long)json_integer_value(json_object_get(doc, "eos_id"));
    g->pad_id = (long)json_integer_value(json_object_get(doc, "pad_id"));
    g->unk_id = (long)json_integer_value(json_object_get(doc, "unk_id"));
    json_t *cases = json_object_get(doc, "cases");
    g->n = json_array_size(cases);
    g->cases = calloc(g->n, sizeof(*g->cases));
    for (size_t i = 0; i < g->n; i++) {
        json_t *c = json_array_get(cases, i);
        tcase *t = &g->cases[i];
        snprintf(t->name, sizeof(t->name), "%s", json_string_value(json_object_get(c, "name")));
        t->text = hex_decode(json_string_value(json_object_get(c, "text_hex")));
        t->ids = json_ids(json_object_get(c, "ids"), &t->n_ids);
        json_t *clean = json_object_get(c, "ids_clean");
        t->has_clean = clean != NULL;
        if (clean) t->ids_clean = json_ids(clean, &t->n_clean);
    }
    json_decref(doc);
    return g->n > 0;
}

static void free_golden(golden *g) {
    for (size_t i = 0; i < g->n; i++) {
        free(g->cases[i].text);
        free(g->cases[i].ids);
        free(g->cases[i].ids_clean);
    }
    free(g->cases);
}

/* Prints the first difference (index, both values) and returns false when they differ. */
static bool same_ids(const char *what, const char *name, const int32_t *got, size_t n_got,
                     const int32_t *want, size_t n_want) {
    size_t n = n_got < n_want ? n_got : n_want;
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "FAIL %s [%s]: id %zu is %d, python gives %d (%zu vs %zu ids)\n",
                    name, what, i, (int)got[i], (int)want[i], n_got, n_want);
            return false;
        }
    if (n_got != n_want) {
        fprintf(stderr, "FAIL %s [%s]: %zu ids, python gives %zu\n", name, what, n_got, n_want);
        return false;
    }
    return true;
}

static duet_tokenizer_encode_params params(bool add_eos, bool clean) {
    duet_tokenizer_encode_params p = duet_tokenizer_encode_default_params();
    p.add_eos = add_eos;
    p.clean_whitespace = clean;
    return p;
}

/* Every case, raw and cleaned, with and without EOS: ids equal python's, id for id. */
static void test_golden_ids(const duet_tokenizer *tok, const golden *g) {
    static int32_t ids[MAX_IDS], want[MAX_IDS + 1];
    int n_compared = 0;
    for (size_t i = 0; i < g->n; i++) {
        const tcase *c = &g->cases[i];
        for (int mode = 0; mode < 4; mode++) {
            const bool eos = mode & 1, clean = mode & 2;
            if (clean && !c->has_clean) continue;
            const int32_t *ref = clean ? c->ids_clean : c->ids;
            size_t n_ref = clean ? c->n_clean : c->n_ids;
            T_CHECK(n_ref < MAX_IDS);
            memcpy(want, ref, n_ref * sizeof(*ref));
            if (eos) want[n_ref++] = (int32_t)g->eos_id;
            const duet_tokenizer_encode_params p = params(eos, clean);
            size_t n = 99;
            bool cut = true;
            T_CHECK_OK(duet_tokenizer_encode(tok, c->text, &p, ids, MAX_IDS, &n, &cut));
            T_CHECK(!cut);
            static const char *const modes[] = {"raw", "raw+eos", "clean", "clean+eos"};
            if (!same_ids(modes[mode], c->name, ids, n, want, n_ref)) duet_test_failures++;
            n_compared++;
        }
        /* cleaning must never break invalid UTF-8: same ids as the raw text when there is no
         * whitespace to clean */
        if (!c->has_clean && !strchr(c->text, ' ')) {
            size_t n = 0;
            const duet_tokenizer_encode_params p = params(false, true);
            T_CHECK_OK(duet_tokenizer_encode(tok, c->text, &p, ids, MAX_IDS, &n, NULL));
            if (!same_ids("clean, invalid utf-8", c->name, ids, n, c->ids, c->n_ids))
                duet_test_failures++;
        }
    }
    fprintf(stderr, "golden: %zu cases, %d encodings compared id for id\n", g->n, n_compared);
}

static const tcase *find_case(const golden *g, const char *name) {
    for (size_t i = 0; i < g->n; i++)
        if (!strcmp(g->cases[i].name, name)) return &g->cases[i];
    fprintf(stderr, "FAIL: golden case %s missing\n", name);
    duet_test_failures++;
    return NULL;
}

/* Truncation keeps the first pieces and the EOS last (HuggingFace truncation=True with
 * add_special_tokens=True; Ovi/Wan cut at 512). */
static void test_truncation(const duet_tokenizer *tok, const golden *g) {
    const tcase *c = find_case(g, "long_caption");
    if (!c) return;
    T_CHECK(c->n_ids > 600); /* the case must actually exceed Ovi's 512 */
    static int32_t ids[MAX_IDS];
    const int32_t eos = (int32_t)g->eos_id;
    const size_t n_full = c->n_ids;
    const size_t limits[] = {512, n_full + 1, n_full, 2, 1, 0};
    for (size_t k = 0; k < sizeof(limits) / sizeof(*limits); k++) {
        const size_t max = limits[k];
        for (int eos_on = 0; eos_on < 2; eos_on++) {
            const duet_tokenizer_encode_params p = params(eos_on, false);
            size_t n = 12345;
            bool cut = false;
            T_CHECK_OK(duet_tokenizer_encode(tok, c->text, &p, max ? ids : NULL, max, &n, &cut));
            const size_t full = n_full + (eos_on ? 1 : 0);
            const size_t want_n = full < max ? full : max;
            T_CHECK(n == want_n);
            T_CHECK(cut == (full > max));
            if (n != want_n) continue;
            const size_t n_pieces = eos_on && n > 0 ? n - 1 : n;
            if (!same_ids("truncated", c->name, ids, n_pieces, c->ids, n_pieces))
                duet_test_failures++;
            if (eos_on && n > 0) T_CHECK(ids[n - 1] == eos);
        }
    }
    /* empty text: just the EOS; nothing at all without it */
    size_t n = 9;
    bool cut = true;
    const duet_tokenizer_encode_params pe = params(true, true), pn = params(false, true);
    T_CHECK_OK(duet_tokenizer_encode(tok, "", &pe, ids, 4, &n, &cut));
    T_CHECK(n == 1 && ids[0] == eos && !cut);
    T_CHECK_OK(duet_tokenizer_encode(tok, "", &pn, NULL, 0, &n, &cut));
    T_CHECK(n == 0 && !cut);
    T_CHECK_OK(duet_tokenizer_encode(tok, "", &pe, NULL, 0, &n, &cut));
    T_CHECK(n == 0 && cut);
    /* NULL params = defaults (eos, cleaning) */
    const tcase *cap = find_case(g, "caption");
    if (cap) {
        T_CHECK_OK(duet_tokenizer_encode(tok, cap->text, NULL, ids, MAX_IDS, &n, NULL));
        T_CHECK(n == cap->n_clean + 1 && ids[n - 1] == eos);
        if (n == cap->n_clean + 1 && !same_ids("defaults", cap->name, ids, n - 1, cap->ids_clean,
                                               cap->n_clean))
            duet_test_failures++;
    }
}

/* ---------------------------------------------------------------- error paths */

static char g_last_log[1024];
static int g_n_log;

static void capture_log(duet_log_level level, const char *msg, void *user_data) {
    (void)level;
    (void)user_data;
    snprintf(g_last_log, sizeof(g_last_log), "%s", msg);
    g_n_log++;
}

/* Expects status `want` and, when `must_name` is given, a logged message containing it. */
static void expect_fail(duet_status got, duet_status want, duet_tokenizer *const *tok,
                        const char *must_name, const char *what) {
    if (got != want) {
        fprintf(stderr, "FAIL %s: returned %s, expected %s (log: %s)\n", what,
                duet_status_str(got), duet_status_str(want), g_last_log);
        duet_test_failures++;
    }
    T_CHECK(*tok == NULL);
    if (must_name && !strstr(g_last_log, must_name)) {
        fprintf(stderr, "FAIL %s: message does not name %s: \"%s\"\n", what, must_name,
                g_last_log);
        duet_test_failures++;
    }
}

static uint8_t *read_all(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    *n = (size_t)ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *d = malloc(*n);
    if (fread(d, 1, *n, f) != *n) {
        free(d);
        d = NULL;
    }
    fclose(f);
    return d;
}

static void write_all(const char *path, const uint8_t *d, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n) abort();
    fclose(f);
}

/* A minimal protobuf walk of the test's own, to find where things are in the model file. */
static uint64_t varint(const uint8_t *d, size_t *i) {
    uint64_t v = 0;
    for (int s = 0;; s += 7) {
        const uint8_t b = d[(*i)++];
        v |= (uint64_t)(b & 0x7f) << s;
        if (!(b & 0x80)) return v;
    }
}

/* Offset and length of the k-th occurrence of field `number` (a LEN field) inside
 * d[begin, end); returns false when absent. */
static bool find_field(const uint8_t *d, size_t begin, size_t end, unsigned number, int k,
                       size_t *off, size_t *len) {
    size_t i = begin;
    while (i < end) {
        const uint64_t key = varint(d, &i);
        const unsigned wire = key & 7;
        size_t l = 0;
        if (wire == 0) varint(d, &i);
        else if (wire == 5) l = 4;
        else if (wire == 1) l = 8;
        else if (wire == 2) l = (size_t)varint(d, &i);
        if ((key >> 3) == number && wire == 2 && k-- == 0) {
            *off = i;
            *len = l;
            return true;
        }
        i += l;
    }
    return false;
}

static duet_status load_mem(const uint8_t *d, size_t n, duet_tokenizer **tok) {
    return duet_tokenizer_load_from_memory(d, n, "mutant.model", tok);
}

/* Truncated at many lengths, including every top-level field boundary before the end of
 * normalizer_spec: always DUET_ERR_FORMAT. */
static void test_truncated(const uint8_t *model, size_t n) {
    size_t norm_off = 0, norm_len = 0;
    T_CHECK(find_field(model, 0, n, 3, 0, &norm_off, &norm_len));
    const size_t must_fail_below = norm_off + norm_len;
    int n_tried = 0;
    for (size_t len = 0; len < n; len += (len < 64 ? 1 : 4099)) {
        duet_tokenizer *tok = NULL;
        duet_status s = load_mem(model, len, &tok);
        if (len < must_fail_below)
            expect_fail(s, DUET_ERR_FORMAT, &tok, "mutant.model", "prefix");
        duet_tokenizer_free(&tok);
        n_tried++;
    }
    /* field boundaries: a file cut cleanly between two fields */
    size_t i = 0;
    while (i < must_fail_below) {
        duet_tokenizer *tok = NULL;
        expect_fail(load_mem(model, i, &tok), DUET_ERR_FORMAT, &tok, NULL, "field boundary");
        duet_tokenizer_free(&tok);
        n_tried++;
        const uint64_t key = varint(model, &i);
        i += (key & 7) == 2 ? (size_t)varint(model, &i) : 0;
        if ((key & 7) == 0) varint(model, &i);
    }
    fprintf(stderr, "truncated: %d prefixes rejected\n", n_tried);
}

/* Corruptions the library itself would not catch (it would read out of bounds or abort). */
static void test_corrupted(const uint8_t *model, size_t n) {
    uint8_t *m = malloc(n);
    size_t off, len, cm_off, cm_len, t_off, t_len;
    duet_tokenizer *tok = NULL;
    T_CHECK(find_field(model, 0, n, 3, 0, &off, &len));
    T_CHECK(find_field(model, off, off + len, 2, 0, &cm_off, &cm_len));
    const uint32_t trie_nbytes = (uint32_t)model[cm_off] | (uint32_t)model[cm_off + 1] << 8 |
                                 (uint32_t)model[cm_off + 2] << 16 |
                                 (uint32_t)model[cm_off + 3] << 24;
    T_CHECK(trie_nbytes + 4 < cm_len);

    /* trie size larger than the charsmap */
    memcpy(m, model, n);
    m[cm_off + 3] = 0x7f;
    expect_fail(load_mem(m, n, &tok), DUET_ERR_FORMAT, &tok, "precompiled_charsmap",
                "trie size");
    /* root unit's offset pointing far outside the array */
    memcpy(m, model, n);
    m[cm_off + 4 + 3] = 0x7f;
    expect_fail(load_mem(m, n, &tok), DUET_ERR_FORMAT, &tok, "outside", "root offset");
    /* every leaf value made huge: replacement strings outside the charsmap */
    memcpy(m, model, n);
    int n_leaves = 0;
    for (uint32_t u = 0; u < trie_nbytes / 4; u++) {
        uint8_t *p = m + cm_off + 4 + 4 * u;
        if (p[3] & 0x80) { /* leaf units have bit 31 set */
            p[2] = 0xff;
            p[3] = 0xff;
            n_leaves++;
        }
    }
    T_CHECK(n_leaves > 100);
    expect_fail(load_mem(m, n, &tok), DUET_ERR_FORMAT, &tok, "replacement", "leaf values");

    /* a NUL byte inside a piece string (piece 3 is "<S>") */
    memcpy(m, model, n);
    size_t p_off, p_len, s_off, s_len;
    T_CHECK(find_field(model, 0, n, 1, 3, &p_off, &p_len));
    T_CHECK(find_field(model, p_off, p_off + p_len, 1, 0, &s_off, &s_len));
    T_CHECK(s_len == 3 && !memcmp(model + s_off, "<S>", 3));
    m[s_off + 1] = 0;
    expect_fail(load_mem(m, n, &tok), DUET_ERR_FORMAT, &tok, "NUL", "NUL in piece");

    /* model_type BPE: well-formed but unsupported */
    memcpy(m, model, n);
    T_CHECK(find_field(model, 0, n, 2, 0, &t_off, &t_len));
    bool patched = false;
    for (size_t i = t_off; i < t_off + t_len;) { /* trainer_spec field 3 is a varint */
        const uint64_t key = varint(model, &i);
        if (key == (3 << 3 | 0) && model[i] == 1) {
            m[i] = 2;
            patched = true;
            break;
        }
        const unsigned w = key & 7;
        if (w == 0) varint(model, &i);
        else i += w == 2 ? (size_t)varint(model, &i) : w == 5 ? 4 : 8;
    }
    T_CHECK(patched);
    expect_fail(load_mem(m, n, &tok), DUET_ERR_UNSUPPORTED, &tok, "BPE", "bpe");

    /* the library's own checks still run: a byte piece renamed to a normal piece -> 255 byte
     * pieces with byte_fallback on */
    memcpy(m, model, n);
    T_CHECK(find_field(model, 0, n, 1, 7, &p_off, &p_len)); /* "<0x00>" */
    T_CHECK(find_field(model, p_off, p_off + p_len, 1, 0, &s_off, &s_len));
    T_CHECK(s_len == 6 && !memcmp(model + s_off, "<0x00>", 6));
    m[s_off + 1] = 'y';
    expect_fail(load_mem(m, n, &tok), DUET_ERR_FORMAT, &tok, "mutant.model", "library check");
    free(m);
}

/* Random bytes and random single-byte changes: an error or a working tokenizer, never a
 * crash (run under ASan to make "never" strict). */
static void test_garbage(const uint8_t *model, size_t n) {
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint8_t buf[4096];
    for (int k = 0; k < 64; k++) {
        const size_t len = 1 + (size_t)(k * 61) % sizeof(buf);
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            buf[i] = (uint8_t)x;
        }
        duet_tokenizer *tok = NULL;
        const duet_status s = load_mem(buf, len, &tok);
        T_CHECK(s != DUET_OK && tok == NULL);
        duet_tokenizer_free(&tok);
    }
    uint8_t *m = malloc(n);
    int n_ok = 0;
    for (int k = 0; k < 48; k++) {
        memcpy(m, model, n);
        for (int j = 0; j < 1 + k % 3; j++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            m[x % n] = (uint8_t)(x >> 32);
        }
        duet_tokenizer *tok = NULL;
        if (load_mem(m, n, &tok) == DUET_OK) {
            int32_t ids[256];
            size_t n_ids;
            duet_tokenizer_encode(tok, "A red round head, \xef\xbc\xa1 caf\xc3\xa9 <S>ba<E>", NULL,
                                  ids, 256, &n_ids, NULL);
            n_ok++;
        }
        duet_tokenizer_free(&tok);
    }
    free(m);
    fprintf(stderr, "garbage: 64 random files rejected; %d of 48 mutated models still load\n",
            n_ok);
}

static void test_errors(const golden *g, const duet_tokenizer *tok) {
    duet_tokenizer *t = (duet_tokenizer *)1;
    g_n_log = 0;
    expect_fail(duet_tokenizer_load(GOLDEN "/no-such.model", &t), DUET_ERR_NOT_FOUND, &t,
                GOLDEN "/no-such.model", "missing file");
    t = NULL;
    expect_fail(duet_tokenizer_load(GOLDEN, &t), DUET_ERR_IO, &t, GOLDEN, "directory");
    expect_fail(duet_tokenizer_load(NULL, &t), DUET_ERR_INVALID_ARG, &t, NULL, "NULL path");
    T_CHECK(duet_tokenizer_load(GOLDEN "/tokenizer.model", NULL) == DUET_ERR_INVALID_ARG);
    expect_fail(load_mem(NULL, 0, &t), DUET_ERR_FORMAT, &t, "mutant.model", "empty memory");

    /* files on disk: empty, truncated mid-piece, text */
    size_t n = 0;
    uint8_t *model = read_all(GOLDEN "/tokenizer.model", &n);
    T_CHECK(model != NULL);
    if (!model) return;
    char path[512];
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof(path), "%s/duet_test_tokenizer_%d.model", dir, (int)getpid());
    write_all(path, model, 0);
    expect_fail(duet_tokenizer_load(path, &t), DUET_ERR_FORMAT, &t, path, "empty file");
    write_all(path, model, 1000);
    expect_fail(duet_tokenizer_load(path, &t), DUET_ERR_FORMAT, &t, path, "truncated file");
    write_all(path, (const uint8_t *)"this is not a model\n", 20);
    expect_fail(duet_tokenizer_load(path, &t), DUET_ERR_FORMAT, &t, path, "text file");
    remove(path);
    T_CHECK(g_n_log >= 7);

    /* encode arguments */
    int32_t ids[8];
    size_t n_ids = 5;
    T_CHECK(duet_tokenizer_encode(NULL, "a", NULL, ids, 8, &n_ids, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(n_ids == 0);
    T_CHECK(duet_tokenizer_encode(tok, NULL, NULL, ids, 8, &n_ids, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_tokenizer_encode(tok, "a", NULL, NULL, 8, &n_ids, NULL) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_tokenizer_encode(tok, "a", NULL, ids, 8, NULL, NULL) == DUET_ERR_INVALID_ARG);
    char *huge = malloc(DUET_TOKENIZER_MAX_TEXT_BYTES + 2);
    memset(huge, 'a', DUET_TOKENIZER_MAX_TEXT_BYTES + 1);
    huge[DUET_TOKENIZER_MAX_TEXT_BYTES + 1] = '\0';
    T_CHECK(duet_tokenizer_encode(tok, huge, NULL, ids, 8, &n_ids, NULL) == DUET_ERR_INVALID_ARG);
    free(huge);

    test_truncated(model, n);
    test_corrupted(model, n);
    test_garbage(model, n);

    /* failing host allocations while loading and encoding: an error, then success */
    int k;
    for (k = 0; k < 64; k++) {
        duet_alloc_fail_after(k);
        duet_tokenizer *a = NULL;
        const duet_status s = load_mem(model, n, &a);
        duet_alloc_fail_after(-1);
        if (s == DUET_OK) {
            T_CHECK(duet_tokenizer_vocab_size(a) == g->vocab_size);
            duet_tokenizer_free(&a);
            break;
        }
        T_CHECK(s == DUET_ERR_OUT_OF_MEMORY && a == NULL);
    }
    T_CHECK(k > 0 && k < 64);
    duet_alloc_fail_after(0);
    const duet_status s = duet_tokenizer_encode(tok, "a b", NULL, ids, 8, &n_ids, NULL);
    duet_alloc_fail_after(-1);
    T_CHECK(s == DUET_ERR_OUT_OF_MEMORY && n_ids == 0);
    free(model);
}

/* ---------------------------------------------------------------- threads */

typedef struct {
    const duet_tokenizer *tok;
    const golden *g;
    int bad;
} thread_arg;

static void *encode_all(void *p) {
    thread_arg *a = p;
    int32_t *ids = malloc(MAX_IDS * sizeof(*ids));
    for (int rep = 0; rep < 8; rep++)
        for (size_t i = 0; i < a->g->n; i++) {
            const tcase *c = &a->g->cases[i];
            const duet_tokenizer_encode_params prm = params(false, false);
            size_t n = 0;
            if (duet_tokenizer_encode(a->tok, c->text, &prm, ids, MAX_IDS, &n, NULL) != DUET_OK ||
                n != c->n_ids || memcmp(ids, c->ids, n * sizeof(*ids)))
                a->bad++;
        }
    free(ids);
    return NULL;
}

static void test_threads(const duet_tokenizer *tok, const golden *g) {
    enum { N_THREADS = 4 };
    pthread_t th[N_THREADS];
    thread_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (thread_arg){tok, g, 0};
        T_CHECK(pthread_create(&th[i], NULL, encode_all, &args[i]) == 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        if (args[i].bad) fprintf(stderr, "FAIL thread %d: %d wrong encodings\n", i, args[i].bad);
        T_CHECK(args[i].bad == 0);
    }
}

int main(void) {
    golden g = {0};
    if (!load_golden(&g)) {
        fprintf(stderr, "FAIL: cannot read the golden cases\n");
        return 1;
    }
    duet_tokenizer *tok = NULL;
    T_CHECK_OK(duet_tokenizer_load(GOLDEN "/tokenizer.model", &tok));
    if (!tok) return 1;
    T_CHECK(duet_tokenizer_vocab_size(tok) == g.vocab_size);
    T_CHECK(duet_tokenizer_eos_id(tok) == g.eos_id);
    T_CHECK(duet_tokenizer_pad_id(tok) == g.pad_id);
    T_CHECK(duet_tokenizer_unk_id(tok) == g.unk_id);

    test_golden_ids(tok, &g);
    test_truncation(tok, &g);
    test_threads(tok, &g);
    duet_log_set_callback(capture_log, NULL);
    test_errors(&g, tok);
    duet_log_set_callback(NULL, NULL);

    duet_tokenizer_free(&tok);
    T_CHECK(tok == NULL);
    duet_tokenizer_free(&tok);
    duet_tokenizer_free(NULL);
    free_golden(&g);
    if (duet_test_failures) fprintf(stderr, "%d check(s) failed\n", duet_test_failures);
    else fprintf(stderr, "all checks passed\n");
    return duet_test_failures ? 1 : 0;
}
