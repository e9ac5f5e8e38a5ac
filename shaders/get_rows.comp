#version 450
// duet — GET_ROWS (embedding lookup): dst[:, n] = table[:, ids[n]], zeros for ids outside
// [0, V). table [D, V] is f32/f16/bf16 (T_T); one invocation per dst element.
#include "common.glsl"

layout(local_size_x = 256) in;
layout(constant_id = 0) const uint T_T = DT_F32;

layout(binding = 0) writeonly buffer Dst { float d[]; };
DECL_BUF(1, tab, readonly)
layout(binding = 2) readonly buffer Ids { int ids[]; };

layout(push_constant) uniform PC {
    uint D, V, n;
    uint toff, ioff, doff;
} pc;

void main() {
    uint idx = flat_invocation(256u);
    if (idx >= pc.n) return;
    uint dd = idx % pc.D, row = idx / pc.D;
    int id = ids[pc.ioff + row];
    float v = 0.0;
    if (id >= 0 && uint(id) < pc.V) {
        uint ti = pc.toff + dd + pc.D * uint(id);
        v = LOAD_F(tab, ti, T_T);
    }
    d[pc.doff + idx] = v;
}
