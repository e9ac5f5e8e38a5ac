/* duet — the Vulkan backend in builds without the Vulkan loader or glslc: every entry point
 * reports DUET_ERR_UNSUPPORTED, so `--backend auto` falls back to the CPU. */
#include "../backend.h"
#include "../log.h"
#include "vk_info.h"

duet_status duet_vulkan_backend_new(const duet_backend_params *p, duet_backend **out) {
    (void)p;
    *out = NULL;
    DUET_LOGI("this build has no Vulkan backend (Vulkan loader or glslc missing at build time)");
    return DUET_ERR_UNSUPPORTED;
}

duet_status duet_vk_list_devices(duet_vk_device_info *out, int max, int *n) {
    (void)out;
    (void)max;
    if (n) *n = 0;
    return DUET_ERR_UNSUPPORTED;
}

duet_status duet_vk_get_stats(const duet_backend *be, duet_vk_stats *out) {
    (void)be;
    (void)out;
    return DUET_ERR_UNSUPPORTED;
}

duet_status duet_vk_buffer_location(const duet_buffer *buf, size_t *block, size_t *offset) {
    (void)buf;
    (void)block;
    (void)offset;
    return DUET_ERR_UNSUPPORTED;
}

duet_status duet_vk_submit_debug_message(duet_backend *be, const char *text) {
    (void)be;
    (void)text;
    return DUET_ERR_UNSUPPORTED;
}
