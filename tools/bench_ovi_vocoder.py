"""Time Ovi's vocoder (MMAudio's BigVGAN, 1536 channels, six upsamplers, anti-aliased
activations) in `duet render` on this machine, next to PyTorch running the same weights in the
same run. A benchmark, not a test (DESIGN.md §6).

  PYTHONPATH=. python3 tools/bench_ovi_vocoder.py [--seconds 5] [--threads 2] [--backend cpu]

The real best_netG.pt cannot be downloaded here, so the weights are random at the real shape
(tools/convert_bigvgan.MMAUDIO_YML); speed does not depend on the values. The other parts are
the converter test's tiny Ovi-shaped ones (tools/duet_tiny/tests/ovi_upstream.py), so the
render's other stages are small; only its "vocoder" seconds are Ovi-sized. The folder is built
with tools/convert_ovi.py once with and once without --no-antialias; each renders one shot of
--seconds (at most Ovi's 5.04 s) and the render summary's vocoder time is printed with
PyTorch's time for the same mel length (tools/duet_tiny/audio.Vocoder, the folded weights).
"""
import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, ROOT)

import convert_bigvgan  # noqa: E402
import convert_ovi  # noqa: E402
from tools.duet_tiny.audio import Vocoder  # noqa: E402
from tools.duet_tiny.tests import ovi_upstream as U  # noqa: E402

HOP = 256
SR = 16000


def build_folder(work, antialias):
    ckpt = os.path.join(work, 'ckpts')
    if not os.path.isdir(ckpt):
        voc = U.weight_normed_vocoder(cfg=dict(convert_bigvgan.MMAUDIO_YML), seed=0)
        U.write_ckpt_dir(ckpt, gen=U.bigvgan_state(voc))
    out = os.path.join(work, 'ovi-aa' if antialias else 'ovi-plain')
    argv = ['--ckpt-dir', ckpt, '-o', out, '--video-latent-stats',
            os.path.join(ckpt, 'latent_stats.json'), '--quiet', '--num-heads', '2']
    if not antialias:
        argv.append('--no-antialias')
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        if convert_ovi.main(argv) != 0:
            sys.exit(f'convert_ovi failed:\n{err.getvalue()}')
    cfg_path = os.path.join(out, 'config.json')
    with open(cfg_path) as f:
        cfg = json.load(f)
    # a small picture for the tiny test DiT and VAE: the vocoder is what is timed
    cfg['clip'].update(size=64, target_area_px=64 * 64)
    cfg['sampler'].update(steps=1, slg_layer=1)
    with open(cfg_path, 'w') as f:
        json.dump(cfg, f)
    return out, cfg['vocoder']


def render_vocoder_seconds(duet, model, seconds, backend, work):
    job = dict(model=model, output='out.mp4', seed=1, shots=[dict(
        prompt='A voice. <AUDCAP>a voice<ENDAUDCAP>', duration_s=seconds)])
    with open(os.path.join(work, 'job.json'), 'w') as f:
        json.dump(job, f)
    r = subprocess.run([duet, 'render', 'job.json', '--backend', backend, '--progress=json',
                        '--wav', 'out.wav'], cwd=work, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f'duet render failed:\n{r.stderr[-3000:]}')
    summ = [json.loads(line)['summary'] for line in r.stdout.splitlines()
            if line.startswith('{"summary"')][0]
    shot = summ['shots'][0]
    return shot['vocoder_s'], summ['peak_rss_mib'], os.path.getsize(os.path.join(work,
                                                                                 'out.wav'))


def torch_seconds(model, voc_cfg, n_mel, threads):
    from safetensors.torch import load_file
    torch.set_num_threads(threads)
    sd = {k[len('vocoder.'):]: v.float() for k, v in
          load_file(os.path.join(model, 'model.safetensors')).items()
          if k.startswith('vocoder.')}
    voc = Vocoder(voc_cfg).eval()
    voc.load_state_dict(sd)
    mel = torch.randn(1, voc_cfg['num_mels'], n_mel)
    with torch.no_grad():
        voc(mel[:, :, :8])                       # warm-up
        t = time.perf_counter()
        voc(mel)
        return time.perf_counter() - t


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--seconds', type=float, default=5.0)
    ap.add_argument('--threads', type=int, default=os.cpu_count())
    ap.add_argument('--backend', default='cpu')
    ap.add_argument('--duet', default=os.path.join(ROOT, 'build', 'cli', 'duet'))
    a = ap.parse_args()
    n_mel = int(round(a.seconds * SR / HOP))
    with tempfile.TemporaryDirectory() as work:
        rows = []
        for aa in (True, False):
            model, voc_cfg = build_folder(work, aa)
            c_s, rss, _ = render_vocoder_seconds(a.duet, model, a.seconds, a.backend, work)
            t_s = torch_seconds(model, voc_cfg, n_mel, a.threads)
            rows.append((aa, c_s, t_s, rss))
            shutil.rmtree(model)
        params = sum(v.numel() for v in U.weight_normed_vocoder(
            cfg=dict(convert_bigvgan.MMAUDIO_YML)).state_dict().values())
    print(f'Ovi vocoder (BigVGAN {params / 1e6:.0f} M weights as stored, weight norm unfolded), '
          f'{a.seconds:g} s of 16 kHz audio, duet --backend {a.backend}, PyTorch '
          f'{torch.__version__} with {a.threads} threads')
    print('| activations | duet (s) | PyTorch (s) | duet / PyTorch | render peak memory (MiB) |')
    print('|---|---|---|---|---|')
    for aa, c_s, t_s, rss in rows:
        print(f'| {"anti-aliased" if aa else "plain (--no-antialias)"} | {c_s:.2f} | '
              f'{t_s:.2f} | {c_s / t_s:.2f} | {rss:.0f} |')


if __name__ == '__main__':
    main()
