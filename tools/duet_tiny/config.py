"""duet-tiny configuration: clip geometry and the two training presets.

Everything the C engine needs to rebuild the modules is written to config.json by export.py from
these dicts; the DiT tower fields use Ovi's names (ovi/configs/model/dit/{video,audio}.json).
Geometry: 49 frames at 16 fps and 128x128 px -> video latent [16, 13, 8, 8] (Wan2.2 VAE class:
2x2 patchify and three 2x downsamples = 16x16 spatial, 4x temporal, 1 + 4 (F - 1) frames);
49152 samples at 16 kHz -> 192 mel frames (hop 256) -> 96 audio latents at 31.25 Hz.
"""
import copy

CLIP = dict(
    fps=16,
    n_frames=49,          # 1 + 4 * 12 -> 13 latent frames
    size=128,             # square frames
    sample_rate_hz=16000,
    n_samples=49152,      # 192 mel frames * 256; the world's 49000 samples are zero padded
)

MEL = dict(sample_rate_hz=16000, n_fft=1024, hop=256, win=1024, n_mels=80, fmin_hz=0.0,
           fmax_hz=8000.0, log_clamp=1e-5)

# Latent geometry derived from CLIP (kept explicit so config.json states it).
LATENT = dict(video_frames=13, video_h=8, video_w=8, audio_tokens=96)

_TEXT = dict(vocab_size=512, dim=128, dim_attn=128, dim_ffn=256, num_heads=4, num_layers=2,
             num_buckets=32, max_dist=128, text_len=64, eps=1e-6)

_VIDEO_VAE = dict(dim=12, dec_dim=24, z_dim=16, dim_mult=[1, 2, 4, 4], num_res_blocks=1,
                  temperal_downsample=[False, True, True], patch_size=2)

_AUDIO_VAE = dict(data_dim=80, embed_dim=20, hidden_dim=32, ch_mult=[1, 2, 4], num_res_blocks=2,
                  attn_layers=[3], down_layers=[0], kernel_size=3, clip_act=256.0)

_VOCODER = dict(num_mels=80, upsample_rates=[8, 8, 4], upsample_kernel_sizes=[16, 16, 8],
                upsample_initial_channel=96, resblock='1', resblock_kernel_sizes=[3, 7, 11],
                resblock_dilation_sizes=[[1, 3, 5], [1, 3, 5], [1, 3, 5]],
                activation='snakebeta', snake_logscale=True, antialias=False)

_DIT = dict(dim=128, ffn_dim=512, num_heads=4, num_layers=4, freq_dim=256, eps=1e-6,
            qk_norm=True, cross_attn_norm=True)

_SAMPLER = dict(solver='unipc', steps=30, shift=2.0, video_guidance_scale=4.0,
                audio_guidance_scale=3.0, slg_layer=-1, video_negative_prompt='',
                audio_negative_prompt='')

# Video VAE windows are whole 49-frame clips (random crops): the causal convs reach back about 30
# frames, and a VAE trained on shorter windows drifts once a clip is longer than them (measured
# in tools/duet_tiny/README.md, "Video VAE training windows").
#
# Training budgets are in steps and in wall-clock seconds (whichever ends first), so the cpu
# preset finishes inside its two hours on a loaded machine; the step counts are what it would
# do on an idle one. total_seconds caps the whole run: the DiT stage gets what is left of it
# after the other stages, minus a reserve for export and demos (train.py).
#
# cpu n_clips: 2048, not 256: on 256 clips the DiT memorised (sitting 5 of the shipped model:
# held-out audio loss flat at 0.298 while the training loss fell to 0.18); on 2048 it fell
# 0.280 -> 0.232 in 4248 steps (sitting 6, MODEL_CARD.md). The price: encoding the latents
# takes about 16 min of the two hours on the 2-core VM (2 min for 256).
PRESETS = {
    'cpu': dict(
        n_clips=2048, total_seconds=6900, text=_TEXT, video_vae=_VIDEO_VAE,
        audio_vae=_AUDIO_VAE, vocoder=_VOCODER, dit=_DIT, sampler=_SAMPLER,
        train=dict(
            video_vae=dict(steps=1500, seconds=1300, batch=2, crop=48, frames=49, lr=2e-3),
            audio_vae=dict(steps=1500, seconds=360, batch=8, mel_frames=64, lr=2e-3,
                           kl=1e-4),
            vocoder=dict(steps=3000, seconds=1000, batch=4, mel_frames=24, lr=1e-3),
            dit=dict(steps=6000, seconds=2900, batch=12, lr=5e-4, text_drop=0.1, ema=0.999),
        )),
    'gpu': dict(
        n_clips=4000, total_seconds=1800,
        text=dict(_TEXT, dim=256, dim_attn=256, dim_ffn=512, num_layers=4, vocab_size=768),
        video_vae=dict(_VIDEO_VAE, dim=32, dec_dim=48, num_res_blocks=2),
        audio_vae=dict(_AUDIO_VAE, hidden_dim=64),
        vocoder=dict(_VOCODER, upsample_initial_channel=256),
        dit=dict(_DIT, dim=256, ffn_dim=1024, num_heads=4, num_layers=8),
        sampler=_SAMPLER,
        train=dict(
            video_vae=dict(steps=8000, seconds=420, batch=4, crop=128, frames=49, lr=1e-3),
            audio_vae=dict(steps=6000, seconds=120, batch=32, mel_frames=96, lr=1e-3,
                           kl=1e-4),
            vocoder=dict(steps=20000, seconds=300, batch=16, mel_frames=32, lr=5e-4),
            dit=dict(steps=30000, seconds=600, batch=64, lr=3e-4, text_drop=0.1, ema=0.9995),
        )),
}


def preset(name):
    """A deep copy of a preset, so callers may edit it."""
    return copy.deepcopy(PRESETS[name])


def tower_configs(cfg):
    """Ovi-style tower dicts (ovi/configs/model/dit/{video,audio}.json field names)."""
    d, t = cfg['dit'], cfg['text']
    common = dict(dim=d['dim'], ffn_dim=d['ffn_dim'], freq_dim=d['freq_dim'],
                  num_heads=d['num_heads'], num_layers=d['num_layers'], text_len=t['text_len'],
                  text_dim=t['dim'], eps=d['eps'], qk_norm=d['qk_norm'],
                  cross_attn_norm=d['cross_attn_norm'], window_size=[-1, -1])
    z = cfg['video_vae']['z_dim']
    video = dict(common, model_type='ti2v', patch_size=[1, 2, 2], in_dim=z, out_dim=z)
    a = cfg['audio_vae']['embed_dim']
    audio = dict(common, model_type='t2a', patch_size=[1], in_dim=a, out_dim=a,
                 temporal_rope_scaling_factor=LATENT['video_frames'] / LATENT['audio_tokens'])
    return video, audio
