#!/usr/bin/env python3
"""Convert MMAudio's 16 kHz mel VAE checkpoint (v1-16.pth, used by Ovi) into the tensors duet's
audio VAE loads (audio/audio_vae.h decoder, encoders/audio_encoder.h encoder).

    python3 tools/convert_mmaudio_vae.py v1-16.pth mmaudio-vae16.safetensors

The file: a PyTorch pickle of the VAE module's state dict alone (hkchengrex/MMAudio
mmaudio/ext/autoencoder/autoencoder.py, AutoEncoderModule: `self.vae.load_state_dict(
torch.load(vae_ckpt_path, weights_only=True))`, strict; the BigVGAN vocoder comes from its
own file, best_netG.pt: tools/convert_bigvgan.py). Names (mmaudio/ext/autoencoder/vae.py, VAE
with Encoder1D / Decoder1D): data_mean, data_std [1, 80, 1] (buffers), encoder.* and
decoder.*: conv_in, down.I.block.J.{conv1,conv2,nin_shortcut}, down.I.attn.J.{qkv,proj_out},
down.I.downsample.{conv1,conv2}, mid.{block_1,attn_1,block_2}, up.I.block.J.*, up.I.upsample.
conv, conv_out (each .weight, no bias) and learnable_gain (a scalar).

Magnitude-preserving weights: MMAudio trains every MPConv1D with forced weight normalization
and, before inference, replaces each weight once (edm2_utils.py, MPConv1D.remove_weight_norm,
called by AutoEncoderModule through VAE.remove_weight_norm):
    w = w.float(); n = eps + ||w[o]|| * sqrt(C_out / w.numel()); w = (w / n) / sqrt(w[0].numel())
with the norm over all dims but the first and eps = 1e-4 (edm2_utils.normalize). This
converter bakes exactly that, so the file holds the weights MMAudio infers with (the
"mp_baked" form duet's loader and tools/duet_tiny/audio.py take). learnable_gain is not
folded: MMAudio multiplies conv_out's weight by (1 + learnable_gain) at call time and so does
duet (it reads the scalar). The data_mean / data_std buffers are copied from the file (what
load_state_dict gives MMAudio); a file without them gets the DATA_MEAN_80D / DATA_STD_80D
tables of vae.py (noted on the output).

Strict: sizes (data_dim, embed_dim, hidden_dim, ch_mult, num_res_blocks, attn_layers,
down_layers, kernel_size) are read off the shapes, the full map of names and shapes MMAudio's
Encoder1D / Decoder1D build for them is derived, and the file must match it exactly.
clip_act (256) is a constructor default, not visible in the weights. Output dtype: f32 (the
baked values are computed in f32, as MMAudio does); --dtype bf16|f16 rounds them.
"""
import json
import math
import sys

import torch

from convert_common import (ConvertError, Part, as_state_dict, check_shapes, checkpoint_order,
                            convert_part, load_pickle, part_parser, shape_of, tensor_entry)

MP_EPS = 1e-4  # edm2_utils.normalize's default eps
# hkchengrex/MMAudio mmaudio/ext/autoencoder/vae.py, DATA_MEAN_80D and DATA_STD_80D (commit
# 974010a0; vendored unchanged by character-ai/Ovi in ovi/modules/mmaudio/ext/autoencoder).
DATA_MEAN_80D = [
    -1.6058, -1.3676, -1.2520, -1.2453, -1.2078, -1.2224, -1.2419, -1.2439, -1.2922, -1.2927,
    -1.3170, -1.3543, -1.3401, -1.3836, -1.3907, -1.3912, -1.4313, -1.4152, -1.4527, -1.4728,
    -1.4568, -1.5101, -1.5051, -1.5172, -1.5623, -1.5373, -1.5746, -1.5687, -1.6032, -1.6131,
    -1.6081, -1.6331, -1.6489, -1.6489, -1.6700, -1.6738, -1.6953, -1.6969, -1.7048, -1.7280,
    -1.7361, -1.7495, -1.7658, -1.7814, -1.7889, -1.8064, -1.8221, -1.8377, -1.8417, -1.8643,
    -1.8857, -1.8929, -1.9173, -1.9379, -1.9531, -1.9673, -1.9824, -2.0042, -2.0215, -2.0436,
    -2.0766, -2.1064, -2.1418, -2.1855, -2.2319, -2.2767, -2.3161, -2.3572, -2.3954, -2.4282,
    -2.4659, -2.5072, -2.5552, -2.6074, -2.6584, -2.7107, -2.7634, -2.8266, -2.8981, -2.9673]
DATA_STD_80D = [
    1.0291, 1.0411, 1.0043, 0.9820, 0.9677, 0.9543, 0.9450, 0.9392, 0.9343, 0.9297, 0.9276,
    0.9263, 0.9242, 0.9254, 0.9232, 0.9281, 0.9263, 0.9315, 0.9274, 0.9247, 0.9277, 0.9199,
    0.9188, 0.9194, 0.9160, 0.9161, 0.9146, 0.9161, 0.9100, 0.9095, 0.9145, 0.9076, 0.9066,
    0.9095, 0.9032, 0.9043, 0.9038, 0.9011, 0.9019, 0.9010, 0.8984, 0.8983, 0.8986, 0.8961,
    0.8962, 0.8978, 0.8962, 0.8973, 0.8993, 0.8976, 0.8995, 0.9016, 0.8982, 0.8972, 0.8974,
    0.8949, 0.8940, 0.8947, 0.8936, 0.8939, 0.8951, 0.8956, 0.9017, 0.9167, 0.9436, 0.9690,
    1.0003, 1.0225, 1.0381, 1.0491, 1.0545, 1.0604, 1.0761, 1.0929, 1.1089, 1.1196, 1.1176,
    1.1156, 1.1117, 1.1070]
CLIP_ACT = 256.0  # Encoder1D / Decoder1D default
# VAE_16k: data_dim 80, embed_dim 20, hidden_dim 384, ch_mult (1, 2, 4), num_res_blocks 2,
# attn_layers [3] (no such level: no attention blocks), down_layers [0], kernel 3.
MMAUDIO_16K = dict(data_dim=80, embed_dim=20, hidden_dim=384, ch_mult=[1, 2, 4],
                   num_res_blocks=2, attn_layers=[], down_layers=[0], kernel_size=3,
                   clip_act=CLIP_ACT)


def mp_bake(w, out_dtype=torch.float32):
    """MPConv1D.remove_weight_norm: normalize each output row to unit RMS magnitude (eps 1e-4,
    the norm taken in f32), then divide by sqrt(fan_in)."""
    w = w.to(torch.float32)
    norm = torch.linalg.vector_norm(w, dim=list(range(1, w.ndim)), keepdim=True,
                                    dtype=torch.float32)
    norm = torch.add(MP_EPS, norm, alpha=math.sqrt(norm.numel() / w.numel()))
    w = w / norm
    return (w / math.sqrt(w[0].numel())).to(out_dtype)


def _resnet(s, base, cin, cout, k):
    s[base + '.conv1.weight'] = (cout, cin, k)
    s[base + '.conv2.weight'] = (cout, cout, k)
    if cin != cout:
        s[base + '.nin_shortcut.weight'] = (cout, cin, 1)


def _attn(s, base, c):
    s[base + '.qkv.weight'] = (3 * c, c, 1)
    s[base + '.proj_out.weight'] = (c, c, 1)


def _mid(s, base, c, k):
    _resnet(s, base + '.block_1', c, c, k)
    _attn(s, base + '.attn_1', c)
    _resnet(s, base + '.block_2', c, c, k)


def expected_shapes(c):
    """Every tensor of MMAudio's VAE (vae.py Encoder1D / Decoder1D) for these sizes. As there,
    the decoder's resnet blocks use kernel 3 whatever kernel_size is (Decoder1D does not pass
    it on) and the upsampler's conv is kernel 3."""
    h, mult, nres, k = c['hidden_dim'], c['ch_mult'], c['num_res_blocks'], c['kernel_size']
    s = {'data_mean': (1, c['data_dim'], 1), 'data_std': (1, c['data_dim'], 1)}
    s['encoder.conv_in.weight'] = (h, c['data_dim'], k)
    in_mult = [1] + list(mult)
    for i, m in enumerate(mult):
        cin, cout = h * in_mult[i], h * m
        for j in range(nres):
            _resnet(s, f'encoder.down.{i}.block.{j}', cin, cout, k)
            cin = cout
            if i in c['attn_layers']:
                _attn(s, f'encoder.down.{i}.attn.{j}', cin)
        if i in c['down_layers']:
            s[f'encoder.down.{i}.downsample.conv1.weight'] = (cin, cin, 1)
            s[f'encoder.down.{i}.downsample.conv2.weight'] = (cin, cin, 1)
    _mid(s, 'encoder.mid', cin, k)
    s['encoder.conv_out.weight'] = (2 * c['embed_dim'], cin, k)
    s['encoder.learnable_gain'] = ()
    cin = h * mult[-1]
    s['decoder.conv_in.weight'] = (cin, c['embed_dim'], k)
    _mid(s, 'decoder.mid', cin, 3)
    up_layers = [i + 1 for i in c['down_layers']]
    for i in reversed(range(len(mult))):
        cout = h * mult[i]
        for j in range(nres + 1):
            _resnet(s, f'decoder.up.{i}.block.{j}', cin, cout, 3)
            cin = cout
            if i in c['attn_layers']:
                _attn(s, f'decoder.up.{i}.attn.{j}', cin)
        if i in up_layers:
            s[f'decoder.up.{i}.upsample.conv.weight'] = (cin, cin, 3)
    s['decoder.conv_out.weight'] = (c['data_dim'], cin, k)
    s['decoder.learnable_gain'] = ()
    return s


def _shape(sd, path, name):
    return shape_of({name: sd[name].shape} if name in sd else {}, path, name, 3,
                    'an MMAudio VAE state dict')


def infer_config(sd, path):
    hidden, data_dim, k = _shape(sd, path, 'encoder.conv_in.weight')
    embed = _shape(sd, path, 'decoder.conv_in.weight')[1]
    n = 0
    while f'encoder.down.{n}.block.0.conv1.weight' in sd:
        n += 1
    mult = []
    for i in range(n):
        w = _shape(sd, path, f'encoder.down.{i}.block.0.conv1.weight')[0]
        if w % hidden:
            raise ConvertError(f'{path}: encoder.down.{i}: width {w} is not a multiple of '
                               f'hidden_dim {hidden}')
        mult.append(w // hidden)
    nres = 0
    while f'encoder.down.0.block.{nres}.conv1.weight' in sd:
        nres += 1
    attn = [i for i in range(n) if f'encoder.down.{i}.attn.0.qkv.weight' in sd]
    down = [i for i in range(n) if f'encoder.down.{i}.downsample.conv1.weight' in sd]
    if n == 0 or nres == 0:
        raise ConvertError(f'{path}: missing tensor encoder.down.0.block.0.conv1.weight')
    return dict(data_dim=data_dim, embed_dim=embed, hidden_dim=hidden, ch_mult=mult,
                num_res_blocks=nres, attn_layers=attn, down_layers=down, kernel_size=k,
                clip_act=CLIP_ACT)


def plan(src, dtype='f32'):
    sd = dict(as_state_dict(load_pickle(src), src, "MMAudio VAE's state dict"))
    cfg = infer_config(sd, src)
    notes = []
    if 'data_mean' not in sd and 'data_std' not in sd:
        if cfg['data_dim'] != len(DATA_MEAN_80D):
            raise ConvertError(f'{src}: no data_mean / data_std, and vae.py has tables for 80 '
                               f'bins only (data_dim {cfg["data_dim"]})')
        sd['data_mean'] = torch.tensor(DATA_MEAN_80D).view(1, -1, 1)
        sd['data_std'] = torch.tensor(DATA_STD_80D).view(1, -1, 1)
        notes.append('data_mean / data_std not in the file: DATA_MEAN_80D / DATA_STD_80D of '
                     'mmaudio/ext/autoencoder/vae.py written')
    check_shapes(src, {k: tuple(v.shape) for k, v in sd.items()}, expected_shapes(cfg),
                 hint=f' (an MMAudio VAE with {json.dumps(cfg, sort_keys=True)})')
    if not bool((sd['data_std'].float() > 0).all()):
        raise ConvertError(f'{src}: data_std has entries <= 0')
    if cfg['data_dim'] == len(DATA_MEAN_80D) and not notes:
        dm = (sd['data_mean'].float().flatten() - torch.tensor(DATA_MEAN_80D)).abs().max()
        ds = (sd['data_std'].float().flatten() - torch.tensor(DATA_STD_80D)).abs().max()
        if max(dm, ds) > 1e-3:
            notes.append(f"the file's data_mean / data_std differ from vae.py's tables (by up "
                         f'to {float(max(dm, ds)):.3g}); the file\'s are written, as MMAudio '
                         'uses them')
    st = {'f32': 'F32', 'bf16': 'BF16', 'f16': 'F16'}[dtype]
    entries = []
    for name in sorted(expected_shapes(cfg), key=checkpoint_order):
        t = sd[name]
        if name.endswith('.weight'):
            entries.append(tensor_entry(name, t, st, mp_bake))
        else:  # statistics and gains stay f32 whatever --dtype says
            entries.append(tensor_entry(name, t, 'F32'))
    if {k: v for k, v in cfg.items()} != MMAUDIO_16K:
        notes.append(f'sizes differ from MMAudio VAE_16k ({json.dumps(MMAUDIO_16K)})')
    return Part(entries, dict(cfg, weights='mp_baked'), notes)



def main(argv=None):
    ap = part_parser(__doc__, 'audio_vae', "MMAudio's ext_weights/v1-16.pth")
    ap.add_argument('--dtype', choices=('f32', 'bf16', 'f16'), default='f32',
                    help='dtype of the baked conv weights (default f32)')
    args = ap.parse_args(argv)
    return convert_part('convert_mmaudio_vae', 'audio_vae', args,
                        lambda: plan(args.src, args.dtype))


if __name__ == '__main__':
    sys.exit(main())
