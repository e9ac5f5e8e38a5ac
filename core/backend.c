/* duet — backend creation and the thin public wrappers around the vtable. */
#include "backend.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"

duet_backend_params duet_backend_default_params(void) {
    duet_backend_params p;
    memset(&p, 0, sizeof p);
    p.kind = DUET_BACKEND_AUTO;
    p.n_threads = 0;
    p.device_index = -1;
    return p;
}

duet_status duet_backend_kind_parse(const char *s, duet_backend_kind *out) {
    static const char *const names[DUET_BACKEND_KIND_COUNT] = {"cpu", "vulkan", "auto"};
    for (int i = 0; s && i < DUET_BACKEND_KIND_COUNT; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (duet_backend_kind)i;
            return DUET_OK;
        }
    DUET_LOGE("unknown backend \"%s\" (expected cpu, vulkan or auto)", s ? s : "");
    return DUET_ERR_INVALID_ARG;
}

duet_status duet_backend_new(const duet_backend_params *p, duet_backend **out) {
    duet_backend_params d = duet_backend_default_params();
    if (!p) p = &d;
    if (!out) return DUET_ERR_INVALID_ARG;
    *out = NULL;
    switch (p->kind) {
    case DUET_BACKEND_CPU: return duet_cpu_backend_new(p, out);
    case DUET_BACKEND_VULKAN: return duet_vulkan_backend_new(p, out);
    case DUET_BACKEND_AUTO: {
        duet_status st = duet_vulkan_backend_new(p, out);
        bool explicit_device = p->device_index >= 0 || (getenv("DUET_DEVICE") && *getenv("DUET_DEVICE"));
        if (st == DUET_OK && (!(*out)->software_device || explicit_device)) return st;
        if (st == DUET_OK) {
            DUET_LOGI("only a software Vulkan device (%s); using the CPU backend", (*out)->name);
            duet_backend_free(out);
        } else {
            DUET_LOGI("no usable Vulkan device (%s); using the CPU backend", duet_status_str(st));
        }
        return duet_cpu_backend_new(p, out);
    }
    case DUET_BACKEND_KIND_COUNT: break;
    }
    DUET_LOGE("duet_backend_new: invalid backend kind %d", (int)p->kind);
    return DUET_ERR_INVALID_ARG;
}

void duet_backend_free(duet_backend **be) {
    if (!be || !*be) return;
    (*be)->vt->destroy(*be);
    *be = NULL;
}

const char *duet_backend_name(const duet_backend *be) { return be->name; }
duet_backend_kind duet_backend_get_kind(const duet_backend *be) { return be->kind; }
duet_status duet_backend_sync(duet_backend *be) { return be->vt->sync(be); }
long duet_backend_validation_errors(const duet_backend *be) { return be->validation_errors; }

size_t duet_backend_read_timings(duet_backend *be, duet_op_timing *out, size_t max) {
    return be->vt->read_timings ? be->vt->read_timings(be, out, max) : 0;
}
