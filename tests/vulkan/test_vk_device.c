/* duet — Vulkan device listing and selection. Checked: duet_vk_list_devices reports at least
 * one usable device with plausible limits (heaps, subgroup size, shared memory, buffer range);
 * params.device_index and $DUET_DEVICE pick that device by index; an index past the last
 * device, or a malformed $DUET_DEVICE, fails with DUET_ERR_INVALID_ARG instead of falling back
 * silently; automatic choice opens a usable device. */
#include "vk_test.h"

static duet_status open_with(int index, const char *env, duet_backend **be) {
    if (env) setenv("DUET_DEVICE", env, 1);
    else unsetenv("DUET_DEVICE");
    duet_backend_params p = duet_backend_default_params();
    p.kind = DUET_BACKEND_VULKAN;
    p.validation = true;
    p.device_index = index;
    *be = NULL;
    return duet_backend_new(&p, be);
}

int main(void) {
    duet_backend *first = vk_test_open(false); /* skips (77) without Vulkan */
    duet_vk_device_info devs[8];
    int n = 0;
    T_CHECK_OK(duet_vk_list_devices(devs, 8, &n));
    T_CHECK(n >= 1);
    int usable = -1;
    for (int i = 0; i < n && i < 8; i++) {
        const duet_vk_device_info *d = &devs[i];
        fprintf(stderr, "device %d: %s (%s) Vulkan %u.%u, subgroup %u, shared %u, range %llu\n",
                d->index, d->name, d->type, d->api_major, d->api_minor, d->subgroup_size,
                d->max_shared_bytes, (unsigned long long)d->max_storage_buffer_range);
        T_CHECK(d->index == i && d->name[0] && d->n_heaps >= 1 && d->heap_bytes[0] > 0);
        if (!d->usable) continue;
        T_CHECK(d->subgroup_size >= 1 && d->max_shared_bytes >= 16384);
        T_CHECK(d->max_storage_buffer_range >= (1u << 27) && d->max_allocation_bytes >= (1u << 30));
        if (usable < 0) usable = i;
    }
    T_CHECK(usable >= 0);
    duet_backend *be[2] = {first, NULL};
    if (usable >= 0) {
        char idx[16], name[41]; /* backend names carry the first 48 characters */
        snprintf(idx, sizeof idx, "%d", usable);
        snprintf(name, sizeof name, "%s", devs[usable].name);
        T_CHECK_OK(open_with(usable, NULL, &be[1])); /* by params */
        if (be[1]) T_CHECK(strstr(duet_backend_name(be[1]), name) != NULL);
        duet_test_end(&be[1], 1);
        T_CHECK_OK(open_with(-1, idx, &be[1])); /* by $DUET_DEVICE */
        if (be[1]) T_CHECK(strstr(duet_backend_name(be[1]), name) != NULL);
        duet_test_end(&be[1], 1);
    }
    /* auto: a GPU if there is one, else the CPU backend rather than a software Vulkan device */
    bool any_gpu = false;
    for (int i = 0; i < n && i < 8; i++) any_gpu |= devs[i].usable && strcmp(devs[i].type, "cpu") != 0;
    unsetenv("DUET_DEVICE");
    duet_backend_params ap = duet_backend_default_params();
    T_CHECK_OK(duet_backend_new(&ap, &be[1]));
    if (be[1]) {
        T_CHECK(duet_backend_get_kind(be[1]) == (any_gpu ? DUET_BACKEND_VULKAN : DUET_BACKEND_CPU));
        duet_backend_free(&be[1]);
    }
    if (usable >= 0) { /* an explicit device is honoured even when it is software */
        ap.device_index = usable;
        T_CHECK_OK(duet_backend_new(&ap, &be[1]));
        if (be[1]) T_CHECK(duet_backend_get_kind(be[1]) == DUET_BACKEND_VULKAN);
        duet_backend_free(&be[1]);
    }
    T_CHECK(open_with(n, NULL, &be[1]) == DUET_ERR_INVALID_ARG && !be[1]);
    T_CHECK(open_with(-1, "99", &be[1]) == DUET_ERR_INVALID_ARG && !be[1]);
    T_CHECK(open_with(-1, "gpu0", &be[1]) == DUET_ERR_INVALID_ARG && !be[1]);
    unsetenv("DUET_DEVICE");
    return duet_test_end(&be[0], 1);
}
