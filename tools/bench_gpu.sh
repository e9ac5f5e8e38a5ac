#!/bin/sh
# GPU benchmark: duet's Vulkan backend and PyTorch on the same GPU, same shapes, same run.
# Prints both JSON streams and a table of duet/PyTorch time ratios (1.0 = as fast as PyTorch).
# Usage (on the GPU machine, after building): tools/bench_gpu.sh [build-dir]
set -eu
build=${1:-build}
tmp=$(mktemp -d)
"$build/cli/duet" bench ops --backend vulkan --size ovi --json >"$tmp/duet.jsonl"
python3 "$(dirname "$0")/bench_torch.py" --dtype f16 >"$tmp/torch.jsonl"
cat "$tmp/duet.jsonl" "$tmp/torch.jsonl"
python3 - "$tmp/duet.jsonl" "$tmp/torch.jsonl" <<'PY'
import json, sys
duet = [json.loads(l) for l in open(sys.argv[1])]
torch = {(r["op"], r["shape"]): r for r in map(json.loads, open(sys.argv[2]))}
print(f"{'op':10} {'shape':22} {'duet ms':>10} {'torch ms':>10} {'duet/torch speed':>17}")
for r in duet:
    t = torch.get((r["op"], r["shape"]))
    if t:
        print(f"{r['op']:10} {r['shape']:22} {r['ms']:10.3f} {t['ms']:10.3f} {t['ms'] / r['ms']:17.3f}")
PY
rm -rf "$tmp"
