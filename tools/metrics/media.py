"""Read and write clips for the metrics: MP4 (via the ffmpeg/ffprobe command-line tools) and WAV
(scipy.io.wavfile), into the arrays every metric takes: video uint8 [F, H, W, 3], audio float32
mono at a chosen sample rate. Used by score.py on the C engine's output and by ceilings.py to
round-trip world clips through H.264 + AAC the way the engine writes them.
"""
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np
from scipy import signal
from scipy.io import wavfile


def _need(tool):
    if shutil.which(tool) is None:
        raise RuntimeError(f'{tool} not found on PATH (apt-get install -y ffmpeg)')


def probe(path):
    """dict(width, height, fps, n_frames, has_audio) of a video file."""
    _need('ffprobe')
    out = subprocess.run(['ffprobe', '-v', 'error', '-show_streams', '-of', 'json', path],
                         check=True, capture_output=True, text=True).stdout
    streams = json.loads(out)['streams']
    v = next(s for s in streams if s['codec_type'] == 'video')
    num, den = (int(x) for x in v['avg_frame_rate'].split('/'))
    return dict(width=int(v['width']), height=int(v['height']), fps=num / den,
                n_frames=int(v.get('nb_frames', 0) or 0),
                has_audio=any(s['codec_type'] == 'audio' for s in streams))


def read_video(path):
    """(frames uint8 [F, H, W, 3], fps) of a video file, decoded to RGB24 by ffmpeg."""
    info = probe(path)
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-f', 'rawvideo',
                          '-pix_fmt', 'rgb24', '-'], check=True, capture_output=True).stdout
    w, h = info['width'], info['height']
    frames = np.frombuffer(raw, np.uint8)
    return frames.reshape(-1, h, w, 3), info['fps']


def read_audio_from_video(path, sr=16000):
    """float32 mono [N] at sr from a video file's first audio stream."""
    _need('ffmpeg')
    raw = subprocess.run(['ffmpeg', '-v', 'error', '-i', path, '-vn', '-ac', '1', '-ar',
                          str(sr), '-f', 'f32le', '-'], check=True, capture_output=True).stdout
    return np.frombuffer(raw, np.float32).copy()


def read_wav(path, sr=16000):
    """float32 mono [N] in [-1, 1] at sr (resampled when the file's rate differs)."""
    rate, x = wavfile.read(path)
    if x.dtype == np.int16:
        x = x / 32768.0
    elif x.dtype == np.int32:
        x = x / 2147483648.0
    elif x.dtype == np.uint8:
        x = (x.astype(np.float64) - 128) / 128.0
    x = np.asarray(x, np.float64)
    if x.ndim == 2:
        x = x.mean(1)
    if rate != sr:
        g = np.gcd(int(rate), int(sr))
        x = signal.resample_poly(x, sr // g, rate // g)
    return x.astype(np.float32)


def write_wav(path, audio, sr=16000):
    x = np.clip(np.asarray(audio, np.float64), -1, 1)
    wavfile.write(path, sr, np.round(x * 32767).astype(np.int16))


def write_mp4(path, video, audio, fps=16, sr=16000, crf=18, scale=1):
    """Encode uint8 [F, H, W, 3] + float audio as H.264 (yuv420p) + AAC, as the engine does.
    scale > 1 enlarges with nearest-neighbour (for human previews)."""
    _need('ffmpeg')
    F, H, W, _ = video.shape
    with tempfile.TemporaryDirectory() as d:
        wav = os.path.join(d, 'a.wav')
        write_wav(wav, audio, sr)
        vf = ['-vf', f'scale={W * scale}:{H * scale}:flags=neighbor'] if scale != 1 else []
        cmd = ['ffmpeg', '-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'rgb24',
               '-s', f'{W}x{H}', '-r', str(fps), '-i', '-', '-i', wav, *vf,
               '-c:v', 'libx264', '-pix_fmt', 'yuv420p', '-crf', str(crf),
               '-c:a', 'aac', '-b:a', '128k', '-shortest', path]
        subprocess.run(cmd, input=np.ascontiguousarray(video, np.uint8).tobytes(), check=True,
                       capture_output=True)
