/* duet — `duet info`'s view of Vulkan: every physical device with its type, API version,
 * driver, heaps and the features duet's kernels care about, through a short-lived instance
 * without validation (vk_info.h). */
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "vk_internal.h"

static void fill(duet_vk_device_info *o, int index, const duet_vk_caps *c) {
    memset(o, 0, sizeof *o);
    o->index = index;
    snprintf(o->name, sizeof o->name, "%s", c->props.deviceName);
    snprintf(o->type, sizeof o->type, "%s", duet_vk_type_name(c->props.deviceType));
    o->api_major = VK_API_VERSION_MAJOR(c->props.apiVersion);
    o->api_minor = VK_API_VERSION_MINOR(c->props.apiVersion);
    o->api_patch = VK_API_VERSION_PATCH(c->props.apiVersion);
    snprintf(o->driver, sizeof o->driver, "%s", c->driver);
    o->n_heaps = (int)c->mem.memoryHeapCount;
    if (o->n_heaps > DUET_VK_MAX_HEAPS) o->n_heaps = DUET_VK_MAX_HEAPS;
    for (int h = 0; h < o->n_heaps; h++) {
        o->heap_bytes[h] = c->mem.memoryHeaps[h].size;
        o->heap_device_local[h] = c->mem.memoryHeaps[h].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT;
    }
    o->fp16_arithmetic = c->fp16_arith;
    o->storage_16bit = c->storage16;
    o->bf16 = c->bf16;
    o->coopmat_nv = c->coopmat_nv;
    o->coopmat_khr = c->coopmat_khr;
    o->push_descriptors = c->push_descriptor;
    o->subgroup_size = c->subgroup_size;
    o->max_shared_bytes = c->props.limits.maxComputeSharedMemorySize;
    o->max_storage_buffer_range = c->props.limits.maxStorageBufferRange;
    o->max_allocation_bytes = c->max_alloc;
    o->usable = c->props.apiVersion >= VK_API_VERSION_1_2 && c->compute_family >= 0;
}

/* The NV shape query needs the instance; mirrors the checks of duet_vk_device_open. */
static bool coopmat_usable(VkInstance inst, VkPhysicalDevice pd, const duet_vk_caps *c) {
    if (!c->coopmat_nv || !c->fp16_arith || !c->storage16 || c->subgroup_size != 32 ||
        !c->subgroup_basic_compute || !c->memory_model || !duet_vk_has_shader("matmul_coopmat_nv"))
        return false;
    PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV get =
        (PFN_vkGetPhysicalDeviceCooperativeMatrixPropertiesNV)vkGetInstanceProcAddr(
            inst, "vkGetPhysicalDeviceCooperativeMatrixPropertiesNV");
    uint32_t n = 0;
    if (!get || get(pd, &n, NULL) != VK_SUCCESS || n == 0) return false;
    VkCooperativeMatrixPropertiesNV *p = duet_calloc(n, sizeof *p);
    bool ok = false;
    for (uint32_t i = 0; p && i < n; i++)
        p[i].sType = VK_STRUCTURE_TYPE_COOPERATIVE_MATRIX_PROPERTIES_NV;
    if (p && get(pd, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !ok; i++)
            ok = p[i].MSize == 16 && p[i].NSize == 16 && p[i].KSize == 16 &&
                 p[i].AType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                 p[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV && p[i].scope == VK_SCOPE_SUBGROUP_NV;
    duet_free(p);
    return ok;
}

duet_status duet_vk_list_devices(duet_vk_device_info *out, int max, int *n) {
    if (!n || (max > 0 && !out)) return DUET_ERR_INVALID_ARG;
    *n = 0;
    VkInstance inst;
    VkDebugUtilsMessengerEXT messenger;
    duet_status st = duet_vk_instance_new(false, NULL, &inst, &messenger);
    if (st != DUET_OK) return st;
    uint32_t count = 0;
    VkResult r = vkEnumeratePhysicalDevices(inst, &count, NULL);
    VkPhysicalDevice *pds = count ? duet_calloc(count, sizeof *pds) : NULL;
    if (r == VK_SUCCESS && count && !pds)
        st = DUET_ERR_OUT_OF_MEMORY;
    else if (r == VK_SUCCESS && count)
        r = vkEnumeratePhysicalDevices(inst, &count, pds);
    if (st == DUET_OK && r != VK_SUCCESS && r != VK_INCOMPLETE)
        st = duet_vk_result(r, "vkEnumeratePhysicalDevices");
    for (uint32_t i = 0; st == DUET_OK && i < count; i++) {
        if ((int)i >= max) continue;
        duet_vk_caps caps;
        duet_vk_query_caps(pds[i], &caps);
        fill(&out[i], (int)i, &caps);
        out[i].coopmat_nv_usable = coopmat_usable(inst, pds[i], &caps);
    }
    if (st == DUET_OK) *n = (int)count;
    duet_free(pds);
    duet_vk_instance_free(inst, messenger);
    return st;
}
