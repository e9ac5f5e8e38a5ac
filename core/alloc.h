/* duet — host allocation wrapper. Every host allocation in the library goes through these so
 * tests can make the n-th allocation fail on purpose (duet_alloc_fail_after). */
#ifndef DUET_ALLOC_H
#define DUET_ALLOC_H

#include <stddef.h>

/* Like malloc/calloc/realloc/free; return NULL on failure (and log nothing: callers do). */
void *duet_malloc(size_t nbytes);
void *duet_calloc(size_t n, size_t size);
void *duet_realloc(void *p, size_t nbytes);
void duet_free(void *p);
char *duet_strdup(const char *s);

/* Test hook: after `n` more successful allocations, every allocation fails until reset with
 * n < 0. Not thread-safe; tests only. */
void duet_alloc_fail_after(long n);

#endif
