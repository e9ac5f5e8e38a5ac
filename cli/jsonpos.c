/* duet — source positions of JSON values (see jsonpos.h). A second, lazy walk over text that
 * jansson already accepted: skip whitespace, strings and whole containers until the path's
 * member or element is reached. Written for RFC 8259 text; every read is bounds-checked so a
 * malformed or hostile input ends the walk with "not found", never a crash. */
#include "jsonpos.h"

#include <stdint.h>
#include <string.h>

static size_t skip_ws(const char *t, size_t len, size_t p) {
    while (p < len && (t[p] == ' ' || t[p] == '\t' || t[p] == '\n' || t[p] == '\r')) p++;
    return p;
}

static int hex4(const char *t, size_t len, size_t p, uint32_t *out) {
    if (len < 4 || p > len - 4) return -1;
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) {
        char c = t[p + (size_t)i];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (uint32_t)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

static int utf8_put(uint32_t cp, unsigned char out[4]) {
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xC0 | (cp >> 6));
        out[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xE0 | (cp >> 12));
        out[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (unsigned char)(0xF0 | (cp >> 18));
    out[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Decode the source unit at *p inside a string literal (one raw byte or one escape, a
 * surrogate pair counting as one escape) into out. Returns the number of decoded bytes and
 * advances *p; 0 at the closing quote (not advanced); -1 on a malformed or truncated string. */
static int decode_unit(const char *t, size_t len, size_t *p, unsigned char out[4]) {
    if (*p >= len) return -1;
    unsigned char c = (unsigned char)t[*p];
    if (c == '"') return 0;
    if (c != '\\') {
        out[0] = c;
        (*p)++;
        return 1;
    }
    if (*p + 1 >= len) return -1;
    char e = t[*p + 1];
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *hit = e ? strchr(from, e) : NULL;
    if (hit) {
        out[0] = (unsigned char)to[hit - from];
        *p += 2;
        return 1;
    }
    if (e != 'u') return -1;
    uint32_t cp, lo;
    if (hex4(t, len, *p + 2, &cp)) return -1;
    size_t next = *p + 6;
    if (cp >= 0xD800 && cp < 0xDC00 && next + 1 < len && t[next] == '\\' && t[next + 1] == 'u' &&
        !hex4(t, len, next + 2, &lo) && lo >= 0xDC00 && lo < 0xE000) {
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
        next += 6;
    }
    *p = next;
    return utf8_put(cp, out);
}

/* *p at an opening quote: move past the closing quote. */
static bool skip_string(const char *t, size_t len, size_t *p) {
    unsigned char tmp[4];
    size_t q = *p + 1;
    int n;
    while ((n = decode_unit(t, len, &q, tmp)) > 0) {}
    if (n < 0) return false;
    *p = q + 1;
    return true;
}

/* *p at the first character of a value: move past its last character. Containers are
 * skipped by counting brackets (strings skipped whole), so nesting depth costs no stack. */
static bool skip_value(const char *t, size_t len, size_t *p) {
    if (*p >= len) return false;
    char c = t[*p];
    if (c == '"') return skip_string(t, len, p);
    if (c == '{' || c == '[') {
        size_t depth = 0, q = *p;
        while (q < len) {
            c = t[q];
            if (c == '"') {
                if (!skip_string(t, len, &q)) return false;
                continue;
            }
            if (c == '{' || c == '[') depth++;
            else if (c == '}' || c == ']') depth--;
            q++;
            if (depth == 0) {
                *p = q;
                return true;
            }
        }
        return false;
    }
    size_t q = *p;
    while (q < len && !strchr(",]} \t\r\n", t[q]) && t[q] != '\0') q++;
    if (q == *p) return false;
    *p = q;
    return true;
}

/* *p at an opening quote: compare the decoded key with `key`; moves past the closing quote.
 * Returns 1 on a match, 0 on a mismatch, -1 on a malformed string. */
static int key_equals(const char *t, size_t len, size_t *p, const char *key) {
    size_t q = *p + 1, k = 0, klen = strlen(key);
    bool same = true;
    unsigned char buf[4];
    int n;
    while ((n = decode_unit(t, len, &q, buf)) > 0) {
        for (int i = 0; i < n; i++, k++)
            if (k >= klen || (unsigned char)key[k] != buf[i]) same = false;
    }
    if (n < 0) return -1;
    *p = q + 1;
    return same && k == klen;
}

/* *p at '{': move to the value of member `key`, *key_at to its key's opening quote. */
static bool enter_member(const char *t, size_t len, size_t *p, const char *key, size_t *key_at) {
    if (*p >= len || t[*p] != '{') return false;
    size_t q = skip_ws(t, len, *p + 1);
    while (q < len && t[q] == '"') {
        size_t kq = q;
        int m = key_equals(t, len, &q, key);
        if (m < 0) return false;
        q = skip_ws(t, len, q);
        if (q >= len || t[q] != ':') return false;
        q = skip_ws(t, len, q + 1);
        if (m == 1) {
            *p = q;
            *key_at = kq;
            return true;
        }
        if (!skip_value(t, len, &q)) return false;
        q = skip_ws(t, len, q);
        if (q >= len || t[q] != ',') return false;
        q = skip_ws(t, len, q + 1);
    }
    return false;
}

/* *p at '[': move to element `index`. */
static bool enter_element(const char *t, size_t len, size_t *p, size_t index) {
    if (*p >= len || t[*p] != '[') return false;
    size_t q = skip_ws(t, len, *p + 1);
    for (size_t i = 0; i < index; i++) {
        if (q >= len || t[q] == ']' || !skip_value(t, len, &q)) return false;
        q = skip_ws(t, len, q);
        if (q >= len || t[q] != ',') return false;
        q = skip_ws(t, len, q + 1);
    }
    if (q >= len || t[q] == ']') return false;
    *p = q;
    return true;
}

duet_jsonpos duet_jsonpos_at(const char *text, size_t len, size_t offset) {
    duet_jsonpos r = {offset < len ? offset : len, 1, 1};
    for (size_t i = 0; i < r.offset; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '\n') {
            r.line++;
            r.col = 1;
        } else if ((c & 0xC0) != 0x80) {
            r.col++;
        }
    }
    return r;
}

bool duet_jsonpos_find(const char *text, size_t len, const duet_jsonpos_seg *segs, int n_segs,
                       duet_jsonpos *key, duet_jsonpos *value) {
    if (!text) return false;
    size_t p = skip_ws(text, len, 0);
    if (p >= len) return false;
    size_t key_at = p;
    for (int i = 0; i < n_segs; i++) {
        if (segs[i].key) {
            if (!enter_member(text, len, &p, segs[i].key, &key_at)) return false;
        } else {
            if (!enter_element(text, len, &p, segs[i].index)) return false;
            key_at = p;
        }
    }
    if (p >= len) return false;
    if (value) *value = duet_jsonpos_at(text, len, p);
    if (key) *key = duet_jsonpos_at(text, len, key_at);
    return true;
}

size_t duet_jsonpos_string_offset(const char *text, size_t len, size_t quote_offset,
                                  size_t index) {
    if (!text || quote_offset >= len || text[quote_offset] != '"') return quote_offset;
    size_t p = quote_offset + 1, decoded = 0;
    unsigned char buf[4];
    for (;;) {
        size_t start = p;
        int n = decode_unit(text, len, &p, buf);
        if (n <= 0 || decoded + (size_t)n > index) return start;
        decoded += (size_t)n;
    }
}
