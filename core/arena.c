/* duet — metadata arenas: a chain of blocks, freed at once, plus a list of owned buffers. */
#include "arena.h"

#include "alloc.h"
#include "backend.h"

typedef struct block {
    struct block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} block;

struct duet_arena {
    block *head;
    size_t block_bytes;
    duet_buffer **bufs;
    size_t n_bufs, cap_bufs;
};

duet_arena *duet_arena_new(size_t block_bytes) {
    duet_arena *a = duet_calloc(1, sizeof *a);
    if (!a) return NULL;
    a->block_bytes = block_bytes ? block_bytes : 64 * 1024;
    return a;
}

void duet_arena_free(duet_arena **pa) {
    if (!pa || !*pa) return;
    duet_arena *a = *pa;
    for (size_t i = a->n_bufs; i-- > 0;) {
        duet_buffer *b = a->bufs[i];
        b->backend->vt->buffer_free(b->backend, b);
    }
    duet_free(a->bufs);
    for (block *b = a->head; b;) {
        block *n = b->next;
        duet_free(b);
        b = n;
    }
    duet_free(a);
    *pa = NULL;
}

void *duet_arena_alloc(duet_arena *a, size_t nbytes) {
    nbytes = (nbytes + 15) & ~(size_t)15;
    if (!a->head || a->head->cap - a->head->used < nbytes) {
        size_t cap = nbytes > a->block_bytes ? nbytes : a->block_bytes;
        block *b = duet_malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->next = a->head;
        b->used = 0;
        b->cap = cap;
        a->head = b;
    }
    unsigned char *p = a->head->data + a->head->used;
    a->head->used += nbytes;
    for (size_t i = 0; i < nbytes; i++) p[i] = 0;
    return p;
}

int duet_arena_own_buffer(duet_arena *a, duet_buffer *buf) {
    if (a->n_bufs == a->cap_bufs) {
        size_t cap = a->cap_bufs ? 2 * a->cap_bufs : 16;
        duet_buffer **nb = duet_realloc(a->bufs, cap * sizeof *nb);
        if (!nb) return -1;
        a->bufs = nb;
        a->cap_bufs = cap;
    }
    a->bufs[a->n_bufs++] = buf;
    return 0;
}
