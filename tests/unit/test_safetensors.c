/* duet — unit tests for core/safetensors: writer -> reader round trips (values, dtypes, shapes
 * reversed to innermost-first, metadata, conversion on load), a file written by the Python
 * safetensors package read back exactly, and malformed files: each must give DUET_ERR_FORMAT
 * (or IO) with a message naming the file and the tensor, never a crash. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/safetensors.h"
#include "harness.h"

/* ---- log capture: the last message, echoed to stderr unless an error is expected ---- */

static char g_last[1024];
static int g_expect_error;

static void capture(duet_log_level level, const char *msg, void *user) {
    (void)user;
    snprintf(g_last, sizeof g_last, "%s", msg);
    if (!g_expect_error || level != DUET_LOG_ERROR) fprintf(stderr, "log: %s\n", msg);
}

static void expect_msg(const char *what, const char *part) {
    if (part && !strstr(g_last, part)) {
        fprintf(stderr, "FAIL %s: message \"%s\" lacks \"%s\"\n", what, g_last, part);
        duet_test_failures++;
    }
}

/* ---- file images built in memory ---- */

/* 8-byte length `hlen`, then `header` with ' turned into ", then data bytes 0, 1, 2 ... */
static unsigned char *image(uint64_t hlen, const char *header, size_t data_len, size_t *len) {
    size_t h = strlen(header);
    *len = 8 + h + data_len;
    unsigned char *p = malloc(*len);
    if (!p) abort();
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(hlen >> (8 * i));
    for (size_t i = 0; i < h; i++) p[8 + i] = header[i] == '\'' ? '"' : (unsigned char)header[i];
    for (size_t i = 0; i < data_len; i++) p[8 + h + i] = (unsigned char)i;
    return p;
}

static void expect_open(const char *what, const unsigned char *p, size_t len, duet_status want,
                        const char *part1, const char *part2) {
    duet_safetensors *st = (duet_safetensors *)p; /* must be cleared on failure */
    g_last[0] = 0;
    g_expect_error = want != DUET_OK;
    duet_status s = duet_safetensors_open_memory(p, len, "bad.safetensors", &st);
    g_expect_error = 0;
    if (s != want || (want != DUET_OK) != (st == NULL)) {
        fprintf(stderr, "FAIL %s: got %s, expected %s (log: %s)\n", what, duet_status_str(s),
                duet_status_str(want), g_last);
        duet_test_failures++;
    }
    if (want != DUET_OK) {
        expect_msg(what, "bad.safetensors: ");
        expect_msg(what, part1);
        expect_msg(what, part2);
    }
    duet_safetensors_close(&st);
    T_CHECK(st == NULL);
}

typedef struct {
    const char *what;
    const char *header; /* ' stands for " */
    size_t data_len;
    const char *part1, *part2; /* both must appear in the message (NULL: no check) */
} bad_case;

#define T1(dt, shape, offs) "{'t':{'dtype':'" dt "','shape':" shape ",'data_offsets':" offs "}}"

static const bad_case k_bad[] = {
    {"data cut", T1("F32", "[2,3]", "[0,24]"), 12, "tensor t: ", "exceed the data section (12"},
    {"offsets out of range", T1("F32", "[2]", "[100,108]"), 24, "tensor t: ", "[100, 108]"},
    {"overlap", "{'a':{'dtype':'F32','shape':[4],'data_offsets':[0,16]},"
                "'b':{'dtype':'F32','shape':[4],'data_offsets':[8,24]}}", 24,
     "tensor b: ", "overlap tensor a"},
    {"same range twice", "{'a':{'dtype':'F16','shape':[2],'data_offsets':[4,8]},"
                         "'b':{'dtype':'BF16','shape':[2],'data_offsets':[4,8]}}", 8,
     "overlap tensor ", NULL},
    {"begin > end", T1("F32", "[2]", "[16,8]"), 24, "tensor t: ", "begin > end"},
    {"unknown dtype", T1("F33", "[2]", "[0,8]"), 8, "tensor t: ", "unknown dtype \"F33\""},
    {"dtype F64", T1("F64", "[1]", "[0,8]"), 8, "tensor t: dtype F64 not supported", NULL},
    {"dtype F8_E4M3", T1("F8_E4M3", "[8]", "[0,8]"), 8, "tensor t: dtype F8_E4M3 not", NULL},
    {"dtype number", "{'t':{'dtype':4,'shape':[2],'data_offsets':[0,8]}}", 8,
     "tensor t: dtype is not a string", NULL},
    {"shape/size mismatch", T1("F32", "[2,3]", "[0,20]"), 24, "tensor t: ",
     "shape [2, 3] of F32 is 24 bytes but data_offsets [0, 20] span 20"},
    {"negative dim", T1("F32", "[-1,3]", "[0,12]"), 24, "tensor t: ", "shape[0] is not a"},
    {"non-integer dim", T1("F32", "[2.5]", "[0,8]"), 24, "tensor t: ", "shape[0] is not a"},
    {"string dim", T1("F32", "[2,'3']", "[0,24]"), 24, "tensor t: ", "shape[1] is not a"},
    {"shape not array", T1("F32", "6", "[0,24]"), 24, "tensor t: shape is not an array", NULL},
    {"too many dims", T1("F32", "[1,1,1,1,1,2]", "[0,8]"), 24, "tensor t: ", "6 dims, at most 5"},
    {"element count overflow", T1("F32", "[4294967296,4294967296,2]", "[0,8]"), 24,
     "tensor t: ", "element count overflows"},
    {"byte size overflow", T1("F32", "[4611686018427387904]", "[0,8]"), 24, "tensor t: ",
     "byte size overflows"},
    {"integer beyond int64", T1("F32", "[99999999999999999999]", "[0,8]"), 24, "not valid JSON",
     NULL},
    {"offsets not a pair", T1("F32", "[2]", "[0,8,8]"), 24, "tensor t: data_offsets is not", NULL},
    {"negative offset", T1("F32", "[2]", "[-8,0]"), 24, "tensor t: data_offsets is not", NULL},
    {"header not JSON", "hello", 0, "header is not valid JSON", NULL},
    {"header empty", "", 0, "header is not valid JSON", NULL},
    {"header JSON array", "[1,2]", 0, "header is not a JSON object", NULL},
    {"header trailing junk", "{}x", 0, "header is not valid JSON", NULL},
    {"invalid UTF-8", "{'\xff':{}}", 0, "header is not valid JSON", NULL},
    {"entry not object", "{'t':5}", 0, "tensor t: entry is not a JSON object", NULL},
    {"missing dtype", "{'t':{'shape':[2],'data_offsets':[0,8]}}", 8, "tensor t: missing \"dtype\"",
     NULL},
    {"missing shape", "{'t':{'dtype':'F32','data_offsets':[0,8]}}", 8, "tensor t: missing \"shape\"",
     NULL},
    {"missing offsets", "{'t':{'dtype':'F32','shape':[2]}}", 8,
     "tensor t: missing \"data_offsets\"", NULL},
    {"extra field", "{'t':{'dtype':'F32','shape':[2],'data_offsets':[0,8],'foo':1}}", 8,
     "tensor t: unexpected field \"foo\"", NULL},
    {"duplicate tensor", "{'t':{'dtype':'F32','shape':[1],'data_offsets':[0,4]},"
                         "'t':{'dtype':'F32','shape':[1],'data_offsets':[4,8]}}", 8,
     "not valid JSON", "duplicate"},
    {"duplicate field", "{'t':{'dtype':'F32','dtype':'F16','shape':[2],'data_offsets':[0,8]}}",
     8, "not valid JSON", "duplicate"},
    {"metadata not object", "{'__metadata__':[1]}", 0, "__metadata__ is not a JSON object", NULL},
    {"metadata value", "{'__metadata__':{'k':1}}", 0, "value of \"k\" is not a string", NULL},
};

static void test_malformed(void) {
    for (size_t i = 0; i < sizeof k_bad / sizeof *k_bad; i++) {
        const bad_case *c = &k_bad[i];
        size_t len;
        unsigned char *p = image(strlen(c->header), c->header, c->data_len, &len);
        expect_open(c->what, p, len, DUET_ERR_FORMAT, c->part1, c->part2);
        free(p);
    }
    /* header length itself */
    unsigned char small[3] = {1, 0, 0};
    expect_open("shorter than 8 bytes", small, sizeof small, DUET_ERR_FORMAT, "file is 3 bytes",
                NULL);
    expect_open("empty", NULL, 0, DUET_ERR_FORMAT, "file is 0 bytes", NULL);
    size_t len;
    unsigned char *p = image(UINT64_MAX, "{}", 110, &len);
    expect_open("header length UINT64_MAX", p, len, DUET_ERR_FORMAT,
                "header length 18446744073709551615 exceeds file size 120", NULL);
    free(p);
    p = image(100, "{'t':{'dtype':'F32','shape':[1],", 0, &len); /* header cut */
    expect_open("header cut", p, len, DUET_ERR_FORMAT, "header length 100 exceeds file size 40",
                NULL);
    free(p);
    p = image(20, "{'t':{'dtype':'F32','shape':[1],'data_offsets':[0,4]}}", 4, &len);
    expect_open("length inside the JSON", p, len, DUET_ERR_FORMAT, "not valid JSON", NULL);
    free(p);
}

/* Valid corner cases the reader must accept. */
static void test_valid_corners(void) {
    size_t len;
    /* scalar (shape []) is one element; an empty tensor owns no bytes; gaps are allowed */
    unsigned char *p = image(strlen("{'s':{'dtype':'F32','shape':[],'data_offsets':[4,8]},"
                                    "'e':{'dtype':'F16','shape':[0,3],'data_offsets':[8,8]},"
                                    "'__metadata__':{}}"),
                             "{'s':{'dtype':'F32','shape':[],'data_offsets':[4,8]},"
                             "'e':{'dtype':'F16','shape':[0,3],'data_offsets':[8,8]},"
                             "'__metadata__':{}}", 16, &len);
    duet_safetensors *st = NULL;
    T_CHECK_OK(duet_safetensors_open_memory(p, len, "ok.safetensors", &st));
    if (st) {
        const duet_safetensors_tensor *s = duet_safetensors_find(st, "s");
        const duet_safetensors_tensor *e = duet_safetensors_find(st, "e");
        T_CHECK(duet_safetensors_count(st) == 2 && duet_safetensors_metadata_count(st) == 0);
        T_CHECK(s && s->n_dims == 1 && s->ne[0] == 1 && s->nbytes == 4 && s->data_offset == 4);
        T_CHECK(e && e->n_dims == 2 && e->ne[0] == 3 && e->ne[1] == 0 && e->nbytes == 0);
        T_CHECK(duet_safetensors_find(st, "x") == NULL && duet_safetensors_get(st, 2) == NULL);
    }
    duet_safetensors_close(&st);
    free(p);
    p = image(2, "{}", 0, &len);
    T_CHECK_OK(duet_safetensors_open_memory(p, len, NULL, &st));
    T_CHECK(st && duet_safetensors_count(st) == 0 && !strcmp(duet_safetensors_name(st), "(memory)"));
    duet_safetensors_close(&st);
    free(p);
}

/* Written by the Python safetensors package (0.4), an independent writer:
 * safetensors.torch.save({'s': tensor(7.), 'w': arange(6).reshape(2,3)
 * - 2.5, 'i': int32 [1,-2,3], 'b': bf16 [[1.5,-2],[0.125,3]], 'h': f16 [0.5,-1,65504]},
 * metadata={'format':'pt','note':'py'}) with safetensors 0.4 — an independent writer. */
static const unsigned char k_python_file[] = {
#include "test_safetensors_py.inc"
};

static void test_python_file(duet_backend *be) {
    duet_safetensors *st = NULL;
    T_CHECK_OK(duet_safetensors_open_memory(k_python_file, sizeof k_python_file, "py", &st));
    if (!st) return;
    T_CHECK(duet_safetensors_count(st) == 5);
    T_CHECK(!strcmp(duet_safetensors_metadata(st, "format"), "pt"));
    T_CHECK(!strcmp(duet_safetensors_metadata(st, "note"), "py"));
    T_CHECK(duet_safetensors_metadata(st, "nope") == NULL);
    T_CHECK(!strcmp(duet_safetensors_get(st, 0)->name, "s")); /* header order */
    const duet_safetensors_tensor *w = duet_safetensors_find(st, "w");
    T_CHECK(w && w->dtype == DUET_F32 && w->n_dims == 2 && w->ne[0] == 3 && w->ne[1] == 2);
    duet_arena *a = duet_arena_new(0);
    const float want_w[6] = {-2.5f, -1.5f, -0.5f, 0.5f, 1.5f, 2.5f};
    const float want_b[4] = {1.5f, -2.0f, 0.125f, 3.0f}, want_h[3] = {0.5f, -1.0f, 65504.0f};
    const int32_t want_i[3] = {1, -2, 3};
    float got[6];
    int32_t got_i[3];
    duet_tensor *t = NULL;
    T_CHECK_OK(duet_safetensors_load(st, "w", a, be, DUET_F32, &t));
    if (t && duet_tensor_get_f32(t, got) == DUET_OK) duet_test_close("py w", got, want_w, 6, 0);
    T_CHECK_OK(duet_safetensors_load(st, "b", a, be, DUET_F32, &t)); /* bf16 -> f32 */
    if (t && duet_tensor_get_f32(t, got) == DUET_OK) duet_test_close("py b", got, want_b, 4, 0);
    T_CHECK(t && t->ne[0] == 2 && t->ne[1] == 2 && !strcmp(t->name, "b"));
    T_CHECK_OK(duet_safetensors_load(st, "h", a, be, DUET_BF16, &t)); /* f16 -> bf16 */
    if (t && duet_tensor_get_f32(t, got) == DUET_OK) {
        float want_hb[3];
        for (int i = 0; i < 3; i++) want_hb[i] = duet_bf16_to_f32(duet_f32_to_bf16(want_h[i]));
        duet_test_close("py h as bf16", got, want_hb, 3, 0);
    }
    T_CHECK_OK(duet_safetensors_load(st, "s", a, be, DUET_F32, &t));
    if (t && duet_tensor_get_f32(t, got) == DUET_OK) T_CHECK(got[0] == 7.0f && t->n_dims == 1);
    T_CHECK_OK(duet_safetensors_load(st, "i", a, be, DUET_I32, &t));
    if (t && duet_tensor_download(t, got_i, DUET_I32) == DUET_OK)
        T_CHECK(!memcmp(got_i, want_i, sizeof want_i));
    duet_arena_free(&a);
    duet_safetensors_close(&st);
}

/* ---- round trip through files ---- */

static char g_dir[64];

static void path_in_dir(char *buf, size_t n, const char *file) {
    snprintf(buf, n, "%s/%s", g_dir, file);
}

/* Load errors on the round-trip file: wrong shape, missing tensor, impossible conversion. */
static void check_load_errors(const duet_safetensors *st, duet_backend *be) {
    duet_arena *a = duet_arena_new(0);
    duet_tensor *x = NULL;
    g_expect_error = 1;
    const int64_t ne_bad[2] = {3, 4};
    T_CHECK(duet_safetensors_load_shaped(st, "blocks.0.a", a, be, DUET_F32, 2, ne_bad, &x) ==
            DUET_ERR_FORMAT && x == NULL);
    expect_msg("shape mismatch", "tensor blocks.0.a: shape [4, 3] (innermost first), expected [3, 4]");
    T_CHECK(duet_safetensors_load(st, "nope", a, be, DUET_F32, &x) == DUET_ERR_NOT_FOUND);
    expect_msg("not found", "rt.safetensors: tensor nope not found");
    T_CHECK(duet_safetensors_load(st, "d", a, be, DUET_F32, &x) == DUET_ERR_INVALID_ARG);
    expect_msg("i32 -> f32", "cannot convert I32 to f32");
    g_expect_error = 0;
    duet_arena_free(&a);
}

static void test_round_trip(duet_backend *be) {
    enum { NA = 12, NB = 5, NC = 8, ND = 7 };
    float *fa = duet_test_rand(NA, 1, -4, 4), *fb = duet_test_rand(NB, 2, -4, 4);
    float *fc = duet_test_rand(NC, 3, -4, 4);
    uint16_t b16[NB], c16[NC];
    int32_t di[ND];
    for (int i = 0; i < NB; i++) b16[i] = duet_f32_to_bf16(fb[i]);
    for (int i = 0; i < NC; i++) c16[i] = duet_f32_to_f16(fc[i]);
    for (int i = 0; i < ND; i++) di[i] = (i - 3) * 1000003;
    const duet_safetensors_entry ent[4] = {
        {"blocks.0.a", DUET_F32, 2, {4, 3, 1, 1, 1}, fa},
        {"b", DUET_BF16, 1, {NB, 1, 1, 1, 1}, b16},
        {"c.weight", DUET_F16, 3, {2, 2, 2, 1, 1}, c16},
        {"d", DUET_I32, 1, {ND, 1, 1, 1, 1}, di},
    };
    const duet_safetensors_kv meta[2] = {{"format", "pt"}, {"duet", "test \"quoted\" \xc3\xa9"}};
    char path[128], tmp[140];
    path_in_dir(path, sizeof path, "rt.safetensors");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    T_CHECK_OK(duet_safetensors_write(path, ent, 4, meta, 2));
    T_CHECK(access(tmp, F_OK) != 0); /* renamed away */
    duet_safetensors *st = NULL;
    T_CHECK_OK(duet_safetensors_open(path, &st));
    if (!st) goto out;
    T_CHECK(duet_safetensors_count(st) == 4 && duet_safetensors_metadata_count(st) == 2);
    const char *k = NULL, *v = NULL;
    T_CHECK(duet_safetensors_metadata_at(st, 1, &k, &v) == DUET_OK && !strcmp(k, "duet") &&
            !strcmp(v, meta[1].value));
    T_CHECK(duet_safetensors_metadata_at(st, 2, &k, &v) == DUET_ERR_NOT_FOUND);
    for (int i = 0; i < 4; i++) {
        const duet_safetensors_tensor *t = duet_safetensors_find(st, ent[i].name);
        T_CHECK(t && t == duet_safetensors_get(st, (size_t)i));
        if (!t) continue;
        T_CHECK(t->dtype == ent[i].dtype && t->n_dims == ent[i].n_dims);
        T_CHECK(!memcmp(t->ne, ent[i].ne, sizeof t->ne));
        T_CHECK(t->nbytes == (size_t)(t->ne[0] * t->ne[1] * t->ne[2]) * duet_dtype_size(t->dtype));
        T_CHECK(!memcmp(t->data, ent[i].data, t->nbytes));
        T_CHECK((uintptr_t)t->data % duet_dtype_size(t->dtype) == 0); /* laid out aligned */
    }
    duet_arena *a = duet_arena_new(0);
    float got[NC], want[NC];
    duet_tensor *x = NULL;
    /* f32 -> f16 on load: exactly the scalar conversion of each element */
    T_CHECK_OK(duet_safetensors_load(st, "blocks.0.a", a, be, DUET_F16, &x));
    T_CHECK(x && x->dtype == DUET_F16 && x->ne[0] == 4 && x->ne[1] == 3);
    if (x) {
        float ga[NA], wa[NA];
        for (int i = 0; i < NA; i++) wa[i] = duet_f16_to_f32(duet_f32_to_f16(fa[i]));
        if (duet_tensor_get_f32(x, ga) == DUET_OK) duet_test_close("a f32->f16", ga, wa, NA, 0);
    }
    /* bf16 -> f32 */
    T_CHECK_OK(duet_safetensors_load(st, "b", a, be, DUET_F32, &x));
    for (int i = 0; i < NB; i++) want[i] = duet_bf16_to_f32(b16[i]);
    if (x && duet_tensor_get_f32(x, got) == DUET_OK) duet_test_close("b bf16->f32", got, want, NB, 0);
    /* f16 kept as f16, with an expected shape that has a trailing 1 */
    const int64_t ne_c[4] = {2, 2, 2, 1};
    T_CHECK_OK(duet_safetensors_load_shaped(st, "c.weight", a, be, DUET_F16, 4, ne_c, &x));
    T_CHECK(x && x->n_dims == 4 && x->dtype == DUET_F16);
    for (int i = 0; i < NC; i++) want[i] = duet_f16_to_f32(c16[i]);
    if (x && duet_tensor_get_f32(x, got) == DUET_OK) duet_test_close("c f16", got, want, NC, 0);
    int32_t gi[ND];
    T_CHECK_OK(duet_safetensors_load(st, "d", a, be, DUET_I32, &x));
    if (x && duet_tensor_download(x, gi, DUET_I32) == DUET_OK) T_CHECK(!memcmp(gi, di, sizeof di));
    duet_arena_free(&a);
    check_load_errors(st, be);
    duet_safetensors_close(&st);
    duet_safetensors_close(&st); /* NULL accepted */
out:
    unlink(path);
    free(fa);
    free(fb);
    free(fc);
}

/* Data section at an odd address: converting loads must not read misaligned floats (UBSan
 * would report it), and values must still be right. */
static void test_unaligned(duet_backend *be) {
    const char *h = "{'t':{'dtype':'F16','shape':[3],'data_offsets':[0,6]}} "; /* odd length */
    size_t len;
    T_CHECK(strlen(h) % 2 == 1);
    unsigned char *p = image(strlen(h), h, 6, &len);
    const uint16_t v[3] = {0x3c00, 0xc000, 0x3800}; /* 1, -2, 0.5 */
    memcpy(p + len - 6, v, sizeof v);
    duet_safetensors *st = NULL;
    T_CHECK_OK(duet_safetensors_open_memory(p, len, "odd", &st));
    duet_arena *a = duet_arena_new(0);
    duet_tensor *x = NULL;
    float got[3];
    const float want[3] = {1.0f, -2.0f, 0.5f};
    if (st) T_CHECK_OK(duet_safetensors_load(st, "t", a, be, DUET_F32, &x));
    if (x && duet_tensor_get_f32(x, got) == DUET_OK) duet_test_close("unaligned", got, want, 3, 0);
    duet_arena_free(&a);
    duet_safetensors_close(&st);
    free(p);
}

/* Files on disk: missing, a directory, empty, a header over the size limit (sparse file),
 * a writer into a missing directory, writer argument checks. */
static void test_files(void) {
    char path[128];
    duet_safetensors *st = NULL;
    g_expect_error = 1;
    path_in_dir(path, sizeof path, "missing.safetensors");
    T_CHECK(duet_safetensors_open(path, &st) == DUET_ERR_IO && st == NULL);
    expect_msg("missing file", path);
    T_CHECK(duet_safetensors_open(g_dir, &st) == DUET_ERR_IO);
    expect_msg("directory", g_dir);
    path_in_dir(path, sizeof path, "empty.safetensors");
    int fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    T_CHECK(fd >= 0);
    T_CHECK(duet_safetensors_open(path, &st) == DUET_ERR_FORMAT);
    expect_msg("empty file", "empty.safetensors: file is 0 bytes");
    /* 100 MB + 1 header length in a sparse file big enough to hold it */
    uint64_t n = DUET_SAFETENSORS_MAX_HEADER + 1;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(n >> (8 * i));
    T_CHECK(write(fd, len8, 8) == 8 && ftruncate(fd, (off_t)(n + 16)) == 0);
    close(fd);
    T_CHECK(duet_safetensors_open(path, &st) == DUET_ERR_FORMAT);
    expect_msg("header limit", "header length 100000001 exceeds the limit");
    unlink(path);
    path_in_dir(path, sizeof path, "no/such/dir/out.safetensors");
    float x = 1.0f;
    duet_safetensors_entry e = {"x", DUET_F32, 1, {1, 1, 1, 1, 1}, &x};
    T_CHECK(duet_safetensors_write(path, &e, 1, NULL, 0) == DUET_ERR_IO);
    expect_msg("write into missing dir", "no/such/dir/out.safetensors.tmp: cannot create");
    path_in_dir(path, sizeof path, "w.safetensors");
    duet_safetensors_entry dup[2] = {e, e};
    T_CHECK(duet_safetensors_write(path, dup, 2, NULL, 0) == DUET_ERR_INVALID_ARG);
    duet_safetensors_entry bad = e;
    bad.n_dims = 0;
    T_CHECK(duet_safetensors_write(path, &bad, 1, NULL, 0) == DUET_ERR_INVALID_ARG);
    bad = e;
    bad.name = "__metadata__";
    T_CHECK(duet_safetensors_write(path, &bad, 1, NULL, 0) == DUET_ERR_INVALID_ARG);
    bad = e;
    bad.data = NULL;
    T_CHECK(duet_safetensors_write(path, &bad, 1, NULL, 0) == DUET_ERR_INVALID_ARG);
    duet_safetensors_kv kv[2] = {{"k", "1"}, {"k", "2"}};
    T_CHECK(duet_safetensors_write(path, &e, 1, kv, 2) == DUET_ERR_INVALID_ARG);
    T_CHECK(access(path, F_OK) != 0);
    g_expect_error = 0;
}

/* Each allocation in turn fails while opening a valid file: OK or OUT_OF_MEMORY, never a
 * crash or a leak (ASan builds check the latter). */
static void test_alloc_failure(void) {
    int saw_ok = 0;
    for (long k = 0; k < 40 && !saw_ok; k++) {
        duet_safetensors *st = NULL;
        g_expect_error = 1;
        duet_alloc_fail_after(k);
        duet_status s = duet_safetensors_open_memory(k_python_file, sizeof k_python_file, "py", &st);
        duet_alloc_fail_after(-1);
        g_expect_error = 0;
        T_CHECK(s == DUET_OK || s == DUET_ERR_OUT_OF_MEMORY);
        T_CHECK((s == DUET_OK) == (st != NULL));
        saw_ok = s == DUET_OK;
        duet_safetensors_close(&st);
    }
    T_CHECK(saw_ok);
}

int main(void) {
    duet_log_set_callback(capture, NULL);
    const char *tmpdir = getenv("TMPDIR");
    snprintf(g_dir, sizeof g_dir, "%s/duet_st_XXXXXX", tmpdir && strlen(tmpdir) < 40 ? tmpdir : "/tmp");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "FAIL: mkdtemp %s: %s\n", g_dir, strerror(errno));
        return 1;
    }
    test_malformed();
    test_valid_corners();
    test_files();
    test_alloc_failure();
    duet_backend *bes[2];
    int n = duet_test_backends(bes, 2);
    for (int i = 0; i < n; i++) {
        test_python_file(bes[i]);
        test_round_trip(bes[i]);
        test_unaligned(bes[i]);
    }
    rmdir(g_dir);
    duet_log_set_callback(NULL, NULL);
    return duet_test_end(bes, n);
}
