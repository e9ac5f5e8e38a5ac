#!/usr/bin/env python3
"""Golden reference for the video VAE (video/vae_decoder.c, encoders/video_encoder.c).

Regenerate (from the repository root; deterministic, CPU only, a few seconds):

    python3 tools/golden/video_vae.py tests/golden/video_vae.safetensors

The model is the project's PyTorch statement of the Wan2.2 VAE, tools/duet_tiny/video_vae.py
(WanVAE: Encoder3d / Decoder3d with Down_/Up_ResidualBlock, AvgDown3D / DupUp3D shortcuts,
CausalConv3d feature caches; itself checked against Wan-Video/Wan2.2 wan/modules/vae2_2.py), at a
tiny width with every path of the real one: dim 3, dec_dim 4, z_dim 5, dim_mult [1, 2, 4, 4],
num_res_blocks 1 (duet-tiny's cpu preset; Wan2.2 has 2), temperal_downsample [False, True, True] (so the decoder has a DupUp3D that
repeats channels (4 dec -> 4 dec, 2 x 2 x 2), two that pick channel pairs (by frame: 4 dec ->
2 dec, 2 x 2 x 2; by row: 2 dec -> dec, 1 x 2 x 2), two causal time upsamples and one spatial
one; the encoder two stride-2 time convolutions and AvgDown3D with and without time).
Every parameter is re-drawn (the attention blocks' proj is zero-initialised upstream) with
unit-variance fan-in scaling, RMS_norm gammas 1 +- 0.2, biases +-0.2, latent_mean +-0.5 and
latent_std in [0.5, 1.5]; the decoder's last conv is then scaled once so that the decoded
pixels have an rms of about 0.6 (most inside [-1, 1], some clamped).

Weights are stored as duet-tiny's export stores them (tools/duet_tiny/export.py): tensors with
>= 1024 elements in float16, the rest float32, under the prefix `video_vae.`; the reference runs
in float64 on exactly those values, so the stored float32 outputs are exact to float32
precision.

Stored tensors (PyTorch shapes):
    video_vae.*              the weights (Wan2.2 names, + latent_mean, latent_std)
    in.latent [5, 3, 2, 3]   normalized latents [z, F, h, w] (3 latent frames: the decoder's
                             first chunk and two cached ones)
    out.video_raw [3, 9, 32, 48]   decode_raw(latent * std + mean, chunked): one latent frame
                             at a time (1, then 4 frames per chunk), unclamped, [C, F, H, W]
    out.rgb8 int32 [9, 32, 48, 3]  sample.tensor_to_video(WanVAE.decode(in.latent)): the
                             video clamped to [-1, 1], round((x + 1) 127.5), frames of rows of
                             RGB pixels (uint8 values; duet's safetensors reader has no U8)
    in.image int32 [32, 48, 3]     an RGB image (smoothed noise; uint8 values)
    out.latent [5, 1, 2, 3]  WanVAE.encode of in.image as a one-frame video: the normalized
                             mean (mu - latent_mean) / latent_std
Metadata: config (the VAE dict as config.json's "video_vae"), seed, generator.
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..'))
from tools.golden import sorted_safetensors  # noqa: E402
from tools.duet_tiny import video_vae  # noqa: E402
from tools.duet_tiny.sample import tensor_to_video, video_to_tensor  # noqa: E402

SEED = 20251207
CONFIG = dict(dim=3, dec_dim=4, z_dim=5, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
              temperal_downsample=[False, True, True], patch_size=2)
LATENT_SHAPE = (5, 3, 2, 3)   # [z, F, h, w]
IMAGE_HW = (32, 48)
TARGET_RMS = 0.6


def stored_dtype(t):
    """duet-tiny's export rule (export.py _keep_f32) for the VAE's tensors."""
    return torch.float32 if t.ndim <= 1 or t.numel() < 1024 else torch.float16


def randomize(vae, gen):
    """Every parameter and statistic re-drawn; returns the stored (rounded) state dict and
    loads the same values, widened, into the (float64) model."""
    state = {}
    for name, p in sorted(vae.state_dict().items()):
        shape = tuple(p.shape)
        u = torch.rand(shape, generator=gen, dtype=torch.float64) * 2 - 1
        if name == 'latent_mean':
            v = 0.5 * u
        elif name == 'latent_std':
            v = 1.0 + 0.5 * u
        elif name.endswith('gamma'):
            v = 1 + 0.2 * u
        elif len(shape) >= 2:
            v = u * (3.0 / p[0].numel()) ** 0.5
        else:
            v = 0.2 * u
        state[name] = v.float().to(stored_dtype(v)).contiguous()
    vae.load_state_dict({k: v.double() for k, v in state.items()})
    return state


def decode_raw(vae, latent):
    """Normalized latent [z, F, h, w] -> unclamped video [3, F', H, W], chunked."""
    m, s = vae._stats()
    with torch.no_grad():
        return vae.decode_raw(latent[None].double() * s + m, chunked=True)[0]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('out', help='path of the safetensors file to write')
    args = ap.parse_args()
    torch.set_num_threads(1)
    gen = torch.Generator().manual_seed(SEED)
    vae = video_vae.WanVAE(CONFIG).double().eval()
    state = randomize(vae, gen)
    latent = torch.randn(LATENT_SHAPE, generator=gen)
    img = torch.randint(0, 256, (1, 3) + IMAGE_HW, generator=gen, dtype=torch.uint8)
    img = torch.nn.functional.avg_pool2d(img.double(), 5, 1, 2).round().to(torch.uint8)
    image = img[0].permute(1, 2, 0).contiguous()   # [H, W, 3]

    # Scale the decoder's last conv once (and round again) so the pixels land around [-1, 1].
    rms = float(decode_raw(vae, latent).pow(2).mean().sqrt())
    for k in ('decoder.head.2.weight', 'decoder.head.2.bias'):
        v = state[k].double() * (TARGET_RMS / rms)
        state[k] = v.float().to(stored_dtype(v)).contiguous()
    vae.load_state_dict({k: v.double() for k, v in state.items()})

    raw = decode_raw(vae, latent)
    with torch.no_grad():
        m, s = vae._stats()
        whole = vae.decode_raw(latent[None].double() * s + m, chunked=False)[0]
        video = vae.decode(latent[None].double())[0]
        enc = vae.encode(video_to_tensor(image.numpy()[None]).double())[0]
        enc_chunked = vae.encode(video_to_tensor(image.numpy()[None]).double(), chunked=True)[0]
    rgb8 = torch.from_numpy(tensor_to_video(video[None].float()))

    tensors = {'video_vae.' + k: v for k, v in state.items()}
    tensors.update({'in.latent': latent.float(), 'out.video_raw': raw.float(),
                    'out.rgb8': rgb8.to(torch.int32), 'in.image': image.to(torch.int32),
                    'out.latent': enc.float()})
    meta = {'config': json.dumps(CONFIG), 'seed': str(SEED),
            'generator': 'tools/golden/video_vae.py'}
    sorted_safetensors.save(args.out, tensors, meta)

    def nmse(a, b):
        return float(((a - b) ** 2).sum() / (b ** 2).sum())
    clamped = float((raw.abs() > 1).double().mean())
    print(f'wrote {args.out} ({os.path.getsize(args.out) / 1e3:.0f} kB): video {tuple(raw.shape)} '
          f'rms {raw.pow(2).mean().sqrt():.3f} ({clamped:.1%} clamped), latent rms '
          f'{enc.pow(2).mean().sqrt():.3f}')
    print(f'  chunked vs whole-clip decode nmse {nmse(raw, whole):.1e}; encode chunked vs whole '
          f'{nmse(enc_chunked, enc):.1e}')
    # What semantic slips cost, to size the C test's tolerances against.
    later = raw[:, 1:]
    print(f'  frames 1.. vs frame 0 repeated nmse {nmse(raw[:, :1].expand_as(later), later):.2e}')
    with torch.no_grad():
        plain = vae.decode_raw(latent[None].double(), chunked=True)[0]
    print(f'  latents not un-normalized nmse {nmse(plain, raw):.2e}')


if __name__ == '__main__':
    main()
