"""Import the TalkingShapes palette and caption parser whether this package is loaded as
`metrics` (tools/ on sys.path) or as `tools.metrics` (repository root on sys.path)."""
try:
    from ..talkingshapes import captions, palette  # noqa: F401
except (ImportError, ValueError):
    from talkingshapes import captions, palette  # noqa: F401
