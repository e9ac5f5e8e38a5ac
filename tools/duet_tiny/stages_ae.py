"""duet-tiny training stages for the autoencoders: video VAE, audio VAE, vocoder.

Objectives (no GAN or perceptual terms: they would not fit the CPU budget):
- video VAE: L1 with near-black pixels weighted x5 (the world's open mouth is the only thing
  that dark, and lip-sync is judged on it) + MSE + KL 1e-6, on random 1 + 4 k frame windows and
  crops; afterwards latent_mean / latent_std are measured on whole clips.
- audio VAE: L1 on the normalized log-mel + KL; the per-bin mel mean/std tables are measured on
  the training clips first; after training the MP weights are baked and the latent scale is
  folded into the first/last convs so latents have unit variance per channel.
- vocoder: log-mel L1 (x45, HiFi-GAN's weight) + multi-resolution STFT loss (spectral
  convergence + log-magnitude L1) on ground-truth mel segments.
"""
import numpy as np
import torch
import torch.nn.functional as F

from . import config as C
from . import loop


def dev_of(m):
    return next(m.parameters()).device


def _to_video(u8):
    return torch.from_numpy(np.array(u8)).float().div(127.5).sub(1.0).permute(0, 4, 1, 2, 3)


def train_video_vae(vae, clips, idx, tc, work, log):
    opt = torch.optim.AdamW(vae.parameters(), lr=tc['lr'], betas=(0.9, 0.99), weight_decay=0.0)

    def loss_fn(step, rng):
        frames = tc['frames'] if rng.random() < 0.8 else 1
        x = _to_video(clips.video_windows(rng, idx, tc['batch'], frames, tc['crop']))
        x = x.to(dev_of(vae))
        mu, logvar = vae.encode_raw(x)
        logvar = logvar.clamp(-30.0, 20.0)
        z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        y = vae.decode_raw(z)
        dark = (x < (40 / 127.5 - 1.0)).all(dim=1, keepdim=True).float()
        l1 = ((y - x).abs() * (1.0 + 4.0 * dark)).mean()
        mse = F.mse_loss(y, x)
        kl = 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        return l1 + mse + 1e-6 * kl, dict(l1=l1.item(), mse=mse.item(), kl=kl.item())

    info = loop.run('video_vae', work, dict(vae=vae), opt, loss_fn, tc, log)
    latent_stats(vae, clips, idx)
    return info


@torch.no_grad()
def latent_stats(vae, clips, idx, n=32):
    sel = idx[:: max(1, len(idx) // n)][:n]
    mus = []
    for i in sel:
        mu, _ = vae.encode_raw(_to_video(clips.videos[i:i + 1]).to(dev_of(vae)))
        mus.append(mu.transpose(0, 1).flatten(1))
    mus = torch.cat(mus, 1)
    vae.latent_mean.copy_(mus.mean(1))
    vae.latent_std.copy_(mus.std(1).clamp(min=1e-3))


@torch.no_grad()
def all_mels(mel, clips, batch=16):
    out = []
    for i in range(0, clips.n, batch):
        out.append(mel(torch.from_numpy(clips.audio[i:i + batch].copy()).to(
            mel.mel_basis.device)))
    return torch.cat(out)                                  # [n, 80, 192] on mel's device


def _crop_mels(mels, idx, rng, batch, frames):
    rows = []
    for _ in range(batch):
        i = idx[rng.integers(len(idx))]
        f0 = 2 * rng.integers((mels.shape[2] - frames) // 2 + 1)
        rows.append(mels[i, :, f0:f0 + frames])
    return torch.stack(rows)


def train_audio_vae(avae, mels, idx, tc, work, log):
    with torch.no_grad():
        sub = mels[torch.as_tensor(idx, device=mels.device)]
        avae.data_mean.copy_(sub.mean(dim=(0, 2)).view(1, -1, 1))
        avae.data_std.copy_(sub.std(dim=(0, 2)).clamp(min=1e-2).view(1, -1, 1))
    opt = torch.optim.AdamW(avae.parameters(), lr=tc['lr'], betas=(0.9, 0.99), weight_decay=0.0)

    def loss_fn(step, rng):
        m = _crop_mels(mels, idx, rng, tc['batch'], tc['mel_frames'])
        mean, logvar = avae.encode_moments(m)
        logvar = logvar.clamp(-30.0, 20.0)
        z = mean + torch.randn_like(mean) * torch.exp(0.5 * logvar)
        rec = avae.decoder(z)
        target = (m - avae.data_mean) / avae.data_std
        l1 = (rec - target).abs().mean()
        kl = 0.5 * (mean.pow(2) + logvar.exp() - 1.0 - logvar).mean()
        return l1 + tc['kl'] * kl, dict(l1=l1.item(), kl=kl.item())

    info = loop.run('audio_vae', work, dict(avae=avae), opt, loss_fn, tc, log)
    avae.bake()
    with torch.no_grad():
        z = torch.cat([avae.encode(mels[i:i + 16]) for i in range(0, len(idx), 16)])
        std = z.transpose(0, 1).flatten(1).std(1).clamp(min=1e-3)
    avae.fold_latent_scale(std)
    info['latent_std_before_fold'] = [round(float(s), 4) for s in std]
    return info


def stft_mag(x, n_fft, hop):
    w = torch.hann_window(n_fft, device=x.device)
    s = torch.stft(x, n_fft, hop_length=hop, win_length=n_fft, window=w, return_complex=True)
    return torch.sqrt(s.real.pow(2) + s.imag.pow(2) + 1e-7)


def mr_stft_loss(y, x):
    total = 0.0
    for n_fft, hop in ((512, 128), (1024, 256), (256, 64)):
        a, b = stft_mag(y, n_fft, hop), stft_mag(x, n_fft, hop)
        sc = torch.linalg.norm(b - a) / torch.linalg.norm(b).clamp(min=1e-7)
        total = total + sc + (torch.log(a) - torch.log(b)).abs().mean()
    return total / 3


def train_vocoder(voc, mel_fn, mels, clips, idx, tc, work, log):
    hop = C.MEL['hop']
    opt = torch.optim.AdamW(voc.parameters(), lr=tc['lr'], betas=(0.8, 0.99), weight_decay=0.0)

    def loss_fn(step, rng):
        ms, ws = [], []
        n = tc['mel_frames']
        for _ in range(tc['batch']):
            i = idx[rng.integers(len(idx))]
            f0 = rng.integers(mels.shape[2] - n + 1)
            ms.append(mels[i, :, f0:f0 + n])
            ws.append(torch.from_numpy(clips.audio[i, f0 * hop:(f0 + n) * hop].copy()))
        m, w = torch.stack(ms), torch.stack(ws).to(mels.device)
        y = voc(m)[:, 0]
        mel_l1 = (mel_fn(y) - mel_fn(w)).abs().mean()
        stft = mr_stft_loss(y, w)
        return 45.0 * mel_l1 + stft, dict(mel_l1=mel_l1.item(), stft=stft.item())

    return loop.run('vocoder', work, dict(voc=voc), opt, loss_fn, tc, log)
