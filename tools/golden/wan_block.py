#!/usr/bin/env python3
"""Golden reference for one Wan2.2-style DiT block (diffusion/wan_block.c).

Regenerate (from the repository root; deterministic, CPU only, a second or two):

    python3 tools/golden/wan_block.py tests/golden/wan_block.safetensors

A small, self-contained PyTorch re-statement of the block that Wan2.1/Wan2.2 and both Ovi
towers use (upstream: Wan-Video/Wan2.2 wan/modules/model.py, WanAttentionBlock and the
modules it calls; MODELS.md "Wan2.1 T2V-1.3B / Wan2.2 TI2V-5B" and "Ovi"):

    m = blocks.N.modulation + e0                (e0 [L, 6, dim] per token; chunks 0..5 =
                                                  shift_sa, scale_sa, gate_sa, shift_ff,
                                                  scale_ff, gate_ff)
    x += SA(LN(x) (1 + scale_sa) + shift_sa) * gate_sa
         SA: q = RMSNorm_q(Wq h), k = RMSNorm_k(Wk h) over the full dim (eps 1e-6), v = Wv h;
             3-D RoPE on q and k (adjacent pairs; pairs split t/h/w); softmax(q k^T / sqrt(d)) v;
             then Wo
    x += CA(norm3(x), context)                 (norm3: affine LayerNorm; q/k RMSNorm; no RoPE;
                                                 no gate)
    x += FFN(LN(x) (1 + scale_ff) + shift_ff) * gate_ff   (FFN: Linear, GELU-tanh, Linear)

LN is LayerNorm without affine, eps 1e-6. Weights are random (fixed seed) with Wan's parameter
names under "blocks.0."; dims are small (dim 64, 2 heads of 32, FFN 128, a 3x4x5 latent grid =
60 tokens, 7 context tokens) so the file stays small and token counts are not tile multiples.
Token 17 of x is scaled by 1e-3 so that the LayerNorm eps visibly matters.

The computation runs in float64 so that the stored float32 output is the exact answer to
float32 precision: a C implementation compared against it is measured on its own error only.
(Upstream runs attention in bf16 via flash-attention and the rest in f32/bf16; the arithmetic
is otherwise the same.)

Stored tensors (all float32 unless noted; shapes in PyTorch order):
    blocks.0.*                 the block's parameters, Wan names
    x [1, L, dim], e0 [1, L, 6, dim], context [1, Lc, dim]    inputs
    grid_sizes [3] int32        (F, H, W); L = F H W
    after_self_attn, after_cross_attn [1, L, dim]              x after each residual step
    out [1, L, dim]             the block's output
    out_f16w, out_bf16w [1, L, dim]  the output when the nine Linear weight matrices are first
                                rounded to float16 / bfloat16 (biases, norms and modulation
                                stay float32), as a loader that keeps matmul weights in half
                                precision sees them
Metadata: dim, ffn_dim, num_heads, eps, rope_theta, seed.
"""
import argparse
import math

import torch

import sorted_safetensors  # tools/golden, this script's folder

DIM, FFN_DIM, NUM_HEADS = 64, 128, 2
GRID = (3, 4, 5)          # latent frames, height, width (after patchify)
TEXT_LEN = 7
EPS = 1e-6
THETA = 10000.0
SEED = 20240611
QUIET_TOKEN = 17
PREFIX = "blocks.0."


# ---------------------------------------------------------------- parameters

def make_params(gen):
    """Random parameters with Wan's names. Linear weights and biases are uniform with variance
    1/fan_in, so activations keep unit scale and GELU's input reaches its curved region (with
    PyTorch's smaller default init, GELU-erf and GELU-tanh differ by less than the test's
    tolerance); norm weights are perturbed around 1 so a missing or misplaced weight shows up;
    modulation is randn / sqrt(dim) as upstream inits it."""
    def uniform(shape, bound):
        return (torch.rand(shape, generator=gen, dtype=torch.float32) * 2 - 1) * bound

    def linear(name, n_out, n_in):
        bound = math.sqrt(3.0 / n_in)
        p[name + ".weight"] = uniform((n_out, n_in), bound)
        p[name + ".bias"] = uniform((n_out,), bound)

    def near_one(n):
        return 1.0 + 0.2 * torch.randn(n, generator=gen, dtype=torch.float32)

    p = {}
    p["modulation"] = torch.randn(1, 6, DIM, generator=gen, dtype=torch.float32) / DIM ** 0.5
    for attn in ("self_attn", "cross_attn"):
        for lin in ("q", "k", "v", "o"):
            linear(f"{attn}.{lin}", DIM, DIM)
        p[f"{attn}.norm_q.weight"] = near_one(DIM)
        p[f"{attn}.norm_k.weight"] = near_one(DIM)
    p["norm3.weight"] = near_one(DIM)
    p["norm3.bias"] = 0.1 * torch.randn(DIM, generator=gen, dtype=torch.float32)
    linear("ffn.0", FFN_DIM, DIM)
    linear("ffn.2", DIM, FFN_DIM)
    return p


def linear_weight_names(p):
    return [n for n in p if n.endswith(".weight") and p[n].dim() == 2]


# ---------------------------------------------------------------- the block

def layer_norm(x, weight=None, bias=None):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    y = (x - mean) / torch.sqrt(var + EPS)
    if weight is not None:
        y = y * weight + bias
    return y


def rms_norm(x, weight):
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + EPS) * weight


def linear(p, name, x):
    return x @ p[name + ".weight"].T + p[name + ".bias"]


def rope_angles(head_dim, grid):
    """Angle of each rotated pair for each token: [L, head_dim / 2].

    Wan splits the head_dim / 2 adjacent pairs into a temporal group of
    c - 2 (c // 3) pairs and two spatial groups of c // 3 (c = head_dim / 2). Each group g of
    n_g pairs rotates pair j by pos * theta^(-2 j / (2 n_g)), pos being the token's frame, row
    or column. Tokens are ordered frame-major, then row, then column."""
    c = head_dim // 2
    sizes = (c - 2 * (c // 3), c // 3, c // 3)
    f, h, w = grid
    pos = torch.stack(torch.meshgrid(torch.arange(f), torch.arange(h), torch.arange(w),
                                     indexing="ij"), dim=-1).reshape(-1, 3).to(torch.float64)
    groups = []
    for axis, n in enumerate(sizes):
        inv_freq = THETA ** (-torch.arange(n, dtype=torch.float64) * 2 / (2 * n))
        groups.append(pos[:, axis:axis + 1] * inv_freq[None, :])
    return torch.cat(groups, dim=1)


def rope(x, angles):
    """x [L, heads, head_dim]: pair (x[2j], x[2j+1]) rotated by angles[:, j]."""
    L, n, d = x.shape
    pairs = x.reshape(L, n, d // 2, 2)
    cos, sin = torch.cos(angles)[:, None, :], torch.sin(angles)[:, None, :]
    x0, x1 = pairs[..., 0], pairs[..., 1]
    return torch.stack((x0 * cos - x1 * sin, x0 * sin + x1 * cos), dim=-1).reshape(L, n, d)


def attention(q, k, v):
    """q [Lq, heads, d], k/v [Lk, heads, d] -> [Lq, heads * d]; scale 1/sqrt(d), no mask."""
    d = q.shape[-1]
    scores = torch.einsum("qhd,khd->hqk", q, k) / math.sqrt(d)
    out = torch.einsum("hqk,khd->qhd", torch.softmax(scores, dim=-1), v)
    return out.reshape(q.shape[0], -1)


def heads(t):
    return t.reshape(t.shape[0], NUM_HEADS, -1)


def self_attn(p, h, angles):
    q = rope(heads(rms_norm(linear(p, "self_attn.q", h), p["self_attn.norm_q.weight"])), angles)
    k = rope(heads(rms_norm(linear(p, "self_attn.k", h), p["self_attn.norm_k.weight"])), angles)
    v = heads(linear(p, "self_attn.v", h))
    return linear(p, "self_attn.o", attention(q, k, v))


def cross_attn(p, h, context):
    q = heads(rms_norm(linear(p, "cross_attn.q", h), p["cross_attn.norm_q.weight"]))
    k = heads(rms_norm(linear(p, "cross_attn.k", context), p["cross_attn.norm_k.weight"]))
    v = heads(linear(p, "cross_attn.v", context))
    return linear(p, "cross_attn.o", attention(q, k, v))


def ffn(p, h):
    return linear(p, "ffn.2", torch.nn.functional.gelu(linear(p, "ffn.0", h), approximate="tanh"))


def block(p, x, e0, context, grid):
    """x [L, dim], e0 [L, 6, dim], context [Lc, dim]. Returns x after each residual step."""
    m = p["modulation"][0][None] + e0   # [L, 6, dim]
    shift_sa, scale_sa, gate_sa, shift_ff, scale_ff, gate_ff = m.unbind(dim=1)
    angles = rope_angles(DIM // NUM_HEADS, grid)

    x = x + self_attn(p, layer_norm(x) * (1 + scale_sa) + shift_sa, angles) * gate_sa
    after_sa = x
    x = x + cross_attn(p, layer_norm(x, p["norm3.weight"], p["norm3.bias"]), context)
    after_ca = x
    x = x + ffn(p, layer_norm(x) * (1 + scale_ff) + shift_ff) * gate_ff
    return after_sa, after_ca, x


# ---------------------------------------------------------------- main

def run_f64(p, x, e0, context, rounded_dtype=None):
    q = {}
    for n, t in p.items():
        if rounded_dtype is not None and n in linear_weight_names(p):
            t = t.to(rounded_dtype)
        q[n] = t.to(torch.float64)
    outs = block(q, x.double(), e0.double(), context.double(), GRID)
    return [o.float() for o in outs]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", help="path of the safetensors file to write")
    args = ap.parse_args()

    gen = torch.Generator().manual_seed(SEED)
    p = make_params(gen)
    L = GRID[0] * GRID[1] * GRID[2]
    x = torch.randn(L, DIM, generator=gen, dtype=torch.float32)
    # One near-silent token: its LayerNorm variance (1e-6) is of the order of eps, so the
    # eps value and its place (inside the square root) matter to the result.
    x[QUIET_TOKEN] *= 1e-3
    # Per-token modulation (Wan2.2): distinct values per token so that a token or chunk mix-up
    # in the C code changes the result.
    e0 = 0.5 * torch.randn(L, 6, DIM, generator=gen, dtype=torch.float32)
    context = torch.randn(TEXT_LEN, DIM, generator=gen, dtype=torch.float32)

    after_sa, after_ca, out = run_f64(p, x, e0, context)
    out_f16w = run_f64(p, x, e0, context, torch.float16)[2]
    out_bf16w = run_f64(p, x, e0, context, torch.bfloat16)[2]

    tensors = {PREFIX + n: t.contiguous() for n, t in p.items()}
    tensors.update({
        "x": x[None], "e0": e0[None], "context": context[None],
        "grid_sizes": torch.tensor(GRID, dtype=torch.int32),
        "after_self_attn": after_sa[None], "after_cross_attn": after_ca[None],
        "out": out[None], "out_f16w": out_f16w[None], "out_bf16w": out_bf16w[None],
    })
    meta = {"dim": str(DIM), "ffn_dim": str(FFN_DIM), "num_heads": str(NUM_HEADS),
            "eps": str(EPS), "rope_theta": str(THETA), "seed": str(SEED),
            "generator": "tools/golden/wan_block.py"}
    sorted_safetensors.save(args.out, tensors, meta)
    rel = lambda a, b: float(((a - b) ** 2).sum() / (b ** 2).sum())
    print(f"wrote {args.out}: {len(tensors)} tensors; |out| rms {out.pow(2).mean().sqrt():.4f}; "
          f"nmse(out_f16w, out) {rel(out_f16w, out):.3e}, nmse(out_bf16w, out) "
          f"{rel(out_bf16w, out):.3e}")


if __name__ == "__main__":
    main()
