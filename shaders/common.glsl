// duet — helpers shared by every compute shader: dtype codes, storage declarations for
// operands that may be f32, f16 or bf16, exact f32 <-> f16/bf16 conversions matching
// core/tensor.c bit for bit, and flat invocation indices for grids wider than the 65535
// workgroups a dimension may hold.
//
// Every shader is compiled twice when it touches 16-bit data: STORAGE16=1 declares the
// operand as uint16_t (GL_EXT_shader_16bit_storage, when the device has
// storageBuffer16BitAccess), STORAGE16=0 reads 32-bit words and picks the half, so the same
// kernels run on devices without 16-bit storage. Bindings are always: 0 = dst, 1.. = sources.

#extension GL_EXT_control_flow_attributes : enable
#if STORAGE16
#extension GL_EXT_shader_16bit_storage : require
#endif

#define DT_F32 0u
#define DT_F16 1u
#define DT_BF16 2u

// Declares binding B as NAME_32 (32-bit words) and, with 16-bit storage, NAME_16 aliasing it.
#if STORAGE16
#define DECL_BUF(B, NAME, QUAL)                                                               \
    layout(binding = B) QUAL buffer NAME##_b32 { uint NAME##_32[]; };                         \
    layout(binding = B) QUAL buffer NAME##_b16 { uint16_t NAME##_16[]; };
#define BITS16(NAME, i) uint(NAME##_16[i])
#else
#define DECL_BUF(B, NAME, QUAL) layout(binding = B) QUAL buffer NAME##_b32 { uint NAME##_32[]; };
#define BITS16(NAME, i) ((NAME##_32[(i) >> 1] >> (((i) & 1u) << 4)) & 0xFFFFu)
#endif

// Element i of a buffer declared with DECL_BUF holding dtype T, as f32. `i` must be a plain
// variable (it is evaluated more than once).
#define LOAD_F(NAME, i, T)                                                                    \
    ((T) == DT_F32 ? uintBitsToFloat(NAME##_32[i])                                            \
                   : ((T) == DT_F16 ? f16_bits_to_f32(BITS16(NAME, i))                       \
                                    : uintBitsToFloat(BITS16(NAME, i) << 16)))

float f16_bits_to_f32(uint h) {
    // unpackHalf2x16 is exact for every f16 value including subnormals, Inf and NaN.
    return unpackHalf2x16(h).x;
}

// Round to nearest even, NaN stays NaN (quiet), overflow gives Inf: as duet_f32_to_f16.
// Integer-only so that devices flushing f32 denormals still round f16 subnormals exactly.
uint f32_to_f16_bits(float f) {
    uint u = floatBitsToUint(f);
    uint sign = (u >> 16) & 0x8000u;
    uint a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return sign | 0x7e00u;
    if (a >= 0x477ff000u) return sign | 0x7c00u;
    if (a < 0x38800000u) {
        if (a < 0x33000000u) return sign;  // below half the smallest subnormal: zero
        uint e = a >> 23;
        uint m = (a & 0x7fffffu) | 0x800000u;
        uint shift = 126u - e;  // 14..24
        uint r = m >> shift;
        uint rem = m & ((1u << shift) - 1u);
        uint halfway = 1u << (shift - 1u);
        if (rem > halfway || (rem == halfway && (r & 1u) != 0u)) r += 1u;
        return sign | r;
    }
    a += 0xc8000fffu + ((a >> 13) & 1u);
    return sign | (a >> 13);
}

// As duet_f32_to_bf16: round to nearest even, NaN kept quiet.
uint f32_to_bf16_bits(float f) {
    uint u = floatBitsToUint(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (u >> 16) | 0x40u;
    u += 0x7fffu + ((u >> 16) & 1u);
    return u >> 16;
}

// Index of this invocation in a 1-D problem dispatched as a (x, y) grid of workgroups.
uint flat_invocation(uint local_size) {
    uint wg = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
    return wg * local_size + gl_LocalInvocationID.x;
}

// Index of this workgroup in a 1-D problem dispatched as a (x, y) grid.
uint flat_workgroup() { return gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x; }
