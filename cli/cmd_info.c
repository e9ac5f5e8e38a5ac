/* duet — `duet info`: version, the backends this build has and what each can open, and every
 * Vulkan device with the features duet's kernels use (through core/vulkan/vk_info.h). */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "core/backend.h"
#include "core/log.h"
#include "core/vulkan/vk_info.h"

#define MAX_DEVICES 16

static const char *yn(bool b) { return b ? "yes" : "no"; }

static double mib(uint64_t b) { return (double)b / (1024.0 * 1024.0); }

static void print_device(const duet_vk_device_info *d) {
    printf("  [%d] %s (%s)%s\n", d->index, d->name, d->type,
           d->usable ? "" : "  -- not usable: needs Vulkan 1.2 and a compute queue");
    printf("      Vulkan %u.%u.%u, driver %s\n", d->api_major, d->api_minor, d->api_patch,
           d->driver);
    for (int h = 0; h < d->n_heaps; h++)
        printf("      heap %d: %.0f MiB%s\n", h, mib(d->heap_bytes[h]),
               d->heap_device_local[h] ? " device-local" : "");
    printf("      fp16 arithmetic: %s, 16-bit storage: %s, bf16: %s\n", yn(d->fp16_arithmetic),
           yn(d->storage_16bit), yn(d->bf16));
    printf("      cooperative matrix: NV %s, KHR %s; duet's coopmat matmul: %s\n",
           yn(d->coopmat_nv), yn(d->coopmat_khr), d->coopmat_nv_usable ? "used" : "not used");
    printf("      subgroup size %u, shared memory %u KiB, push descriptors: %s\n", d->subgroup_size,
           d->max_shared_bytes / 1024, yn(d->push_descriptors));
    printf("      max storage buffer range %.0f MiB, max allocation %.0f MiB\n",
           mib(d->max_storage_buffer_range), mib(d->max_allocation_bytes));
}

static void print_devices(void) {
    duet_vk_device_info devs[MAX_DEVICES];
    int n = 0;
    duet_status st = duet_vk_list_devices(devs, MAX_DEVICES, &n);
    if (st != DUET_OK) {
        printf("vulkan devices: none (%s)\n", duet_status_str(st));
        return;
    }
    printf("vulkan devices: %d\n", n);
    for (int i = 0; i < n && i < MAX_DEVICES; i++) print_device(&devs[i]);
    if (n > MAX_DEVICES) printf("  ... and %d more\n", n - MAX_DEVICES);
}

int duet_cmd_info(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: duet info\n\nPrints the version, the backends and the Vulkan devices.\n"
                   "Choose a device with DUET_DEVICE=<index> (the number in brackets).\n");
            return 0;
        }
        fprintf(stderr, "duet info: unknown option '%s'\n", argv[i]);
        return 2;
    }
    printf("duet %s\n", DUET_VERSION);
    printf("backends:\n");
    const duet_backend_kind kinds[] = {DUET_BACKEND_CPU, DUET_BACKEND_VULKAN};
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        duet_backend_params p = duet_backend_default_params();
        p.kind = kinds[i];
        duet_backend *be = NULL;
        duet_status st = duet_backend_new(&p, &be);
        if (st == DUET_OK)
            printf("  %s\n", duet_backend_name(be));
        else
            printf("  %s: unavailable (%s)\n", i ? "vulkan" : "cpu", duet_status_str(st));
        duet_backend_free(&be);
    }
    print_devices();
    return 0;
}
