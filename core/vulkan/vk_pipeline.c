/* duet — compute pipelines built lazily from the embedded SPIR-V (vk_shaders.h), one per
 * (shader variant, specialization constants), cached for the backend's lifetime. Every
 * pipeline shares one layout: a descriptor set of VK_MAX_BINDINGS storage buffers (a push
 * descriptor set when VK_KHR_push_descriptor is in use, else sets from a per-frame pool) and
 * VK_PUSH_BYTES of push constants. */
#include <string.h>

#include "../alloc.h"
#include "vk_internal.h"
#include "vk_shaders.h"

static int find_shader(const char *name) {
    for (size_t i = 0; i < duet_vk_n_shaders; i++)
        if (!strcmp(duet_vk_shaders[i].name, name)) return (int)i;
    return -1;
}

bool duet_vk_has_shader(const char *name) { return find_shader(name) >= 0; }

duet_status duet_vk_pipelines_init(duet_vk_ctx *c) {
    VkDescriptorSetLayoutBinding b[VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < VK_MAX_BINDINGS; i++)
        b[i] = (VkDescriptorSetLayoutBinding){.binding = i,
                                              .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                              .descriptorCount = 1,
                                              .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT};
    VkDescriptorSetLayoutCreateInfo di = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .flags = c->use_push ? VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR : 0,
        .bindingCount = VK_MAX_BINDINGS,
        .pBindings = b};
    VkResult r = vkCreateDescriptorSetLayout(c->dev, &di, NULL, &c->dsl);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreateDescriptorSetLayout");
    VkPushConstantRange pr = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .size = VK_PUSH_BYTES};
    VkPipelineLayoutCreateInfo li = {.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
                                     .setLayoutCount = 1,
                                     .pSetLayouts = &c->dsl,
                                     .pushConstantRangeCount = 1,
                                     .pPushConstantRanges = &pr};
    r = vkCreatePipelineLayout(c->dev, &li, NULL, &c->layout);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreatePipelineLayout");
    VkPipelineCacheCreateInfo ci = {.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO};
    r = vkCreatePipelineCache(c->dev, &ci, NULL, &c->pcache);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreatePipelineCache");
    c->modules = duet_calloc(duet_vk_n_shaders ? duet_vk_n_shaders : 1, sizeof *c->modules);
    return c->modules ? DUET_OK : DUET_ERR_OUT_OF_MEMORY;
}

void duet_vk_pipelines_release(duet_vk_ctx *c) {
    for (size_t i = 0; i < c->n_pipelines; i++)
        vkDestroyPipeline(c->dev, c->pipelines[i].pipeline, NULL);
    duet_free(c->pipelines);
    c->pipelines = NULL;
    c->n_pipelines = 0;
    for (size_t i = 0; c->modules && i < duet_vk_n_shaders; i++)
        if (c->modules[i]) vkDestroyShaderModule(c->dev, c->modules[i], NULL);
    duet_free(c->modules);
    c->modules = NULL;
    if (c->pcache) vkDestroyPipelineCache(c->dev, c->pcache, NULL);
    if (c->layout) vkDestroyPipelineLayout(c->dev, c->layout, NULL);
    if (c->dsl) vkDestroyDescriptorSetLayout(c->dev, c->dsl, NULL);
    c->pcache = VK_NULL_HANDLE;
    c->layout = VK_NULL_HANDLE;
    c->dsl = VK_NULL_HANDLE;
}

static duet_status module(duet_vk_ctx *c, int i, VkShaderModule *out) {
    if (!c->modules[i]) {
        VkShaderModuleCreateInfo mi = {.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
                                       .codeSize = duet_vk_shaders[i].nbytes,
                                       .pCode = duet_vk_shaders[i].code};
        VkResult r = vkCreateShaderModule(c->dev, &mi, NULL, &c->modules[i]);
        if (r != VK_SUCCESS) return duet_vk_result(r, duet_vk_shaders[i].name);
    }
    *out = c->modules[i];
    return DUET_OK;
}

static duet_status build(duet_vk_ctx *c, int si, const uint32_t *spec, uint32_t n_spec,
                         VkPipeline *out) {
    VkShaderModule m = VK_NULL_HANDLE;
    duet_status st = module(c, si, &m);
    if (st != DUET_OK) return st;
    VkSpecializationMapEntry map[8];
    for (uint32_t i = 0; i < n_spec; i++)
        map[i] = (VkSpecializationMapEntry){.constantID = i, .offset = 4 * i, .size = 4};
    VkSpecializationInfo si_ = {
        .mapEntryCount = n_spec, .pMapEntries = map, .dataSize = 4 * n_spec, .pData = spec};
    VkComputePipelineCreateInfo pi = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage = {.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                  .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                  .module = m,
                  .pName = "main",
                  .pSpecializationInfo = n_spec ? &si_ : NULL},
        .layout = c->layout};
    VkResult r = vkCreateComputePipelines(c->dev, c->pcache, 1, &pi, NULL, out);
    return r == VK_SUCCESS ? DUET_OK : duet_vk_result(r, duet_vk_shaders[si].name);
}

duet_status duet_vk_pipeline(duet_vk_ctx *c, const char *shader, const uint32_t *spec,
                             uint32_t n_spec, VkPipeline *out) {
    DUET_ASSERT(n_spec <= 8);
    for (size_t i = 0; i < c->n_pipelines; i++) {
        const vk_pipeline_entry *e = &c->pipelines[i];
        if (e->n_spec == n_spec && !strcmp(e->shader, shader) &&
            !memcmp(e->spec, spec, 4 * n_spec)) {
            *out = e->pipeline;
            return DUET_OK;
        }
    }
    int si = find_shader(shader);
    if (si < 0) {
        DUET_LOGE("vulkan: shader %s is not in this build", shader);
        return DUET_ERR_UNSUPPORTED;
    }
    if (c->n_pipelines == c->cap_pipelines) {
        size_t cap = c->cap_pipelines ? 2 * c->cap_pipelines : 32;
        vk_pipeline_entry *np = duet_realloc(c->pipelines, cap * sizeof *np);
        if (!np) return DUET_ERR_OUT_OF_MEMORY;
        c->pipelines = np;
        c->cap_pipelines = cap;
    }
    vk_pipeline_entry *e = &c->pipelines[c->n_pipelines];
    memset(e, 0, sizeof *e);
    duet_status st = build(c, si, spec, n_spec, &e->pipeline);
    if (st != DUET_OK) return st;
    e->shader = duet_vk_shaders[si].name;
    e->n_spec = n_spec;
    memcpy(e->spec, spec, 4 * n_spec);
    c->n_pipelines++;
    *out = e->pipeline;
    return DUET_OK;
}
