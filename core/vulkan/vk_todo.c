/* duet — placeholder until the Vulkan backend lands: reports that Vulkan is unavailable. */
#include "../backend.h"
#include "../log.h"

duet_status duet_vulkan_backend_new(const duet_backend_params *p, duet_backend **out) {
    (void)p;
    *out = NULL;
    DUET_LOGI("this build has no Vulkan backend yet");
    return DUET_ERR_UNSUPPORTED;
}
