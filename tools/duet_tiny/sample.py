"""duet-tiny generation: text (+ optional clean first frame, audio or leading frames) -> video
frames and a waveform, written as MP4 (H.264 + AAC through the ffmpeg CLI) and WAV.

Mirrors Ovi's OviFusionEngine.generate (ovi/ovi_fusion_engine.py): one text encode of
[prompt, video negative, audio negative] (the positive embedding is shared by both towers),
per step a conditional pass and an unconditional pass with the negatives that skips block
`slg_layer` (when > 0), out = neg + s (pos - neg) per modality, one scheduler per modality, given
latents written over the sample before every model call and once more at the end. Generalized as
DESIGN.md asks: any token may be given clean (timestep 0): the first latent frame (image to
video), leading latent frames (continuation) or the whole audio (lip-sync to given audio).

  python -m tools.duet_tiny.sample --model models/duet-tiny --prompt "..." --out out.mp4
"""
import argparse
import os
import subprocess

import numpy as np
import torch

from . import config as C
from .schedulers import make_sampler
from .text import encode_context


def encode_texts(models, tok, cfg, texts):
    ids, mask = tok.batch(texts, cfg['text']['text_len'])
    dev = next(models['text_encoder'].parameters()).device
    ids, mask = ids.to(dev), mask.to(dev)
    with torch.no_grad():
        return encode_context(models['text_encoder'], ids, mask, cfg['text']['text_len'])


def video_to_tensor(frames):
    """uint8 [F, H, W, 3] -> [1, 3, F, H, W] in [-1, 1]."""
    x = torch.from_numpy(np.array(frames, dtype=np.uint8)).float() / 127.5 - 1.0
    return x.permute(3, 0, 1, 2).unsqueeze(0)


def tensor_to_video(x):
    """[1, 3, F, H, W] in [-1, 1] -> uint8 [F, H, W, 3]."""
    x = ((x[0].float().cpu().clamp(-1, 1) + 1.0) * 127.5).round().to(torch.uint8)
    return x.permute(1, 2, 3, 0).numpy()


def encode_audio(models, wav):
    """waveform [N] -> audio latent tokens [1, L, 20]."""
    w = torch.as_tensor(wav, dtype=torch.float32)[None, :C.CLIP['n_samples']]
    w = torch.nn.functional.pad(w, (0, C.CLIP['n_samples'] - w.shape[1]))
    w = w.to(models['mel'].mel_basis.device)
    with torch.no_grad():
        return models['audio_vae'].encode(models['mel'](w)).transpose(1, 2)


def decode_audio(models, za):
    """latent tokens [1, L, 20] -> waveform [N] float32."""
    with torch.no_grad():
        mel = models['audio_vae'].decode(za.transpose(1, 2))
        return models['vocoder'](mel)[0, 0].float().cpu().numpy()


def clean_masks(cond, fv, tpf, la):
    """Token masks (True = given clean) for video [fv * tpf] and audio [la]."""
    mv = torch.zeros(fv * tpf, dtype=torch.bool)
    ma = torch.zeros(la, dtype=torch.bool)
    n_lead = cond.get('video_frames', 0)
    mv[:n_lead * tpf] = True
    if cond.get('audio') is not None:
        ma[:] = True
    return mv, ma


def dit_eval(dit, xv, xa, tv, ta, ctx, slg, guid):
    """One guided velocity evaluation (Ovi: conditional pass; unconditional pass with the
    negatives and skip-layer guidance; out = neg + s (pos - neg) per modality)."""
    (cv_pos, cv_neg, ca_neg), (gv, ga) = ctx, guid
    if gv == 1.0 and ga == 1.0:
        return dit(xv, xa, tv, ta, cv_pos, cv_pos)
    vp, ap = dit(xv, xa, tv, ta, cv_pos, cv_pos)
    vn, an = dit(xv, xa, tv, ta, cv_neg, ca_neg, slg_layer=slg)
    return vn + gv * (vp - vn), an + ga * (ap - an)


@torch.no_grad()
def generate(models, tok, cfg, prompt, seed=0, steps=None, solver=None, shift=None,
             video_guidance=None, audio_guidance=None, slg_layer=None, cond=None,
             noise='torch'):
    """Returns (frames uint8 [F, H, W, 3], waveform float32 [N], latents dict).
    cond: {'image': uint8 [H, W, 3]} | {'frames': uint8 [n, H, W, 3] (1 + 4 k frames)} |
          {'audio': float32 [N]} (any combination of frames/image with audio).
    noise: 'torch' (torch.randn from the seed) or 'duet' (the C engine's seeded noise,
          tools/duet_tiny/noise.py: the same start as `duet render` with this shot seed)."""
    s = dict(cfg['sampler'])
    steps, solver = steps or s['steps'], solver or s['solver']
    shift = s['shift'] if shift is None else shift
    gv = s['video_guidance_scale'] if video_guidance is None else video_guidance
    ga = s['audio_guidance_scale'] if audio_guidance is None else audio_guidance
    slg = s['slg_layer'] if slg_layer is None else slg_layer
    dit, cond = models['dit'], dict(cond or {})
    lat, z = C.LATENT, cfg['video_vae']['z_dim']
    fv, h, w, la = lat['video_frames'], lat['video_h'], lat['video_w'], lat['audio_tokens']
    ctx = encode_texts(models, tok, cfg, [prompt, s['video_negative_prompt'],
                                          s['audio_negative_prompt']])
    ctx = (ctx[0:1], ctx[1:2], ctx[2:3])
    dev = next(dit.parameters()).device
    ca = cfg['audio_vae']['embed_dim']
    if noise == 'duet':
        from .noise import STREAM_AUDIO, STREAM_VIDEO, latent_noise
        xv = torch.from_numpy(latent_noise((1, z, fv, h, w), seed, STREAM_VIDEO)).to(dev)
        xa = torch.from_numpy(latent_noise((1, la, ca), seed, STREAM_AUDIO)).to(dev)
    elif noise == 'torch':
        g = torch.Generator().manual_seed(seed)
        xv = torch.randn(1, z, fv, h, w, generator=g).to(dev)
        xa = torch.randn(1, la, ca, generator=g).to(dev)
    else:
        raise ValueError(f'noise {noise!r}: torch or duet')
    given_v = None
    if 'image' in cond:
        cond['frames'] = cond['image'][None]
    if 'frames' in cond:
        given_v = models['video_vae'].encode(video_to_tensor(cond['frames']).to(dev))
        cond['video_frames'] = given_v.shape[2]
    given_a = encode_audio(models, cond['audio']) if cond.get('audio') is not None else None
    tpf = dit.video_tokens_per_frame(h, w)
    mv, ma = (m.to(dev) for m in clean_masks(cond, fv, tpf, la))
    sv, sa = make_sampler(solver, steps, shift), make_sampler(solver, steps, shift)

    def overwrite(xv, xa):
        if given_v is not None:
            xv[:, :, :given_v.shape[2]] = given_v
        if given_a is not None:
            xa[:] = given_a
        return xv, xa

    for i in range(steps):
        xv, xa = overwrite(xv, xa)
        t = float(sv.timesteps[i])
        tv = torch.where(mv, 0.0, t)[None]
        ta = torch.where(ma, 0.0, float(sa.timesteps[i]))[None]
        v_v, v_a = dit_eval(dit, xv, xa, tv, ta, ctx, slg, (gv, ga))
        xv, xa = sv.step(v_v, xv), sa.step(v_a, xa)
    xv, xa = overwrite(xv, xa)
    frames = tensor_to_video(models['video_vae'].decode(xv))
    wav = decode_audio(models, xa)
    return frames, wav, dict(video=xv, audio=xa)


def write_wav(path, wav, sr):
    from scipy.io import wavfile
    wavfile.write(path, sr, (np.clip(wav, -1, 1) * 32767).astype(np.int16))


def write_mp4(path, frames, wav, fps, sr):
    """H.264 (yuv420p) + AAC through the ffmpeg CLI; the WAV is written beside it."""
    wav_path = os.path.splitext(path)[0] + '.wav'
    write_wav(wav_path, wav, sr)
    f, h, w, _ = frames.shape
    cmd = ['ffmpeg', '-y', '-loglevel', 'error', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
           '-s', f'{w}x{h}', '-r', str(fps), '-i', '-', '-i', wav_path, '-c:v', 'libx264',
           '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '96k', '-shortest', path]
    subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), check=True)
    return wav_path


def read_frames(path, n, size):
    """The first n frames of a video file as uint8 [n, size, size, 3] (ffmpeg CLI)."""
    cmd = ['ffmpeg', '-loglevel', 'error', '-i', path, '-frames:v', str(n), '-vf',
           f'scale={size}:{size}', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']
    raw = subprocess.run(cmd, capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, size, size, 3)
    if frames.shape[0] != n or (n - 1) % 4:
        raise ValueError(f'{path}: need 1 + 4 k frames, got {frames.shape[0]} of {n}')
    return frames


def main():
    from .export import load
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--model', default='models/duet-tiny')
    ap.add_argument('--prompt', required=True)
    ap.add_argument('--out', required=True, help='output .mp4 (a .wav is written beside it)')
    ap.add_argument('--seed', type=int, default=0)
    ap.add_argument('--noise', choices=['torch', 'duet'], default='torch',
                    help='duet: the C engine\'s seeded noise (then a duet render shot with the '
                         'same seed starts from the same latents)')
    ap.add_argument('--steps', type=int)
    ap.add_argument('--solver', choices=['unipc', 'euler'])
    ap.add_argument('--shift', type=float)
    ap.add_argument('--video-guidance', type=float)
    ap.add_argument('--audio-guidance', type=float)
    ap.add_argument('--slg-layer', type=int)
    ap.add_argument('--image', help='PNG used as the clean first frame')
    ap.add_argument('--audio', help='WAV (16 kHz mono) given clean: lip-sync mode')
    ap.add_argument('--lead-video', help='video whose first --lead-frames frames are given clean '
                                         '(continuation); decoded with the ffmpeg CLI')
    ap.add_argument('--lead-frames', type=int, default=5, help='1 + 4 k frames (default 5)')
    a = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    models, cfg, tok = load(a.model)
    cond = {}
    if a.image:
        from PIL import Image
        cond['image'] = np.asarray(Image.open(a.image).convert('RGB'))
    if a.audio:
        from scipy.io import wavfile
        sr, x = wavfile.read(a.audio)
        x = x.astype(np.float32) / (32768.0 if x.dtype == np.int16 else 1.0)
        cond['audio'] = x if x.ndim == 1 else x.mean(1)
    if a.lead_video:
        cond['frames'] = read_frames(a.lead_video, a.lead_frames, C.CLIP['size'])
    frames, wav, _ = generate(models, tok, cfg, a.prompt, seed=a.seed, steps=a.steps,
                              solver=a.solver, shift=a.shift, video_guidance=a.video_guidance,
                              audio_guidance=a.audio_guidance, slg_layer=a.slg_layer, cond=cond,
                              noise=a.noise)
    write_mp4(a.out, frames, wav, C.CLIP['fps'], C.CLIP['sample_rate_hz'])
    print(f'wrote {a.out}')


if __name__ == '__main__':
    main()
