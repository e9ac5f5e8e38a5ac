"""duet-tiny video VAE: the Wan2.2 VAE class (Wan2.2 wan/modules/vae2_2.py, WanVAE_ with
Encoder3d/Decoder3d, Down_/Up_ResidualBlock, AvgDown3D/DupUp3D shortcuts) at tiny width.

2x2 pixel patchify (RGB -> 12 ch, "b c f (h q) (w r) -> b (c r q) f h w"), CausalConv3d that pads
2 * p_t frames in front, temporal_downsample [False, True, True] (4x in time: 1 + 4 (F - 1)
frames), three spatial 2x downsamples (16x16 with the patchify; at 128 px the latent is 8x8,
enough for this flat-shaded world and it keeps the DiT at 4x4 tokens per latent frame after its
(1, 2, 2) patch embedding). Latents are normalized with per-channel mean/std stored in the weights
(latent_mean, latent_std; Wan2.2 hard-codes its 48 values in Python). Decoder output is clamped
to [-1, 1] in decode().

Causal state: every module that looks back in time keeps a `_state` (the last input frames, or a
"first chunk seen" mark) exactly like Wan's feat_cache. Calling the module once on a whole clip
(training) and calling it once per chunk (Wan's decode loop: one latent frame at a time; encode:
1 frame then 4 at a time) give the same result; tests check this. Key names are Wan's, under
the prefix `video_vae.` in model.safetensors.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F


def patchify(x, p=2):
    b, c, f, h, w = x.shape
    x = x.view(b, c, f, h // p, p, w // p, p)          # b c f h q w r
    return x.permute(0, 1, 6, 4, 2, 3, 5).reshape(b, c * p * p, f, h // p, w // p)


def unpatchify(x, p=2):
    b, cpp, f, h, w = x.shape
    c = cpp // (p * p)
    x = x.view(b, c, p, p, f, h, w)                    # b c r q f h w
    return x.permute(0, 1, 4, 5, 3, 6, 2).reshape(b, c, f, h * p, w * p)


def _frames_as_batch(fn, x):
    b, c, t, h, w = x.shape
    y = fn(x.transpose(1, 2).reshape(b * t, c, h, w))
    return y.view(b, t, *y.shape[1:]).transpose(1, 2)


class CausalConv3d(nn.Conv3d):
    """Conv3d padded with 2 * p_t frames in front (or the cached last frames of the previous chunk)
    and symmetric spatial zeros."""

    def __init__(self, cin, cout, kernel, stride=1, padding=0):
        pad = (padding,) * 3 if isinstance(padding, int) else tuple(padding)
        super().__init__(cin, cout, kernel, stride=stride, padding=0)
        self.pad_t, self.pad_h, self.pad_w = 2 * pad[0], pad[1], pad[2]
        self._state = None

    def forward(self, x):
        if self.pad_t:
            prev = self._state
            if prev is None:
                prev = x.new_zeros(x.shape[0], x.shape[1], self.pad_t, *x.shape[3:])
            x = torch.cat([prev, x], 2)
            self._state = x[:, :, -self.pad_t:]
        if self.pad_h or self.pad_w:
            x = F.pad(x, (self.pad_w, self.pad_w, self.pad_h, self.pad_h))
        return super().forward(x)


class RMS_norm(nn.Module):
    """x / ||x||_channels * sqrt(C) * gamma (Wan's RMS_norm, channel first)."""

    def __init__(self, dim, images=True):
        super().__init__()
        self.scale = dim ** 0.5
        self.gamma = nn.Parameter(torch.ones((dim, 1, 1) if images else (dim, 1, 1, 1)))

    def forward(self, x):
        return F.normalize(x, dim=1) * self.scale * self.gamma


class Upsample(nn.Upsample):
    pass


class Resample(nn.Module):
    def __init__(self, dim, mode):
        super().__init__()
        self.mode = mode
        if mode.startswith('upsample'):
            self.resample = nn.Sequential(Upsample(scale_factor=(2.0, 2.0), mode='nearest-exact'),
                                          nn.Conv2d(dim, dim, 3, padding=1))
        else:
            self.resample = nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)),
                                          nn.Conv2d(dim, dim, 3, stride=(2, 2)))
        if mode == 'upsample3d':
            self.time_conv = CausalConv3d(dim, dim * 2, (3, 1, 1), padding=(1, 0, 0))
        elif mode == 'downsample3d':
            self.time_conv = CausalConv3d(dim, dim, (3, 1, 1), stride=(2, 1, 1), padding=0)
        self._state = None

    def _time_up(self, x):
        # Wan: the first chunk passes through ("Rep"); later frames go through a causal conv
        # whose history starts with zeros, not with frame 0. Output channel halves interleave.
        first = self._state is None
        self._state = True
        head, x = (x[:, :, :1], x[:, :, 1:]) if first else (None, x)
        if x.shape[2]:
            y = self.time_conv(x)
            b, c2, t, h, w = y.shape
            y = y.view(b, 2, c2 // 2, t, h, w).permute(0, 2, 3, 1, 4, 5)
            x = y.reshape(b, c2 // 2, t * 2, h, w)
        return x if head is None else torch.cat([head, x], 2)

    def _time_down(self, x):
        # Wan: frame 0 passes through; each later pair is reduced by a stride-2 k3 conv whose
        # window starts at the previous chunk's last frame.
        if self._state is None:
            head, inp = x[:, :, :1], x
        else:
            head, inp = None, torch.cat([self._state, x], 2)
        self._state = inp[:, :, -1:]
        parts = [] if head is None else [head]
        if inp.shape[2] >= 3:
            parts.append(self.time_conv(inp))
        return torch.cat(parts, 2)

    def forward(self, x):
        if self.mode == 'upsample3d':
            x = self._time_up(x)
        x = _frames_as_batch(self.resample, x)
        if self.mode == 'downsample3d':
            x = self._time_down(x)
        return x


class ResidualBlock(nn.Module):
    def __init__(self, cin, cout):
        super().__init__()
        self.residual = nn.Sequential(
            RMS_norm(cin, images=False), nn.SiLU(), CausalConv3d(cin, cout, 3, padding=1),
            RMS_norm(cout, images=False), nn.SiLU(), nn.Dropout(0.0),
            CausalConv3d(cout, cout, 3, padding=1))
        self.shortcut = CausalConv3d(cin, cout, 1) if cin != cout else nn.Identity()

    def forward(self, x):
        return self.residual(x) + self.shortcut(x)


class AttentionBlock(nn.Module):
    """Single-head self-attention over the pixels of each frame."""

    def __init__(self, dim):
        super().__init__()
        self.norm = RMS_norm(dim)
        self.to_qkv = nn.Conv2d(dim, dim * 3, 1)
        self.proj = nn.Conv2d(dim, dim, 1)
        nn.init.zeros_(self.proj.weight)

    def _frame(self, x):
        n, c, h, w = x.shape
        qkv = self.to_qkv(self.norm(x)).view(n, 3 * c, h * w).transpose(1, 2)
        q, k, v = qkv.unsqueeze(1).chunk(3, dim=-1)
        y = F.scaled_dot_product_attention(q, k, v).squeeze(1)
        return self.proj(y.transpose(1, 2).reshape(n, c, h, w))

    def forward(self, x):
        return x + _frames_as_batch(self._frame, x)


class AvgDown3D(nn.Module):
    """Shortcut: space/time-to-channel then mean over channel groups (no parameters)."""

    def __init__(self, cin, cout, ft, fs):
        super().__init__()
        self.cout, self.ft, self.fs = cout, ft, fs
        self.group = cin * ft * fs * fs // cout

    def forward(self, x):
        pad_t = (self.ft - x.shape[2] % self.ft) % self.ft
        x = F.pad(x, (0, 0, 0, 0, pad_t, 0))
        b, c, t, h, w = x.shape
        ft, fs = self.ft, self.fs
        x = x.view(b, c, t // ft, ft, h // fs, fs, w // fs, fs).permute(0, 1, 3, 5, 7, 2, 4, 6)
        x = x.reshape(b, self.cout, self.group, t // ft, h // fs, w // fs)
        return x.mean(dim=2)


class DupUp3D(nn.Module):
    """Shortcut: repeat channels then channel-to-space/time; the first chunk drops ft - 1 frames."""

    def __init__(self, cin, cout, ft, fs):
        super().__init__()
        self.cout, self.ft, self.fs = cout, ft, fs
        self.repeats = cout * ft * fs * fs // cin
        self._state = None

    def forward(self, x):
        b, _, t, h, w = x.shape
        ft, fs = self.ft, self.fs
        x = x.repeat_interleave(self.repeats, dim=1)
        x = x.view(b, self.cout, ft, fs, fs, t, h, w).permute(0, 1, 5, 2, 6, 3, 7, 4)
        x = x.reshape(b, self.cout, t * ft, h * fs, w * fs)
        if self._state is None:
            self._state = True
            x = x[:, :, ft - 1:]
        return x


class Down_ResidualBlock(nn.Module):
    def __init__(self, cin, cout, mult, t_down, down):
        super().__init__()
        self.avg_shortcut = AvgDown3D(cin, cout, 2 if t_down else 1, 2 if down else 1)
        layers = []
        for _ in range(mult):
            layers.append(ResidualBlock(cin, cout))
            cin = cout
        if down:
            layers.append(Resample(cout, 'downsample3d' if t_down else 'downsample2d'))
        self.downsamples = nn.Sequential(*layers)

    def forward(self, x):
        return self.downsamples(x) + self.avg_shortcut(x)


class Up_ResidualBlock(nn.Module):
    def __init__(self, cin, cout, mult, t_up, up):
        super().__init__()
        self.avg_shortcut = DupUp3D(cin, cout, 2 if t_up else 1, 2) if up else None
        layers = []
        for _ in range(mult):
            layers.append(ResidualBlock(cin, cout))
            cin = cout
        if up:
            layers.append(Resample(cout, 'upsample3d' if t_up else 'upsample2d'))
        self.upsamples = nn.Sequential(*layers)

    def forward(self, x):
        y = self.upsamples(x)
        return y if self.avg_shortcut is None else y + self.avg_shortcut(x)


class Encoder3d(nn.Module):
    def __init__(self, dim, z2, dim_mult, num_res_blocks, t_down):
        super().__init__()
        dims = [dim * u for u in [1] + dim_mult]
        self.conv1 = CausalConv3d(12, dims[0], 3, padding=1)
        self.downsamples = nn.Sequential(*[
            Down_ResidualBlock(a, b, num_res_blocks, t_down[i] if i < len(t_down) else False,
                               i != len(dim_mult) - 1)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))])
        c = dims[-1]
        self.middle = nn.Sequential(ResidualBlock(c, c), AttentionBlock(c), ResidualBlock(c, c))
        self.head = nn.Sequential(RMS_norm(c, images=False), nn.SiLU(),
                                  CausalConv3d(c, z2, 3, padding=1))

    def forward(self, x):
        return self.head(self.middle(self.downsamples(self.conv1(x))))


class Decoder3d(nn.Module):
    def __init__(self, dim, z, dim_mult, num_res_blocks, t_up):
        super().__init__()
        dims = [dim * u for u in [dim_mult[-1]] + dim_mult[::-1]]
        self.conv1 = CausalConv3d(z, dims[0], 3, padding=1)
        c = dims[0]
        self.middle = nn.Sequential(ResidualBlock(c, c), AttentionBlock(c), ResidualBlock(c, c))
        self.upsamples = nn.Sequential(*[
            Up_ResidualBlock(a, b, num_res_blocks + 1, t_up[i] if i < len(t_up) else False,
                             i != len(dim_mult) - 1)
            for i, (a, b) in enumerate(zip(dims[:-1], dims[1:]))])
        self.head = nn.Sequential(RMS_norm(dims[-1], images=False), nn.SiLU(),
                                  CausalConv3d(dims[-1], 12, 3, padding=1))

    def forward(self, x):
        return self.head(self.upsamples(self.middle(self.conv1(x))))


class WanVAE(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.cfg = dict(c)
        z = c['z_dim']
        self.z_dim = z
        self.encoder = Encoder3d(c['dim'], z * 2, c['dim_mult'], c['num_res_blocks'],
                                 c['temperal_downsample'])
        self.conv1 = CausalConv3d(z * 2, z * 2, 1)
        self.conv2 = CausalConv3d(z, z, 1)
        self.decoder = Decoder3d(c['dec_dim'], z, c['dim_mult'], c['num_res_blocks'],
                                 c['temperal_downsample'][::-1])
        self.register_buffer('latent_mean', torch.zeros(z))
        self.register_buffer('latent_std', torch.ones(z))

    def reset(self):
        for m in self.modules():
            if hasattr(m, '_state'):
                m._state = None

    def encode_raw(self, video, chunked=False):
        """video [B, 3, 1 + 4k, H, W] in [-1, 1] -> (mu, logvar) before normalization."""
        self.reset()
        x = patchify(video)
        if chunked:
            t = x.shape[2]
            chunks = [x[:, :, :1]] + [x[:, :, i:i + 4] for i in range(1, t, 4)]
            out = torch.cat([self.encoder(ch) for ch in chunks], 2)
        else:
            out = self.encoder(x)
        self.reset()
        return self.conv1(out).chunk(2, dim=1)

    def decode_raw(self, z, chunked=False):
        """Unnormalized latents [B, z, F, h, w] -> video [B, 3, 1 + 4 (F - 1), H, W], unclamped."""
        self.reset()
        x = self.conv2(z)
        if chunked:
            out = torch.cat([self.decoder(x[:, :, i:i + 1]) for i in range(x.shape[2])], 2)
        else:
            out = self.decoder(x)
        self.reset()
        return unpatchify(out)

    def _stats(self):
        return self.latent_mean.view(1, -1, 1, 1, 1), self.latent_std.view(1, -1, 1, 1, 1)

    def encode(self, video, chunked=False):
        """Normalized latent mean (Wan: (mu - mean) / std)."""
        mu, _ = self.encode_raw(video, chunked)
        m, s = self._stats()
        return (mu - m) / s

    def decode(self, z, chunked=True):
        m, s = self._stats()
        return self.decode_raw(z * s + m, chunked).clamp(-1.0, 1.0)
