"""Put tools/ on sys.path so the tests import `talkingshapes` and `metrics` from any cwd."""
import os
import sys

TOOLS = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TOOLS not in sys.path:
    sys.path.insert(0, TOOLS)
