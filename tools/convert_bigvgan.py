#!/usr/bin/env python3
"""Convert MMAudio's 16 kHz BigVGAN vocoder checkpoint (best_netG.pt, used by Ovi) into the
tensors duet's vocoder loads (audio/vocoder.h).

    python3 tools/convert_bigvgan.py best_netG.pt bigvgan16.safetensors

The file: a PyTorch pickle of a dict whose 'generator' entry is BigVGANVocoder's state dict
(hkchengrex/MMAudio mmaudio/ext/bigvgan/bigvgan.py: `torch.load(ckpt_path, weights_only=True)
['generator']`, loaded strictly; other top-level entries are ignored, as there). Every Conv1d /
ConvTranspose1d is weight-normalized (mmaudio/ext/bigvgan/models.py), stored either the old
way (NAME.weight_g [C0, 1, 1], NAME.weight_v) or as a parametrization
(NAME.parametrizations.weight.original0 / original1; torch loads either into the other). This
converter folds each pair as MMAudio does before inference (remove_parametrizations, like
torch.nn.utils.remove_weight_norm): weight = g * v / ||v||, the norm over every dim but dim 0
(dim 0 is the output channels of a Conv1d and the input channels of a ConvTranspose1d), in
f32. Every other tensor keeps BigVGAN's name: biases, the SnakeBeta parameters
(...activations.K.act.alpha / beta, log scale) and the anti-aliasing filters of Activation1d
(...upsample.filter and ...downsample.lowpass.filter, [1, 1, 12] kaiser-sinc kernels) that
duet's vocoder reads when its config says "antialias": true. --no-antialias drops the filters
and writes "antialias": false (BigVGAN without its x2 up/down filtering around each
activation: what duet-tiny's vocoder is, and not what MMAudio's weights were trained with).

Config: num_mels, upsample_initial_channel, the upsampler kernels, the resblock kernels and
the number of dilations are read off the shapes; the upsample rates and dilations are not in
the weights and come from MMAudio's mmaudio/ext/bigvgan/bigvgan_vocoder.yml (rates
[4, 4, 2, 2, 2, 2], dilations [1, 3, 5] for each kernel; --upsample-rates / --dilations for
another vocoder); resblock "1" (AMPBlock1: convs1 and convs2), activation "snakebeta"
(alpha and beta present) and snake_logscale true (the yml's; not visible in the weights).
Strict: the full map of names and shapes BigVGANVocoder builds for those sizes is derived and
the file must match it exactly (either weight-norm form per conv, not both, nor a plain weight).
Output f32 by default (--dtype bf16|f16 rounds the folded kernels).
"""
import json
import sys

import torch

from convert_common import (ConvertError, Part, as_state_dict, check_shapes, checkpoint_order,
                            convert_part, load_pickle, parse_ints, part_parser, shape_of,
                            tensor_entry)

# mmaudio/ext/bigvgan/bigvgan_vocoder.yml (commit 974010a0).
MMAUDIO_YML = dict(num_mels=80, upsample_rates=[4, 4, 2, 2, 2, 2],
                   upsample_kernel_sizes=[8, 8, 4, 4, 4, 4], upsample_initial_channel=1536,
                   resblock='1', resblock_kernel_sizes=[3, 7, 11],
                   resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
                   activation='snakebeta', snake_logscale=True)
FILTER_TAPS = 12  # Activation1d's up_kernel_size / down_kernel_size defaults
WN_FORMS = (('.weight_g', '.weight_v'),
            ('.parametrizations.weight.original0', '.parametrizations.weight.original1'))


def fold_weight_norm(g, v):
    """g * v / ||v||, norm over every dim but 0 (torch's weight_norm with dim=0), in f32."""
    g, v = g.to(torch.float32), v.to(torch.float32)
    norm = torch.linalg.vector_norm(v, dim=list(range(1, v.ndim)), keepdim=True)
    return v * (g / norm)


def split_weight_norm(sd, path):
    """{conv base name: (g tensor, v tensor)} and the remaining (plain) tensors."""
    convs, plain = {}, {}
    for name, t in sd.items():
        for form, (gs, vs) in enumerate(WN_FORMS):
            if name.endswith(gs) or name.endswith(vs):
                base = name[:-len(gs)] if name.endswith(gs) else name[:-len(vs)]
                slot = convs.setdefault(base, {})
                if 'form' in slot and slot['form'] != form:
                    raise ConvertError(f'{path}: {base}: both weight_g/weight_v and '
                                       'parametrizations.weight.* present')
                slot['form'] = form
                slot['g' if name.endswith(gs) else 'v'] = t
                break
        else:
            plain[name] = t
    for base, slot in convs.items():
        if 'g' not in slot or 'v' not in slot:
            g, v = WN_FORMS[slot['form']]
            raise ConvertError(f'{path}: missing tensor {base}{g if "g" not in slot else v} '
                               '(weight norm needs both halves)')
    return convs, plain


def _conv(s, base, cout, cin, k):
    """A weight-normed Conv1d (weight [cout, cin, k], g [cout, 1, 1]) and its bias."""
    s['convs'][base] = ((cout, cin, k), (cout, 1, 1))
    s['plain'][base + '.bias'] = (cout,)


def _act(s, base, ch, antialias):
    s['plain'][base + '.act.alpha'] = (ch,)
    s['plain'][base + '.act.beta'] = (ch,)
    if antialias:
        s['plain'][base + '.upsample.filter'] = (1, 1, FILTER_TAPS)
        s['plain'][base + '.downsample.lowpass.filter'] = (1, 1, FILTER_TAPS)


def expected(c, antialias):
    """{'convs': {base: (weight shape, g shape)}, 'plain': {name: shape}} of BigVGANVocoder."""
    s = {'convs': {}, 'plain': {}}
    ch = c['upsample_initial_channel']
    _conv(s, 'conv_pre', ch, c['num_mels'], 7)
    nd = len(c['resblock_dilation_sizes'][0])
    for i, k in enumerate(c['upsample_kernel_sizes']):
        # ConvTranspose1d(ch, ch // 2): weight [in, out, k]; weight_norm dim 0 = in channels
        s['convs'][f'ups.{i}.0'] = ((ch, ch // 2, k), (ch, 1, 1))
        s['plain'][f'ups.{i}.0.bias'] = (ch // 2,)
        ch //= 2
        for j, kr in enumerate(c['resblock_kernel_sizes']):
            r = i * len(c['resblock_kernel_sizes']) + j
            for d in range(nd):
                _conv(s, f'resblocks.{r}.convs1.{d}', ch, ch, kr)
                _conv(s, f'resblocks.{r}.convs2.{d}', ch, ch, kr)
            for a in range(2 * nd):
                _act(s, f'resblocks.{r}.activations.{a}', ch, antialias)
    _act(s, 'activation_post', ch, antialias)
    _conv(s, 'conv_post', 1, ch, 7)
    return s


def _v_shape(convs, path, base):
    if base not in convs:
        raise ConvertError(f'{path}: missing tensor {base}.weight_g / weight_v: not a '
                           'weight-normed BigVGAN generator')
    return shape_of({base + ' (weight_v)': convs[base]['v'].shape}, path,
                    base + ' (weight_v)', 3, 'a BigVGAN generator')


def infer_config(convs, plain, path, rates, dilations):
    ch0, mels, _ = _v_shape(convs, path, 'conv_pre')
    n_ups = 0
    while f'ups.{n_ups}.0' in convs:
        n_ups += 1
    kernels = [_v_shape(convs, path, f'ups.{i}.0')[2] for i in range(n_ups)]
    if 'resblocks.0.convs.0' in convs:
        raise ConvertError(f'{path}: resblocks.0.convs.0: an AMPBlock2 vocoder (resblock "2") '
                           'is not supported')
    n_res = 0
    while f'resblocks.{n_res}.convs1.0' in convs:
        n_res += 1
    if n_ups == 0 or n_res == 0 or n_res % n_ups:
        raise ConvertError(f'{path}: {n_ups} upsamplers and {n_res} resblocks: not a BigVGAN '
                           'generator')
    nk = n_res // n_ups
    rk = [_v_shape(convs, path, f'resblocks.{j}.convs1.0')[2] for j in range(nk)]
    nd = 0
    while f'resblocks.0.convs1.{nd}' in convs:
        nd += 1
    if 'resblocks.0.activations.0.act.alpha' in plain and \
            'resblocks.0.activations.0.act.beta' not in plain:
        raise ConvertError(f'{path}: missing tensor resblocks.0.activations.0.act.beta: a '
                           'Snake (not SnakeBeta) vocoder is not supported')
    if len(rates) != n_ups:
        raise ConvertError(f'{path}: {n_ups} upsamplers in the weights but upsample rates '
                           f'{rates}; pass --upsample-rates')
    for u, k in zip(rates, kernels):
        if k < u or (k - u) % 2:
            raise ConvertError(f'{path}: upsampler kernel {k} with rate {u}: BigVGAN pads '
                               '(k - u) / 2, which needs k >= u and k - u even')
    if len(dilations) != nd:
        raise ConvertError(f'{path}: {nd} dilated convs per resblock in the weights but '
                           f'dilations {dilations}; pass --dilations')
    return dict(num_mels=mels, upsample_rates=list(rates), upsample_kernel_sizes=kernels,
                upsample_initial_channel=ch0, resblock='1', resblock_kernel_sizes=rk,
                resblock_dilation_sizes=[list(dilations) for _ in rk], activation='snakebeta',
                snake_logscale=True)


def generator_state_dict(obj, path):
    if not isinstance(obj, dict) or 'generator' not in obj:
        keys = ', '.join(sorted(map(str, obj))[:6]) if isinstance(obj, dict) else \
            type(obj).__name__
        raise ConvertError(f"{path}: no 'generator' entry (found {keys}): not a BigVGAN "
                           'training checkpoint such as best_netG.pt')
    return as_state_dict(obj['generator'], path, "BigVGAN's generator state dict")


def plan(src, dtype='f32', antialias=True, rates=None, dilations=None):
    sd = generator_state_dict(load_pickle(src), src)
    convs, plain = split_weight_norm(sd, src)
    for name in plain:
        if name.endswith('.weight'):
            raise ConvertError(f'{src}: tensor {name}: a plain conv weight; best_netG.pt '
                               'stores weight-normed convs (weight_g / weight_v)')
    cfg = infer_config(convs, plain, src, rates or MMAUDIO_YML['upsample_rates'],
                       dilations or MMAUDIO_YML['resblock_dilation_sizes'][0])
    want = expected(cfg, True)
    hint = f' (a BigVGAN with {json.dumps(cfg, sort_keys=True)})'
    got_convs = {b: (tuple(s['v'].shape), tuple(s['g'].shape)) for b, s in convs.items()}
    got_plain = {n: tuple(t.shape) for n, t in plain.items()}
    check_shapes(src, {b + '.weight_v': s[0] for b, s in got_convs.items()} |
                 {b + '.weight_g': s[1] for b, s in got_convs.items()} | got_plain,
                 {b + '.weight_v': s[0] for b, s in want['convs'].items()} |
                 {b + '.weight_g': s[1] for b, s in want['convs'].items()} | want['plain'],
                 hint)
    st = {'f32': 'F32', 'bf16': 'BF16', 'f16': 'F16'}[dtype]
    names = sorted(list(want['convs']) + [n for n in want['plain']
                                          if antialias or not n.endswith('filter')],
                   key=checkpoint_order)
    entries = []
    for n in names:
        if n in convs:
            g, v = convs[n]['g'], convs[n]['v']
            entries.append(tensor_entry(n + '.weight', v, st,
                                        lambda v, g=g: fold_weight_norm(g, v)))
        else:
            entries.append(tensor_entry(n, plain[n], 'F32'))
    notes = ['upsample_rates, resblock_dilation_sizes and snake_logscale are not in the weights: '
             'taken from ' + ('MMAudio bigvgan_vocoder.yml' if not (rates or dilations)
                              else 'the command line')]
    if not antialias:
        notes.append('--no-antialias: the anti-aliasing filters are dropped; the vocoder runs '
                     'without the x2 up/down filtering MMAudio\'s weights were trained with')
    cfg['antialias'] = antialias
    yml = dict(MMAUDIO_YML)
    if {k: v for k, v in cfg.items() if k != 'antialias'} != yml:
        notes.append(f'sizes differ from MMAudio bigvgan_vocoder.yml ({json.dumps(yml)})')
    return Part(entries, cfg, notes)



def main(argv=None):
    ap = part_parser(__doc__, 'vocoder', "MMAudio's ext_weights/best_netG.pt")
    ap.add_argument('--dtype', choices=('f32', 'bf16', 'f16'), default='f32')
    ap.add_argument('--no-antialias', action='store_true',
                    help='drop the anti-aliasing filters; config "antialias": false')
    ap.add_argument('--upsample-rates', help='comma-separated (default 4,4,2,2,2,2)')
    ap.add_argument('--dilations', help='per resblock kernel, comma-separated (default 1,3,5)')
    args = ap.parse_args(argv)

    def make_part():
        rates = parse_ints(args.upsample_rates, '--upsample-rates') if args.upsample_rates \
            else None
        dil = parse_ints(args.dilations, '--dilations') if args.dilations else None
        return plan(args.src, args.dtype, not args.no_antialias, rates, dil)
    return convert_part('convert_bigvgan', 'vocoder', args, make_part)


if __name__ == '__main__':
    sys.exit(main())
