/* duet — the Vulkan backend: creation and teardown, the vtable, and command recording.
 * Ops are recorded into the current frame's command buffer. A barrier is recorded only when a
 * dispatch reads a range that an earlier dispatch (or upload) since the last barrier wrote, or
 * writes a range one of them touched; every command buffer starts with a full barrier, which
 * orders it after everything submitted before. A frame is submitted once VK_SUBMIT_AFTER
 * dispatches are recorded (checked between ops) and at sync/download; submission never waits,
 * except to reuse a frame still in flight. With params.profile each op's dispatches sit
 * between two timestamp queries, read back when the frame's fence is waited on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../alloc.h"
#include "vk_internal.h"

#define STAGING_BYTES ((VkDeviceSize)16 << 20)

/* ---- frames ---- */

static void harvest(duet_vk_ctx *c, vk_frame *f) {
    if (!f->queries || f->n_queries < 2) return;
    uint64_t ts[2 * VK_FRAME_MAX_DISPATCHES];
    VkResult r =
        vkGetQueryPoolResults(c->dev, f->queries, 0, f->n_queries, sizeof ts, ts, sizeof *ts,
                              VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT);
    if (r != VK_SUCCESS) {
        duet_vk_result(r, "vkGetQueryPoolResults");
        return;
    }
    uint64_t mask = c->caps.timestamp_bits >= 64 ? ~0ull : (1ull << c->caps.timestamp_bits) - 1;
    double period_ns = c->caps.props.limits.timestampPeriod;
    for (uint32_t q = 0; q + 1 < f->n_queries; q += 2) {
        if (c->n_timings == VK_MAX_TIMINGS) {
            if (!c->timings_overflow_logged)
                DUET_LOGW("vulkan: more than %d op timings pending; read them more often",
                          VK_MAX_TIMINGS);
            c->timings_overflow_logged = true;
            break;
        }
        uint64_t d = (ts[q + 1] - ts[q]) & mask;
        c->timings[c->n_timings].kind = f->query_op[q / 2];
        c->timings[c->n_timings].elapsed_us = (double)d * period_ns * 1e-3;
        c->n_timings++;
    }
    f->n_queries = 0;
}

static duet_status wait_frame(duet_vk_ctx *c, vk_frame *f) {
    if (!f->in_flight) return DUET_OK;
    VkResult r = vkWaitForFences(c->dev, 1, &f->fence, VK_TRUE, UINT64_MAX);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkWaitForFences");
    f->in_flight = false;
    harvest(c, f);
    return DUET_OK;
}

void duet_vk_full_barrier(duet_vk_ctx *c) {
    VkMemoryBarrier mb = {
        .sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
        .srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT,
        .dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT |
                         VK_ACCESS_TRANSFER_READ_BIT | VK_ACCESS_TRANSFER_WRITE_BIT};
    VkPipelineStageFlags stages =
        VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
    vkCmdPipelineBarrier(c->frames[c->cur].cmd, stages, stages, 0, 1, &mb, 0, NULL, 0, NULL);
    c->n_hazards = 0;
    c->n_barriers++;
}

duet_status duet_vk_begin(duet_vk_ctx *c) {
    if (c->cur >= 0) return DUET_OK;
    vk_frame *f = &c->frames[c->next];
    duet_status st = wait_frame(c, f);
    if (st != DUET_OK) return st;
    VkResult r = vkResetFences(c->dev, 1, &f->fence);
    if (r == VK_SUCCESS) r = vkResetCommandBuffer(f->cmd, 0);
    if (r == VK_SUCCESS && f->pool) r = vkResetDescriptorPool(c->dev, f->pool, 0);
    VkCommandBufferBeginInfo bi = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO,
                                   .flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT};
    if (r == VK_SUCCESS) r = vkBeginCommandBuffer(f->cmd, &bi);
    if (r != VK_SUCCESS) return duet_vk_result(r, "starting a command buffer");
    if (f->queries) vkCmdResetQueryPool(f->cmd, f->queries, 0, 2 * VK_FRAME_MAX_DISPATCHES);
    f->n_dispatches = 0;
    f->n_queries = 0;
    c->cur = c->next;
    c->next = (c->next + 1) % VK_FRAMES;
    c->bound_pipeline = VK_NULL_HANDLE;
    duet_vk_full_barrier(c);
    return DUET_OK;
}

static void timestamp(duet_vk_ctx *c, vk_frame *f) {
    vkCmdWriteTimestamp(f->cmd, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, f->queries, f->n_queries++);
}

static void close_segment(duet_vk_ctx *c) {
    if (!c->seg_open) return;
    vk_frame *f = &c->frames[c->cur];
    timestamp(c, f);
    c->seg_open = false;
}

duet_status duet_vk_submit(duet_vk_ctx *c, bool wait) {
    if (c->cur < 0) return DUET_OK;
    close_segment(c);
    vk_frame *f = &c->frames[c->cur];
    c->cur = -1;
    VkResult r = vkEndCommandBuffer(f->cmd);
    VkSubmitInfo si = {.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO,
                       .commandBufferCount = 1,
                       .pCommandBuffers = &f->cmd};
    if (r == VK_SUCCESS) r = vkQueueSubmit(c->queue, 1, &si, f->fence);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkQueueSubmit");
    f->in_flight = true;
    c->n_submits++;
    return wait ? wait_frame(c, f) : DUET_OK;
}

duet_status duet_vk_flush(duet_vk_ctx *c) {
    duet_status st = duet_vk_submit(c, false);
    for (int i = 0; i < VK_FRAMES && st == DUET_OK; i++) st = wait_frame(c, &c->frames[i]);
    c->staging_pos = 0;
    return st;
}

/* ---- hazards and dispatch ---- */

void duet_vk_track(duet_vk_ctx *c, const vk_hazard *acc, int n) {
    /* Check every access of the command before remembering any: a barrier recorded for a
     * later binding must not drop the earlier bindings of the same dispatch from the list. */
    bool conflict = c->n_hazards + n > VK_MAX_HAZARDS;
    for (int j = 0; j < n && !conflict; j++)
        for (int i = 0; i < c->n_hazards && !conflict; i++) {
            const vk_hazard *h = &c->hazards[i];
            conflict = h->block == acc[j].block && h->start < acc[j].end && acc[j].start < h->end &&
                       (acc[j].write || h->write);
        }
    if (conflict) duet_vk_full_barrier(c);
    for (int j = 0; j < n; j++) {
        bool known = false; /* many ops read the same weights: list each range once */
        for (int i = 0; i < c->n_hazards && !known; i++) {
            const vk_hazard *h = &c->hazards[i];
            known = h->block == acc[j].block && h->start <= acc[j].start && acc[j].end <= h->end &&
                    (h->write || !acc[j].write);
        }
        if (!known) c->hazards[c->n_hazards++] = acc[j];
    }
}

const char *duet_vk_name(const duet_tensor *t) { return t->name[0] ? t->name : "(unnamed)"; }

uint32_t duet_vk_dt(duet_dtype t) { return t == DUET_F16 ? 1u : t == DUET_BF16 ? 2u : 0u; }

/* The window a binding of t gets: [start, start + range) of its block. */
static void window(const duet_vk_ctx *c, const duet_tensor *t, VkDeviceSize *start,
                   VkDeviceSize *range) {
    const vk_alloc *a = t->buf->priv;
    VkDeviceSize first = a->offset + t->offset;
    *start = first / c->align * c->align;
    *range = (first - *start + duet_span_bytes(t) + 3) & ~(VkDeviceSize)3;
}

duet_status duet_vk_elem_offset(duet_vk_ctx *c, const duet_tensor *t, uint32_t *off) {
    size_t es = duet_dtype_size(t->dtype);
    VkDeviceSize start, range;
    window(c, t, &start, &range);
    const vk_alloc *a = t->buf->priv;
    if (t->offset % es) {
        DUET_LOGE("vulkan: tensor %s starts at byte %zu, not a multiple of its %zu-byte elements",
                  duet_vk_name(t), t->offset, es);
        return DUET_ERR_UNSUPPORTED;
    }
    if (range > c->caps.props.limits.maxStorageBufferRange) {
        DUET_LOGE("vulkan: tensor %s spans %llu bytes, more than this device binds at once "
                  "(maxStorageBufferRange %u); split the op into smaller views",
                  duet_vk_name(t), (unsigned long long)range,
                  c->caps.props.limits.maxStorageBufferRange);
        return DUET_ERR_UNSUPPORTED;
    }
    *off = (uint32_t)((a->offset + t->offset - start) / es);
    return DUET_OK;
}

duet_status duet_vk_elem_strides(const duet_tensor *t, uint32_t st[DUET_MAX_DIMS]) {
    size_t es = duet_dtype_size(t->dtype);
    for (int i = 0; i < DUET_MAX_DIMS; i++) {
        if (t->nb[i] % es || t->nb[i] / es > UINT32_MAX) {
            DUET_LOGE("vulkan: tensor %s has stride %zu bytes in dim %d (needs whole elements "
                      "below 2^32)",
                      duet_vk_name(t), t->nb[i], i);
            return DUET_ERR_UNSUPPORTED;
        }
        st[i] = t->ne[i] == 1 ? 0 : (uint32_t)(t->nb[i] / es);
    }
    return DUET_OK;
}

void duet_vk_grid1d(const duet_vk_ctx *c, uint64_t n_groups, uint32_t groups[3]) {
    uint64_t maxx = c->caps.props.limits.maxComputeWorkGroupCount[0];
    if (maxx > 65535) maxx = 65535;
    if (n_groups == 0) n_groups = 1;
    groups[0] = (uint32_t)(n_groups < maxx ? n_groups : maxx);
    groups[1] = (uint32_t)((n_groups + groups[0] - 1) / groups[0]);
    groups[2] = 1;
}

static void bind_sets(duet_vk_ctx *c, vk_frame *f, const VkDescriptorBufferInfo *bi) {
    VkWriteDescriptorSet w[VK_MAX_BINDINGS];
    VkDescriptorSet set = VK_NULL_HANDLE;
    if (!c->use_push) {
        VkDescriptorSetAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO,
                                          .descriptorPool = f->pool,
                                          .descriptorSetCount = 1,
                                          .pSetLayouts = &c->dsl};
        /* the pool holds VK_FRAME_MAX_DISPATCHES sets and frames never exceed that */
        VkResult r = vkAllocateDescriptorSets(c->dev, &ai, &set);
        DUET_ASSERT(r == VK_SUCCESS);
    }
    for (uint32_t i = 0; i < VK_MAX_BINDINGS; i++)
        w[i] = (VkWriteDescriptorSet){.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET,
                                      .dstSet = set,
                                      .dstBinding = i,
                                      .descriptorCount = 1,
                                      .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                                      .pBufferInfo = &bi[i]};
    if (c->use_push) {
        c->push_descriptor_fn(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout, 0, VK_MAX_BINDINGS,
                              w);
    } else {
        vkUpdateDescriptorSets(c->dev, VK_MAX_BINDINGS, w, 0, NULL);
        vkCmdBindDescriptorSets(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, c->layout, 0, 1, &set, 0,
                                NULL);
    }
}

duet_status duet_vk_record(duet_vk_ctx *c, const duet_vk_dispatch *d) {
    VkPipeline pipe;
    duet_status st = duet_vk_pipeline(c, d->shader, d->spec, d->n_spec, &pipe);
    if (st != DUET_OK) return st;
    if (c->cur >= 0 && c->frames[c->cur].n_dispatches == VK_FRAME_MAX_DISPATCHES)
        st = duet_vk_submit(c, false); /* an op with very many dispatches */
    if (st == DUET_OK) st = duet_vk_begin(c);
    if (st != DUET_OK) return st;
    vk_frame *f = &c->frames[c->cur];
    VkDescriptorBufferInfo bi[VK_MAX_BINDINGS];
    vk_hazard acc[VK_MAX_BINDINGS];
    int n_acc = 0;
    for (int i = 0; i < VK_MAX_BINDINGS; i++) {
        const duet_tensor *t = d->bind[i];
        if (!t) {
            bi[i] = (VkDescriptorBufferInfo){c->dummy->block->buf, c->dummy->offset, 256};
            continue;
        }
        VkDeviceSize start, range;
        window(c, t, &start, &range);
        if (range > c->caps.props.limits.maxStorageBufferRange) /* op files check first */
            return duet_vk_elem_offset(c, t, &(uint32_t){0});
        const vk_alloc *a = t->buf->priv;
        bi[i] = (VkDescriptorBufferInfo){a->block->buf, start, range};
        acc[n_acc++] = (vk_hazard){a->block, start, start + range, i == 0};
    }
    duet_vk_track(c, acc, n_acc);
    if (c->profile && f->queries && !c->seg_open && c->op_active) {
        f->query_op[f->n_queries / 2] = c->op_kind;
        timestamp(c, f);
        c->seg_open = true;
    }
    if (c->bound_pipeline != pipe) {
        vkCmdBindPipeline(f->cmd, VK_PIPELINE_BIND_POINT_COMPUTE, pipe);
        c->bound_pipeline = pipe;
    }
    bind_sets(c, f, bi);
    if (d->push_bytes)
        vkCmdPushConstants(f->cmd, c->layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, d->push_bytes,
                           d->push);
    vkCmdDispatch(f->cmd, d->groups[0], d->groups[1], d->groups[2]);
    f->n_dispatches++;
    c->n_dispatches++;
    return DUET_OK;
}

/* ---- vtable ---- */

static duet_status run_family(duet_vk_ctx *c, const duet_op *op) {
    switch (op->kind) {
    case DUET_OP_COPY: return duet_vk_op_copy(c, op);
    case DUET_OP_MATMUL: return duet_vk_op_matmul(c, op);
    case DUET_OP_ADD:
    case DUET_OP_MUL:
    case DUET_OP_AFFINE:
    case DUET_OP_SCALE:
    case DUET_OP_MODULATE:
    case DUET_OP_GATED_ADD:
    case DUET_OP_UNARY:
    case DUET_OP_SWIGLU: return duet_vk_op_elementwise(c, op);
    case DUET_OP_LAYERNORM:
    case DUET_OP_RMSNORM:
    case DUET_OP_SOFTMAX: return duet_vk_op_rowwise(c, op);
    case DUET_OP_ROPE: return duet_vk_op_rope(c, op);
    case DUET_OP_ATTENTION: return duet_vk_op_attention(c, op);
    case DUET_OP_CONV1D:
    case DUET_OP_CONV_TRANSPOSE1D:
    case DUET_OP_CONV2D:
    case DUET_OP_CONV3D: return duet_vk_op_conv(c, op);
    case DUET_OP_UPSAMPLE_NEAREST:
    case DUET_OP_PIXEL_UNSHUFFLE:
    case DUET_OP_PIXEL_SHUFFLE:
    case DUET_OP_SNAKE_BETA:
    case DUET_OP_GET_ROWS: return duet_vk_op_layout(c, op);
    case DUET_OP_COUNT: break;
    }
    return DUET_ERR_UNSUPPORTED;
}

static duet_status vk_run_op(duet_backend *be, const duet_op *op) {
    duet_vk_ctx *c = be->ctx;
    duet_status st = DUET_OK;
    /* Submit between ops, so an op's timestamp pair stays in one command buffer. */
    if (c->cur >= 0 && c->frames[c->cur].n_dispatches >= VK_SUBMIT_AFTER)
        st = duet_vk_submit(c, false);
    if (st != DUET_OK) return st;
    c->op_active = true;
    c->op_kind = op->kind;
    st = run_family(c, op);
    if (c->cur >= 0) close_segment(c);
    c->op_active = false;
    return st;
}

static duet_status vk_sync(duet_backend *be) { return duet_vk_flush(be->ctx); }

static size_t vk_read_timings(duet_backend *be, duet_op_timing *out, size_t max) {
    duet_vk_ctx *c = be->ctx;
    if (duet_vk_flush(c) != DUET_OK) return 0;
    size_t n = c->n_timings < max ? c->n_timings : max;
    memcpy(out, c->timings, n * sizeof *out);
    c->n_timings = 0;
    c->timings_overflow_logged = false;
    return n;
}

static void vk_destroy(duet_backend *be) {
    duet_vk_ctx *c = be->ctx;
    if (c) {
        if (c->dev) {
            duet_vk_flush(c);
            vkDeviceWaitIdle(c->dev);
            for (int i = 0; i < VK_FRAMES; i++) {
                vk_frame *f = &c->frames[i];
                if (f->fence) vkDestroyFence(c->dev, f->fence, NULL);
                if (f->pool) vkDestroyDescriptorPool(c->dev, f->pool, NULL);
                if (f->queries) vkDestroyQueryPool(c->dev, f->queries, NULL);
            }
            if (c->cmd_pool) vkDestroyCommandPool(c->dev, c->cmd_pool, NULL);
            duet_vk_pipelines_release(c);
            duet_vk_staging_release(c);
            duet_vk_memory_release(c);
            vkDestroyDevice(c->dev, NULL);
        }
        duet_vk_instance_free(c->instance, c->messenger);
        duet_free(c->timings);
        duet_free(c);
    }
    duet_free(be);
}

static const duet_backend_vtable vk_vt = {
    .buffer_alloc = duet_vk_buffer_alloc,
    .buffer_free = duet_vk_buffer_free,
    .upload = duet_vk_upload,
    .download = duet_vk_download,
    .run_op = vk_run_op,
    .sync = vk_sync,
    .read_timings = vk_read_timings,
    .destroy = vk_destroy,
};

static duet_status frames_init(duet_vk_ctx *c) {
    VkCommandPoolCreateInfo pi = {.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO,
                                  .flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT,
                                  .queueFamilyIndex = c->family};
    VkResult r = vkCreateCommandPool(c->dev, &pi, NULL, &c->cmd_pool);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreateCommandPool");
    VkDescriptorPoolSize ps = {VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
                               VK_MAX_BINDINGS * VK_FRAME_MAX_DISPATCHES};
    for (int i = 0; i < VK_FRAMES && r == VK_SUCCESS; i++) {
        vk_frame *f = &c->frames[i];
        VkCommandBufferAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO,
                                          .commandPool = c->cmd_pool,
                                          .level = VK_COMMAND_BUFFER_LEVEL_PRIMARY,
                                          .commandBufferCount = 1};
        r = vkAllocateCommandBuffers(c->dev, &ai, &f->cmd);
        VkFenceCreateInfo fi = {.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
        if (r == VK_SUCCESS) r = vkCreateFence(c->dev, &fi, NULL, &f->fence);
        if (r == VK_SUCCESS && !c->use_push) {
            VkDescriptorPoolCreateInfo di = {.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO,
                                             .maxSets = VK_FRAME_MAX_DISPATCHES,
                                             .poolSizeCount = 1,
                                             .pPoolSizes = &ps};
            r = vkCreateDescriptorPool(c->dev, &di, NULL, &f->pool);
        }
        if (r == VK_SUCCESS && c->profile) {
            VkQueryPoolCreateInfo qi = {.sType = VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO,
                                        .queryType = VK_QUERY_TYPE_TIMESTAMP,
                                        .queryCount = 2 * VK_FRAME_MAX_DISPATCHES};
            r = vkCreateQueryPool(c->dev, &qi, NULL, &f->queries);
        }
    }
    return r == VK_SUCCESS ? DUET_OK : duet_vk_result(r, "creating command buffers and pools");
}

static duet_status open_ctx(duet_vk_ctx *c, const duet_backend_params *p) {
    duet_status st = duet_vk_instance_new(p->validation, c->be, &c->instance, &c->messenger);
    if (st == DUET_OK) st = duet_vk_device_open(c, p->device_index);
    if (st != DUET_OK) return st;
    c->be->software_device = c->caps.props.deviceType == VK_PHYSICAL_DEVICE_TYPE_CPU;
    c->profile = p->profile && c->caps.timestamp_bits > 0;
    if (p->profile && !c->profile)
        DUET_LOGW("vulkan: the compute queue has no timestamps; no profile");
    if (c->profile) c->timings = duet_calloc(VK_MAX_TIMINGS, sizeof *c->timings);
    if (c->profile && !c->timings) return DUET_ERR_OUT_OF_MEMORY;
    if (c->use_push) {
        c->push_descriptor_fn =
            (PFN_vkCmdPushDescriptorSetKHR)vkGetDeviceProcAddr(c->dev, "vkCmdPushDescriptorSetKHR");
        if (!c->push_descriptor_fn) c->use_push = false;
    }
    st = duet_vk_pipelines_init(c);
    if (st == DUET_OK) st = frames_init(c);
    if (st == DUET_OK) st = duet_vk_memory_init(c);
    if (st == DUET_OK) st = duet_vk_staging_init(c, STAGING_BYTES);
    return st;
}

duet_status duet_vulkan_backend_new(const duet_backend_params *p, duet_backend **out) {
    *out = NULL;
    duet_backend *be = duet_calloc(1, sizeof *be);
    duet_vk_ctx *c = duet_calloc(1, sizeof *c);
    if (!be || !c) {
        duet_free(be);
        duet_free(c);
        return DUET_ERR_OUT_OF_MEMORY;
    }
    be->vt = &vk_vt;
    be->kind = DUET_BACKEND_VULKAN;
    be->ctx = c;
    c->be = be;
    c->cur = -1;
    duet_status st = open_ctx(c, p);
    if (st != DUET_OK) {
        vk_destroy(be);
        return st;
    }
    unsigned v = c->caps.props.apiVersion;
    snprintf(be->name, sizeof be->name, "vulkan: %.48s (%s, Vulkan %u.%u%s%s%s)",
             c->caps.props.deviceName, duet_vk_type_name(c->caps.props.deviceType),
             VK_API_VERSION_MAJOR(v), VK_API_VERSION_MINOR(v),
             c->use_16bit ? ", 16-bit storage" : "", c->use_coopmat ? ", coopmat" : "",
             c->messenger ? ", validation" : "");
    *out = be;
    return DUET_OK;
}

/* ---- vk_info.h: counters ---- */

duet_status duet_vk_get_stats(const duet_backend *be, duet_vk_stats *out) {
    if (!be || !out || be->vt != &vk_vt) return DUET_ERR_INVALID_ARG;
    const duet_vk_ctx *c = be->ctx;
    memset(out, 0, sizeof *out);
    out->n_blocks = c->n_blocks;
    for (size_t i = 0; i < c->n_blocks; i++) {
        out->reserved_bytes += c->blocks[i]->size;
        out->used_bytes += c->blocks[i]->used;
    }
    out->block_bytes = c->block_size;
    out->staging_bytes = c->staging_size;
    out->max_binding_bytes = c->caps.props.limits.maxStorageBufferRange;
    out->n_submits = c->n_submits;
    out->n_barriers = c->n_barriers;
    out->n_dispatches = c->n_dispatches;
    out->push_descriptors = c->use_push;
    out->storage_16bit = c->use_16bit;
    out->coopmat = c->use_coopmat;
    return DUET_OK;
}

duet_status duet_vk_buffer_location(const duet_buffer *buf, size_t *block, size_t *offset) {
    if (!buf || !buf->backend || buf->backend->vt != &vk_vt) return DUET_ERR_INVALID_ARG;
    const vk_alloc *a = buf->priv;
    *block = a->block->id;
    *offset = (size_t)a->offset;
    return DUET_OK;
}

duet_status duet_vk_submit_debug_message(duet_backend *be, const char *text) {
    if (!be || be->vt != &vk_vt || !text) return DUET_ERR_INVALID_ARG;
    const duet_vk_ctx *c = be->ctx;
    PFN_vkSubmitDebugUtilsMessageEXT submit =
        (PFN_vkSubmitDebugUtilsMessageEXT)vkGetInstanceProcAddr(c->instance,
                                                                "vkSubmitDebugUtilsMessageEXT");
    if (!c->messenger || !submit) return DUET_ERR_UNSUPPORTED;
    VkDebugUtilsMessengerCallbackDataEXT d = {
        .sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CALLBACK_DATA_EXT,
        .pMessageIdName = "duet-test",
        .pMessage = text};
    submit(c->instance, VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT,
           VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT, &d);
    return DUET_OK;
}
