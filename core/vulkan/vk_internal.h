/* duet — Vulkan backend internals shared by the core/vulkan/vk_*.c files: the device
 * capabilities, the backend state (device, memory blocks, staging, pipelines, command
 * recording), and the recording interface the op files use (bind tensors, push constants,
 * dispatch).
 * Design: one compute queue; device-local blocks sub-allocated; ops recorded into command
 * buffers with barriers only where a dispatch touches what an earlier one wrote; batches
 * submitted every VK_SUBMIT_AFTER dispatches or at sync/download, never waited on per op. */
#ifndef DUET_VK_INTERNAL_H
#define DUET_VK_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <vulkan/vulkan.h>

#include "../backend.h"
#include "../log.h"
#include "vk_info.h"

#define VK_MAX_BINDINGS 6          /* binding 0 = dst, 1.. = sources */
#define VK_PUSH_BYTES 128          /* the minimum maxPushConstantsSize every device has */
#define VK_FRAMES 3                /* command buffers in flight */
#define VK_FRAME_MAX_DISPATCHES 256/* per command buffer (descriptor pool, query pool) */
#define VK_SUBMIT_AFTER 64         /* submit a batch once this many dispatches are recorded */
#define VK_MAX_HAZARDS 128         /* tracked ranges between barriers (>= VK_MAX_BINDINGS) */
#define VK_MAX_TIMINGS 8192

/* ---- device capabilities (vk_device.c) ---- */

typedef struct {
    VkPhysicalDeviceProperties props;
    VkPhysicalDeviceMemoryProperties mem;
    char driver[256];
    bool fp16_arith, storage16, bf16, coopmat_nv, coopmat_khr, coopmat_nv_f16_16;
    bool push_descriptor, memory_budget, subgroup_basic_compute, memory_model;
    uint32_t subgroup_size;
    VkDeviceSize max_alloc, max_buffer;
    int compute_family;            /* -1: none */
    uint32_t timestamp_bits;       /* of that family; 0 = no timestamps */
} duet_vk_caps;

void duet_vk_query_caps(VkPhysicalDevice pd, duet_vk_caps *caps);
/* VkResult -> duet_status, logging `what` and the result: the one translation point. */
duet_status duet_vk_result(VkResult r, const char *what);
const char *duet_vk_type_name(VkPhysicalDeviceType t);

/* ---- memory (vk_memory.c) ---- */

typedef struct vk_range {
    VkDeviceSize offset, size;
} vk_range;

typedef struct vk_block {
    VkDeviceMemory mem;
    VkBuffer buf;               /* spans the whole block */
    VkDeviceSize size, used;
    size_t id;                  /* unique per backend, never reused */
    bool dedicated;             /* made for one large buffer */
    vk_range *free;             /* sorted by offset, coalesced */
    size_t n_free, cap_free;
} vk_block;

typedef struct vk_alloc {
    vk_block *block;
    VkDeviceSize offset, size;
} vk_alloc;

/* ---- backend state ---- */

typedef struct {
    VkCommandBuffer cmd;
    VkFence fence;
    VkDescriptorPool pool;      /* VK_NULL_HANDLE with push descriptors */
    VkQueryPool queries;        /* VK_NULL_HANDLE without profiling */
    bool in_flight;
    uint32_t n_dispatches, n_queries;
    duet_op_kind query_op[VK_FRAME_MAX_DISPATCHES]; /* op of each begin/end query pair */
} vk_frame;

typedef struct {
    const vk_block *block;
    VkDeviceSize start, end;
    bool write;
} vk_hazard;

typedef struct {
    const char *shader;
    uint32_t spec[8];
    uint32_t n_spec;
    VkPipeline pipeline;
} vk_pipeline_entry;

typedef struct duet_vk_ctx {
    duet_backend *be;
    VkInstance instance;
    VkDebugUtilsMessengerEXT messenger;
    VkPhysicalDevice phys;
    VkDevice dev;
    VkQueue queue;
    uint32_t family;
    duet_vk_caps caps;
    bool use_16bit, use_push, use_coopmat, profile;
    PFN_vkCmdPushDescriptorSetKHR push_descriptor_fn;
    VkDeviceSize align;         /* sub-allocation and binding alignment */

    /* memory */
    uint32_t mem_type, heap;
    VkDeviceSize block_size, heap_used;
    vk_block **blocks;
    size_t n_blocks, cap_blocks, next_block_id;
    vk_alloc *dummy;            /* bound where a shader's optional operand is absent */

    /* staging */
    VkBuffer staging;
    VkDeviceMemory staging_mem;
    unsigned char *staging_map;
    VkDeviceSize staging_size, staging_pos;

    /* pipelines */
    VkDescriptorSetLayout dsl;
    VkPipelineLayout layout;
    VkPipelineCache pcache;
    VkShaderModule *modules;    /* one per duet_vk_shaders entry, created lazily */
    vk_pipeline_entry *pipelines;
    size_t n_pipelines, cap_pipelines;

    /* recording */
    VkCommandPool cmd_pool;
    vk_frame frames[VK_FRAMES];
    int cur;                    /* frame being recorded, -1 if none */
    int next;
    VkPipeline bound_pipeline;
    vk_hazard hazards[VK_MAX_HAZARDS];
    int n_hazards;
    bool seg_open;              /* a timestamp pair for the current op is open */
    bool op_active;
    duet_op_kind op_kind;

    /* profiling */
    duet_op_timing *timings;
    size_t n_timings;
    bool timings_overflow_logged;

    /* counters */
    size_t n_submits, n_barriers, n_dispatches;
} duet_vk_ctx;

/* vk_device.c */
duet_status duet_vk_instance_new(bool validation, duet_backend *counter, VkInstance *inst,
                                 VkDebugUtilsMessengerEXT *messenger);
void duet_vk_instance_free(VkInstance inst, VkDebugUtilsMessengerEXT messenger);
duet_status duet_vk_device_open(duet_vk_ctx *c, int device_index);

/* vk_memory.c */
duet_status duet_vk_memory_init(duet_vk_ctx *c);
void duet_vk_memory_release(duet_vk_ctx *c);
duet_status duet_vk_alloc(duet_vk_ctx *c, VkDeviceSize nbytes, vk_alloc **out);
void duet_vk_free(duet_vk_ctx *c, vk_alloc *a);
duet_status duet_vk_buffer_alloc(duet_backend *be, size_t nbytes, duet_buffer **out);
void duet_vk_buffer_free(duet_backend *be, duet_buffer *buf);

/* vk_transfer.c */
duet_status duet_vk_staging_init(duet_vk_ctx *c, VkDeviceSize nbytes);
void duet_vk_staging_release(duet_vk_ctx *c);
duet_status duet_vk_upload(duet_backend *be, duet_buffer *buf, size_t offset, const void *src,
                           size_t nbytes);
duet_status duet_vk_download(duet_backend *be, const duet_buffer *buf, size_t offset, void *dst,
                             size_t nbytes);

/* vk_pipeline.c */
duet_status duet_vk_pipelines_init(duet_vk_ctx *c);
void duet_vk_pipelines_release(duet_vk_ctx *c);
bool duet_vk_has_shader(const char *name);
duet_status duet_vk_pipeline(duet_vk_ctx *c, const char *shader, const uint32_t *spec,
                             uint32_t n_spec, VkPipeline *out);

/* vk_backend.c: recording */
duet_status duet_vk_begin(duet_vk_ctx *c);                /* a frame is recording */
duet_status duet_vk_submit(duet_vk_ctx *c, bool wait);    /* submit the recording frame */
duet_status duet_vk_flush(duet_vk_ctx *c);                /* submit and wait for everything */
/* Hazard check for the accesses of one command: records a barrier first when any conflicts
 * with the accesses pending since the last barrier, then remembers them. */
void duet_vk_track(duet_vk_ctx *c, const vk_hazard *acc, int n);
void duet_vk_full_barrier(duet_vk_ctx *c);

/* ---- what op files fill in ---- */

typedef struct {
    const char *shader;
    uint32_t spec[8];
    uint32_t n_spec;
    const duet_tensor *bind[VK_MAX_BINDINGS]; /* NULL: unused (a dummy range is bound) */
    uint32_t push[VK_PUSH_BYTES / 4];
    uint32_t push_bytes;
    uint32_t groups[3];
} duet_vk_dispatch;

/* Element offset of t inside the window its binding will get (the tensor's byte offset
 * rounded down to the binding alignment); UNSUPPORTED (logged) when the tensor's span does
 * not fit maxStorageBufferRange or its offset is not a multiple of its element size. */
duet_status duet_vk_elem_offset(duet_vk_ctx *c, const duet_tensor *t, uint32_t *off);
/* Strides of t in elements; UNSUPPORTED (logged) when not whole elements or >= 2^32. */
duet_status duet_vk_elem_strides(const duet_tensor *t, uint32_t st[DUET_MAX_DIMS]);
/* Split n workgroups over x and y (each at most maxComputeWorkGroupCount). */
void duet_vk_grid1d(const duet_vk_ctx *c, uint64_t n_groups, uint32_t groups[3]);
duet_status duet_vk_record(duet_vk_ctx *c, const duet_vk_dispatch *d);

/* vk_ops_*.c: one entry per op family (validated ops; UNSUPPORTED when not handled) */
duet_status duet_vk_op_copy(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_elementwise(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_rowwise(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_rope(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_matmul(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_attention(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_conv(duet_vk_ctx *c, const duet_op *op);
duet_status duet_vk_op_layout(duet_vk_ctx *c, const duet_op *op);

/* t's name for messages, "(unnamed)" when empty. */
const char *duet_vk_name(const duet_tensor *t);

/* dtype code the shaders use (common.glsl DT_*): i32 moves as raw 32-bit words */
uint32_t duet_vk_dt(duet_dtype t);

#endif
