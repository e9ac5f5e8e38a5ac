/* duet — Vulkan instance, validation messages, device capabilities and selection, logical
 * device creation. Validation (VK_LAYER_KHRONOS_validation with synchronization validation)
 * reports through a debug-utils messenger into duet_log as errors and counts each message on
 * the backend, so tests fail on any of them. Device choice: params.device_index, else
 * $DUET_DEVICE, else discrete > integrated > virtual > cpu. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "vk_internal.h"

duet_status duet_vk_result(VkResult r, const char *what) {
    if (r == VK_SUCCESS) return DUET_OK;
    duet_status st = DUET_ERR_BACKEND;
    if (r == VK_ERROR_OUT_OF_DEVICE_MEMORY) st = DUET_ERR_DEVICE_OOM;
    if (r == VK_ERROR_OUT_OF_HOST_MEMORY) st = DUET_ERR_OUT_OF_MEMORY;
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_LAYER_NOT_PRESENT ||
        r == VK_ERROR_EXTENSION_NOT_PRESENT || r == VK_ERROR_FEATURE_NOT_PRESENT)
        st = DUET_ERR_UNSUPPORTED;
    DUET_LOGE("vulkan: %s failed (VkResult %d)", what, (int)r);
    return st;
}

const char *duet_vk_type_name(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "cpu";
    default: return "other";
    }
}

static VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                                 VkDebugUtilsMessageTypeFlagsEXT types,
                                                 const VkDebugUtilsMessengerCallbackDataEXT *data,
                                                 void *user) {
    (void)severity;
    (void)types;
    duet_backend *be = user;
    if (be) be->validation_errors++;
    DUET_LOGE("vulkan validation: %s", data && data->pMessage ? data->pMessage : "(no text)");
    return VK_FALSE;
}

static bool has_layer(const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceLayerProperties(&n, NULL) != VK_SUCCESS || n == 0) return false;
    VkLayerProperties *p = duet_calloc(n, sizeof *p);
    bool found = false;
    if (p && vkEnumerateInstanceLayerProperties(&n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].layerName, name);
    duet_free(p);
    return found;
}

static bool has_instance_ext(const char *layer, const char *name) {
    uint32_t n = 0;
    if (vkEnumerateInstanceExtensionProperties(layer, &n, NULL) != VK_SUCCESS || n == 0)
        return false;
    VkExtensionProperties *p = duet_calloc(n, sizeof *p);
    bool found = false;
    if (p && vkEnumerateInstanceExtensionProperties(layer, &n, p) == VK_SUCCESS)
        for (uint32_t i = 0; i < n && !found; i++) found = !strcmp(p[i].extensionName, name);
    duet_free(p);
    return found;
}

static void messenger_info(VkDebugUtilsMessengerCreateInfoEXT *mi, duet_backend *counter) {
    memset(mi, 0, sizeof *mi);
    mi->sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    mi->messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT |
                          VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
    mi->messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                      VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
    mi->pfnUserCallback = on_message;
    mi->pUserData = counter;
}

duet_status duet_vk_instance_new(bool validation, duet_backend *counter, VkInstance *inst,
                                 VkDebugUtilsMessengerEXT *messenger) {
    *inst = VK_NULL_HANDLE;
    *messenger = VK_NULL_HANDLE;
    const char *layer = "VK_LAYER_KHRONOS_validation";
    bool layer_ok = validation && has_layer(layer);
    bool utils_ok = layer_ok && (has_instance_ext(NULL, VK_EXT_DEBUG_UTILS_EXTENSION_NAME) ||
                                 has_instance_ext(layer, VK_EXT_DEBUG_UTILS_EXTENSION_NAME));
    if (validation && !utils_ok)
        DUET_LOGW("vulkan: validation requested but %s or %s is missing; running without", layer,
                  VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
    VkApplicationInfo app = {.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO,
                             .pApplicationName = "duet",
                             .pEngineName = "duet",
                             .apiVersion = VK_API_VERSION_1_2};
    const char *exts[2];
    uint32_t n_exts = 0;
    if (utils_ok) exts[n_exts++] = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    /* Synchronization validation also checks the barriers between dependent dispatches. */
    VkValidationFeatureEnableEXT enables[] = {
        VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT};
    VkValidationFeaturesEXT vf = {.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT,
                                  .enabledValidationFeatureCount = 1,
                                  .pEnabledValidationFeatures = enables};
    bool vf_ok = utils_ok && has_instance_ext(layer, VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    if (vf_ok) exts[n_exts++] = VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT mi;
    messenger_info(&mi, counter);
    if (vf_ok) mi.pNext = &vf;
    VkInstanceCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO,
                               .pNext = utils_ok ? &mi : NULL,
                               .pApplicationInfo = &app,
                               .enabledLayerCount = utils_ok ? 1 : 0,
                               .ppEnabledLayerNames = &layer,
                               .enabledExtensionCount = n_exts,
                               .ppEnabledExtensionNames = exts};
    VkResult r = vkCreateInstance(&ci, NULL, inst);
    if (r == VK_ERROR_INCOMPATIBLE_DRIVER || r == VK_ERROR_INITIALIZATION_FAILED) {
        DUET_LOGI("vulkan: no usable Vulkan driver (vkCreateInstance: %d)", (int)r);
        return DUET_ERR_UNSUPPORTED;
    }
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreateInstance");
    if (utils_ok) {
        PFN_vkCreateDebugUtilsMessengerEXT create =
            (PFN_vkCreateDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                *inst, "vkCreateDebugUtilsMessengerEXT");
        messenger_info(&mi, counter);
        if (!create || create(*inst, &mi, NULL, messenger) != VK_SUCCESS)
            DUET_LOGW("vulkan: cannot create the debug messenger; validation messages are lost");
    }
    return DUET_OK;
}

void duet_vk_instance_free(VkInstance inst, VkDebugUtilsMessengerEXT messenger) {
    if (!inst) return;
    if (messenger) {
        PFN_vkDestroyDebugUtilsMessengerEXT destroy =
            (PFN_vkDestroyDebugUtilsMessengerEXT)vkGetInstanceProcAddr(
                inst, "vkDestroyDebugUtilsMessengerEXT");
        if (destroy) destroy(inst, messenger, NULL);
    }
    vkDestroyInstance(inst, NULL);
}

/* ---- capabilities ---- */

static bool ext_in(const VkExtensionProperties *e, uint32_t n, const char *name) {
    for (uint32_t i = 0; i < n; i++)
        if (!strcmp(e[i].extensionName, name)) return true;
    return false;
}

static void query_extensions(VkPhysicalDevice pd, duet_vk_caps *c) {
    uint32_t n = 0;
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n, NULL);
    VkExtensionProperties *e = duet_calloc(n ? n : 1, sizeof *e);
    if (!e) return;
    vkEnumerateDeviceExtensionProperties(pd, NULL, &n, e);
    c->push_descriptor = ext_in(e, n, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
    c->memory_budget = ext_in(e, n, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
    c->coopmat_nv = ext_in(e, n, "VK_NV_cooperative_matrix");
    c->coopmat_khr = ext_in(e, n, "VK_KHR_cooperative_matrix");
    c->bf16 = ext_in(e, n, "VK_KHR_shader_bfloat16");
    duet_free(e);
}

/* Does the NV extension offer the 16x16x16 f16 x f16 -> f32 subgroup shape? */
static bool coopmat_nv_shape(VkInstance inst, VkPhysicalDevice pd) {
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
                 p[i].BType == VK_COMPONENT_TYPE_FLOAT16_NV &&
                 p[i].CType == VK_COMPONENT_TYPE_FLOAT32_NV &&
                 p[i].DType == VK_COMPONENT_TYPE_FLOAT32_NV && p[i].scope == VK_SCOPE_SUBGROUP_NV;
    duet_free(p);
    return ok;
}

static void query_queue(VkPhysicalDevice pd, duet_vk_caps *c) {
    uint32_t n = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, NULL);
    VkQueueFamilyProperties *q = duet_calloc(n ? n : 1, sizeof *q);
    c->compute_family = -1;
    if (!q) return;
    vkGetPhysicalDeviceQueueFamilyProperties(pd, &n, q);
    /* Prefer a family with timestamps; among those the first one with compute. */
    for (int pass = 0; pass < 2 && c->compute_family < 0; pass++)
        for (uint32_t i = 0; i < n; i++)
            if ((q[i].queueFlags & VK_QUEUE_COMPUTE_BIT) && (pass || q[i].timestampValidBits)) {
                c->compute_family = (int)i;
                c->timestamp_bits = q[i].timestampValidBits;
                break;
            }
    duet_free(q);
}

void duet_vk_query_caps(VkPhysicalDevice pd, duet_vk_caps *c) {
    memset(c, 0, sizeof *c);
    vkGetPhysicalDeviceProperties(pd, &c->props);
    vkGetPhysicalDeviceMemoryProperties(pd, &c->mem);
    query_extensions(pd, c);
    query_queue(pd, c);
    c->max_alloc = c->max_buffer = (VkDeviceSize)1 << 30; /* the 1.1 minimum guarantee */
    snprintf(c->driver, sizeof c->driver, "driver version 0x%x", c->props.driverVersion);
    if (c->props.apiVersion < VK_API_VERSION_1_2) return; /* duet needs 1.2; report basics */

    VkPhysicalDeviceMaintenance4Properties m4 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_4_PROPERTIES};
    VkPhysicalDeviceDriverProperties drv = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES};
    VkPhysicalDeviceMaintenance3Properties m3 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES, .pNext = &drv};
    VkPhysicalDeviceSubgroupProperties sg = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, .pNext = &m3};
    if (c->props.apiVersion >= VK_API_VERSION_1_3) drv.pNext = &m4;
    VkPhysicalDeviceProperties2 p2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2,
                                      .pNext = &sg};
    vkGetPhysicalDeviceProperties2(pd, &p2);
    c->subgroup_size = sg.subgroupSize;
    c->subgroup_basic_compute = (sg.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                                (sg.supportedOperations & VK_SUBGROUP_FEATURE_BASIC_BIT);
    c->max_alloc = m3.maxMemoryAllocationSize;
    c->max_buffer = c->props.apiVersion >= VK_API_VERSION_1_3 ? m4.maxBufferSize : c->max_alloc;
    snprintf(c->driver, sizeof c->driver, "%.100s (%.140s)", drv.driverName, drv.driverInfo);

    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
    VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, .pNext = &f12};
    VkPhysicalDeviceFeatures2 f2 = {.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2,
                                    .pNext = &f11};
    vkGetPhysicalDeviceFeatures2(pd, &f2);
    c->storage16 = f11.storageBuffer16BitAccess;
    c->fp16_arith = f12.shaderFloat16;
    c->memory_model = f12.vulkanMemoryModel;
}

/* ---- selection and logical device ---- */

static int type_rank(VkPhysicalDeviceType t) {
    switch (t) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
    }
}

static bool usable(const duet_vk_caps *c) {
    return c->props.apiVersion >= VK_API_VERSION_1_2 && c->compute_family >= 0;
}

/* Index requested by params or $DUET_DEVICE, -1 for automatic; -2 on a malformed value. */
static int requested_index(int param) {
    if (param >= 0) return param;
    const char *env = getenv("DUET_DEVICE");
    if (!env || !*env) return -1;
    char *end = NULL;
    long v = strtol(env, &end, 10);
    if (*end || v < 0 || v > 1000) {
        DUET_LOGE("DUET_DEVICE=\"%s\": expected a device index (see `duet info`)", env);
        return -2;
    }
    return (int)v;
}

static duet_status pick(duet_vk_ctx *c, VkPhysicalDevice *pds, uint32_t n, int want) {
    duet_vk_caps caps;
    if (want >= 0) {
        if ((uint32_t)want >= n) {
            DUET_LOGE("vulkan: device %d requested but only %u device(s) exist", want, n);
            return DUET_ERR_INVALID_ARG;
        }
        duet_vk_query_caps(pds[want], &caps);
        if (!usable(&caps)) {
            DUET_LOGE("vulkan: device %d (%s) lacks Vulkan 1.2 or a compute queue", want,
                      caps.props.deviceName);
            return DUET_ERR_UNSUPPORTED;
        }
        c->phys = pds[want];
        c->caps = caps;
        return DUET_OK;
    }
    int best = -1, best_rank = -1;
    for (uint32_t i = 0; i < n; i++) {
        duet_vk_query_caps(pds[i], &caps);
        if (usable(&caps) && type_rank(caps.props.deviceType) > best_rank) {
            best = (int)i;
            best_rank = type_rank(caps.props.deviceType);
            c->caps = caps;
        }
    }
    if (best < 0) {
        DUET_LOGI("vulkan: no device with Vulkan 1.2 and a compute queue");
        return DUET_ERR_UNSUPPORTED;
    }
    c->phys = pds[best];
    return DUET_OK;
}

static bool env_off(const char *name) {
    const char *v = getenv(name);
    return v && (!strcmp(v, "0") || !strcmp(v, "off"));
}

/* Decide which optional paths to use; fills the extension list. */
static uint32_t choose_features(duet_vk_ctx *c, const char **exts) {
    uint32_t n = 0;
    c->use_16bit = c->caps.storage16 && !env_off("DUET_VK_16BIT");
    c->use_push = c->caps.push_descriptor && !env_off("DUET_VK_PUSH_DESCRIPTORS");
    c->caps.coopmat_nv_f16_16 = c->caps.coopmat_nv && coopmat_nv_shape(c->instance, c->phys);
    c->use_coopmat = c->caps.coopmat_nv_f16_16 && c->caps.fp16_arith && c->caps.storage16 &&
                     c->caps.subgroup_size == 32 && c->caps.subgroup_basic_compute &&
                     c->caps.memory_model && /* GL_KHR_memory_scope_semantics needs it */
                     duet_vk_has_shader("matmul_coopmat_nv") && !env_off("DUET_VK_COOPMAT");
    if (c->use_push) exts[n++] = VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME;
    if (c->use_coopmat) exts[n++] = "VK_NV_cooperative_matrix";
    if (c->caps.memory_budget) exts[n++] = VK_EXT_MEMORY_BUDGET_EXTENSION_NAME;
    return n;
}

duet_status duet_vk_device_open(duet_vk_ctx *c, int device_index) {
    int want = requested_index(device_index);
    if (want == -2) return DUET_ERR_INVALID_ARG;
    uint32_t n = 0;
    VkResult r = vkEnumeratePhysicalDevices(c->instance, &n, NULL);
    if (r != VK_SUCCESS || n == 0) {
        DUET_LOGI("vulkan: no physical devices");
        return DUET_ERR_UNSUPPORTED;
    }
    VkPhysicalDevice *pds = duet_calloc(n, sizeof *pds);
    if (!pds) return DUET_ERR_OUT_OF_MEMORY;
    r = vkEnumeratePhysicalDevices(c->instance, &n, pds);
    duet_status st = r == VK_SUCCESS || r == VK_INCOMPLETE
                         ? pick(c, pds, n, want)
                         : duet_vk_result(r, "vkEnumeratePhysicalDevices");
    duet_free(pds);
    if (st != DUET_OK) return st;

    const char *exts[4];
    uint32_t n_exts = choose_features(c, exts);
    VkPhysicalDeviceCooperativeMatrixFeaturesNV cm = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_COOPERATIVE_MATRIX_FEATURES_NV,
        .cooperativeMatrix = VK_TRUE};
    VkPhysicalDeviceVulkan12Features f12 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES,
        .pNext = c->use_coopmat ? &cm : NULL,
        .shaderFloat16 = c->use_coopmat,
        .vulkanMemoryModel = c->use_coopmat};
    VkPhysicalDeviceVulkan11Features f11 = {
        .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES,
        .pNext = &f12,
        .storageBuffer16BitAccess = c->use_16bit || c->use_coopmat};
    float prio = 1.0f;
    c->family = (uint32_t)c->caps.compute_family;
    VkDeviceQueueCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO,
                                  .queueFamilyIndex = c->family,
                                  .queueCount = 1,
                                  .pQueuePriorities = &prio};
    VkDeviceCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO,
                             .pNext = &f11,
                             .queueCreateInfoCount = 1,
                             .pQueueCreateInfos = &qi,
                             .enabledExtensionCount = n_exts,
                             .ppEnabledExtensionNames = exts};
    r = vkCreateDevice(c->phys, &di, NULL, &c->dev);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreateDevice");
    vkGetDeviceQueue(c->dev, c->family, 0, &c->queue);
    VkDeviceSize a = c->caps.props.limits.minStorageBufferOffsetAlignment;
    c->align = a > 256 ? a : 256;
    return DUET_OK;
}
