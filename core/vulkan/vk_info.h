/* duet — what the Vulkan backend can tell without exposing vulkan.h: the list of devices with
 * the features duet cares about (for `duet info`), and counters of an open Vulkan backend
 * (memory blocks, staging, submissions; used by tests/vulkan). Builds without Vulkan provide
 * the same functions, returning DUET_ERR_UNSUPPORTED.
 *
 * Environment read when a Vulkan backend opens:
 *   DUET_DEVICE=<index>          device to use when params.device_index is -1
 *   DUET_VK_16BIT=0              read f16/bf16 through 32-bit words even with 16-bit storage
 *   DUET_VK_PUSH_DESCRIPTORS=0   per-frame descriptor pools instead of push descriptors
 *   DUET_VK_COOPMAT=0            portable matmul even where cooperative matrices exist
 * The last three exist to exercise the fallback paths; the defaults pick the fastest. */
#ifndef DUET_VK_INFO_H
#define DUET_VK_INFO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../backend.h"
#include "../status.h"

#define DUET_VK_MAX_HEAPS 16

typedef struct {
    int index;                 /* as used by DUET_DEVICE / params.device_index */
    char name[256];
    char type[16];             /* "discrete", "integrated", "virtual", "cpu", "other" */
    unsigned api_major, api_minor, api_patch;
    char driver[256];          /* driver name and info, e.g. "llvmpipe (Mesa 22.3.6 ...)" */
    int n_heaps;
    uint64_t heap_bytes[DUET_VK_MAX_HEAPS];
    bool heap_device_local[DUET_VK_MAX_HEAPS];
    bool fp16_arithmetic;      /* shaderFloat16 */
    bool storage_16bit;        /* storageBuffer16BitAccess */
    bool bf16;                 /* VK_KHR_shader_bfloat16 */
    bool coopmat_nv;           /* VK_NV_cooperative_matrix */
    bool coopmat_khr;          /* VK_KHR_cooperative_matrix */
    bool coopmat_nv_usable;    /* NV extension with the f16 16x16x16 shape duet's shader uses,
                                  subgroup 32, and this build has the shader */
    bool push_descriptors;     /* VK_KHR_push_descriptor */
    uint32_t subgroup_size;
    uint32_t max_shared_bytes; /* maxComputeSharedMemorySize */
    uint64_t max_storage_buffer_range;
    uint64_t max_allocation_bytes; /* maxMemoryAllocationSize */
    bool usable;               /* Vulkan >= 1.2 with a compute queue: duet can run on it */
} duet_vk_device_info;

/* Fills up to `max` entries and sets *n to the number of devices (which may exceed max).
 * Returns DUET_OK, DUET_ERR_UNSUPPORTED (no Vulkan in this build or no loader/ICD) or
 * DUET_ERR_BACKEND. Thread-safe. */
duet_status duet_vk_list_devices(duet_vk_device_info *out, int max, int *n);

typedef struct {
    size_t n_blocks;           /* device memory blocks held */
    size_t reserved_bytes;     /* bytes of device memory held in blocks */
    size_t used_bytes;         /* bytes handed out to buffers (after alignment) */
    size_t block_bytes;        /* size of a standard block (larger buffers get their own) */
    size_t staging_bytes;      /* size of the staging buffer (uploads/downloads are chunked) */
    size_t max_binding_bytes;  /* maxStorageBufferRange: the most one operand's view may span */
    size_t n_submits;          /* command buffers submitted so far */
    size_t n_barriers;         /* memory barriers recorded so far */
    size_t n_dispatches;       /* dispatches recorded so far */
    bool push_descriptors;     /* descriptor path in use */
    bool storage_16bit;        /* 16-bit storage shader variants in use */
    bool coopmat;              /* cooperative-matrix matmul in use */
} duet_vk_stats;

/* Counters of a Vulkan backend. DUET_ERR_INVALID_ARG if `be` is not a Vulkan backend. */
duet_status duet_vk_get_stats(const duet_backend *be, duet_vk_stats *out);

/* Where a buffer lives: its block's index and byte offset in it (tests check reuse). */
duet_status duet_vk_buffer_location(const duet_buffer *buf, size_t *block, size_t *offset);

/* For tests of the validation plumbing: sends `text` through the backend's debug messenger
 * (vkSubmitDebugUtilsMessageEXT) as a validation error, exactly as the validation layer
 * would. DUET_ERR_UNSUPPORTED when validation is off. */
duet_status duet_vk_submit_debug_message(duet_backend *be, const char *text);

#endif
