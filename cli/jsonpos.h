/* duet — source positions of JSON values. jansson 2.14 gives line:column for syntax errors
 * only; once a document has parsed, its values carry no position. The job-script validator
 * needs one for every semantic error ("job.json:14:9: shots[2].duration_s: must be > 0"), so
 * this module walks the original text a second time, lazily, to the member or element named
 * by a path. Nothing is indexed up front: errors are few and each lookup is one linear scan.
 *
 * Positions: line and column are 1-based; a column counts UTF-8 code points from the start of
 * the line (a tab is one column), which is what jansson's own error column counts, so syntax
 * and semantic errors are reported in the same unit.
 *
 * The walker expects text that a JSON parser has already accepted, but it never reads outside
 * [text, text + len) and simply reports "not found" on anything it does not understand, so it
 * is safe on arbitrary bytes (tests/fuzz/fuzz_job.c feeds it those). No allocation; all
 * functions are thread-safe. */
#ifndef DUET_JSONPOS_H
#define DUET_JSONPOS_H

#include <stdbool.h>
#include <stddef.h>

typedef struct {
    size_t offset; /* byte offset in the text */
    int line;      /* 1-based */
    int col;       /* 1-based, in code points */
} duet_jsonpos;

/* One step of a path: an object member by key (key != NULL, compared with the decoded key
 * bytes), or an array element by 0-based index (key == NULL). */
typedef struct {
    const char *key;
    size_t index;
} duet_jsonpos_seg;

/* Line and column of a byte offset (offsets past the end are clamped to len). */
duet_jsonpos duet_jsonpos_at(const char *text, size_t len, size_t offset);

/* Find the value reached from the root by segs[0..n_segs). n_segs == 0 names the root.
 * On success fills *value with the first character of the value ('{', '[', '"', a digit, ...)
 * and *key (may be NULL) with the opening quote of the member's key, or the value position
 * when the last step is an array index or the root. Returns false when the path is absent or
 * the text is not well formed along the way; the outputs are then untouched. */
bool duet_jsonpos_find(const char *text, size_t len, const duet_jsonpos_seg *segs, int n_segs,
                       duet_jsonpos *key, duet_jsonpos *value);

/* Byte offset in the text of decoded byte `index` of the string literal whose opening quote
 * is at `quote_offset` (escapes such as \n or \u00e9 take several source bytes per decoded
 * character; a decoded byte inside a multi-byte escape maps to the escape's backslash).
 * An index at or past the end of the string maps to the closing quote. Returns quote_offset
 * when the text there is not a string. */
size_t duet_jsonpos_string_offset(const char *text, size_t len, size_t quote_offset,
                                  size_t index);

#endif
