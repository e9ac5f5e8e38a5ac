/* duet — tensor metadata, views, dtype conversion and host transfers. */
#include "tensor.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "arena.h"
#include "backend.h"
#include "log.h"

size_t duet_dtype_size(duet_dtype t) {
    switch (t) {
    case DUET_F32: return 4;
    case DUET_F16: return 2;
    case DUET_BF16: return 2;
    case DUET_I32: return 4;
    case DUET_DTYPE_COUNT: break;
    }
    return 0;
}

const char *duet_dtype_name(duet_dtype t) {
    switch (t) {
    case DUET_F32: return "f32";
    case DUET_F16: return "f16";
    case DUET_BF16: return "bf16";
    case DUET_I32: return "i32";
    case DUET_DTYPE_COUNT: break;
    }
    return "?";
}

int64_t duet_nelements(const duet_tensor *t) {
    int64_t n = 1;
    for (int i = 0; i < DUET_MAX_DIMS; i++) n *= t->ne[i];
    return n;
}

size_t duet_span_bytes(const duet_tensor *t) {
    if (duet_nelements(t) == 0) return 0;
    size_t last = 0;
    for (int i = 0; i < DUET_MAX_DIMS; i++) last += (size_t)(t->ne[i] - 1) * t->nb[i];
    return last + duet_dtype_size(t->dtype);
}

bool duet_is_contiguous(const duet_tensor *t) {
    size_t expect = duet_dtype_size(t->dtype);
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        if (t->ne[i] != 1 && t->nb[i] != expect) return false;
        expect *= (size_t)t->ne[i];
    }
    return true;
}

bool duet_same_shape(const duet_tensor *a, const duet_tensor *b) {
    for (int i = 0; i < DUET_MAX_DIMS; i++)
        if (a->ne[i] != b->ne[i]) return false;
    return true;
}

const char *duet_shape_str(const duet_tensor *t, char *buf, size_t n) {
    size_t used = 0;
    used += (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < t->n_dims && used < n; i++)
        used += (size_t)snprintf(buf + used, n - used, i ? ", %lld" : "%lld", (long long)t->ne[i]);
    if (used < n) snprintf(buf + used, n - used, "]");
    return buf;
}

static void set_contiguous_strides(duet_tensor *t) {
    size_t s = duet_dtype_size(t->dtype);
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        t->nb[i] = s;
        s *= (size_t)t->ne[i];
    }
}

static bool shape_ok(int n_dims, const int64_t *ne) {
    if (n_dims < 1 || n_dims > DUET_MAX_DIMS) return false;
    for (int i = 0; i < n_dims; i++)
        if (ne[i] < 1 || ne[i] > ((int64_t)1 << 40)) return false;
    return true;
}

duet_tensor *duet_tensor_new(duet_arena *a, duet_backend *be, duet_dtype t, int n_dims,
                             const int64_t *ne) {
    if (!a || !be || (unsigned)t >= DUET_DTYPE_COUNT || !shape_ok(n_dims, ne)) {
        DUET_LOGE("duet_tensor_new: invalid arguments");
        return NULL;
    }
    duet_tensor *x = duet_arena_alloc(a, sizeof *x);
    if (!x) return NULL;
    x->dtype = t;
    x->n_dims = n_dims;
    for (int i = 0; i < DUET_MAX_DIMS; i++) x->ne[i] = i < n_dims ? ne[i] : 1;
    set_contiguous_strides(x);
    size_t nbytes = (size_t)duet_nelements(x) * duet_dtype_size(t);
    duet_buffer *buf = NULL;
    duet_status st = be->vt->buffer_alloc(be, nbytes, &buf);
    if (st != DUET_OK) {
        char s[96];
        DUET_LOGE("%s: cannot allocate tensor %s %s (%zu bytes): %s", be->name,
                  duet_dtype_name(t), duet_shape_str(x, s, sizeof s), nbytes, duet_status_str(st));
        return NULL;
    }
    if (duet_arena_own_buffer(a, buf) != 0) {
        be->vt->buffer_free(be, buf);
        return NULL;
    }
    x->buf = buf;
    return x;
}

duet_tensor *duet_tensor_new4(duet_arena *a, duet_backend *be, duet_dtype t, int64_t ne0,
                              int64_t ne1, int64_t ne2, int64_t ne3) {
    int64_t ne[4] = {ne0, ne1, ne2, ne3};
    int n = 4;
    while (n > 1 && ne[n - 1] == 1) n--;
    return duet_tensor_new(a, be, t, n, ne);
}

static duet_tensor view_of(const duet_tensor *src, int n_dims, const int64_t *ne,
                           const size_t *nb, size_t offset_bytes) {
    duet_tensor x = *src;
    x.n_dims = n_dims;
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        x.ne[i] = i < n_dims ? ne[i] : 1;
        x.nb[i] = i < n_dims ? nb[i] : (i ? x.nb[i - 1] * (size_t)x.ne[i - 1] : 0);
    }
    x.offset = src->offset + offset_bytes;
    return x;
}

duet_tensor duet_view_at(const duet_tensor *src, int n_dims, const int64_t *ne, const size_t *nb,
                         size_t offset_bytes) {
    duet_tensor x = view_of(src, n_dims, ne, nb, offset_bytes);
    DUET_ASSERT(!src->buf || x.offset + duet_span_bytes(&x) <= src->buf->nbytes);
    return x;
}

duet_tensor *duet_view(duet_arena *a, const duet_tensor *src, int n_dims, const int64_t *ne,
                       const size_t *nb, size_t offset_bytes) {
    if (!a || !src || !shape_ok(n_dims, ne)) {
        DUET_LOGE("duet_view: invalid arguments");
        return NULL;
    }
    duet_tensor v = view_of(src, n_dims, ne, nb, offset_bytes);
    if (src->buf && v.offset + duet_span_bytes(&v) > src->buf->nbytes) {
        DUET_LOGE("duet_view of %s: view exceeds its buffer", src->name);
        return NULL;
    }
    duet_tensor *x = duet_arena_alloc(a, sizeof *x);
    if (!x) return NULL;
    *x = v;
    return x;
}

duet_tensor *duet_reshape(duet_arena *a, const duet_tensor *src, int n_dims, const int64_t *ne) {
    if (!src || !duet_is_contiguous(src) || !shape_ok(n_dims, ne)) {
        DUET_LOGE("duet_reshape: %s is not contiguous or the shape is invalid",
                  src ? src->name : "(null)");
        return NULL;
    }
    int64_t n = 1;
    for (int i = 0; i < n_dims; i++) n *= ne[i];
    if (n != duet_nelements(src)) {
        DUET_LOGE("duet_reshape of %s: %lld elements cannot become %lld", src->name,
                  (long long)duet_nelements(src), (long long)n);
        return NULL;
    }
    duet_tensor tmp = *src;
    tmp.n_dims = n_dims;
    for (int i = 0; i < DUET_MAX_DIMS; i++) tmp.ne[i] = i < n_dims ? ne[i] : 1;
    set_contiguous_strides(&tmp);
    return duet_view(a, src, n_dims, tmp.ne, tmp.nb, 0);
}

duet_tensor *duet_permute(duet_arena *a, const duet_tensor *src, const int *perm) {
    int64_t ne[DUET_MAX_DIMS];
    size_t nb[DUET_MAX_DIMS];
    int seen = 0;
    for (int i = 0; i < src->n_dims; i++) {
        if (perm[i] < 0 || perm[i] >= src->n_dims || (seen & (1 << perm[i]))) {
            DUET_LOGE("duet_permute of %s: invalid permutation", src->name);
            return NULL;
        }
        seen |= 1 << perm[i];
        ne[i] = src->ne[perm[i]];
        nb[i] = src->nb[perm[i]];
    }
    return duet_view(a, src, src->n_dims, ne, nb, 0);
}

duet_tensor *duet_slice(duet_arena *a, const duet_tensor *src, int dim, int64_t start,
                        int64_t len) {
    if (dim < 0 || dim >= src->n_dims || start < 0 || len < 1 || start + len > src->ne[dim]) {
        DUET_LOGE("duet_slice of %s: dim %d range [%lld, %lld) out of bounds", src->name, dim,
                  (long long)start, (long long)(start + len));
        return NULL;
    }
    int64_t ne[DUET_MAX_DIMS];
    memcpy(ne, src->ne, sizeof ne);
    ne[dim] = len;
    return duet_view(a, src, src->n_dims, ne, src->nb, (size_t)start * src->nb[dim]);
}

void duet_tensor_set_name(duet_tensor *t, const char *name) {
    snprintf(t->name, sizeof t->name, "%s", name);
}

/* ---- scalar conversions ---- */

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t duet_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

float duet_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t duet_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint32_t sign = (u >> 16) & 0x8000u;
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00u);          /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00u);         /* overflow -> inf */
    if (a < 0x38800000u) {                                            /* subnormal or zero */
        /* add 0.5 (as a float) so the FPU rounds the mantissa for us, to nearest even */
        float v = bits_f32(a) + 0.5f;
        return (uint16_t)(sign | (f32_bits(v) - 0x3f000000u));
    }
    uint32_t mant_odd = (a >> 13) & 1u;
    a += 0xc8000fffu + mant_odd; /* rebias exponent (-112 << 23) and round to nearest even */
    return (uint16_t)(sign | (a >> 13));
}

float duet_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
    if (e == 0) { /* zero or subnormal: m * 2^-24 */
        float v = (float)m * (1.0f / 16777216.0f);
        return bits_f32(f32_bits(v) | sign);
    }
    if (e == 31) return bits_f32(sign | 0x7f800000u | (m << 13));
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

static float load_as_f32(const void *src, duet_dtype t, size_t i) {
    switch (t) {
    case DUET_F16: return duet_f16_to_f32(((const uint16_t *)src)[i]);
    case DUET_BF16: return duet_bf16_to_f32(((const uint16_t *)src)[i]);
    default: return ((const float *)src)[i];
    }
}

duet_status duet_convert(void *dst, duet_dtype dst_t, const void *src, duet_dtype src_t,
                         size_t n) {
    if ((dst_t == DUET_I32) != (src_t == DUET_I32)) return DUET_ERR_INVALID_ARG;
    if (dst_t == src_t) {
        memcpy(dst, src, n * duet_dtype_size(dst_t));
        return DUET_OK;
    }
    for (size_t i = 0; i < n; i++) {
        float v = load_as_f32(src, src_t, i);
        switch (dst_t) {
        case DUET_F32: ((float *)dst)[i] = v; break;
        case DUET_F16: ((uint16_t *)dst)[i] = duet_f32_to_f16(v); break;
        case DUET_BF16: ((uint16_t *)dst)[i] = duet_f32_to_bf16(v); break;
        default: return DUET_ERR_INVALID_ARG;
        }
    }
    return DUET_OK;
}

/* ---- transfers ---- */

duet_status duet_tensor_upload(duet_tensor *t, const void *data, duet_dtype src_dtype) {
    if (!t || !t->buf || !data) return DUET_ERR_INVALID_ARG;
    if (!duet_is_contiguous(t)) {
        DUET_LOGE("upload to %s: tensor is not contiguous", t->name);
        return DUET_ERR_INVALID_ARG;
    }
    duet_backend *be = t->buf->backend;
    size_t n = (size_t)duet_nelements(t), nbytes = n * duet_dtype_size(t->dtype);
    if (src_dtype == t->dtype) return be->vt->upload(be, t->buf, t->offset, data, nbytes);
    void *tmp = duet_malloc(nbytes);
    if (!tmp) return DUET_ERR_OUT_OF_MEMORY;
    duet_status st = duet_convert(tmp, t->dtype, data, src_dtype, n);
    if (st == DUET_OK) st = be->vt->upload(be, t->buf, t->offset, tmp, nbytes);
    duet_free(tmp);
    return st;
}

duet_status duet_tensor_download(const duet_tensor *t, void *data, duet_dtype dst_dtype) {
    if (!t || !t->buf || !data) return DUET_ERR_INVALID_ARG;
    if (!duet_is_contiguous(t)) {
        DUET_LOGE("download of %s: tensor is not contiguous", t->name);
        return DUET_ERR_INVALID_ARG;
    }
    duet_backend *be = t->buf->backend;
    size_t n = (size_t)duet_nelements(t), nbytes = n * duet_dtype_size(t->dtype);
    if (dst_dtype == t->dtype) return be->vt->download(be, t->buf, t->offset, data, nbytes);
    void *tmp = duet_malloc(nbytes);
    if (!tmp) return DUET_ERR_OUT_OF_MEMORY;
    duet_status st = be->vt->download(be, t->buf, t->offset, tmp, nbytes);
    if (st == DUET_OK) st = duet_convert(data, dst_dtype, tmp, t->dtype, n);
    duet_free(tmp);
    return st;
}

duet_status duet_tensor_set_f32(duet_tensor *t, const float *data) {
    return duet_tensor_upload(t, data, DUET_F32);
}

duet_status duet_tensor_get_f32(const duet_tensor *t, float *data) {
    return duet_tensor_download(t, data, DUET_F32);
}
