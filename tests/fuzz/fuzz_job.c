/* duet — libFuzzer target for job scripts: any bytes through duet_job_load_string (jansson,
 * the validator, error positions and messages), and the position walker and the prompt-tag
 * checker directly on the raw bytes, which the loader only hands them after jansson accepted.
 * No file is touched (base_dir NULL). Seed corpus: the samples/ folder; dictionary: job.dict.
 *   clang -fsanitize=fuzzer,address,undefined ... ; ./fuzz_job -dict=tests/fuzz/job.dict samples */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli/job.h"
#include "cli/jsonpos.h"
#include "core/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void quiet(duet_log_level level, const char *msg, void *user_data) {
    (void)level;
    (void)user_data;
    /* read the message so a bad format string or a missing NUL shows up under ASan */
    volatile size_t n = strlen(msg);
    (void)n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    duet_log_set_callback(quiet, NULL);
    const char *text = (const char *)data;
    duet_job *job = NULL;
    if (duet_job_load_string(text, size, "fuzz.json", NULL, NULL, &job) == DUET_OK) {
        if (!job || job->n_shots < 1 || !job->shots[0].prompt || job->shots[0].n_frames < 1)
            abort();
    } else if (job) {
        abort();
    }
    duet_job_free(&job);

    static const duet_jsonpos_seg paths[][3] = {
        {{"shots", 0}, {NULL, 1}, {"prompt", 0}}, {{NULL, 0}, {NULL, 2}, {"a", 0}}};
    duet_jsonpos k, v;
    for (int i = 0; i < 2; i++)
        for (int n = 0; n <= 3; n++)
            if (duet_jsonpos_find(text, size, paths[i], n, &k, &v) &&
                (v.offset >= size || k.offset > v.offset))
                abort();
    for (size_t q = 0; q < size && q < 64; q++)
        if (duet_jsonpos_string_offset(text, size, q, q) > size) abort();

    char *z = malloc(size + 1); /* the tag checker wants a NUL-terminated string */
    if (z) {
        memcpy(z, data, size);
        z[size] = '\0';
        duet_job_tag_issue is[4];
        int n = duet_job_check_tags(z, is, 4);
        for (int i = 0; i < n && i < 4; i++)
            if (is[i].offset >= size) abort();
        free(z);
    }
    return 0;
}
