"""MODEL_CARD.md for an exported duet-tiny, written from the training run's records."""
import json
import time

from . import config as C


def model_card(args, cfg, infos, counts, demos):
    total = sum(v for k, v in counts.items() if k != 'mel')
    lines = [
        '# duet-tiny', '',
        'The default model embedded in duet: a tiny joint audio-video diffusion model of the Ovi '
        'family (twin Wan DiT towers with per-block fusion cross-attention, a umT5-style text '
        'encoder, a Wan2.2-class causal video VAE, an MMAudio-class mel VAE and a BigVGAN-v1-style '
        'vocoder), trained by `tools/duet_tiny/train.py` on clips of the synthetic TalkingShapes '
        'world (`tools/talkingshapes`). It knows nothing outside that world.', '',
        f'- Trained: {time.strftime("%Y-%m-%d")}, preset `{args.preset}` (scale {args.scale}), '
        f'world `{args.world}`.',
        f'- Clip: {C.CLIP["n_frames"]} frames at {C.CLIP["fps"]} fps, {C.CLIP["size"]}x'
        f'{C.CLIP["size"]} px, {C.CLIP["n_samples"]} samples at {C.CLIP["sample_rate_hz"]} Hz '
        'mono.',
        f'- Latents: video [{cfg["video_vae"]["z_dim"]}, {C.LATENT["video_frames"]}, '
        f'{C.LATENT["video_h"]}, {C.LATENT["video_w"]}], audio [{C.LATENT["audio_tokens"]}, '
        f'{cfg["audio_vae"]["embed_dim"]}].',
        f'- Parameters: {total / 1e6:.2f} M in all; ' +
        ', '.join(f'{k} {v / 1e6:.2f} M' for k, v in counts.items() if k != 'mel') + '.',
        '- Prompt format: Ovi tags, speech in `<S>...<E>`, sound in '
        '`<AUDCAP>...<ENDAUDCAP>`. Negative prompts are empty strings (text dropout trained '
        'on "").',
        f'- Sampler defaults: {json.dumps(cfg["sampler"])}.', '',
        '## Training record', '', '```', json.dumps(infos, indent=1), '```', '',
        '## Demo renders (PyTorch reference implementation)', '']
    for d in demos:
        lines.append(f'- `{d["path"]}` ({d["seconds"]} s on the training machine): '
                     f'"{d["caption"]}"')
    lines += ['', '## Limits', '',
              '- Trained for minutes on a CPU (preset `cpu`) or one GPU (preset `gpu`): '
              'expect blurry frames, approximate mouths and buzzy audio; it exists to exercise '
              'the engine and the tests, not to look good.',
              '- The vocoder omits BigVGAN\'s anti-aliasing filters (config `antialias: false`).',
              '- Licence: same as the duet repository; training data is synthetic.', '']
    return '\n'.join(lines)
