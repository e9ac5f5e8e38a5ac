/* duet — unit test of duet_text_encode_prompt (encoders/text_prompt.c), the tokenizer chained
 * with the text encoder: on the CPU backend, with the tokenizer model of
 * tests/golden/tokenizer/ (300 pieces) and a small random text encoder (vocab 300, dim 16,
 * text_len 12) written to a temporary file, the chained call must give bit for bit what
 * duet_tokenizer_encode followed by duet_text_encoder_encode gives, with Wan's truncation to
 * text_len (EOS last), the output's own row count as a further bound, the empty prompt as the
 * lone EOS, and a tokenizer larger than the encoder's table refused. (The encoder's numerics
 * are checked by tests/golden/test_text_encoder.c, the tokenizer's by test_tokenizer.c.) */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "encoders/text_prompt.h"
#include "harness.h"

#define TOKENIZER_MODEL DUET_TEST_DATA_DIR "/golden/tokenizer/tokenizer.model"
#define DIM 16
#define TEXT_LEN 12

static const duet_text_encoder_config config = {
    .vocab_size = 300, .dim = DIM, .dim_attn = DIM, .dim_ffn = 24, .n_heads = 2,
    .n_layers = 1, .n_buckets = 32, .max_dist = 128, .text_len = TEXT_LEN, .eps = 1e-6f};

/* Random weights with Wan's names (layer 0 only) for `vocab` tokens, written to `path`. */
static bool write_weights(const char *path, int64_t vocab) {
    static const struct {
        const char *name;
        int64_t ne0, ne1; /* innermost first */
    } t[] = {{"token_embedding.weight", DIM, 0},        {"norm.weight", DIM, 1},
             {"blocks.0.norm1.weight", DIM, 1},         {"blocks.0.norm2.weight", DIM, 1},
             {"blocks.0.attn.q.weight", DIM, DIM},      {"blocks.0.attn.k.weight", DIM, DIM},
             {"blocks.0.attn.v.weight", DIM, DIM},      {"blocks.0.attn.o.weight", DIM, DIM},
             {"blocks.0.ffn.gate.0.weight", DIM, 24},   {"blocks.0.ffn.fc1.weight", DIM, 24},
             {"blocks.0.ffn.fc2.weight", 24, DIM},
             {"blocks.0.pos_embedding.embedding.weight", 2, 32}};
    enum { N = sizeof t / sizeof t[0] };
    duet_safetensors_entry e[N];
    float *data[N];
    bool ok = true;
    for (int i = 0; i < N; i++) {
        int64_t ne1 = t[i].ne1 ? t[i].ne1 : vocab;
        data[i] = duet_test_rand((size_t)(t[i].ne0 * ne1), 100 + (uint64_t)i, -1.0f, 1.0f);
        e[i] = (duet_safetensors_entry){t[i].name, DUET_F32, ne1 == 1 ? 1 : 2,
                                        {t[i].ne0, ne1 == 1 ? 1 : ne1}, data[i]};
        ok = ok && data[i];
    }
    ok = ok && duet_safetensors_write(path, e, N, NULL, 0) == DUET_OK;
    for (int i = 0; i < N; i++) free(data[i]);
    return ok;
}

static duet_text_encoder *load_encoder(const char *path, duet_backend *be, int64_t vocab) {
    duet_safetensors *st = NULL;
    duet_text_encoder *m = NULL;
    duet_text_encoder_config c = config;
    c.vocab_size = vocab;
    if (write_weights(path, vocab) && duet_safetensors_open(path, &st) == DUET_OK)
        T_CHECK_OK(duet_text_encoder_load(&c, st, "", be, NULL, &m));
    duet_safetensors_close(&st);
    remove(path);
    T_CHECK(m != NULL);
    return m;
}

/* The chained call against tokenizer + encoder by hand, into an output of n_rows rows. */
static void check_prompt(duet_text_encoder_session *s, const duet_tokenizer *tok,
                         duet_arena *a, duet_backend *be, const char *text, int64_t n_rows,
                         int64_t want_n) {
    duet_tensor *got = duet_tensor_new4(a, be, DUET_F32, DIM, n_rows, 1, 1);
    duet_tensor *ref = duet_tensor_new4(a, be, DUET_F32, DIM, n_rows, 1, 1);
    int32_t ids[TEXT_LEN];
    size_t n = 0;
    int64_t n_tokens = -1;
    T_CHECK_OK(duet_text_encode_prompt(s, tok, text, got, &n_tokens));
    T_CHECK_OK(duet_tokenizer_encode(tok, text, NULL, ids, (size_t)n_rows, &n, NULL));
    T_CHECK_OK(duet_text_encoder_encode(s, ids, (int64_t)n, ref));
    if (n_tokens != want_n || (int64_t)n != want_n)
        fprintf(stderr, "FAIL: \"%.30s\": %lld tokens, by hand %zu, expected %lld\n", text,
                (long long)n_tokens, n, (long long)want_n);
    T_CHECK(n_tokens == want_n && (int64_t)n == want_n);
    T_CHECK(n > 0 && ids[n - 1] == duet_tokenizer_eos_id(tok));
    float g[DIM * TEXT_LEN], r[DIM * TEXT_LEN];
    T_CHECK_OK(duet_tensor_get_f32(got, g));
    T_CHECK_OK(duet_tensor_get_f32(ref, r));
    T_CHECK(!memcmp(g, r, (size_t)(DIM * n_rows) * sizeof *g));
}

int main(void) {
    duet_backend_params bp = duet_backend_default_params();
    bp.kind = DUET_BACKEND_CPU;
    duet_backend *be = NULL;
    duet_tokenizer *tok = NULL;
    T_CHECK_OK(duet_backend_new(&bp, &be));
    T_CHECK_OK(duet_tokenizer_load(TOKENIZER_MODEL, &tok));
    if (!be || !tok) {
        duet_tokenizer_free(&tok);
        return duet_test_end(&be, be ? 1 : 0);
    }
    char path[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/duet_test_text_prompt_%ld.safetensors", tmp, (long)getpid());
    duet_text_encoder *m = load_encoder(path, be, 300);
    duet_text_encoder_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    if (m) T_CHECK_OK(duet_text_encoder_session_new(m, TEXT_LEN, &s));
    if (s && a) {
        check_prompt(s, tok, a, be, "  the   head <AUDCAP>", TEXT_LEN, 10); /* cleaned */
        check_prompt(s, tok, a, be, "<S>hi<E>", TEXT_LEN, 6);
        check_prompt(s, tok, a, be, "", TEXT_LEN, 1);
        const char *lng = "a red round head talks and a blue square head listens while a ball "
                          "bounces on the floor with a loud thud";
        check_prompt(s, tok, a, be, lng, TEXT_LEN, TEXT_LEN);
        check_prompt(s, tok, a, be, lng, 5, 5);
    }
    duet_text_encoder_session_free(&s);
    duet_text_encoder_free(&m);
    /* a tokenizer with more pieces than the encoder has rows */
    m = load_encoder(path, be, 200);
    if (m && duet_text_encoder_session_new(m, TEXT_LEN, &s) == DUET_OK && a) {
        duet_tensor *out = duet_tensor_new4(a, be, DUET_F32, DIM, TEXT_LEN, 1, 1);
        fprintf(stderr, "expect an error about 300 pieces and 200 rows:\n");
        T_CHECK(duet_text_encode_prompt(s, tok, "hi", out, NULL) == DUET_ERR_INVALID_ARG);
    }
    duet_text_encoder_session_free(&s);
    duet_text_encoder_free(&m);
    duet_arena_free(&a);
    duet_tokenizer_free(&tok);
    return duet_test_end(&be, 1);
}
