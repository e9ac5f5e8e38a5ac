/* duet — structural check of a SentencePiece model file before libsentencepiece sees it.
 *
 * Where it sits: duet_tokenizer_load (tokenizer.c) calls duet_spm_check on the file's bytes,
 * then hands them to the library (spm_shim.cc). The library validates most of the model itself
 * (protobuf parsing, duplicate or missing pieces, byte pieces), but it trusts two things a
 * damaged or hostile file controls:
 *   - the precompiled normalization charsmap, a darts-clone double-array trie that the
 *     library walks with no bounds checks (darts.h commonPrefixSearch), taking matches into a
 *     fixed array of 32 results (normalizer.cc, Normalizer::kMaxTrieResultsSize) and reading
 *     as many as it counted, and replacement strings at offsets read from the trie;
 *   - NUL bytes inside piece strings, which become C-string keys of the library's own tries.
 * It also quietly accepts a file truncated exactly between two fields (missing trainer_spec or
 * normalizer_spec, which changes normalization without a word). This file walks the protobuf
 * wire format (sentencepiece_model.proto: ModelProto fields 1 pieces, 2 trainer_spec,
 * 3 normalizer_spec, 5 denormalizer_spec) and every charsmap trie, so those cases become
 * DUET_ERR_FORMAT with the byte offset instead of a crash.
 *
 * Charsmap layout (normalizer.cc, EncodePrecompiledCharsMap): u32 LE trie size in bytes, the
 * trie's u32 LE units, then the NUL-terminated replacement strings. A darts-clone unit holds a
 * label (bits 0..7, bit 31 set on leaf units), a has-leaf flag (bit 8) and an offset
 * (unit >> 10, shifted left by 8 when bit 9 is set); a leaf unit's value is bits 0..30. From a
 * node whose children start at `base`, the child for byte c is unit base ^ c when its label
 * is c, and its children start at (base ^ c) ^ offset. darts-clone shares suffix subtrees, so
 * the trie is a DAG, not a tree. */
#include "encoders/spm_internal.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };
enum { MAX_TRIE_RESULTS = 32 }; /* normalizer.h, Normalizer::kMaxTrieResultsSize */

typedef struct {
    const uint8_t *file; /* start of the file, for offsets in messages */
    char *err;
    size_t err_cap;
    long n_pieces, n_trainer, n_normalizer;
    uint64_t model_type; /* last one wins, as in protobuf; 1 = UNIGRAM (the default) */
} check_ctx;

typedef struct {
    uint32_t number, wire;
    uint64_t value;      /* varint or fixed value */
    const uint8_t *data; /* WIRE_LEN payload */
    size_t len;
    const uint8_t *at; /* the field's key */
} pb_field;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static duet_status fail(check_ctx *c, const uint8_t *at, const char *fmt, ...) {
    if (!c->err || c->err_cap == 0) return DUET_ERR_FORMAT;
    int n = snprintf(c->err, c->err_cap, "byte %zu: ", (size_t)(at - c->file));
    if (n < 0 || (size_t)n >= c->err_cap) return DUET_ERR_FORMAT;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err + n, c->err_cap - (size_t)n, fmt, ap);
    va_end(ap);
    return DUET_ERR_FORMAT;
}

static bool read_varint(const uint8_t **p, const uint8_t *end, uint64_t *v) {
    uint64_t r = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (*p >= end) return false;
        const uint8_t b = *(*p)++;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            *v = r;
            return true;
        }
    }
    return false; /* more than 10 bytes */
}

/* Reads the next field of a message ending at `end`. Returns 1 (a field), 0 (end of message)
 * or -1 (malformed; message in c->err). `what` names the message in messages. */
static int next_field(check_ctx *c, const uint8_t **p, const uint8_t *end, pb_field *f,
                      const char *what) {
    *f = (pb_field){.at = *p};
    if (*p >= end) return 0;
    uint64_t key;
    if (!read_varint(p, end, &key)) {
        fail(c, f->at, "%s: field key runs past the end of its data (truncated file?)", what);
        return -1;
    }
    f->number = (uint32_t)(key >> 3);
    f->wire = (uint32_t)(key & 7);
    if (key >> 3 == 0 || key >> 3 > 0x1fffffff) {
        fail(c, f->at, "%s: invalid field number %" PRIu64, what, key >> 3);
        return -1;
    }
    size_t need = 0;
    switch (f->wire) {
    case WIRE_VARINT:
        if (!read_varint(p, end, &f->value)) {
            fail(c, f->at, "%s: field %u: varint runs past the end (truncated file?)", what,
                 f->number);
            return -1;
        }
        return 1;
    case WIRE_I64: need = 8; break;
    case WIRE_I32: need = 4; break;
    case WIRE_LEN:
        if (!read_varint(p, end, &f->value)) {
            fail(c, f->at, "%s: field %u: length runs past the end (truncated file?)", what,
                 f->number);
            return -1;
        }
        need = f->value > (uint64_t)SIZE_MAX ? SIZE_MAX : (size_t)f->value;
        break;
    default:
        fail(c, f->at, "%s: field %u has wire type %u, which SentencePiece models never use",
             what, f->number, f->wire);
        return -1;
    }
    if (need > (size_t)(end - *p)) {
        fail(c, f->at, "%s: field %u needs %zu bytes but only %zu remain (truncated file?)", what,
             f->number, need, (size_t)(end - *p));
        return -1;
    }
    f->data = *p;
    f->len = need;
    if (f->wire == WIRE_I32) f->value = (uint64_t)f->data[0] | (uint64_t)f->data[1] << 8 |
                                        (uint64_t)f->data[2] << 16 | (uint64_t)f->data[3] << 24;
    *p += need;
    return 1;
}

static duet_status want_wire(check_ctx *c, const pb_field *f, uint32_t wire, const char *what) {
    if (f->wire == wire) return DUET_OK;
    return fail(c, f->at, "%s: field %u has wire type %u, expected %u", what, f->number, f->wire,
                wire);
}

static uint32_t unit_at(const uint8_t *units, uint32_t i) {
    const uint8_t *u = units + (size_t)i * 4;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 | (uint32_t)u[3] << 24;
}
static uint32_t unit_label(uint32_t u) { return u & ((1u << 31) | 0xffu); }
static bool unit_has_leaf(uint32_t u) { return (u >> 8) & 1u; }
static uint32_t unit_offset(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }
static uint32_t unit_value(uint32_t u) { return u & ((1u << 31) - 1); }

typedef struct {
    uint32_t idx;  /* the node's unit; UINT32_MAX for the root */
    uint32_t base; /* where its children start */
    uint16_t next_c;
    uint8_t best;  /* most leaves on a path below, so far */
    uint8_t leaf;  /* 1 if this node ends a key */
} trie_frame;

typedef struct {
    check_ctx *c;
    const char *what;  /* "normalizer_spec" or "denormalizer_spec", for messages */
    const uint8_t *at; /* the charsmap field, for messages */
    const uint8_t *units;
    uint32_t n_units;
    size_t last_nul; /* replacement strings: index of the last NUL + 1 (0: none) */
    uint8_t *state;  /* per unit: 0 unseen, 1 on the DFS stack, 2 done */
    uint8_t *most;   /* per unit, when done: most leaves on a path from it */
    trie_frame *stack;
    size_t depth, cap;
} trie_walk;

static duet_status trie_push(trie_walk *w, uint32_t idx, uint32_t base, uint8_t leaf) {
    if ((base | 0xffu) >= w->n_units) {
        if (idx == UINT32_MAX)
            return fail(w->c, w->at, "%s: charsmap trie: the root points outside the %u-unit "
                        "array", w->what, w->n_units);
        return fail(w->c, w->at, "%s: charsmap trie: unit %u points outside the %u-unit "
                    "array", w->what, idx, w->n_units);
    }
    if (w->depth == w->cap) {
        const size_t cap = w->cap ? w->cap * 2 : 64;
        trie_frame *s = duet_realloc(w->stack, cap * sizeof(*s));
        if (!s) return DUET_ERR_OUT_OF_MEMORY;
        w->stack = s;
        w->cap = cap;
    }
    w->stack[w->depth++] = (trie_frame){idx, base, 0, 0, leaf};
    if (idx != UINT32_MAX) w->state[idx] = 1;
    return DUET_OK;
}

/* Depth-first over every node the library can reach, with the most leaves along any path
 * computed bottom-up (memoized per unit, since subtrees are shared). */
static duet_status trie_walk_all(trie_walk *w, uint32_t root_base) {
    duet_status s = trie_push(w, UINT32_MAX, root_base, 0);
    while (s == DUET_OK && w->depth > 0) {
        trie_frame *f = &w->stack[w->depth - 1];
        if (f->next_c == 256) {
            const unsigned total = (unsigned)f->leaf + f->best;
            if (total > MAX_TRIE_RESULTS)
                return fail(w->c, w->at, "%s: charsmap trie: an input can match %u rules, "
                            "more than SentencePiece's limit of %d", w->what, total,
                            MAX_TRIE_RESULTS);
            if (f->idx != UINT32_MAX) {
                w->state[f->idx] = 2;
                w->most[f->idx] = (uint8_t)total;
            }
            w->depth--;
            if (w->depth > 0 && total > w->stack[w->depth - 1].best)
                w->stack[w->depth - 1].best = (uint8_t)total;
            continue;
        }
        const uint32_t c = f->next_c++;
        const uint32_t idx = f->base ^ c;
        const uint32_t u = unit_at(w->units, idx);
        if (unit_label(u) != c) continue;
        if (w->state[idx] == 2) {
            if (w->most[idx] > f->best) f->best = w->most[idx];
            continue;
        }
        if (w->state[idx] == 1)
            return fail(w->c, w->at, "%s: charsmap trie: cycle through unit %u", w->what,
                        idx);
        const uint32_t child = idx ^ unit_offset(u);
        if (unit_has_leaf(u)) {
            if (child >= w->n_units)
                return fail(w->c, w->at, "%s: charsmap trie: leaf of unit %u outside the "
                            "array", w->what, idx);
            const uint32_t v = unit_value(unit_at(w->units, child));
            if ((size_t)v >= w->last_nul)
                return fail(w->c, w->at, "%s: charsmap trie: replacement offset %u is not a "
                            "NUL-terminated string inside the charsmap", w->what, v);
        }
        s = trie_push(w, idx, child, unit_has_leaf(u) ? 1 : 0);
    }
    return s;
}

static duet_status check_charsmap(check_ctx *c, const pb_field *f, const char *what) {
    if (f->len == 0) return DUET_OK; /* no normalization rules: the library skips the trie */
    if (f->len < 4)
        return fail(c, f->at, "%s: precompiled_charsmap of %zu bytes is too short", what, f->len);
    const uint32_t trie_nbytes = (uint32_t)f->data[0] | (uint32_t)f->data[1] << 8 |
                                 (uint32_t)f->data[2] << 16 | (uint32_t)f->data[3] << 24;
    if ((size_t)trie_nbytes > f->len - 4 || trie_nbytes < 4)
        return fail(c, f->at, "%s: precompiled_charsmap: trie size %" PRIu32 " does not fit its "
                    "%zu bytes", what, trie_nbytes, f->len);
    trie_walk w = {.c = c, .what = what, .at = f->at, .units = f->data + 4,
                   .n_units = trie_nbytes / 4};
    const uint8_t *norm = f->data + 4 + trie_nbytes;
    for (size_t i = f->len - 4 - trie_nbytes; i > 0; i--)
        if (norm[i - 1] == 0) {
            w.last_nul = i;
            break;
        }
    w.state = duet_calloc(w.n_units, 2);
    if (!w.state) return DUET_ERR_OUT_OF_MEMORY;
    w.most = w.state + w.n_units;
    const duet_status s = trie_walk_all(&w, unit_offset(unit_at(w.units, 0)));
    duet_free(w.stack);
    duet_free(w.state);
    return s;
}

static duet_status check_piece(check_ctx *c, const pb_field *outer) {
    char what[64];
    snprintf(what, sizeof(what), "piece %ld", c->n_pieces);
    const uint8_t *p = outer->data, *end = outer->data + outer->len;
    pb_field f;
    int r;
    while ((r = next_field(c, &p, end, &f, what)) > 0) {
        duet_status s = DUET_OK;
        if (f.number == 1) { /* piece */
            s = want_wire(c, &f, WIRE_LEN, what);
            if (s == DUET_OK && memchr(f.data, 0, f.len))
                s = fail(c, f.at, "%s: the piece string contains a NUL byte", what);
        } else if (f.number == 2) { /* score */
            s = want_wire(c, &f, WIRE_I32, what);
        } else if (f.number == 3) { /* type */
            s = want_wire(c, &f, WIRE_VARINT, what);
        }
        if (s != DUET_OK) return s;
    }
    return r < 0 ? DUET_ERR_FORMAT : DUET_OK;
}

static duet_status check_trainer_spec(check_ctx *c, const pb_field *outer) {
    const uint8_t *p = outer->data, *end = outer->data + outer->len;
    pb_field f;
    int r;
    while ((r = next_field(c, &p, end, &f, "trainer_spec")) > 0) {
        if (f.number == 3) { /* model_type */
            duet_status s = want_wire(c, &f, WIRE_VARINT, "trainer_spec");
            if (s != DUET_OK) return s;
            c->model_type = f.value;
        }
    }
    return r < 0 ? DUET_ERR_FORMAT : DUET_OK;
}

static duet_status check_normalizer_spec(check_ctx *c, const pb_field *outer, const char *what) {
    const uint8_t *p = outer->data, *end = outer->data + outer->len;
    pb_field f;
    int r;
    while ((r = next_field(c, &p, end, &f, what)) > 0) {
        if (f.number == 2) { /* precompiled_charsmap */
            duet_status s = want_wire(c, &f, WIRE_LEN, what);
            if (s == DUET_OK) s = check_charsmap(c, &f, what);
            if (s != DUET_OK) return s;
        }
    }
    return r < 0 ? DUET_ERR_FORMAT : DUET_OK;
}

static duet_status check_top_field(check_ctx *c, const pb_field *f) {
    static const char *const names[] = {"", "pieces", "trainer_spec", "normalizer_spec",
                                        "self_test_data", "denormalizer_spec"};
    if (f->number > 5) return DUET_OK; /* unknown fields: protobuf skips them */
    duet_status s = want_wire(c, f, WIRE_LEN, names[f->number]);
    if (s != DUET_OK) return s;
    switch (f->number) {
    case 1:
        s = check_piece(c, f);
        c->n_pieces++;
        return s;
    case 2: c->n_trainer++; return check_trainer_spec(c, f);
    case 3: c->n_normalizer++; return check_normalizer_spec(c, f, "normalizer_spec");
    case 5: return check_normalizer_spec(c, f, "denormalizer_spec");
    default: return DUET_OK;
    }
}

duet_status duet_spm_check(const uint8_t *data, size_t nbytes, char *err, size_t err_cap) {
    check_ctx c = {.file = data, .err = err, .err_cap = err_cap, .model_type = 1};
    if (err && err_cap) err[0] = '\0';
    if (nbytes == 0) return fail(&c, data, "empty file");
    const uint8_t *p = data, *end = data + nbytes;
    pb_field f;
    int r;
    while ((r = next_field(&c, &p, end, &f, "model")) > 0) {
        duet_status s = check_top_field(&c, &f);
        if (s != DUET_OK) return s;
    }
    if (r < 0) return DUET_ERR_FORMAT;
    if (c.n_pieces == 0) return fail(&c, end, "no pieces: not a SentencePiece model");
    if (c.n_trainer == 0)
        return fail(&c, end, "no trainer_spec: not a SentencePiece model, or truncated");
    if (c.n_normalizer == 0)
        return fail(&c, end, "no normalizer_spec: not a SentencePiece model, or truncated");
    if (c.model_type != 1) {
        static const char *const types[] = {"", "UNIGRAM", "BPE", "WORD", "CHAR"};
        if (c.model_type >= 2 && c.model_type <= 4) {
            fail(&c, end, "model_type %s: only unigram models are supported",
                 types[c.model_type]);
            return DUET_ERR_UNSUPPORTED;
        }
        return fail(&c, end, "unknown model_type %" PRIu64, c.model_type);
    }
    return DUET_OK;
}
