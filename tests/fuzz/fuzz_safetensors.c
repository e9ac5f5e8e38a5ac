/* duet — libFuzzer target for the safetensors reader (core/safetensors.c). Any input must give
 * OK or an error status, never a crash, leak or sanitizer report; accepted files must satisfy
 * the reader's promises (each tensor's bytes inside the input, size = elements x dtype size,
 * lookup by name finds the same entry), which are checked here with abort(). Small accepted
 * tensors are also loaded onto the CPU backend in every float dtype to exercise conversion.
 * Built only with -Dfuzz=true and clang; see docs/testing.md. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/backend.h"
#include "core/log.h"
#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(duet_log_level level, const char *msg, void *user_data) {
    (void)level, (void)msg, (void)user_data;
}

static duet_backend *g_cpu;

static void check_tensor(const duet_safetensors *st, const duet_safetensors_tensor *t,
                         const uint8_t *data, size_t size) {
    const uint8_t *p = t->data;
    if (duet_safetensors_find(st, t->name) != t) abort();
    if (t->n_dims < 1 || t->n_dims > DUET_MAX_DIMS) abort();
    uint64_t n = 1;
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        if (t->ne[i] < 0 || (i >= t->n_dims && t->ne[i] != 1)) abort();
        n *= (uint64_t)t->ne[i]; /* cannot overflow: the reader checked */
    }
    if (n * duet_dtype_size(t->dtype) != t->nbytes) abort();
    if (t->nbytes && (p < data || p > data + size || t->nbytes > (size_t)(data + size - p)))
        abort();
    volatile uint8_t sink = 0;
    if (t->nbytes) sink ^= p[0] ^ p[t->nbytes - 1]; /* ASan checks these bytes are ours */
    (void)sink;
}

static void load_small(const duet_safetensors *st, const duet_safetensors_tensor *t) {
    if (!g_cpu || t->nbytes == 0 || t->nbytes > 4096) return;
    duet_arena *a = duet_arena_new(0);
    if (!a) return;
    const duet_dtype want[3] = {DUET_F32, DUET_F16, DUET_BF16};
    for (int k = 0; k < 3; k++) {
        duet_tensor *x = NULL;
        duet_dtype d = t->dtype == DUET_I32 ? DUET_I32 : want[k];
        if (duet_safetensors_load(st, t->name, a, g_cpu, d, &x) == DUET_OK && !x) abort();
    }
    duet_arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static int init;
    if (!init) {
        init = 1;
        duet_log_set_callback(quiet, NULL);
        duet_backend_params p = duet_backend_default_params();
        p.kind = DUET_BACKEND_CPU;
        p.n_threads = 1;
        if (duet_backend_new(&p, &g_cpu) != DUET_OK) abort();
    }
    duet_safetensors *st = NULL;
    if (duet_safetensors_open_memory(data, size, "fuzz", &st) != DUET_OK) {
        if (st) abort();
        return 0;
    }
    for (size_t i = 0; i < duet_safetensors_count(st); i++) {
        check_tensor(st, duet_safetensors_get(st, i), data, size);
        load_small(st, duet_safetensors_get(st, i));
    }
    for (size_t i = 0; i < duet_safetensors_metadata_count(st); i++) {
        const char *k = NULL, *v = NULL;
        if (duet_safetensors_metadata_at(st, i, &k, &v) != DUET_OK || !k || !v) abort();
        if (duet_safetensors_metadata(st, k) != v) abort();
    }
    duet_safetensors_close(&st);
    return 0;
}
