#version 450
// duet — configure-time probe: does this glslc compile GL_NV_cooperative_matrix? (meson runs
// it; the answer decides whether matmul_coopmat_nv.comp is built.)
#extension GL_NV_cooperative_matrix : require
#extension GL_KHR_memory_scope_semantics : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require
layout(local_size_x = 32) in;
layout(binding = 0) buffer A { float16_t a[]; };
layout(binding = 1) buffer B { float b[]; };
void main() {
    fcoopmatNV<16, gl_ScopeSubgroup, 16, 16> m;
    coopMatLoadNV(m, a, 0, 16, false);
    fcoopmatNV<32, gl_ScopeSubgroup, 16, 16> c = fcoopmatNV<32, gl_ScopeSubgroup, 16, 16>(0.0);
    c = coopMatMulAddNV(m, m, c);
    coopMatStoreNV(c, b, 0, 16, false);
}
