"""duet-tiny joint DiT: Ovi's FusionModel (character-ai/Ovi ovi/modules/fusion.py) over two Wan
towers (ovi/modules/model.py WanModel, model_type 'ti2v' for video and 't2a' for audio) at tiny
width, computed in f32.

Per tower: patch embedding (video Conv3d k = s = (1, 2, 2); audio Conv1d k7 + SiLU + SwiGLU
ConvMLP), text MLP (Linear, GELU tanh, Linear) over the text context zero-padded to text_len,
time embedding (256-d sinusoid cos first -> Linear, SiLU, Linear = e; SiLU, Linear -> 6 dim = e0),
per-token timesteps (tokens given clean have t = 0), blocks with modulation = param + e0, head
with head.modulation + e. One fusion block: audio SA, video SA, audio cross-attn (text + fusion to
video) + FFN, video cross-attn (text + fusion to the audio after its SA) + FFN. RoPE: interleaved
pairs; video splits head_dim/2 pairs into c - 2 (c // 3) temporal, c // 3 h, c // 3 w; audio
rotates only the temporal pairs, with frequencies scaled by temporal_rope_scaling_factor
(F_lat / L_audio) so audio token n sits at video latent frame n * F_lat / L_audio.
Skip-layer guidance skips fusion block `slg_layer` in both towers (Ovi: `if slg_layer > 0`).
Key names are Ovi's (video_model.blocks.N.self_attn.q.weight, audio_model.patch_embedding.0.weight,
...).
"""
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def sinusoidal_embedding_1d(dim, t):
    """t [N] -> [N, dim]: cos half first, then sin; f_k = 10000^(-k / (dim / 2))."""
    half = dim // 2
    t = t.to(torch.float64)
    arg = t[:, None] * torch.pow(10000.0, -torch.arange(half, dtype=torch.float64,
                                                        device=t.device) / half)[None]
    return torch.cat([torch.cos(arg), torch.sin(arg)], dim=1).float()


def rope_freqs(n, dim, scaling=1.0):
    """Angles [n, dim / 2] for positions 0..n-1: pos * scaling * 10000^(-2j / dim)."""
    f = 1.0 / torch.pow(10000.0, torch.arange(0, dim, 2, dtype=torch.float64) / dim)
    return torch.outer(torch.arange(n, dtype=torch.float64), scaling * f)


def rope_video_angles(head_dim, f, h, w):
    """[f h w, head_dim / 2] angles, token order (f, h, w) as Wan flattens it."""
    c = head_dim // 2
    ct, cs = c - 2 * (c // 3), c // 3
    d = head_dim
    at = rope_freqs(f, d - 4 * (d // 6))[:, :ct]
    ah = rope_freqs(h, 2 * (d // 6))[:, :cs]
    aw = rope_freqs(w, 2 * (d // 6))[:, :cs]
    grid = torch.cat([at[:, None, None].expand(f, h, w, ct), ah[None, :, None].expand(f, h, w, cs),
                      aw[None, None, :].expand(f, h, w, cs)], dim=-1)
    return grid.reshape(f * h * w, c)


def rope_audio_angles(head_dim, n, scaling):
    """[n, head_dim / 2]: the first c - 2 (c // 3) pairs rotate (scaled), the rest stay put."""
    d, c = head_dim, head_dim // 2
    at = rope_freqs(n, d - 4 * (d // 6), scaling)
    return torch.cat([at, torch.zeros(n, c - at.shape[1], dtype=torch.float64)], dim=1)


def rope_apply(x, angles):
    """x [B, L, H, D]; rotate adjacent pairs (x0, x1) by angles [L, D / 2]."""
    cos = torch.cos(angles).float()[None, :, None, :]
    sin = torch.sin(angles).float()[None, :, None, :]
    x0, x1 = x[..., 0::2], x[..., 1::2]
    return torch.stack([x0 * cos - x1 * sin, x0 * sin + x1 * cos], dim=-1).flatten(-2)


class WanRMSNorm(nn.Module):
    def __init__(self, dim, eps=1e-6):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class WanLayerNorm(nn.LayerNorm):
    def __init__(self, dim, eps=1e-6, elementwise_affine=False):
        super().__init__(dim, eps=eps, elementwise_affine=elementwise_affine)


def attention(q, k, v):
    """[B, L, H, D] each -> [B, Lq, H * D], softmax scale 1/sqrt(D), no mask."""
    y = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2))
    return y.transpose(1, 2).flatten(2)


class WanSelfAttention(nn.Module):
    def __init__(self, dim, num_heads, eps):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, dim // num_heads
        self.q, self.k = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.v, self.o = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.norm_q, self.norm_k = WanRMSNorm(dim, eps), WanRMSNorm(dim, eps)

    def heads(self, x):
        return x.view(x.shape[0], x.shape[1], self.num_heads, self.head_dim)

    def forward(self, x, angles):
        q = rope_apply(self.heads(self.norm_q(self.q(x))), angles)
        k = rope_apply(self.heads(self.norm_k(self.k(x))), angles)
        return self.o(attention(q, k, self.heads(self.v(x))))


class FusionCrossAttention(WanSelfAttention):
    """WanT2VCrossAttention plus Ovi's injected k_fusion / v_fusion / pre_attn_norm_fusion /
    norm_k_fusion: text attention and attention to the other tower share q and o."""

    def __init__(self, dim, num_heads, eps):
        super().__init__(dim, num_heads, eps)
        self.k_fusion, self.v_fusion = nn.Linear(dim, dim), nn.Linear(dim, dim)
        self.pre_attn_norm_fusion = WanLayerNorm(dim, eps=1e-6, elementwise_affine=True)
        self.norm_k_fusion = WanRMSNorm(dim, eps=1e-6)

    def forward(self, x, ctx, src_angles, other, other_angles):
        q = self.heads(self.norm_q(self.q(x)))
        y = attention(q, self.heads(self.norm_k(self.k(ctx))), self.heads(self.v(ctx)))
        t = self.pre_attn_norm_fusion(other)
        kf = rope_apply(self.heads(self.norm_k_fusion(self.k_fusion(t))), other_angles)
        vf = self.heads(self.v_fusion(t))
        y = y + attention(rope_apply(q, src_angles), kf, vf)
        return self.o(y)


class ModulationAdd(nn.Module):
    def __init__(self, dim, num):
        super().__init__()
        self.modulation = nn.Parameter(torch.randn(1, num, dim) / dim ** 0.5)

    def forward(self, e):
        return self.modulation + e


class WanAttentionBlock(nn.Module):
    def __init__(self, dim, ffn_dim, num_heads, eps):
        super().__init__()
        self.norm1 = WanLayerNorm(dim, eps)
        self.self_attn = WanSelfAttention(dim, num_heads, eps)
        self.norm3 = WanLayerNorm(dim, eps, elementwise_affine=True)
        self.cross_attn = FusionCrossAttention(dim, num_heads, eps)
        self.norm2 = WanLayerNorm(dim, eps)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn_dim), nn.GELU(approximate='tanh'),
                                 nn.Linear(ffn_dim, dim))
        self.modulation = ModulationAdd(dim, 6)

    def self_attn_step(self, x, e0, angles):
        """x += SA(LN(x)(1 + scale) + shift) * gate; returns (x, chunks of modulation)."""
        m = self.modulation(e0).unbind(2)                  # 6 x [B, L, dim]
        y = self.self_attn(self.norm1(x) * (1 + m[1]) + m[0], angles)
        return x + y * m[2], m

    def cross_ffn_step(self, x, m, ctx, angles, other, other_angles):
        x = x + self.cross_attn(self.norm3(x), ctx, angles, other, other_angles)
        y = self.ffn(self.norm2(x) * (1 + m[4]) + m[3])
        return x + y * m[5]


class ChannelLastConv1d(nn.Conv1d):
    def forward(self, x):
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class ConvMLP(nn.Module):
    def __init__(self, dim, hidden_dim, kernel_size=7, padding=3, multiple_of=256):
        super().__init__()
        hidden_dim = int(2 * hidden_dim / 3)
        hidden_dim = multiple_of * ((hidden_dim + multiple_of - 1) // multiple_of)
        self.w1 = ChannelLastConv1d(dim, hidden_dim, kernel_size, padding=padding, bias=False)
        self.w2 = ChannelLastConv1d(hidden_dim, dim, kernel_size, padding=padding, bias=False)
        self.w3 = ChannelLastConv1d(dim, hidden_dim, kernel_size, padding=padding, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Head(nn.Module):
    def __init__(self, dim, out_dim, eps):
        super().__init__()
        self.norm = WanLayerNorm(dim, eps)
        self.head = nn.Linear(dim, out_dim)
        self.modulation = nn.Parameter(torch.randn(1, 2, dim) / dim ** 0.5)

    def forward(self, x, e):
        m = (self.modulation.unsqueeze(0) + e.unsqueeze(2)).unbind(2)
        return self.head(self.norm(x) * (1 + m[1]) + m[0])


class WanModel(nn.Module):
    """One tower. Inputs are already shaped as tokens by embed(); blocks are driven by Fusion."""

    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        dim = c['dim']
        self.is_audio = c['model_type'] == 't2a'
        self.patch_size = tuple(c['patch_size'])
        self.dim, self.freq_dim, self.text_len = dim, c['freq_dim'], c['text_len']
        self.head_dim = dim // c['num_heads']
        if self.is_audio:
            self.patch_embedding = nn.Sequential(
                ChannelLastConv1d(c['in_dim'], dim, kernel_size=7, padding=3), nn.SiLU(),
                ConvMLP(dim, dim * 4, kernel_size=7, padding=3))
        else:
            self.patch_embedding = nn.Conv3d(c['in_dim'], dim, kernel_size=self.patch_size,
                                             stride=self.patch_size)
        self.text_embedding = nn.Sequential(nn.Linear(c['text_dim'], dim),
                                            nn.GELU(approximate='tanh'), nn.Linear(dim, dim))
        self.time_embedding = nn.Sequential(nn.Linear(c['freq_dim'], dim), nn.SiLU(),
                                            nn.Linear(dim, dim))
        self.time_projection = nn.Sequential(nn.SiLU(), nn.Linear(dim, dim * 6))
        self.blocks = nn.ModuleList([WanAttentionBlock(dim, c['ffn_dim'], c['num_heads'],
                                                       c['eps']) for _ in range(c['num_layers'])])
        self.head = Head(dim, math.prod(self.patch_size) * c['out_dim'], c['eps'])
        self.init_weights()

    def init_weights(self):
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
                nn.init.zeros_(m.bias)
        if not self.is_audio:
            nn.init.xavier_uniform_(self.patch_embedding.weight.flatten(1))
        for m in list(self.text_embedding) + list(self.time_embedding):
            if isinstance(m, nn.Linear):
                nn.init.normal_(m.weight, std=0.02)
        nn.init.zeros_(self.head.head.weight)

    def embed(self, x):
        """video [B, C, F, H, W] -> ([B, F h w, dim], grid (F, h, w));
        audio [B, L, C] -> ([B, L, dim], (L,))."""
        if self.is_audio:
            return self.patch_embedding(x), (x.shape[1],)
        y = self.patch_embedding(x)
        return y.flatten(2).transpose(1, 2), tuple(y.shape[2:])

    def angles(self, grid):
        if self.is_audio:
            return rope_audio_angles(self.head_dim, grid[0],
                                     self.cfg['temporal_rope_scaling_factor'])
        return rope_video_angles(self.head_dim, *grid)

    def time(self, t):
        """per-token timesteps t [B, L] (0..1000) -> e [B, L, dim], e0 [B, L, 6, dim]."""
        b, n = t.shape
        e = self.time_embedding(sinusoidal_embedding_1d(self.freq_dim, t.flatten()))
        e = e.view(b, n, self.dim)
        return e, self.time_projection(e).unflatten(2, (6, self.dim))

    def context(self, ctx):
        """ctx [B, <= text_len, text_dim] -> text MLP over rows zero-padded to text_len."""
        if ctx.shape[1] < self.text_len:
            ctx = torch.cat([ctx, ctx.new_zeros(ctx.shape[0], self.text_len - ctx.shape[1],
                                                ctx.shape[2])], dim=1)
        return self.text_embedding(ctx)

    def unpatchify(self, x, grid):
        if self.is_audio:
            return x
        b, c = x.shape[0], self.cfg['out_dim']
        f, h, w = grid
        p, q, r = self.patch_size
        x = x.view(b, f, h, w, p, q, r, c)
        x = torch.einsum('bfhwpqrc->bcfphqwr', x)
        return x.reshape(b, c, f * p, h * q, w * r)


class FusionModel(nn.Module):
    def __init__(self, video_cfg, audio_cfg):
        super().__init__()
        self.video_model = WanModel(video_cfg)
        self.audio_model = WanModel(audio_cfg)
        assert len(self.video_model.blocks) == len(self.audio_model.blocks)
        self.num_blocks = len(self.video_model.blocks)
        for name, mod in self.video_model.named_modules():
            if 'fusion' in name and isinstance(mod, nn.Linear):
                with torch.no_grad():
                    mod.weight.div_(10.0)

    def video_tokens_per_frame(self, h, w):
        p = self.video_model.patch_size
        return (h // p[1]) * (w // p[2])

    def forward(self, vid, audio, t_vid, t_audio, ctx_vid, ctx_audio, slg_layer=-1,
                return_hidden=False):
        """vid [B, C, F, H, W] latents; audio [B, L, C] latents; t_vid [B, F h w] and
        t_audio [B, L] per-token timesteps (0..1000); ctx_* [B, <= text_len, text_dim].
        Returns the velocity predictions in the input layouts."""
        V, A = self.video_model, self.audio_model
        xv, gv = V.embed(vid)
        xa, ga = A.embed(audio)
        av, aa = V.angles(gv).to(xv.device), A.angles(ga).to(xa.device)
        ev, ev0 = V.time(t_vid)
        ea, ea0 = A.time(t_audio)
        cv, ca = V.context(ctx_vid), A.context(ctx_audio)
        for i in range(self.num_blocks):
            if slg_layer > 0 and i == slg_layer:
                continue
            vb, ab = V.blocks[i], A.blocks[i]
            xa, ma = ab.self_attn_step(xa, ea0, aa)
            xv, mv = vb.self_attn_step(xv, ev0, av)
            og_audio = xa
            xa = ab.cross_ffn_step(xa, ma, ca, aa, xv, av)
            xv = vb.cross_ffn_step(xv, mv, cv, av, og_audio, aa)
        out_v = V.unpatchify(V.head(xv, ev), gv)
        out_a = A.head(xa, ea)
        if return_hidden:
            return out_v, out_a, (xv, xa)
        return out_v, out_a
