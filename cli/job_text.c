/* duet — text checks for job scripts: Ovi prompt tags (speech <S>..<E>, sound description
 * <AUDCAP>..<ENDAUDCAP>, as Ovi's prompts use them) and "did you mean" suggestions for
 * misspelt field names and values (edit distance). Pure functions, no allocation. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "job.h"

enum { TAG_S, TAG_E, TAG_AUDCAP, TAG_ENDAUDCAP, TAG_COUNT };
static const char *const tag_names[TAG_COUNT] = {"S", "E", "AUDCAP", "ENDAUDCAP"};

typedef struct {
    duet_job_tag_issue *out;
    int max, n;
} issues;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void issue(issues *is, size_t offset, const char *fmt, ...) {
    if (is->n < is->max) {
        duet_job_tag_issue *x = &is->out[is->n];
        x->offset = offset;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(x->msg, sizeof x->msg, fmt, ap);
        va_end(ap);
    }
    is->n++;
}

static bool blank(const char *s, size_t a, size_t b) {
    for (size_t i = a; i < b; i++)
        if (!isspace((unsigned char)s[i])) return false;
    return true;
}

/* A '<' at p followed by letters: returns the tag index, TAG_COUNT for a tag-shaped word that
 * is not one of ours (reported), or -1 when this '<' is ordinary text. *end: past the tag. */
static int read_tag(const char *s, size_t p, size_t *end, issues *is) {
    size_t j = p + 1, k;
    if (s[j] == '/') j++;
    for (k = j; isalpha((unsigned char)s[k]); k++) {}
    if (k == j || k - j > 32) return -1;
    int len = (int)(k - p - 1);
    if (s[k] != '>') {
        for (int t = 0; t < TAG_COUNT; t++)
            if (k - j == strlen(tag_names[t]) && !strncmp(s + j, tag_names[t], k - j)) {
                issue(is, p, "tag <%s is missing its '>'", tag_names[t]);
                *end = k;
                return TAG_COUNT;
            }
        return -1;
    }
    *end = k + 1;
    for (int t = 0; t < TAG_COUNT; t++)
        if (s[p + 1] != '/' && (size_t)len == strlen(tag_names[t]) &&
            !strncmp(s + p + 1, tag_names[t], (size_t)len))
            return t;
    char word[40];
    snprintf(word, sizeof word, "%.*s", (int)(k - j), s + j);
    const char *best = duet_job_suggest(word, tag_names, TAG_COUNT);
    if (best)
        issue(is, p, "unknown tag <%.*s>; did you mean <%s>?", len, s + p + 1, best);
    else
        issue(is, p, "unknown tag <%.*s> (tags: <S> <E> <AUDCAP> <ENDAUDCAP>)", len, s + p + 1);
    return TAG_COUNT;
}

int duet_job_check_tags(const char *s, duet_job_tag_issue *out, int max) {
    issues is = {out, max, 0};
    int open = -1;                 /* TAG_S or TAG_AUDCAP while a span is open */
    size_t open_at = 0, body = 0;  /* the opening tag's offset, the span's first byte */
    for (size_t p = 0; s[p];) {
        size_t end = p + 1;
        int t = s[p] == '<' ? read_tag(s, p, &end, &is) : -1;
        if (t < 0 || t == TAG_COUNT) {
            p = end;
            continue;
        }
        /* After a mistake, carry on as if the writer's intent was followed (a new opening
         * tag closes the open span, any closing tag closes it), so one slip gives one error. */
        if (t == TAG_S || t == TAG_AUDCAP) {
            if (open >= 0)
                issue(&is, p, "<%s> inside <%s>: close <%s> with <%s> first", tag_names[t],
                      tag_names[open], tag_names[open], tag_names[open + 1]);
            open = t;
            open_at = p;
            body = end;
        } else { /* a closing tag: TAG_E closes TAG_S, TAG_ENDAUDCAP closes TAG_AUDCAP */
            int opener = t - 1;
            if (open == opener) {
                if (blank(s, body, p)) issue(&is, open_at, "empty <%s> span", tag_names[open]);
            } else if (open >= 0) {
                issue(&is, p, "<%s> closes <%s>, but the open tag is <%s> (close it with <%s>)",
                      tag_names[t], tag_names[opener], tag_names[open], tag_names[open + 1]);
            } else {
                issue(&is, p, "<%s> without an open <%s>", tag_names[t], tag_names[opener]);
            }
            open = -1;
        }
        p = end;
    }
    if (open >= 0)
        issue(&is, open_at, "<%s> is never closed (expected <%s>)", tag_names[open],
              tag_names[open + 1]);
    return is.n;
}

int duet_job_edit_distance(const char *a, const char *b, int cap) {
    enum { MAXLEN = 64 };
    size_t la = strlen(a), lb = strlen(b);
    if (la >= MAXLEN || lb >= MAXLEN) return cap + 1;
    int d = (int)(la > lb ? la - lb : lb - la);
    if (d > cap) return cap + 1;
    int rows[3][MAXLEN + 1]; /* rows i, i-1 and i-2 of the dynamic programme, i modulo 3 */
    for (size_t j = 0; j <= lb; j++) rows[0][j] = (int)j;
    for (size_t i = 1; i <= la; i++) {
        int *cur = rows[i % 3], *prev = rows[(i + 2) % 3], *pp = rows[(i + 1) % 3];
        cur[0] = (int)i;
        int row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
            int v = prev[j - 1] + (ca != cb);
            if (prev[j] + 1 < v) v = prev[j] + 1;
            if (cur[j - 1] + 1 < v) v = cur[j - 1] + 1;
            if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) &&
                tolower((unsigned char)a[i - 2]) == cb && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            cur[j] = v;
            if (v < row_min) row_min = v;
        }
        if (row_min > cap) return cap + 1;
    }
    int r = rows[la % 3][lb];
    return r > cap ? cap + 1 : r;
}

const char *duet_job_suggest(const char *word, const char *const *candidates, int n) {
    size_t len = strlen(word);
    int cap = len <= 3 ? 1 : len <= 6 ? 2 : 3;
    const char *best = NULL;
    int best_d = cap + 1;
    for (int i = 0; i < n; i++) {
        int d = duet_job_edit_distance(word, candidates[i], cap);
        if (d < best_d) {
            best_d = d;
            best = candidates[i];
        }
    }
    return best;
}
