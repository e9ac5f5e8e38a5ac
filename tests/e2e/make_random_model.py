"""Random-weight duet-tiny export for the e2e tests: tools/duet_tiny/export.py's layout with the
'cpu' preset and the golden test tokenizer (300 pieces). Usage: make_random_model.py SRC OUT"""
import os
import sys

import torch

src, out = sys.argv[1], sys.argv[2]
sys.path.insert(0, os.path.join(src, 'tools'))
from duet_tiny import config as C, export as E  # noqa: E402

torch.manual_seed(0)
cfg = C.preset('cpu')
models = E.build(cfg, vocab_size=300)
E.save(models, cfg, os.path.join(src, 'tests', 'golden', 'tokenizer', 'tokenizer.model'),
       out, 'random weights for tests only\n')
