/* duet — safetensors reader and writer (see safetensors.h). The reader trusts nothing in the
 * file: every length, offset and product is checked (overflow included) before any data byte
 * is addressed, so a hostile file yields DUET_ERR_FORMAT and a message, never a crash.
 * Mirrors the checks of huggingface/safetensors' Rust `Metadata::validate` (read, not copied),
 * except that gaps between tensors are allowed; overlaps are not. JSON is parsed by jansson. */
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "arena.h"
#include "log.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; a big-endian host needs byte swapping here"
#endif

struct duet_safetensors {
    char *name;                          /* for messages */
    const unsigned char *base;           /* the whole file image */
    size_t size;
    bool mapped;                         /* base was mmapped by us */
    const unsigned char *data;           /* data section: base + 8 + header length */
    size_t data_size;
    duet_safetensors_tensor *tensors;    /* header order */
    size_t n_tensors;
    const duet_safetensors_tensor **by_name; /* sorted by name for bsearch */
    char **meta;                         /* key, value, key, value ... */
    size_t n_meta;
};

/* ---- dtypes ---- */

typedef struct {
    const char *name;
    size_t size;
    bool supported;
    duet_dtype dtype;
} dtype_info;

/* Every dtype the format defines, so an unsupported one is told apart from garbage. */
static const dtype_info k_dtypes[] = {
    {"F32", 4, true, DUET_F32},       {"F16", 2, true, DUET_F16},
    {"BF16", 2, true, DUET_BF16},     {"I32", 4, true, DUET_I32},
    {"F64", 8, false, DUET_F32},      {"I64", 8, false, DUET_F32},
    {"I16", 2, false, DUET_F32},      {"I8", 1, false, DUET_F32},
    {"U64", 8, false, DUET_F32},      {"U32", 4, false, DUET_F32},
    {"U16", 2, false, DUET_F32},      {"U8", 1, false, DUET_F32},
    {"BOOL", 1, false, DUET_F32},     {"F8_E4M3", 1, false, DUET_F32},
    {"F8_E5M2", 1, false, DUET_F32},
};

static const dtype_info *find_dtype(const char *name) {
    for (size_t i = 0; i < sizeof k_dtypes / sizeof *k_dtypes; i++)
        if (strcmp(k_dtypes[i].name, name) == 0) return &k_dtypes[i];
    return NULL;
}

static const char *file_dtype_name(duet_dtype t) {
    for (size_t i = 0; i < sizeof k_dtypes / sizeof *k_dtypes; i++)
        if (k_dtypes[i].supported && k_dtypes[i].dtype == t) return k_dtypes[i].name;
    return NULL;
}

/* ---- messages ---- */

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static duet_status fail(const duet_safetensors *st, const char *tensor, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (tensor) DUET_LOGE("%s: tensor %s: %s", st->name, tensor, msg);
    else DUET_LOGE("%s: %s", st->name, msg);
    return DUET_ERR_FORMAT;
}

/* "[2, 3]" of a JSON array of integers (already validated), outermost first as in the file. */
static void json_shape_str(const json_t *shape, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (size_t i = 0; i < json_array_size(shape) && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld",
                                 (long long)json_integer_value(json_array_get(shape, i)));
    if (used < n) snprintf(buf + used, n - used, "]");
}

/* ---- header parsing ---- */

static bool json_uint(const json_t *v, uint64_t *out) {
    if (!json_is_integer(v) || json_integer_value(v) < 0) return false;
    *out = (uint64_t)json_integer_value(v);
    return true;
}

static duet_status parse_metadata(duet_safetensors *st, const json_t *m) {
    if (!json_is_object(m)) return fail(st, NULL, "__metadata__ is not a JSON object");
    st->meta = duet_calloc(2 * json_object_size(m) + 1, sizeof *st->meta);
    if (!st->meta) return DUET_ERR_OUT_OF_MEMORY;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)m, key, v) {
        if (!json_is_string(v))
            return fail(st, NULL, "__metadata__ value of \"%s\" is not a string", key);
        char *k = duet_strdup(key), *s = duet_strdup(json_string_value(v));
        st->meta[2 * st->n_meta] = k;
        st->meta[2 * st->n_meta + 1] = s;
        st->n_meta++;
        if (!k || !s) return DUET_ERR_OUT_OF_MEMORY;
    }
    return DUET_OK;
}

/* Exactly the three fields; names the first missing or extra one. */
static duet_status check_fields(duet_safetensors *st, const char *name, const json_t *v) {
    static const char *const want[3] = {"dtype", "shape", "data_offsets"};
    if (!json_is_object(v)) return fail(st, name, "entry is not a JSON object");
    for (int i = 0; i < 3; i++)
        if (!json_object_get(v, want[i])) return fail(st, name, "missing \"%s\"", want[i]);
    const char *key;
    const json_t *f;
    json_object_foreach((json_t *)v, key, f) {
        if (strcmp(key, want[0]) && strcmp(key, want[1]) && strcmp(key, want[2]))
            return fail(st, name, "unexpected field \"%s\"", key);
    }
    return DUET_OK;
}

/* Shape -> ne[] (reversed) and byte size, every product checked for overflow. */
static duet_status parse_shape(duet_safetensors *st, const char *name, const json_t *shape,
                               size_t elem_size, duet_safetensors_tensor *t, uint64_t *nbytes) {
    if (!json_is_array(shape)) return fail(st, name, "shape is not an array");
    size_t nd = json_array_size(shape);
    if (nd > DUET_MAX_DIMS)
        return fail(st, name, "shape has %zu dims, at most %d supported", nd, DUET_MAX_DIMS);
    uint64_t n = 1;
    for (size_t i = 0; i < nd; i++) {
        uint64_t d;
        if (!json_uint(json_array_get(shape, i), &d))
            return fail(st, name, "shape[%zu] is not a non-negative integer", i);
        char s[160];
        if (d != 0 && n > UINT64_MAX / d) {
            json_shape_str(shape, s, sizeof s);
            return fail(st, name, "shape %s: element count overflows 64 bits", s);
        }
        n *= d;
    }
    if (n > UINT64_MAX / elem_size) {
        char s[160];
        json_shape_str(shape, s, sizeof s);
        return fail(st, name, "shape %s: byte size overflows 64 bits", s);
    }
    *nbytes = n * elem_size;
    t->n_dims = nd ? (int)nd : 1; /* a 0-dim scalar is one element */
    for (int i = 0; i < DUET_MAX_DIMS; i++)
        t->ne[i] = (size_t)i < nd ? json_integer_value(json_array_get(shape, nd - 1 - i)) : 1;
    return DUET_OK;
}

static duet_status parse_tensor(duet_safetensors *st, const char *name, const json_t *v,
                                duet_safetensors_tensor *t) {
    duet_status s = check_fields(st, name, v);
    if (s != DUET_OK) return s;
    const json_t *jd = json_object_get(v, "dtype");
    if (!json_is_string(jd)) return fail(st, name, "dtype is not a string");
    const dtype_info *di = find_dtype(json_string_value(jd));
    if (!di) return fail(st, name, "unknown dtype \"%.32s\"", json_string_value(jd));
    if (!di->supported) return fail(st, name, "dtype %s not supported", di->name);
    uint64_t nbytes = 0, b = 0, e = 0;
    const json_t *shape = json_object_get(v, "shape"), *offs = json_object_get(v, "data_offsets");
    if ((s = parse_shape(st, name, shape, di->size, t, &nbytes)) != DUET_OK) return s;
    if (!json_is_array(offs) || json_array_size(offs) != 2 ||
        !json_uint(json_array_get(offs, 0), &b) || !json_uint(json_array_get(offs, 1), &e))
        return fail(st, name, "data_offsets is not [begin, end] of non-negative integers");
    if (b > e)
        return fail(st, name, "data_offsets [%llu, %llu]: begin > end", (unsigned long long)b,
                    (unsigned long long)e);
    if (e > st->data_size)
        return fail(st, name, "data_offsets [%llu, %llu] exceed the data section (%zu bytes)",
                    (unsigned long long)b, (unsigned long long)e, st->data_size);
    if (e - b != nbytes) {
        char sh[160];
        json_shape_str(shape, sh, sizeof sh);
        return fail(st, name, "shape %s of %s is %llu bytes but data_offsets [%llu, %llu] span %llu",
                    sh, di->name, (unsigned long long)nbytes, (unsigned long long)b,
                    (unsigned long long)e, (unsigned long long)(e - b));
    }
    t->dtype = di->dtype;
    t->data = st->data + b;
    t->nbytes = (size_t)nbytes;
    t->data_offset = (size_t)b;
    t->name = duet_strdup(name);
    return t->name ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

static int cmp_offset(const void *pa, const void *pb) {
    const duet_safetensors_tensor *a = *(const duet_safetensors_tensor *const *)pa;
    const duet_safetensors_tensor *b = *(const duet_safetensors_tensor *const *)pb;
    if (a->data_offset != b->data_offset) return a->data_offset < b->data_offset ? -1 : 1;
    return (a->nbytes > b->nbytes) - (a->nbytes < b->nbytes);
}

static int cmp_name(const void *pa, const void *pb) {
    return strcmp((*(const duet_safetensors_tensor *const *)pa)->name,
                  (*(const duet_safetensors_tensor *const *)pb)->name);
}

/* Sorts by begin and checks that no range starts before the previous one ends. Empty tensors
 * own no bytes and cannot overlap anything. Leaves by_name sorted by name. */
static duet_status check_overlaps(duet_safetensors *st) {
    const duet_safetensors_tensor **v = st->by_name;
    for (size_t i = 0; i < st->n_tensors; i++) v[i] = &st->tensors[i];
    if (st->n_tensors) qsort(v, st->n_tensors, sizeof *v, cmp_offset);
    const duet_safetensors_tensor *prev = NULL;
    for (size_t i = 0; i < st->n_tensors; i++) {
        if (v[i]->nbytes == 0) continue;
        if (prev && v[i]->data_offset < prev->data_offset + prev->nbytes)
            return fail(st, v[i]->name, "bytes [%zu, %zu) overlap tensor %s [%zu, %zu)",
                        v[i]->data_offset, v[i]->data_offset + v[i]->nbytes, prev->name,
                        prev->data_offset, prev->data_offset + prev->nbytes);
        prev = v[i];
    }
    if (st->n_tensors) qsort(v, st->n_tensors, sizeof *v, cmp_name);
    return DUET_OK;
}

static duet_status parse_entries(duet_safetensors *st, const json_t *root) {
    const json_t *meta = json_object_get(root, "__metadata__");
    st->n_tensors = json_object_size(root) - (meta ? 1 : 0);
    size_t n_alloc = st->n_tensors ? st->n_tensors : 1;
    st->tensors = duet_calloc(n_alloc, sizeof *st->tensors);
    st->by_name = duet_calloc(n_alloc, sizeof *st->by_name);
    if (!st->tensors || !st->by_name) return DUET_ERR_OUT_OF_MEMORY;
    duet_status s = meta ? parse_metadata(st, meta) : DUET_OK;
    size_t i = 0;
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)root, key, v) {
        if (s != DUET_OK) break;
        if (strcmp(key, "__metadata__") == 0) continue;
        DUET_ASSERT(i < st->n_tensors);
        s = parse_tensor(st, key, v, &st->tensors[i++]);
    }
    return s == DUET_OK ? check_overlaps(st) : s;
}

static duet_status parse(duet_safetensors *st) {
    if (st->size < 8)
        return fail(st, NULL, "file is %zu bytes, too short for the 8-byte header length",
                    st->size);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = (n << 8) | st->base[i];
    if (n > st->size - 8)
        return fail(st, NULL, "header length %llu exceeds file size %zu", (unsigned long long)n,
                    st->size);
    if (n > DUET_SAFETENSORS_MAX_HEADER)
        return fail(st, NULL, "header length %llu exceeds the limit of %llu bytes",
                    (unsigned long long)n, (unsigned long long)DUET_SAFETENSORS_MAX_HEADER);
    st->data = st->base + 8 + n;
    st->data_size = st->size - 8 - (size_t)n;
    json_error_t err;
    json_t *root = json_loadb((const char *)st->base + 8, (size_t)n, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return fail(st, NULL, "header is not valid JSON: %s (header byte %d)", err.text,
                    err.position);
    duet_status s = json_is_object(root) ? parse_entries(st, root)
                                         : fail(st, NULL, "header is not a JSON object");
    json_decref(root);
    return s;
}

/* ---- open / close ---- */

static duet_safetensors *new_handle(const char *name) {
    duet_safetensors *st = duet_calloc(1, sizeof *st);
    if (!st) return NULL;
    st->name = duet_strdup(name ? name : "(memory)");
    if (!st->name) {
        duet_free(st);
        return NULL;
    }
    return st;
}

static duet_status finish_open(duet_safetensors *st, duet_safetensors **out) {
    duet_status s = parse(st);
    if (s == DUET_ERR_OUT_OF_MEMORY) DUET_LOGE("%s: out of memory reading the header", st->name);
    if (s != DUET_OK) {
        duet_safetensors_close(&st);
        return s;
    }
    *out = st;
    return DUET_OK;
}

duet_status duet_safetensors_open_memory(const void *buf, size_t len, const char *name,
                                         duet_safetensors **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    if (!buf && len) {
        DUET_LOGE("duet_safetensors_open_memory: NULL buffer");
        return DUET_ERR_INVALID_ARG;
    }
    duet_safetensors *st = new_handle(name);
    if (!st) return DUET_ERR_OUT_OF_MEMORY;
    static const unsigned char empty[8];
    st->base = buf ? buf : empty;
    st->size = len;
    return finish_open(st, out);
}

duet_status duet_safetensors_open(const char *path, duet_safetensors **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    if (!path) return DUET_ERR_INVALID_ARG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        DUET_LOGE("%s: cannot open: %s", path, strerror(errno));
        return DUET_ERR_IO;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode) || (uint64_t)sb.st_size > SIZE_MAX) {
        DUET_LOGE("%s: not a readable regular file", path);
        close(fd);
        return DUET_ERR_IO;
    }
    size_t size = (size_t)sb.st_size;
    void *map = NULL;
    if (size > 0) {
        map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            DUET_LOGE("%s: cannot map %zu bytes: %s", path, size, strerror(errno));
            close(fd);
            return DUET_ERR_IO;
        }
    }
    close(fd); /* the mapping keeps the file alive */
    duet_safetensors *st = new_handle(path);
    if (!st) {
        if (map) munmap(map, size);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    static const unsigned char empty[8];
    st->base = map ? map : empty;
    st->size = size;
    st->mapped = map != NULL;
    return finish_open(st, out);
}

void duet_safetensors_close(duet_safetensors **pst) {
    if (!pst || !*pst) return;
    duet_safetensors *st = *pst;
    if (st->mapped) munmap((void *)st->base, st->size);
    for (size_t i = 0; st->tensors && i < st->n_tensors; i++)
        duet_free((void *)st->tensors[i].name);
    for (size_t i = 0; st->meta && i < 2 * st->n_meta; i++) duet_free(st->meta[i]);
    duet_free(st->meta);
    duet_free(st->tensors);
    duet_free(st->by_name);
    duet_free(st->name);
    duet_free(st);
    *pst = NULL;
}

/* ---- queries ---- */

const char *duet_safetensors_name(const duet_safetensors *st) { return st->name; }
size_t duet_safetensors_count(const duet_safetensors *st) { return st->n_tensors; }

const duet_safetensors_tensor *duet_safetensors_get(const duet_safetensors *st, size_t i) {
    return i < st->n_tensors ? &st->tensors[i] : NULL;
}

size_t duet_safetensors_index(const duet_safetensors *st, const duet_safetensors_tensor *t) {
    if (!st || !t || t < st->tensors || t >= st->tensors + st->n_tensors) return SIZE_MAX;
    return (size_t)(t - st->tensors);
}

const duet_safetensors_tensor *duet_safetensors_find(const duet_safetensors *st,
                                                     const char *name) {
    if (!st || !name || !st->n_tensors) return NULL;
    duet_safetensors_tensor key;
    key.name = name;
    const duet_safetensors_tensor *pk = &key;
    const duet_safetensors_tensor **hit =
        bsearch(&pk, st->by_name, st->n_tensors, sizeof *st->by_name, cmp_name);
    return hit ? *hit : NULL;
}

const char *duet_safetensors_metadata(const duet_safetensors *st, const char *key) {
    for (size_t i = 0; st && key && i < st->n_meta; i++)
        if (strcmp(st->meta[2 * i], key) == 0) return st->meta[2 * i + 1];
    return NULL;
}

size_t duet_safetensors_metadata_count(const duet_safetensors *st) { return st->n_meta; }

duet_status duet_safetensors_metadata_at(const duet_safetensors *st, size_t i,
                                         const char **key, const char **value) {
    if (i >= st->n_meta) return DUET_ERR_NOT_FOUND;
    if (key) *key = st->meta[2 * i];
    if (value) *value = st->meta[2 * i + 1];
    return DUET_OK;
}

/* ---- loading onto a backend ---- */

static void ne_str(int n_dims, const int64_t *ne, char *buf, size_t n) {
    size_t used = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < n_dims && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld", (long long)ne[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
}

static bool shape_matches(const duet_safetensors_tensor *t, int n_dims, const int64_t *ne) {
    for (int i = 0; i < DUET_MAX_DIMS; i++)
        if (t->ne[i] != (i < n_dims ? ne[i] : 1)) return false;
    return true;
}

/* Uploads t's bytes into x. Converting reads the source as typed elements, which must be
 * aligned: a file whose header length is not a multiple of the element size is copied first. */
static duet_status upload(duet_tensor *x, const duet_safetensors_tensor *t) {
    size_t esize = duet_dtype_size(t->dtype);
    if (x->dtype == t->dtype || (uintptr_t)t->data % esize == 0)
        return duet_tensor_upload(x, t->data, t->dtype);
    void *tmp = duet_malloc(t->nbytes);
    if (!tmp) return DUET_ERR_OUT_OF_MEMORY;
    memcpy(tmp, t->data, t->nbytes);
    duet_status s = duet_tensor_upload(x, tmp, t->dtype);
    duet_free(tmp);
    return s;
}

duet_status duet_safetensors_load_shaped(const duet_safetensors *st, const char *name,
                                         duet_arena *arena, duet_backend *be, duet_dtype want,
                                         int n_dims, const int64_t *ne, duet_tensor **out) {
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    if (!st || !name || !arena || !be || (unsigned)want >= DUET_DTYPE_COUNT ||
        (ne && (n_dims < 1 || n_dims > DUET_MAX_DIMS))) {
        DUET_LOGE("duet_safetensors_load: invalid arguments");
        return DUET_ERR_INVALID_ARG;
    }
    const duet_safetensors_tensor *t = duet_safetensors_find(st, name);
    if (!t) {
        DUET_LOGE("%s: tensor %s not found", st->name, name);
        return DUET_ERR_NOT_FOUND;
    }
    char a[96], b[96];
    if (ne && !shape_matches(t, n_dims, ne)) {
        ne_str(t->n_dims, t->ne, a, sizeof a);
        ne_str(n_dims, ne, b, sizeof b);
        DUET_LOGE("%s: tensor %s: shape %s (innermost first), expected %s", st->name, name, a, b);
        return DUET_ERR_FORMAT;
    }
    if ((want == DUET_I32) != (t->dtype == DUET_I32)) {
        DUET_LOGE("%s: tensor %s: cannot convert %s to %s", st->name, name,
                  file_dtype_name(t->dtype), duet_dtype_name(want));
        return DUET_ERR_INVALID_ARG;
    }
    if (t->nbytes == 0) {
        DUET_LOGE("%s: tensor %s: empty tensors cannot be loaded", st->name, name);
        return DUET_ERR_UNSUPPORTED;
    }
    duet_tensor *x = ne ? duet_tensor_new(arena, be, want, n_dims, ne)
                        : duet_tensor_new(arena, be, want, t->n_dims, t->ne);
    if (!x) return DUET_ERR_OUT_OF_MEMORY; /* logged by duet_tensor_new */
    duet_tensor_set_name(x, name);
    duet_status s = upload(x, t);
    if (s != DUET_OK) {
        DUET_LOGE("%s: tensor %s: upload failed: %s", st->name, name, duet_status_str(s));
        return s;
    }
    *out = x;
    return DUET_OK;
}

duet_status duet_safetensors_load(const duet_safetensors *st, const char *name,
                                  duet_arena *arena, duet_backend *be, duet_dtype want,
                                  duet_tensor **out) {
    return duet_safetensors_load_shaped(st, name, arena, be, want, 0, NULL, out);
}

/* ---- writer ---- */

static duet_status check_entry(const duet_safetensors_entry *e, size_t *nbytes) {
    if (!e->name || !e->name[0] || strcmp(e->name, "__metadata__") == 0 ||
        (unsigned)e->dtype >= DUET_DTYPE_COUNT || e->n_dims < 1 || e->n_dims > DUET_MAX_DIMS)
        return DUET_ERR_INVALID_ARG;
    size_t n = duet_dtype_size(e->dtype);
    for (int i = 0; i < e->n_dims; i++) {
        if (e->ne[i] < 0) return DUET_ERR_INVALID_ARG;
        if (e->ne[i] && n > SIZE_MAX / (uint64_t)e->ne[i]) return DUET_ERR_INVALID_ARG;
        n *= (size_t)e->ne[i];
    }
    if (n && !e->data) return DUET_ERR_INVALID_ARG;
    *nbytes = n;
    return DUET_OK;
}

/* Data is laid out by element size, largest first (stable), as the Python package does: with
 * the data section 8-byte aligned every tensor is then aligned to its element size without
 * gaps, which the Rust reader would reject. Returns tensor i's offset; O(n) per call. */
static size_t data_offset(const duet_safetensors_entry *tensors, size_t n, size_t i) {
    size_t esize = duet_dtype_size(tensors[i].dtype), off = 0;
    for (size_t j = 0; j < n; j++) {
        size_t ej = duet_dtype_size(tensors[j].dtype), nb = 0;
        if (ej > esize || (ej == esize && j < i)) {
            (void)check_entry(&tensors[j], &nb);
            off += nb;
        }
    }
    return off;
}

static json_t *entry_json(const duet_safetensors_entry *e, size_t begin, size_t end) {
    json_t *o = json_object(), *shape = json_array(), *offs = json_array();
    bool ok = o && shape && offs;
    for (int i = e->n_dims - 1; ok && i >= 0; i--)
        ok = json_array_append_new(shape, json_integer(e->ne[i])) == 0;
    ok = ok && json_array_append_new(offs, json_integer((json_int_t)begin)) == 0 &&
         json_array_append_new(offs, json_integer((json_int_t)end)) == 0;
    ok = ok && json_object_set_new(o, "dtype", json_string(file_dtype_name(e->dtype))) == 0;
    ok = ok && json_object_set(o, "shape", shape) == 0 &&
         json_object_set(o, "data_offsets", offs) == 0;
    json_decref(shape);
    json_decref(offs);
    if (!ok) json_decref(o);
    return ok ? o : NULL;
}

/* The header JSON, or NULL with *s set. Caller frees with free() (jansson's allocator). */
static char *build_header(const char *path, const duet_safetensors_entry *tensors, size_t n,
                          const duet_safetensors_kv *meta, size_t n_meta, duet_status *s) {
    json_t *root = json_object(), *m = n_meta ? json_object() : NULL;
    char *text = NULL;
    *s = DUET_ERR_INVALID_ARG;
    if (!root || (n_meta && (!m || json_object_set(root, "__metadata__", m) != 0))) goto fail;
    for (size_t i = 0; i < n_meta; i++) {
        const char *k = meta[i].key;
        json_t *v = k && meta[i].value && !json_object_get(m, k) ? json_string(meta[i].value)
                                                                 : NULL;
        if (!v || json_object_set_new(m, k, v) != 0) { /* set_new releases v on failure */
            DUET_LOGE("%s: metadata entry %zu is NULL, not UTF-8 or a duplicate", path, i);
            goto fail;
        }
    }
    for (size_t i = 0; i < n; i++) {
        size_t nb = 0, off = data_offset(tensors, n, i);
        json_t *e = check_entry(&tensors[i], &nb) == DUET_OK && !json_object_get(root, tensors[i].name)
                        ? entry_json(&tensors[i], off, off + nb) : NULL;
        if (!e || json_object_set_new(root, tensors[i].name, e) != 0) {
            DUET_LOGE("%s: tensor %zu (%s): invalid entry, non-UTF-8 or duplicate name", path, i,
                      tensors[i].name ? tensors[i].name : "NULL");
            goto fail;
        }
    }
    text = json_dumps(root, JSON_COMPACT);
    *s = text ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
fail:
    json_decref(m);
    json_decref(root);
    return text;
}

static duet_status write_all(FILE *f, const char *header, const duet_safetensors_entry *tensors,
                             size_t n) {
    size_t hl = strlen(header), padded = (hl + 7) & ~(size_t)7;
    unsigned char len8[8];
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)((uint64_t)padded >> (8 * i));
    bool ok = fwrite(len8, 1, 8, f) == 8 && fwrite(header, 1, hl, f) == hl;
    for (size_t i = hl; ok && i < padded; i++) ok = fputc(' ', f) != EOF;
    for (size_t esize = 8; esize > 0; esize /= 2) /* the order of data_offset() */
        for (size_t i = 0; ok && i < n; i++) {
            size_t nb = 0;
            if (duet_dtype_size(tensors[i].dtype) != esize) continue;
            (void)check_entry(&tensors[i], &nb); /* validated by build_header */
            ok = nb == 0 || fwrite(tensors[i].data, 1, nb, f) == nb;
        }
    ok = ok && fflush(f) == 0 && fsync(fileno(f)) == 0;
    return ok ? DUET_OK : DUET_ERR_IO;
}

duet_status duet_safetensors_write(const char *path, const duet_safetensors_entry *tensors,
                                   size_t n_tensors, const duet_safetensors_kv *metadata,
                                   size_t n_metadata) {
    if (!path || (n_tensors && !tensors) || (n_metadata && !metadata)) {
        DUET_LOGE("duet_safetensors_write: invalid arguments");
        return DUET_ERR_INVALID_ARG;
    }
    duet_status s;
    char *header = build_header(path, tensors, n_tensors, metadata, n_metadata, &s);
    if (!header) return s;
    size_t plen = strlen(path);
    char *tmp = duet_malloc(plen + 5);
    if (!tmp) {
        free(header);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".tmp", 5);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        DUET_LOGE("%s: cannot create: %s", tmp, strerror(errno));
        s = DUET_ERR_IO;
    } else {
        s = write_all(f, header, tensors, n_tensors);
        int err = errno;
        if (fclose(f) != 0 && s == DUET_OK) s = DUET_ERR_IO, err = errno;
        if (s == DUET_OK && rename(tmp, path) != 0) s = DUET_ERR_IO, err = errno;
        if (s != DUET_OK) {
            DUET_LOGE("%s: write failed: %s", path, strerror(err));
            unlink(tmp);
        }
    }
    duet_free(tmp);
    free(header);
    return s;
}
