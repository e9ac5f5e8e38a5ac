/* duet — Vulkan device memory: large device-local blocks, each with one VkBuffer spanning it,
 * sub-allocated by first fit over a sorted, coalesced free list. A duet_buffer is a range of
 * a block (vk_alloc in buf->priv); ops bind windows of the block's VkBuffer at the tensor's
 * offset. Requests bigger than a standard block get a dedicated block of their own size,
 * up to maxMemoryAllocationSize / maxBufferSize; beyond that, or beyond the heap, the
 * allocation fails with DUET_ERR_DEVICE_OOM and a message giving what was asked and what is
 * free. One empty standard block is kept for reuse; other empty blocks are released. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../alloc.h"
#include "vk_internal.h"

#define BLOCK_BYTES ((VkDeviceSize)256 << 20)
#define MIB(x) ((double)(x) / (1024.0 * 1024.0))

static VkDeviceSize round_up(VkDeviceSize v, VkDeviceSize a) { return (v + a - 1) / a * a; }

static VkBufferUsageFlags usage(void) {
    return VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
           VK_BUFFER_USAGE_TRANSFER_DST_BIT;
}

/* Memory type for blocks: device-local and not host-visible when there is one (the fast
 * VRAM of discrete GPUs), else device-local, else anything the buffer accepts. */
static int pick_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits) {
    const VkMemoryPropertyFlags want[3][2] = {
        {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT},
        {VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT, 0},
        {0, 0}};
    for (int w = 0; w < 3; w++)
        for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
            if ((bits & (1u << i)) && (f & want[w][0]) == want[w][0] && !(f & want[w][1]))
                return (int)i;
        }
    return -1;
}

duet_status duet_vk_memory_init(duet_vk_ctx *c) {
    /* Probe the memory types a storage buffer accepts. */
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = 4096,
                             .usage = usage(),
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkBuffer probe;
    VkResult r = vkCreateBuffer(c->dev, &bi, NULL, &probe);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreateBuffer (probe)");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->dev, probe, &req);
    vkDestroyBuffer(c->dev, probe, NULL);
    int t = pick_type(&c->caps.mem, req.memoryTypeBits);
    if (t < 0) {
        DUET_LOGE("vulkan: no memory type for storage buffers");
        return DUET_ERR_UNSUPPORTED;
    }
    c->mem_type = (uint32_t)t;
    c->heap = c->caps.mem.memoryTypes[t].heapIndex;
    if (req.alignment > c->align) c->align = req.alignment;
    VkDeviceSize bs = BLOCK_BYTES;
    if (bs > c->caps.max_alloc) bs = c->caps.max_alloc;
    if (bs > c->caps.max_buffer) bs = c->caps.max_buffer;
    c->block_size = bs / c->align * c->align;
    return duet_vk_alloc(c, 256, &c->dummy);
}

static void block_destroy(duet_vk_ctx *c, vk_block *b) {
    if (!b) return;
    if (b->buf) vkDestroyBuffer(c->dev, b->buf, NULL);
    if (b->mem) vkFreeMemory(c->dev, b->mem, NULL);
    c->heap_used -= b->mem ? b->size : 0;
    duet_free(b->free);
    duet_free(b);
}

void duet_vk_memory_release(duet_vk_ctx *c) {
    if (c->dummy) duet_vk_free(c, c->dummy);
    c->dummy = NULL;
    for (size_t i = 0; i < c->n_blocks; i++) {
        if (c->blocks[i]->used)
            DUET_LOGW("vulkan: %.1f MiB still allocated in block %zu at shutdown",
                      MIB(c->blocks[i]->used), c->blocks[i]->id);
        block_destroy(c, c->blocks[i]);
    }
    duet_free(c->blocks);
    c->blocks = NULL;
    c->n_blocks = 0;
}

static VkDeviceSize free_bytes(const duet_vk_ctx *c, VkDeviceSize *largest) {
    VkDeviceSize total = 0;
    *largest = 0;
    for (size_t i = 0; i < c->n_blocks; i++)
        for (size_t j = 0; j < c->blocks[i]->n_free; j++) {
            VkDeviceSize s = c->blocks[i]->free[j].size;
            total += s;
            if (s > *largest) *largest = s;
        }
    return total;
}

static duet_status oom(const duet_vk_ctx *c, VkDeviceSize asked, const char *why) {
    VkDeviceSize largest, fr = free_bytes(c, &largest);
    char budget[128] = "";
    if (c->caps.memory_budget) { /* what the driver says the whole process may still use */
        VkPhysicalDeviceMemoryBudgetPropertiesEXT mb = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
        VkPhysicalDeviceMemoryProperties2 mp = {
            .sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, .pNext = &mb};
        vkGetPhysicalDeviceMemoryProperties2(c->phys, &mp);
        snprintf(budget, sizeof budget, "; driver budget %.1f MiB, in use %.1f MiB",
                 MIB(mb.heapBudget[c->heap]), MIB(mb.heapUsage[c->heap]));
    }
    DUET_LOGE("vulkan: cannot allocate %.1f MiB (%" PRIu64 " bytes): %s; %.1f MiB free in %zu "
              "block(s) (largest hole %.1f MiB), %.1f MiB of the %.1f MiB heap held%s",
              MIB(asked), (uint64_t)asked, why, MIB(fr), c->n_blocks, MIB(largest),
              MIB(c->heap_used), MIB(c->caps.mem.memoryHeaps[c->heap].size), budget);
    return DUET_ERR_DEVICE_OOM;
}

static duet_status block_new(duet_vk_ctx *c, VkDeviceSize size, bool dedicated, vk_block **out) {
    VkDeviceSize heap = c->caps.mem.memoryHeaps[c->heap].size;
    if (c->heap_used + size > heap) return DUET_ERR_DEVICE_OOM;
    vk_block *b = duet_calloc(1, sizeof *b);
    if (!b) return DUET_ERR_OUT_OF_MEMORY;
    if (c->n_blocks == c->cap_blocks) {
        size_t cap = c->cap_blocks ? 2 * c->cap_blocks : 8;
        vk_block **nb = duet_realloc(c->blocks, cap * sizeof *nb);
        if (!nb) {
            duet_free(b);
            return DUET_ERR_OUT_OF_MEMORY;
        }
        c->blocks = nb;
        c->cap_blocks = cap;
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = size,
                               .memoryTypeIndex = c->mem_type};
    VkResult r = vkAllocateMemory(c->dev, &ai, NULL, &b->mem);
    if (r != VK_SUCCESS) {
        duet_free(b);
        return r == VK_ERROR_OUT_OF_HOST_MEMORY ? DUET_ERR_OUT_OF_MEMORY : DUET_ERR_DEVICE_OOM;
    }
    b->size = size;
    c->heap_used += size;
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = size,
                             .usage = usage(),
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    r = vkCreateBuffer(c->dev, &bi, NULL, &b->buf);
    if (r == VK_SUCCESS) r = vkBindBufferMemory(c->dev, b->buf, b->mem, 0);
    b->free = duet_malloc(4 * sizeof *b->free);
    if (r != VK_SUCCESS || !b->free) {
        block_destroy(c, b);
        return r != VK_SUCCESS ? duet_vk_result(r, "creating a block buffer")
                               : DUET_ERR_OUT_OF_MEMORY;
    }
    b->cap_free = 4;
    b->n_free = 1;
    b->free[0].offset = 0;
    b->free[0].size = size;
    b->dedicated = dedicated;
    b->id = c->next_block_id++;
    c->blocks[c->n_blocks++] = b;
    *out = b;
    return DUET_OK;
}

/* First fit in one block; sizes and offsets are multiples of c->align. */
static bool block_take(vk_block *b, VkDeviceSize size, VkDeviceSize *offset) {
    for (size_t i = 0; i < b->n_free; i++) {
        if (b->free[i].size < size) continue;
        *offset = b->free[i].offset;
        b->free[i].offset += size;
        b->free[i].size -= size;
        if (b->free[i].size == 0) {
            memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
            b->n_free--;
        }
        b->used += size;
        return true;
    }
    return false;
}

duet_status duet_vk_alloc(duet_vk_ctx *c, VkDeviceSize nbytes, vk_alloc **out) {
    VkDeviceSize size = round_up(nbytes ? nbytes : 1, c->align);
    if (size > c->caps.max_alloc || size > c->caps.max_buffer)
        return oom(c, nbytes, "larger than the device's maxMemoryAllocationSize/maxBufferSize");
    if (size > c->caps.mem.memoryHeaps[c->heap].size)
        return oom(c, nbytes, "larger than the whole device heap");
    vk_alloc *a = duet_calloc(1, sizeof *a);
    if (!a) return DUET_ERR_OUT_OF_MEMORY;
    a->size = size;
    if (size <= c->block_size)
        for (size_t i = 0; i < c->n_blocks && !a->block; i++)
            if (!c->blocks[i]->dedicated && block_take(c->blocks[i], size, &a->offset))
                a->block = c->blocks[i];
    if (!a->block) {
        bool dedicated = size > c->block_size;
        vk_block *b = NULL;
        duet_status st = block_new(c, dedicated ? size : c->block_size, dedicated, &b);
        if (st == DUET_ERR_DEVICE_OOM && !dedicated) /* no room for a whole block: fit exactly */
            st = block_new(c, size, true, &b);
        if (st != DUET_OK) {
            duet_free(a);
            return st == DUET_ERR_DEVICE_OOM ? oom(c, nbytes, "the device is out of memory") : st;
        }
        block_take(b, size, &a->offset);
        a->block = b;
    }
    *out = a;
    return DUET_OK;
}

/* Return [offset, offset+size) to b's free list, merging with neighbours. */
static bool block_give(vk_block *b, VkDeviceSize offset, VkDeviceSize size) {
    size_t i = 0;
    while (i < b->n_free && b->free[i].offset < offset) i++;
    bool join_prev = i > 0 && b->free[i - 1].offset + b->free[i - 1].size == offset;
    bool join_next = i < b->n_free && offset + size == b->free[i].offset;
    b->used -= size;
    if (join_prev && join_next) {
        b->free[i - 1].size += size + b->free[i].size;
        memmove(&b->free[i], &b->free[i + 1], (b->n_free - i - 1) * sizeof *b->free);
        b->n_free--;
    } else if (join_prev) {
        b->free[i - 1].size += size;
    } else if (join_next) {
        b->free[i].offset = offset;
        b->free[i].size += size;
    } else {
        if (b->n_free == b->cap_free) {
            vk_range *nf = duet_realloc(b->free, 2 * b->cap_free * sizeof *nf);
            if (!nf) return false; /* the range leaks until the block goes; logged by caller */
            b->free = nf;
            b->cap_free *= 2;
        }
        memmove(&b->free[i + 1], &b->free[i], (b->n_free - i) * sizeof *b->free);
        b->free[i].offset = offset;
        b->free[i].size = size;
        b->n_free++;
    }
    return true;
}

void duet_vk_free(duet_vk_ctx *c, vk_alloc *a) {
    if (!a) return;
    vk_block *b = a->block;
    if (!block_give(b, a->offset, a->size))
        DUET_LOGW("vulkan: out of host memory while freeing; %.1f MiB stay reserved", MIB(a->size));
    duet_free(a);
    if (b->used) return;
    /* Keep one empty standard block for the next allocations; release the rest. Reusing a
     * freed range while recorded work still reads it is safe (the hazard tracker orders
     * the new writes after those reads), but releasing device memory is not: wait first. */
    size_t n_empty = 0;
    for (size_t i = 0; i < c->n_blocks; i++)
        n_empty += !c->blocks[i]->used && !c->blocks[i]->dedicated;
    if (!b->dedicated && n_empty <= 1) return;
    bool pending = c->cur >= 0;
    for (int i = 0; i < VK_FRAMES; i++) pending = pending || c->frames[i].in_flight;
    if (pending) duet_vk_flush(c);
    for (size_t i = 0; i < c->n_blocks; i++)
        if (c->blocks[i] == b) {
            c->blocks[i] = c->blocks[--c->n_blocks];
            break;
        }
    block_destroy(c, b);
}

duet_status duet_vk_buffer_alloc(duet_backend *be, size_t nbytes, duet_buffer **out) {
    duet_vk_ctx *c = be->ctx;
    duet_buffer *buf = duet_calloc(1, sizeof *buf);
    if (!buf) return DUET_ERR_OUT_OF_MEMORY;
    vk_alloc *a = NULL;
    duet_status st = duet_vk_alloc(c, nbytes, &a);
    if (st != DUET_OK) {
        duet_free(buf);
        return st;
    }
    buf->backend = be;
    buf->nbytes = nbytes;
    buf->priv = a;
    *out = buf;
    return DUET_OK;
}

void duet_vk_buffer_free(duet_backend *be, duet_buffer *buf) {
    if (!buf) return;
    duet_vk_ctx *c = be->ctx;
    duet_vk_free(c, buf->priv);
    duet_free(buf);
}
