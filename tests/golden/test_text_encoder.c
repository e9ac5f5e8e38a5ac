/* duet — golden test of the umT5-style text encoder (encoders/text_encoder.c) against the PyTorch
 * reference written by tools/golden/text_encoder.py (tests/golden/text_encoder.safetensors:
 * random weights with Wan's T5 names under "text_encoder.", f16 matrices of >= 1024 elements and
 * f32 otherwise as duet-tiny's export stores them; vocab 50, dim 32, dim_attn 24 = 3 heads of 8,
 * FFN 40, 2 layers, 32 buckets, max distance 128; two prompts of 140 and 9 ids encoded as Ovi
 * does: a masked padded batch, trimmed and zero-padded to text_len 150 rows; computed in float64
 * by tools/duet_tiny/text.py). On every backend under test, one session encodes prompt 0, prompt
 * 1, prompt 0 again (the bucket table is rebuilt for each length and nothing carries over), each
 * into a [dim, 150] output (padding rows must be exactly zero) and, for prompt 1, into a trimmed
 * [dim, 9] output. The same on tests/golden/text_encoder_umt5.safetensors (those weights all
 * rounded to bf16, saved as a .pth and converted by tools/convert_umt5.py, as umT5-XXL reaches
 * duet) against out_allbf16. The token table is tried on the device and in host memory
 * (DUET_TEXT_EMBEDDING_HOST, what umT5-XXL's 2.1 GB table gets). Also: weights forced to f32
 * (same values, same tolerance) and to bf16 (against the reference recomputed with the same
 * rounding); the bucket function against PyTorch's for every relative position in [-300, 300];
 * bad weights, configs and inputs refused with an error that names the culprit; every host
 * allocation of load + plan + encode made to fail in turn.
 * Tolerances (normalized mean squared error): CPU_NMSE for f32 arithmetic on the CPU, GPU_NMSE on
 * Vulkan; measured 6e-14 to 2e-13 on both (lavapipe). The subtlest semantic slips cost far more
 * (tools/golden/text_encoder.py --slips: GELU-erf for GELU-tanh 2.7e-8, eps 1e-5 2.5e-2, layer
 * 0's position table everywhere 4e-2, unmasked padding 7.9e-2, max_dist 64 1.4e-1, 1/sqrt(d)
 * scaling 3e-1). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "encoders/text_encoder.h"
#include "golden_util.h"
#include "harness.h"

#define CPU_NMSE 1e-10
#define GPU_NMSE 1e-9
#define PREFIX "text_encoder."
#define N_SEQ 2

static const char *const golden_path = DUET_TEST_DATA_DIR "/golden/text_encoder.safetensors";
/* the same weights rounded to bf16, saved as a .pth and converted by tools/convert_umt5.py */
static const char *const umt5_path = DUET_TEST_DATA_DIR "/golden/text_encoder_umt5.safetensors";

typedef struct {
    const duet_safetensors *st;
    duet_text_encoder_config cfg;
    int32_t *ids;          /* [N_SEQ, max_len] */
    int64_t max_len;
    int32_t len[N_SEQ];
    float *out, *out_bf16, *out_allbf16; /* [N_SEQ, text_len, dim] */
} golden;

/* ---------------------------------------------------------------- golden file */

static bool read_golden(const duet_safetensors *st, golden *g) {
    memset(g, 0, sizeof *g);
    g->st = st;
    const char *json = duet_safetensors_metadata(st, "config");
    const duet_safetensors_tensor *ids = duet_safetensors_find(st, "ids");
    bool ok = json && ids && ids->n_dims == 2 && ids->ne[1] == N_SEQ &&
              duet_text_encoder_config_parse(json, strlen(json), "golden metadata", &g->cfg) ==
                  DUET_OK;
    if (!ok) {
        fprintf(stderr, "FAIL: %s: config or ids unusable\n", golden_path);
        duet_test_failures++;
        return false;
    }
    g->max_len = ids->ne[0];
    const size_t n_out = (size_t)(N_SEQ * g->cfg.text_len * g->cfg.dim);
    int32_t *len = duet_golden_read(st, "lengths", DUET_I32, N_SEQ, NULL);
    g->ids = duet_golden_read(st, "ids", DUET_I32, (size_t)(N_SEQ * g->max_len), NULL);
    g->out = duet_golden_read(st, "out", DUET_F32, n_out, NULL);
    g->out_bf16 = duet_golden_read(st, "out_bf16w", DUET_F32, n_out, NULL);
    g->out_allbf16 = duet_golden_read(st, "out_allbf16", DUET_F32, n_out, NULL);
    ok = len && g->ids && g->out && g->out_bf16 && g->out_allbf16;
    for (int i = 0; ok && i < N_SEQ; i++) {
        g->len[i] = len[i];
        ok = len[i] >= 1 && len[i] <= g->max_len && len[i] <= g->cfg.text_len;
    }
    free(len);
    T_CHECK(ok);
    /* the reference must be worth matching: the long prompt reaches past max_dist */
    T_CHECK(ok && g->max_len > g->cfg.max_dist && g->cfg.dim_attn != g->cfg.dim);
    return ok;
}

static void free_golden(golden *g) {
    free(g->ids);
    free(g->out);
    free(g->out_bf16);
    free(g->out_allbf16);
}

/* ---------------------------------------------------------------- buckets */

static void check_buckets(const golden *g) {
    const duet_safetensors_tensor *t = duet_safetensors_find(g->st, "buckets");
    const int64_t n = t ? t->ne[0] : 0, r0 = -(n - 1) / 2;
    int32_t *want = duet_golden_read(g->st, "buckets", DUET_I32, (size_t)n, NULL);
    int n_bad = 0;
    for (int64_t i = 0; want && i < n; i++) {
        int32_t got = duet_text_encoder_bucket(r0 + i, g->cfg.n_buckets, g->cfg.max_dist);
        if (got != want[i] && n_bad++ < 5)
            fprintf(stderr, "FAIL: bucket(%lld) = %d, PyTorch %d\n", (long long)(r0 + i),
                    (int)got, (int)want[i]);
    }
    T_CHECK(want && n > 0 && n_bad == 0);
    if (want) fprintf(stderr, "buckets: rel %lld .. %lld equal PyTorch's\n", (long long)r0,
                      (long long)(r0 + n - 1));
    free(want);
}

/* ---------------------------------------------------------------- runs */

/* Encodes prompt i into `out` ([dim, n_rows]) and compares with the reference's first n_rows
 * rows of prompt i; rows past the prompt must be exactly zero. */
static void run_prompt(const golden *g, duet_text_encoder_session *s, duet_tensor *out, int i,
                       const float *ref, const char *label, double tol) {
    const int64_t dim = g->cfg.dim, n_rows = out->ne[1];
    const size_t n = (size_t)(dim * n_rows);
    float *got = malloc(n * sizeof *got);
    T_CHECK_OK(duet_text_encoder_encode(s, g->ids + i * g->max_len, g->len[i], out));
    char name[192];
    snprintf(name, sizeof name, "%s, prompt %d (%d ids) into %lld rows", label, i,
             (int)g->len[i], (long long)n_rows);
    if (!got || duet_tensor_get_f32(out, got) != DUET_OK) {
        fprintf(stderr, "FAIL %s: cannot read the result\n", name);
        duet_test_failures++;
        free(got);
        return;
    }
    const float *want = ref + (size_t)(i * g->cfg.text_len * dim);
    duet_golden_report(name, got, want, n, tol);
    size_t n_nonzero = 0;
    for (size_t j = (size_t)(g->len[i] * dim); j < n; j++) n_nonzero += got[j] != 0.0f;
    if (n_nonzero) fprintf(stderr, "FAIL %s: %zu padding values not zero\n", name, n_nonzero);
    T_CHECK(n_nonzero == 0);
    free(got);
}

static void run_backend(const golden *g, const duet_safetensors *st,
                        const duet_text_encoder_config *cfg, duet_backend *be, duet_dtype dtype,
                        duet_text_embedding_place place, const float *ref, bool all_cases,
                        double tol) {
    duet_text_encoder_load_params lp = duet_text_encoder_default_load_params();
    lp.weight_dtype = dtype;
    lp.embedding = place;
    duet_text_encoder *m = NULL;
    duet_text_encoder_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    const int64_t dim = g->cfg.dim, text_len = g->cfg.text_len;
    char label[96];
    snprintf(label, sizeof label, "text encoder on %s, %s weights%s, %s embedding",
             duet_backend_get_kind(be) == DUET_BACKEND_CPU ? "cpu" : "vulkan",
             dtype == DUET_DTYPE_COUNT ? "stored" : duet_dtype_name(dtype),
             st == g->st ? "" : " (converted .pth)",
             place == DUET_TEXT_EMBEDDING_HOST ? "host" : "device");
    duet_tensor *out = a ? duet_tensor_new4(a, be, DUET_F32, dim, text_len, 1, 1) : NULL;
    duet_tensor *trim = a ? duet_tensor_new4(a, be, DUET_F32, dim, g->len[1], 1, 1) : NULL;
    bool ready = out && trim &&
                 duet_text_encoder_load(cfg, st, PREFIX, be, &lp, &m) == DUET_OK &&
                 duet_text_encoder_session_new(m, text_len, &s) == DUET_OK;
    T_CHECK(ready);
    /* AUTO keeps the golden's small table on the device */
    T_CHECK(!m || duet_text_encoder_embedding_on_host(m) == (place == DUET_TEXT_EMBEDDING_HOST));
    if (ready) {
        run_prompt(g, s, out, 0, ref, label, tol);
        if (all_cases) {
            run_prompt(g, s, out, 1, ref, label, tol);
            run_prompt(g, s, trim, 1, ref, label, tol);
            run_prompt(g, s, out, 0, ref, label, tol);
        }
    }
    duet_text_encoder_session_free(&s);
    duet_text_encoder_free(&m);
    duet_arena_free(&a);
}

/* ---------------------------------------------------------------- bad weights */

/* Loading `path` with `cfg` under `prefix` fails with `want`, and a message names `needle`. */
static void expect_load_error_at(const duet_text_encoder_config *cfg, const char *path,
                                 const char *prefix, duet_backend *be,
                                 duet_text_embedding_place place, duet_status want,
                                 const char *needle) {
    duet_safetensors *st = NULL;
    duet_text_encoder *m = NULL;
    duet_text_encoder_load_params lp = duet_text_encoder_default_load_params();
    lp.embedding = place;
    T_CHECK_OK(duet_safetensors_open(path, &st));
    if (!st) return;
    duet_golden_capture_begin();
    duet_status s = duet_text_encoder_load(cfg, st, prefix, be, &lp, &m);
    T_CHECK(duet_golden_capture_end(needle));
    if (s != want)
        fprintf(stderr, "FAIL: loading %s gave %s, expected %s\n", path, duet_status_str(s),
                duet_status_str(want));
    T_CHECK(s == want && m == NULL);
    duet_text_encoder_free(&m);
    duet_safetensors_close(&st);
}

static void expect_load_error(const duet_text_encoder_config *cfg, const char *path,
                              const char *prefix, duet_backend *be, duet_status want,
                              const char *needle) {
    expect_load_error_at(cfg, path, prefix, be, DUET_TEXT_EMBEDDING_AUTO, want, needle);
}

static void check_bad_weights(const golden *g, duet_backend *be) {
    char path[256];
    const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    snprintf(path, sizeof path, "%s/duet_test_text_encoder_%ld.safetensors", tmp,
             (long)getpid());
    const char *missing = PREFIX "blocks.1.ffn.fc1.weight";
    const char *wrong = PREFIX "blocks.0.attn.o.weight";
    const char *shared = PREFIX "pos_embedding.embedding.weight"; /* shared_pos=True's table */
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.drop = missing}))
        expect_load_error(&g->cfg, path, PREFIX, be, DUET_ERR_NOT_FOUND, missing);
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.narrow = wrong}))
        expect_load_error(&g->cfg, path, PREFIX, be, DUET_ERR_FORMAT, wrong);
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.extra = shared}))
        expect_load_error(&g->cfg, path, PREFIX, be, DUET_ERR_FORMAT, shared);
    /* the token table on the host is checked the same way */
    const duet_text_embedding_place host = DUET_TEXT_EMBEDDING_HOST;
    const char *embed = PREFIX "token_embedding.weight";
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.drop = embed}))
        expect_load_error_at(&g->cfg, path, PREFIX, be, host, DUET_ERR_NOT_FOUND, embed);
    if (duet_golden_write_variant(g->st, path, &(duet_golden_variant){.narrow = embed}))
        expect_load_error_at(&g->cfg, path, PREFIX, be, host, DUET_ERR_FORMAT, embed);
    remove(path);
    /* fewer layers than the file's */
    duet_text_encoder_config one = g->cfg;
    one.n_layers = 1;
    expect_load_error(&one, golden_path, PREFIX, be, DUET_ERR_FORMAT, PREFIX "blocks.1.");
    /* 4 heads of 6 fit the projections but not the position tables [32, 3] */
    duet_text_encoder_config four = g->cfg;
    four.n_heads = 4;
    expect_load_error(&four, golden_path, PREFIX, be, DUET_ERR_FORMAT,
                      PREFIX "blocks.0.pos_embedding.embedding.weight");
    /* no prefix: the encoder's tensors are not found under their bare names */
    expect_load_error(&g->cfg, golden_path, "", be, DUET_ERR_NOT_FOUND,
                      "tensor token_embedding.weight not found");
}

/* ---------------------------------------------------------------- bad inputs, configs */

static void expect_encode_error(duet_text_encoder_session *s, const int32_t *ids, int64_t n,
                                duet_tensor *out, const char *needle) {
    duet_golden_capture_begin();
    T_CHECK(duet_text_encoder_encode(s, ids, n, out) == DUET_ERR_INVALID_ARG);
    T_CHECK(duet_golden_capture_end(needle));
}

static void check_bad_inputs(const golden *g, duet_backend *be) {
    duet_text_encoder *m = NULL;
    duet_text_encoder_session *s = NULL;
    duet_arena *a = duet_arena_new(0);
    const int64_t dim = g->cfg.dim, n = g->len[1];
    duet_tensor *out = a ? duet_tensor_new4(a, be, DUET_F32, dim, n, 1, 1) : NULL;
    duet_tensor *wide = a ? duet_tensor_new4(a, be, DUET_F32, dim + 1, n, 1, 1) : NULL;
    bool ready = out && wide &&
                 duet_text_encoder_load(&g->cfg, g->st, PREFIX, be, NULL, &m) == DUET_OK &&
                 duet_text_encoder_session_new(m, n, &s) == DUET_OK;
    T_CHECK(ready);
    if (ready) {
        int32_t ids[64];
        memcpy(ids, g->ids + g->max_len, (size_t)n * sizeof *ids);
        ids[3] = (int32_t)g->cfg.vocab_size;
        expect_encode_error(s, ids, n, out, "at position 3 is out of range");
        ids[3] = -1;
        expect_encode_error(s, ids, n, out, "at position 3 is out of range");
        expect_encode_error(s, g->ids, n + 1, out, "the session takes 1 to");
        expect_encode_error(s, g->ids, 0, out, "the session takes 1 to");
        expect_encode_error(s, g->ids + g->max_len, n, wide, "out must be contiguous f32");
        expect_encode_error(s, g->ids + g->max_len, n, NULL, "out must be contiguous f32");
        T_CHECK_OK(duet_text_encoder_encode(s, g->ids + g->max_len, n, out));
        T_CHECK_OK(duet_text_encoder_encode(s, g->ids + g->max_len, n - 2, out));
    }
    duet_text_encoder_session *s2 = NULL;
    duet_golden_capture_begin();
    T_CHECK(duet_text_encoder_session_new(m, 0, &s2) == DUET_ERR_INVALID_ARG && !s2);
    T_CHECK(duet_golden_capture_end("max_tokens 0"));
    duet_text_encoder_session_free(&s);
    duet_text_encoder_free(&m);
    duet_arena_free(&a);
}

static void expect_config_error(const char *json, duet_status want, const char *needle) {
    duet_text_encoder_config cfg;
    duet_golden_capture_begin();
    duet_status s = duet_text_encoder_config_parse(json, strlen(json), "bad.json", &cfg);
    T_CHECK(duet_golden_capture_end(needle));
    if (s != want) fprintf(stderr, "FAIL: config %s gave %s\n", json, duet_status_str(s));
    T_CHECK(s == want);
}

static void check_configs(const golden *g) {
    T_CHECK(g->cfg.vocab_size == 50 && g->cfg.dim == 32 && g->cfg.dim_attn == 24 &&
            g->cfg.dim_ffn == 40 && g->cfg.n_heads == 3 && g->cfg.n_layers == 2 &&
            g->cfg.n_buckets == 32 && g->cfg.max_dist == 128 && g->cfg.text_len == 150 &&
            g->cfg.eps == 1e-6f);
    /* duet-tiny's config.json: the encoder under text_encoder, among other keys; defaults */
    const char *tiny = "{\"model\": \"duet-tiny\", \"clip\": {\"fps\": 16}, \"text_encoder\": "
                       "{\"vocab_size\": 512, \"dim\": 128, \"dim_ffn\": 256, \"num_heads\": 4, "
                       "\"num_layers\": 2, \"text_len\": 64, \"tokenizer\": \"tokenizer.model\"}}";
    duet_text_encoder_config c;
    T_CHECK_OK(duet_text_encoder_config_parse(tiny, strlen(tiny), "config.json", &c));
    T_CHECK(c.dim_attn == 128 && c.n_buckets == 32 && c.max_dist == 128 && c.eps == 1e-6f &&
            c.text_len == 64 && c.vocab_size == 512);
    duet_text_encoder_config x = duet_text_encoder_config_umt5_xxl();
    T_CHECK(x.vocab_size == 256384 && x.dim == 4096 && x.n_heads == 64 && x.n_layers == 24 &&
            x.dim_ffn == 10240 && x.text_len == 512);
    expect_config_error("{\"vocab_size\": 8, \"dim\": 8, \"num_heads\": 2, \"num_layers\": 1}",
                        DUET_ERR_FORMAT, "bad.json: text_encoder.dim_ffn: required");
    expect_config_error("{\"vocab_size\": 8, \"dim\": 8, \"dim_ffn\": 8, \"num_heads\": 3, "
                        "\"num_layers\": 1}", DUET_ERR_FORMAT, "num_heads: must divide");
    expect_config_error("{\"vocab_size\": 8, \"dim\": 8, \"dim_ffn\": 8, \"num_heads\": 2, "
                        "\"num_layers\": 1, \"eps\": \"x\"}", DUET_ERR_FORMAT,
                        "text_encoder.eps: must be a number");
    expect_config_error("{\"vocab_size\": 8, \"dim\": 8.5}", DUET_ERR_FORMAT,
                        "text_encoder.dim: must be an integer");
    expect_config_error("{\"text_encoder\": 3}", DUET_ERR_FORMAT, "must be an object");
    expect_config_error("{\"dim\": ", DUET_ERR_FORMAT, "bad.json:1:");
}

/* ---------------------------------------------------------------- allocation failures */

typedef struct {
    const golden *g;
    const duet_text_encoder_load_params *lp;
    duet_tensor *out;
} encode_call;

/* Loads, plans and encodes prompt 1 (run with the n-th host allocation failing). */
static duet_status load_plan_encode(void *user, duet_backend *be) {
    const encode_call *c = user;
    const golden *g = c->g;
    duet_text_encoder *m = NULL;
    duet_text_encoder_session *s = NULL;
    duet_status st = duet_text_encoder_load(&g->cfg, g->st, PREFIX, be, c->lp, &m);
    T_CHECK((st == DUET_OK) == (m != NULL));
    if (st == DUET_OK) st = duet_text_encoder_session_new(m, g->len[1], &s);
    if (st == DUET_OK) st = duet_text_encoder_encode(s, g->ids + g->max_len, g->len[1], c->out);
    duet_text_encoder_session_free(&s);
    duet_text_encoder_free(&m);
    return st;
}

/* Every host allocation of load + plan + one encode made to fail in turn: each must end in
 * an out-of-memory status (no crash, no leak under ASan); the run with none failing works. */
static void check_alloc_failures(const golden *g, duet_backend *be,
                                 duet_text_embedding_place place) {
    duet_text_encoder_load_params lp = duet_text_encoder_default_load_params();
    lp.embedding = place;
    duet_arena *a = duet_arena_new(0);
    duet_tensor *out = a ? duet_tensor_new4(a, be, DUET_F32, g->cfg.dim, g->len[1], 1, 1)
                         : NULL;
    T_CHECK(out != NULL);
    const encode_call call = {g, &lp, out};
    long n = out ? duet_golden_alloc_failures(load_plan_encode, (void *)&call, be, 100000, true)
                 : -1;
    fprintf(stderr, "allocation failures (%s embedding): %ld points of load + plan + encode, "
            "all reported\n", place == DUET_TEXT_EMBEDDING_HOST ? "host" : "device", n);
    duet_arena_free(&a);
}

/* The converter's output: its config metadata (sizes read off the shapes, Wan's constants)
 * must describe the golden encoder, and every tensor must be bf16. */
static bool open_converted(const golden *g, duet_safetensors **st,
                           duet_text_encoder_config *cfg) {
    T_CHECK_OK(duet_safetensors_open(umt5_path, st));
    const char *json = *st ? duet_safetensors_metadata(*st, "config") : NULL;
    bool ok = json && duet_text_encoder_config_parse(json, strlen(json), umt5_path, cfg) ==
                          DUET_OK;
    ok = ok && cfg->vocab_size == g->cfg.vocab_size && cfg->dim == g->cfg.dim &&
         cfg->dim_attn == g->cfg.dim_attn && cfg->dim_ffn == g->cfg.dim_ffn &&
         cfg->n_heads == g->cfg.n_heads && cfg->n_layers == g->cfg.n_layers &&
         cfg->n_buckets == 32 && cfg->max_dist == 128 && cfg->text_len == 512 &&
         cfg->eps == 1e-6f;
    for (size_t i = 0; ok && i < duet_safetensors_count(*st); i++)
        ok = duet_safetensors_get(*st, i)->dtype == DUET_BF16 &&
             !strncmp(duet_safetensors_get(*st, i)->name, PREFIX, strlen(PREFIX));
    if (!ok) fprintf(stderr, "FAIL: %s: config metadata, dtypes or names unexpected\n", umt5_path);
    T_CHECK(ok);
    return ok;
}

int main(void) {
    duet_backend *bes[2];
    int nb = duet_test_backends(bes, 2);
    duet_safetensors *st = NULL;
    if (nb < 1 || !duet_golden_open(golden_path, "tools/golden/text_encoder.py", &st))
        return duet_test_end(bes, nb);
    golden g;
    duet_safetensors *umt5 = NULL;
    if (read_golden(st, &g)) {
        check_configs(&g);
        check_buckets(&g);
        check_bad_weights(&g, bes[0]);
        check_bad_inputs(&g, bes[0]);
        check_alloc_failures(&g, bes[0], DUET_TEXT_EMBEDDING_DEVICE);
        check_alloc_failures(&g, bes[0], DUET_TEXT_EMBEDDING_HOST);
        duet_text_encoder_config ucfg;
        bool have_umt5 = open_converted(&g, &umt5, &ucfg);
        for (int b = 0; b < nb; b++) {
            double tol = duet_backend_get_kind(bes[b]) == DUET_BACKEND_CPU ? CPU_NMSE : GPU_NMSE;
            const duet_text_embedding_place dev = DUET_TEXT_EMBEDDING_AUTO,
                                            host = DUET_TEXT_EMBEDDING_HOST;
            run_backend(&g, st, &g.cfg, bes[b], DUET_DTYPE_COUNT, dev, g.out, true, tol);
            run_backend(&g, st, &g.cfg, bes[b], DUET_DTYPE_COUNT, host, g.out, false, tol);
            run_backend(&g, st, &g.cfg, bes[b], DUET_F32, dev, g.out, false, tol);
            run_backend(&g, st, &g.cfg, bes[b], DUET_BF16, dev, g.out_bf16, false, tol);
            run_backend(&g, st, &g.cfg, bes[b], DUET_BF16, host, g.out_bf16, false, tol);
            if (have_umt5)
                run_backend(&g, umt5, &ucfg, bes[b], DUET_DTYPE_COUNT, host, g.out_allbf16, true,
                            tol);
        }
    }
    free_golden(&g);
    duet_safetensors_close(&umt5);
    duet_safetensors_close(&st);
    return duet_test_end(bes, nb);
}
