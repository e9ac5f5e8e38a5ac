"""Metrics for TalkingShapes-style clips (lip-sync, impact timing, prompt adherence), runnable
on world clips as arrays or on any MP4/WAV pair: python3 -m metrics.score --help."""
