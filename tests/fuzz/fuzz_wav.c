/* duet — libFuzzer target for the WAV parser (audio/wav_io.c, duet_wav_read_mem). Any input
 * must either decode (every returned sample readable) or fail with a logged error; crashes,
 * leaks and undefined behaviour are found by the sanitizers this is built with. */
#include <stddef.h>
#include <stdint.h>

#include "audio/wav_io.h"
#include "core/alloc.h"
#include "core/log.h"

static void quiet(duet_log_level level, const char *msg, void *user_data) {
    (void)level;
    (void)msg;
    (void)user_data;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duet_log_set_callback(quiet, NULL);
    duet_wav_read_params p = duet_wav_default_read_params();
    p.max_frames = 1 << 20; /* keep allocations small: the fuzzer's inputs claim anything */
    float *pcm = NULL;
    int64_t n = 0;
    duet_wav_info info;
    if (duet_wav_read_mem(data, size, "fuzz.wav", &p, &pcm, &n, &info) == DUET_OK) {
        volatile float sink = 0;
        for (int64_t i = 0; i < n; i++) sink += pcm[i];
        (void)sink;
    }
    duet_free(pcm);
    return 0;
}
