"""TalkingShapes: the procedural audio-video world duet-tiny is trained on (DESIGN.md section 7).

sample_clip(seed, n_frames=48, size=128, fps=16, sr=16000, kind=None) -> dict(video, audio,
caption, meta); stream() yields clips for a training loop; make_shards writes npz shards.
"""
from .world import KINDS, sample_clip  # noqa: F401
from .stream import stream, batches  # noqa: F401
