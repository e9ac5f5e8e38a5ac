/* duet — the embedded SPIR-V table. The definition is generated at build time
 * (shaders/meson.build -> vk_shader_table.c); vk_pipeline.c looks variants up by name. */
#ifndef DUET_VK_SHADERS_H
#define DUET_VK_SHADERS_H

#include <stddef.h>
#include <stdint.h>

typedef struct duet_vk_shader {
    const char *name;     /* variant, e.g. "matmul_u16" */
    const uint32_t *code; /* SPIR-V words */
    size_t nbytes;
} duet_vk_shader;

extern const duet_vk_shader duet_vk_shaders[];
extern const size_t duet_vk_n_shaders;

#endif
