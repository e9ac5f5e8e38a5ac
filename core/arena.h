/* duet — arenas for tensor metadata. Everything allocated from an arena is freed at once by
 * duet_arena_free(), including backend buffers registered with duet_arena_own_buffer(). */
#ifndef DUET_ARENA_H
#define DUET_ARENA_H

#include <stddef.h>

#include "tensor.h"

/* block_bytes: size of each metadata block (0 = 64 KiB). NULL on allocation failure. */
duet_arena *duet_arena_new(size_t block_bytes);
/* Frees metadata and releases owned buffers in reverse order. Accepts NULL; clears *a. */
void duet_arena_free(duet_arena **a);
/* Zeroed, 16-byte aligned. NULL on failure. */
void *duet_arena_alloc(duet_arena *a, size_t nbytes);
/* The arena releases `buf` through its backend when freed. */
int duet_arena_own_buffer(duet_arena *a, duet_buffer *buf);

#endif
