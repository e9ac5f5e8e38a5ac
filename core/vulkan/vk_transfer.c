/* duet — uploads and downloads through one host-visible staging buffer used as a ring.
 * Upload: each chunk (at most the staging size) is copied into the ring and a copy command
 * is recorded in order with the ops, so many small weight uploads share one submission; the
 * ring only waits for the GPU when it wraps. Download: flush all recorded work, then per chunk
 * copy into staging, submit, wait, and read. Any size works: large tensors go chunk by chunk. */
#include <string.h>

#include "vk_internal.h"

static int pick_host_type(const VkPhysicalDeviceMemoryProperties *mp, uint32_t bits) {
    const VkMemoryPropertyFlags base =
        VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;
    /* cached memory makes the CPU's reads of downloads fast */
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < mp->memoryTypeCount; i++) {
            VkMemoryPropertyFlags f = mp->memoryTypes[i].propertyFlags;
            VkMemoryPropertyFlags want = base | (pass ? 0 : VK_MEMORY_PROPERTY_HOST_CACHED_BIT);
            if ((bits & (1u << i)) && (f & want) == want) return (int)i;
        }
    return -1;
}

duet_status duet_vk_staging_init(duet_vk_ctx *c, VkDeviceSize nbytes) {
    VkBufferCreateInfo bi = {.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO,
                             .size = nbytes,
                             .usage = VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                                      VK_BUFFER_USAGE_TRANSFER_DST_BIT,
                             .sharingMode = VK_SHARING_MODE_EXCLUSIVE};
    VkResult r = vkCreateBuffer(c->dev, &bi, NULL, &c->staging);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkCreateBuffer (staging)");
    VkMemoryRequirements req;
    vkGetBufferMemoryRequirements(c->dev, c->staging, &req);
    int t = pick_host_type(&c->caps.mem, req.memoryTypeBits);
    if (t < 0) {
        DUET_LOGE("vulkan: no host-visible coherent memory for staging");
        return DUET_ERR_UNSUPPORTED;
    }
    VkMemoryAllocateInfo ai = {.sType = VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO,
                               .allocationSize = req.size,
                               .memoryTypeIndex = (uint32_t)t};
    r = vkAllocateMemory(c->dev, &ai, NULL, &c->staging_mem);
    if (r != VK_SUCCESS) return duet_vk_result(r, "vkAllocateMemory (staging)");
    r = vkBindBufferMemory(c->dev, c->staging, c->staging_mem, 0);
    if (r == VK_SUCCESS)
        r = vkMapMemory(c->dev, c->staging_mem, 0, VK_WHOLE_SIZE, 0, (void **)&c->staging_map);
    if (r != VK_SUCCESS) return duet_vk_result(r, "binding/mapping the staging buffer");
    c->staging_size = nbytes;
    c->staging_pos = 0;
    return DUET_OK;
}

void duet_vk_staging_release(duet_vk_ctx *c) {
    if (c->staging) vkDestroyBuffer(c->dev, c->staging, NULL);
    if (c->staging_mem) vkFreeMemory(c->dev, c->staging_mem, NULL);
    c->staging = VK_NULL_HANDLE;
    c->staging_mem = VK_NULL_HANDLE;
    c->staging_map = NULL;
}

static duet_status check_range(const duet_buffer *buf, size_t offset, size_t nbytes,
                               const char *what) {
    if (offset > buf->nbytes || nbytes > buf->nbytes - offset) {
        DUET_LOGE("vulkan %s: bytes [%zu, %zu) outside a %zu-byte buffer", what, offset,
                  offset + nbytes, buf->nbytes);
        return DUET_ERR_INVALID_ARG;
    }
    return DUET_OK;
}

duet_status duet_vk_upload(duet_backend *be, duet_buffer *buf, size_t offset, const void *src,
                           size_t nbytes) {
    duet_vk_ctx *c = be->ctx;
    duet_status st = check_range(buf, offset, nbytes, "upload");
    const vk_alloc *a = buf->priv;
    const unsigned char *p = src;
    while (st == DUET_OK && nbytes > 0) {
        VkDeviceSize n = nbytes < c->staging_size ? nbytes : c->staging_size;
        if (c->staging_pos + n > c->staging_size) {
            st = duet_vk_flush(c); /* wrap: wait until the GPU has read the whole ring */
            if (st != DUET_OK) break;
            c->staging_pos = 0;
        }
        st = duet_vk_begin(c);
        if (st != DUET_OK) break;
        memcpy(c->staging_map + c->staging_pos, p, n);
        VkDeviceSize dst = a->offset + offset;
        vk_hazard acc = {a->block, dst, dst + n, true};
        duet_vk_track(c, &acc, 1);
        VkBufferCopy region = {.srcOffset = c->staging_pos, .dstOffset = dst, .size = n};
        vkCmdCopyBuffer(c->frames[c->cur].cmd, c->staging, a->block->buf, 1, &region);
        c->staging_pos += (n + 15) & ~(VkDeviceSize)15;
        p += n;
        offset += n;
        nbytes -= n;
    }
    return st;
}

duet_status duet_vk_download(duet_backend *be, const duet_buffer *buf, size_t offset, void *dst,
                             size_t nbytes) {
    duet_vk_ctx *c = be->ctx;
    duet_status st = check_range(buf, offset, nbytes, "download");
    if (st == DUET_OK) st = duet_vk_flush(c);
    const vk_alloc *a = buf->priv;
    unsigned char *p = dst;
    c->staging_pos = 0;
    while (st == DUET_OK && nbytes > 0) {
        VkDeviceSize n = nbytes < c->staging_size ? nbytes : c->staging_size;
        st = duet_vk_begin(c); /* starts with a full barrier: earlier writes are visible */
        if (st != DUET_OK) break;
        VkCommandBuffer cmd = c->frames[c->cur].cmd;
        VkBufferCopy region = {.srcOffset = a->offset + offset, .dstOffset = 0, .size = n};
        vkCmdCopyBuffer(cmd, a->block->buf, c->staging, 1, &region);
        VkMemoryBarrier mb = {.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER,
                              .srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT,
                              .dstAccessMask = VK_ACCESS_HOST_READ_BIT};
        vkCmdPipelineBarrier(cmd, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1,
                             &mb, 0, NULL, 0, NULL);
        st = duet_vk_submit(c, true);
        if (st != DUET_OK) break;
        memcpy(p, c->staging_map, n);
        p += n;
        offset += n;
        nbytes -= n;
    }
    return st;
}
