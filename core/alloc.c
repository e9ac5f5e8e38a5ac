/* duet — host allocation wrapper with a failure-injection hook for tests. */
#include "alloc.h"

#include <stdlib.h>
#include <string.h>

static long g_fail_after = -1;

static int should_fail(void) {
    if (g_fail_after < 0) return 0;
    if (g_fail_after == 0) return 1;
    g_fail_after--;
    return 0;
}

void duet_alloc_fail_after(long n) { g_fail_after = n; }

void *duet_malloc(size_t nbytes) { return should_fail() ? NULL : malloc(nbytes ? nbytes : 1); }

void *duet_calloc(size_t n, size_t size) { return should_fail() ? NULL : calloc(n ? n : 1, size ? size : 1); }

void *duet_realloc(void *p, size_t nbytes) { return should_fail() ? NULL : realloc(p, nbytes ? nbytes : 1); }

void duet_free(void *p) { free(p); }

char *duet_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = duet_malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}
