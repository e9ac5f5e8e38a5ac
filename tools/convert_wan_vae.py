#!/usr/bin/env python3
"""Convert the Wan2.2 video VAE checkpoint (Wan2.2_VAE.pth, from the Wan2.2-TI2V-5B release and
used by Ovi: a PyTorch pickle of WanVAE_'s state dict, loaded by Wan with
model.load_state_dict(torch.load(path))) into the tensors duet's video VAE loads
(video/vae.h decoder, encoders/video_encoder.h encoder).

    python3 tools/convert_wan_vae.py Wan2.2_VAE.pth wan22-vae.safetensors

Names: Wan's own (encoder.*, conv1.*, conv2.*, decoder.*; Wan-Video/Wan2.2
wan/modules/vae2_2.py, restated by tools/duet_tiny/video_vae.py), under the prefix
"video_vae." by default, plus latent_mean and latent_std [z_dim]: Wan2.2 keeps its 48 latent
means and stds in Python (Wan2_2_VAE.__init__ in wan/modules/vae2_2.py, where decode computes
z / (1 / std) + mean); they are copied below and written as tensors, since duet reads them from
the weights. A VAE with another z_dim needs --latent-stats FILE.json ({"mean": [...],
"std": [...]}).

Strict: the sizes (dim, dec_dim, z_dim, dim_mult, num_res_blocks, temperal_downsample,
patch_size) are read off the shapes, the full map of names and shapes WanVAE_ builds for those
sizes is derived, and the file must match it exactly: an unknown name (a wrapper prefix, a
latent table already in the file), a missing one or a wrong shape is refused with the name.

Dtype: the checkpoint's own by default (Wan2.2_VAE.pth is f32; duet computes the VAE in f32
and keeps kernels as stored); --dtype f32|bf16|f16 converts kernels and biases alike; the
latent statistics are always f32. Memory: the checkpoint is memory-mapped and written one
tensor at a time; the output goes to OUT.tmp, renamed when complete.
"""
import json
import re
import sys

import torch

from convert_common import (DTYPE_CHOICES, ConvertError, Part, as_state_dict, check_shapes,
                            convert_part, load_pickle, out_dtype, part_parser, shape_of,
                            tensor_entry)

# Wan2.2's latent statistics: Wan-Video/Wan2.2 wan/modules/vae2_2.py, class Wan2_2_VAE,
# __init__ (`mean = torch.tensor([...])`, `std = torch.tensor([...])`; self.scale = [mean,
# 1.0 / std]), commit 42bf4cfa. Character-ai/Ovi's ovi/modules/vae2_2.py vendors the same file.
WAN22_LATENT_MEAN = [
    -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174, 0.1838, 0.1557, -0.1382, 0.0542,
    0.2813, 0.0891, 0.1570, -0.0098, 0.0375, -0.1825, -0.2246, -0.1207, -0.0698, 0.5109,
    0.2665, -0.2108, -0.2158, 0.2502, -0.2055, -0.0322, 0.1109, 0.1567, -0.0729, 0.0899,
    -0.2799, -0.1230, -0.0313, -0.1649, 0.0117, 0.0723, -0.2839, -0.2083, -0.0520, 0.3748,
    0.0152, 0.1957, 0.1433, -0.2944, 0.3573, -0.0548, -0.1681, -0.0667]
WAN22_LATENT_STD = [
    0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344,
    0.5894, 1.0901, 0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804,
    0.5833, 1.4146, 0.8986, 0.5659, 0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999,
    0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944, 0.5726, 1.2042, 0.5458, 1.6887,
    0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744]
# What the Wan2.2 release's shapes should show (Wan2_2_VAE defaults and _video_vae's cfg).
WAN22 = dict(dim=160, dec_dim=256, z_dim=48, dim_mult=[1, 2, 4, 4], num_res_blocks=2,
             temperal_downsample=[False, True, True], patch_size=2)


def _conv3d(shapes, name, cout, cin, kt, kh, kw):
    shapes[name + '.weight'] = (cout, cin, kt, kh, kw)
    shapes[name + '.bias'] = (cout,)


def _residual(shapes, base, cin, cout):
    """ResidualBlock: residual.{0 RMS_norm, 2 CausalConv3d, 3 RMS_norm, 6 CausalConv3d}."""
    shapes[base + '.residual.0.gamma'] = (cin, 1, 1, 1)
    _conv3d(shapes, base + '.residual.2', cout, cin, 3, 3, 3)
    shapes[base + '.residual.3.gamma'] = (cout, 1, 1, 1)
    _conv3d(shapes, base + '.residual.6', cout, cout, 3, 3, 3)
    if cin != cout:
        _conv3d(shapes, base + '.shortcut', cout, cin, 1, 1, 1)


def _middle(shapes, base, c):
    """middle = ResidualBlock, AttentionBlock (norm, to_qkv and proj 1x1 Conv2d), ResidualBlock."""
    _residual(shapes, base + '.0', c, c)
    shapes[base + '.1.norm.gamma'] = (c, 1, 1)
    shapes[base + '.1.to_qkv.weight'] = (3 * c, c, 1, 1)
    shapes[base + '.1.to_qkv.bias'] = (3 * c,)
    shapes[base + '.1.proj.weight'] = (c, c, 1, 1)
    shapes[base + '.1.proj.bias'] = (c,)
    _residual(shapes, base + '.2', c, c)


def _resample(shapes, base, c, time_conv_out):
    """Resample: resample.1 is the Conv2d 3x3; time_conv a CausalConv3d (3, 1, 1) or none."""
    shapes[base + '.resample.1.weight'] = (c, c, 3, 3)
    shapes[base + '.resample.1.bias'] = (c,)
    if time_conv_out:
        _conv3d(shapes, base + '.time_conv', time_conv_out, c, 3, 1, 1)


def expected_shapes(cfg):
    """Every tensor of WanVAE_ (Encoder3d, conv1, conv2, Decoder3d) for these sizes."""
    dim, dec, z, mult = cfg['dim'], cfg['dec_dim'], cfg['z_dim'], cfg['dim_mult']
    nres, tdown, p = cfg['num_res_blocks'], cfg['temperal_downsample'], cfg['patch_size']
    n = len(mult)
    s = {}
    dims = [dim * u for u in [1] + mult]
    _conv3d(s, 'encoder.conv1', dims[0], 3 * p * p, 3, 3, 3)
    for i in range(n):
        cin, cout = dims[i], dims[i + 1]
        for k in range(nres):
            _residual(s, f'encoder.downsamples.{i}.downsamples.{k}', cin if k == 0 else cout,
                      cout)
        if i != n - 1:
            t = tdown[i] if i < len(tdown) else False
            _resample(s, f'encoder.downsamples.{i}.downsamples.{nres}', cout, cout if t else 0)
    _middle(s, 'encoder.middle', dims[-1])
    s['encoder.head.0.gamma'] = (dims[-1], 1, 1, 1)
    _conv3d(s, 'encoder.head.2', 2 * z, dims[-1], 3, 3, 3)
    _conv3d(s, 'conv1', 2 * z, 2 * z, 1, 1, 1)
    _conv3d(s, 'conv2', z, z, 1, 1, 1)
    tup = tdown[::-1]
    dims = [dec * u for u in [mult[-1]] + mult[::-1]]
    _conv3d(s, 'decoder.conv1', dims[0], z, 3, 3, 3)
    _middle(s, 'decoder.middle', dims[0])
    for i in range(n):
        cin, cout = dims[i], dims[i + 1]
        for k in range(nres + 1):
            _residual(s, f'decoder.upsamples.{i}.upsamples.{k}', cin if k == 0 else cout, cout)
        if i != n - 1:
            t = tup[i] if i < len(tup) else False
            _resample(s, f'decoder.upsamples.{i}.upsamples.{nres + 1}', cout,
                      2 * cout if t else 0)
    s['decoder.head.0.gamma'] = (dims[-1], 1, 1, 1)
    _conv3d(s, 'decoder.head.2', 3 * p * p, dims[-1], 3, 3, 3)
    return s


def _shape(sd, path, name, rank=5):
    return shape_of({name: sd[name].shape} if name in sd else {}, path, name, rank,
                    'a Wan VAE state dict')


def infer_config(sd, path):
    """Sizes from the shapes (checked in full by expected_shapes afterwards)."""
    c1 = _shape(sd, path, 'encoder.conv1.weight')
    dim, cin = c1[0], c1[1]
    p = int(round((cin / 3) ** 0.5))
    if 3 * p * p != cin:
        raise ConvertError(f'{path}: encoder.conv1.weight takes {cin} channels, not 3 p^2')
    z = _shape(sd, path, 'conv2.weight')[0]
    n = 0
    while f'encoder.downsamples.{n}.downsamples.0.residual.0.gamma' in sd:
        n += 1
    if n == 0:
        raise ConvertError(f'{path}: missing tensor '
                           'encoder.downsamples.0.downsamples.0.residual.0.gamma')
    mult = []
    for i in range(n):
        w = _shape(sd, path, f'encoder.downsamples.{i}.downsamples.0.residual.2.weight')[0]
        if w % dim:
            raise ConvertError(f'{path}: encoder.downsamples.{i}: width {w} is not a multiple '
                               f'of dim {dim}')
        mult.append(w // dim)
    nres = 0
    while f'encoder.downsamples.0.downsamples.{nres}.residual.0.gamma' in sd:
        nres += 1
    tdown = [f'encoder.downsamples.{i}.downsamples.{nres}.time_conv.weight' in sd
             for i in range(n - 1)]
    head = _shape(sd, path, 'decoder.head.0.gamma', 4)[0]
    if head % mult[0]:
        raise ConvertError(f'{path}: decoder.head.0.gamma: width {head} is not a multiple of '
                           f'dim_mult[0] = {mult[0]}')
    return dict(dim=dim, dec_dim=head // mult[0], z_dim=z, dim_mult=mult, num_res_blocks=nres,
                temperal_downsample=tdown, patch_size=p)


def latent_stats(z, path):
    """(mean, std) lists: Wan2.2's for z = 48, else from a JSON file."""
    if path is None:
        if z != len(WAN22_LATENT_MEAN):
            raise ConvertError(f'z_dim is {z}: Wan2.2 hard-codes statistics for 48 channels '
                               'only; pass --latent-stats FILE.json ({"mean": [...], '
                               '"std": [...]})')
        return WAN22_LATENT_MEAN, WAN22_LATENT_STD
    with open(path) as f:
        d = json.load(f)
    mean, std = d.get('mean'), d.get('std')
    if not isinstance(mean, list) or not isinstance(std, list) or len(mean) != z or \
            len(std) != z:
        raise ConvertError(f'{path}: needs "mean" and "std", {z} numbers each')
    if not all(isinstance(s, (int, float)) and s > 0 for s in std):
        raise ConvertError(f'{path}: "std" entries must be > 0')
    return mean, std


def plan(src, dtype='keep', stats=None):
    """The video_vae part: every tensor of the file (converted lazily) + latent_mean/std."""
    sd = as_state_dict(load_pickle(src), src, "WanVAE_'s state dict")
    cfg = infer_config(sd, src)
    check_shapes(src, {k: tuple(v.shape) for k, v in sd.items()}, expected_shapes(cfg),
                 hint=f' (a Wan2.2 VAE with {json.dumps(cfg, sort_keys=True)})')
    mean, std = latent_stats(cfg['z_dim'], stats)
    entries = [tensor_entry(k, sd[k], out_dtype(dtype, sd[k].dtype)) for k in order(sd)]
    entries.append(tensor_entry('latent_mean', torch.tensor(mean, dtype=torch.float32), 'F32'))
    entries.append(tensor_entry('latent_std', torch.tensor(std, dtype=torch.float32), 'F32'))
    notes = []
    if cfg != WAN22:
        notes.append(f'sizes differ from the Wan2.2 release ({json.dumps(WAN22)})')
    if stats is None:
        notes.append('latent_mean / latent_std: the 48 values of Wan2.2 wan/modules/vae2_2.py')
    return Part(entries, cfg, notes)


def order(names):
    """The file's names with block indices compared as numbers (a stable, readable order)."""
    return sorted(names, key=lambda n: [(0, int(t), '') if t.isdigit() else (1, 0, t)
                                        for t in re.split(r'\.', n)])


def main(argv=None):
    ap = part_parser(__doc__, 'video_vae', "Wan2.2's Wan2.2_VAE.pth")
    ap.add_argument('--dtype', choices=DTYPE_CHOICES, default='keep')
    ap.add_argument('--latent-stats', help='JSON {"mean": [...], "std": [...]} for a VAE whose '
                    'z_dim is not 48')
    args = ap.parse_args(argv)
    return convert_part('convert_wan_vae', 'video_vae', args,
                        lambda: plan(args.src, args.dtype, args.latent_stats))


if __name__ == '__main__':
    sys.exit(main())
