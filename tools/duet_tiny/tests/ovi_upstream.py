"""Tiny random checkpoints in the formats of Ovi's released files, for the converter tests
(test_convert_parts.py, test_convert_ovi.py). Built from duet-tiny's PyTorch modules, whose
names and shapes are upstream's, then put in each release's own form:
  Wan2.2_VAE.pth       WanVAE_ state dict (no latent statistics: Wan keeps them in Python), f32
  v1-16.pth            MMAudio VAE state dict with RAW magnitude-preserving weights (MMAudio
                       normalizes them at load time) and data_mean / data_std [1, 80, 1]
  best_netG.pt         {'generator': BigVGAN state dict}, every conv weight-normed (weight_g /
                       weight_v, or torch's parametrization names), anti-aliasing filters
  models_t5_...pth     Wan T5 encoder state dict, bf16
  model.safetensors    Ovi FusionModel state dict (video_model. / audio_model.), bf16
The sizes are tiny but keep every structural feature of the real models (levels, temporal
down/upsampling, a DupUp3D channel ratio of 2, SwiGLU audio patch embedding, AMP blocks)."""
import json
import os
import sys

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.join(ROOT, 'tools'))  # the converters import each other by name
sys.path.insert(0, ROOT)
from tools.duet_tiny.audio import AudioVAE, Vocoder  # noqa: E402
from tools.duet_tiny.dit import FusionModel  # noqa: E402
from tools.duet_tiny.text import T5Encoder  # noqa: E402
from tools.duet_tiny.video_vae import WanVAE  # noqa: E402

TOKENIZER = os.path.join(ROOT, 'tests', 'golden', 'tokenizer', 'tokenizer.model')  # 300 pieces
VAE = dict(dim=8, dec_dim=8, z_dim=8, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
           temperal_downsample=[False, True, True], patch_size=2)
AVAE = dict(data_dim=80, embed_dim=6, hidden_dim=8, ch_mult=[1, 2, 4], num_res_blocks=1,
            attn_layers=[], down_layers=[0], kernel_size=3, clip_act=256.0)
VOC = dict(num_mels=80, upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
           upsample_initial_channel=16, resblock='1', resblock_kernel_sizes=[3, 7, 11],
           resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]], activation='snakebeta',
           snake_logscale=True)
T5 = dict(vocab_size=300, dim=32, dim_attn=32, dim_ffn=48, num_heads=2, num_layers=2,
          num_buckets=32, max_dist=128, text_len=512, eps=1e-6)
TOWER = dict(dim=32, ffn_dim=64, freq_dim=256, num_heads=2, num_layers=2, text_len=512,
             text_dim=32, eps=1e-6, qk_norm=True, cross_attn_norm=True, window_size=[-1, -1])
VIDEO = dict(TOWER, model_type='ti2v', patch_size=[1, 2, 2], in_dim=8, out_dim=8)
AUDIO = dict(TOWER, model_type='t2a', patch_size=[1], in_dim=6, out_dim=6,
             temporal_rope_scaling_factor=0.19676)
FILTER = torch.hann_window(12, periodic=False) / torch.hann_window(12, periodic=False).sum()
LAYOUT = dict(dit='Ovi/model.safetensors', t5='Wan2.2-TI2V-5B/models_t5_umt5-xxl-enc-bf16.pth',
              tokenizer='Wan2.2-TI2V-5B/google/umt5-xxl/spiece.model',
              video_vae='Wan2.2-TI2V-5B/Wan2.2_VAE.pth',
              audio_vae='MMAudio/ext_weights/v1-16.pth',
              vocoder='MMAudio/ext_weights/best_netG.pt')
# MMAudio's DATA_MEAN_80D / DATA_STD_80D are in tools/convert_mmaudio_vae.py; tests use other
# values so that "copied from the file" is distinguishable from "taken from the table".


def wan_vae_state(cfg=VAE, seed=0):
    torch.manual_seed(seed)
    sd = WanVAE(cfg).state_dict()
    return {k: v.clone() for k, v in sd.items() if not k.startswith('latent_')}


def mmaudio_state(cfg=AVAE, seed=0):
    """Raw MP weights (randn, as MMAudio's MPConv1D initializes them, times a per-tensor scale
    so normalization has something to undo), non-zero gains, random statistics."""
    torch.manual_seed(seed)
    sd = AudioVAE(cfg).state_dict()
    out = {}
    for k, v in sd.items():
        if k.endswith('learnable_gain'):
            out[k] = torch.tensor(0.25 if k.startswith('decoder') else -0.1)
        elif k == 'data_mean':
            out[k] = torch.randn(v.shape) * 0.5 - 1.8
        elif k == 'data_std':
            out[k] = torch.rand(v.shape) * 0.4 + 0.8
        else:
            out[k] = torch.randn(v.shape) * float(torch.rand(()) * 3 + 0.1)
    return out


def weight_normed_vocoder(cfg=VOC, seed=0):
    """duet-tiny's Vocoder with torch's weight_norm parametrization on every conv (dim 0, as
    BigVGAN's weight_norm(Conv1d(...)) / weight_norm(ConvTranspose1d(...))), random g and v."""
    torch.manual_seed(seed)
    voc = Vocoder(cfg)
    for m in list(voc.modules()):
        if isinstance(m, (nn.Conv1d, nn.ConvTranspose1d)):
            nn.utils.parametrizations.weight_norm(m, dim=0)
    with torch.no_grad():
        for name, p in voc.named_parameters():
            if name.endswith('original0'):
                p.copy_(torch.rand(p.shape) + 0.5)
            elif name.endswith('original1'):
                p.copy_(torch.randn(p.shape))
            else:
                p.copy_(torch.randn(p.shape) * 0.3)
    return voc


def bigvgan_state(voc, old_names=True, filters=True):
    """best_netG.pt's 'generator' dict for a weight-normed vocoder: old (weight_g / weight_v)
    or parametrization names, plus every Activation1d's filter buffers."""
    sd = {}
    for k, v in voc.state_dict().items():
        if old_names:
            k = k.replace('.parametrizations.weight.original0', '.weight_g')
            k = k.replace('.parametrizations.weight.original1', '.weight_v')
        sd[k] = v.clone()
    if filters:
        for k in list(sd):
            if k.endswith('.act.alpha'):
                base = k[:-len('.act.alpha')]
                sd[base + '.upsample.filter'] = FILTER.view(1, 1, -1).clone()
                sd[base + '.downsample.lowpass.filter'] = FILTER.view(1, 1, -1).clone()
    return sd


def folded_reference(voc):
    """torch's own weight-norm removal of the same module: the values a converter must give."""
    import copy
    ref = copy.deepcopy(voc)
    for m in ref.modules():
        if nn.utils.parametrize.is_parametrized(m, 'weight'):
            nn.utils.parametrize.remove_parametrizations(m, 'weight')
    return {k: v.detach().clone() for k, v in ref.state_dict().items()}


def t5_state(cfg=T5, seed=0):
    torch.manual_seed(seed)
    return {k: (v * 1.0).to(torch.bfloat16) for k, v in T5Encoder(cfg).state_dict().items()}


def dit_state(video=VIDEO, audio=AUDIO, seed=0):
    torch.manual_seed(seed)
    sd = FusionModel(video, audio).state_dict()
    with torch.no_grad():   # Wan zero-initializes some tensors; make every value count
        return {k: (v + torch.randn(v.shape) * 0.02).to(torch.bfloat16).contiguous()
                for k, v in sd.items()}


def write_ckpt_dir(root, dit=None, t5=None, vae=None, avae=None, gen=None, seed=0):
    """Ovi's ckpts/ layout with tiny files; each state may be replaced (for refusals).
    Returns {part: path} and the latent statistics file for the z = 8 VAE."""
    paths = {k: os.path.join(root, v) for k, v in LAYOUT.items()}
    for p in paths.values():
        os.makedirs(os.path.dirname(p), exist_ok=True)
    save_file(dit if dit is not None else dit_state(seed=seed), paths['dit'])
    torch.save(t5 if t5 is not None else t5_state(seed=seed), paths['t5'])
    torch.save(vae if vae is not None else wan_vae_state(seed=seed), paths['video_vae'])
    torch.save(avae if avae is not None else mmaudio_state(seed=seed), paths['audio_vae'])
    torch.save({'generator': gen if gen is not None else
                bigvgan_state(weight_normed_vocoder(seed=seed))}, paths['vocoder'])
    with open(TOKENIZER, 'rb') as f, open(paths['tokenizer'], 'wb') as g:
        g.write(f.read())
    stats = os.path.join(root, 'latent_stats.json')
    with open(stats, 'w') as f:
        json.dump({'mean': [0.1 * i - 0.3 for i in range(VAE['z_dim'])],
                   'std': [0.5 + 0.1 * i for i in range(VAE['z_dim'])]}, f)
    return paths, stats
