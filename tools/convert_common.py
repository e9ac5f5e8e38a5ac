"""Shared pieces of the checkpoint converters (tools/convert_wan_vae.py, convert_mmaudio_vae.py,
convert_bigvgan.py, convert_ovi.py): opening a PyTorch pickle memory-mapped, a "part" (the
tensors one converter contributes, each produced only when it is written, plus the config
object it infers), and one streaming safetensors writer.

The writer takes the whole plan first (names, shapes, dtypes: the header is written before any
data), then asks each entry for its bytes one at a time, so memory holds one tensor beyond the
page cache. Output goes to OUT.tmp and is renamed when complete; on any failure the temporary
is removed, so a failed conversion leaves no file behind.

Shape checks compare a checkpoint with the full map of names and shapes a converter expects
for the sizes it inferred: unknown names, missing names and wrong shapes are refused with the
names in the message (the first few of each; the count of the rest).
"""
import argparse
import json
import os
import sys
import struct
import warnings

import torch

# safetensors dtype names <-> torch dtypes (what duet's loaders read: core/safetensors.c).
ST_DTYPES = {'F32': torch.float32, 'F16': torch.float16, 'BF16': torch.bfloat16}
TORCH_TO_ST = {v: k for k, v in ST_DTYPES.items()}
# --dtype choices of the converters: 'keep' writes the checkpoint's own dtype.
DTYPE_CHOICES = ('keep', 'f32', 'f16', 'bf16')
_CHOICE_TO_ST = {'f32': 'F32', 'f16': 'F16', 'bf16': 'BF16'}


class ConvertError(Exception):
    pass


def load_pickle(path):
    """torch.load of a checkpoint, memory-mapped when its format allows (the zip format of
    torch >= 1.6); weights_only, as MMAudio and Wan load these files."""
    if not os.path.isfile(path):
        raise ConvertError(f'{path}: no such file')
    try:
        return torch.load(path, map_location='cpu', mmap=True, weights_only=True)
    except RuntimeError as e:
        if 'mmap' not in str(e) and 'zip' not in str(e):
            raise ConvertError(f'{path}: not a PyTorch checkpoint ({e})') from None
    except Exception as e:  # pickle errors, an unpickling refusal, a truncated file
        raise ConvertError(f'{path}: not a PyTorch checkpoint ({type(e).__name__}: {e})') \
            from None
    warnings.warn(f'{path}: legacy (non-zip) checkpoint, loading it whole into memory')
    try:
        return torch.load(path, map_location='cpu', weights_only=True)
    except Exception as e:
        raise ConvertError(f'{path}: not a PyTorch checkpoint ({type(e).__name__}: {e})') \
            from None


def as_state_dict(obj, path, what):
    """obj must be a flat dict of floating-point tensors (a state dict)."""
    if not isinstance(obj, dict) or not obj:
        raise ConvertError(f'{path}: expected {what} (a dict of tensors), found '
                           f'{type(obj).__name__}')
    for name, t in obj.items():
        if not isinstance(name, str) or not torch.is_tensor(t):
            raise ConvertError(f'{path}: entry {name!r} is not a named tensor: is this {what}?')
        if not t.is_floating_point():
            raise ConvertError(f'{path}: tensor {name} has dtype {t.dtype}, expected a float '
                               'type')
    return obj


def shape_of(shapes, path, name, rank, what):
    """shapes[name] (a shape tuple) with `rank` dims, else a ConvertError naming the tensor."""
    if name not in shapes:
        raise ConvertError(f'{path}: missing tensor {name}: not {what}')
    shape = tuple(shapes[name])
    if len(shape) != rank:
        raise ConvertError(f'{path}: tensor {name} has shape {list(shape)}, expected {rank} '
                           'dims')
    return shape


def out_dtype(choice, src_dtype):
    """safetensors dtype name for a --dtype choice ('keep': the source's own)."""
    if choice == 'keep':
        if src_dtype not in TORCH_TO_ST:
            raise ConvertError(f'source dtype {src_dtype} cannot be kept; pass --dtype')
        return TORCH_TO_ST[src_dtype]
    return _CHOICE_TO_ST[choice]


def _list(names, n=6):
    names = sorted(names)
    more = f' (and {len(names) - n} more)' if len(names) > n else ''
    return ', '.join(names[:n]) + more


def check_shapes(path, got, want, hint=''):
    """got, want: {name: shape tuple}. Refuses unknown names, missing names, wrong shapes."""
    unknown = set(got) - set(want)
    missing = set(want) - set(got)
    if unknown:
        raise ConvertError(f'{path}: unexpected tensor(s) {_list(unknown)}{hint}')
    if missing:
        raise ConvertError(f'{path}: missing tensor(s) {_list(missing)}{hint}')
    for name in sorted(want):
        if tuple(got[name]) != tuple(want[name]):
            raise ConvertError(f'{path}: tensor {name} has shape {list(got[name])}, expected '
                               f'{list(want[name])}{hint}')


class Entry:
    """One output tensor: name (without the part's prefix), shape, safetensors dtype, and a
    producer called when the tensor is written: make() returns a torch tensor (converted to
    dtype on the way out), or, for byte-exact copies, source = (path, offset, nbytes)."""

    def __init__(self, name, shape, dtype, make=None, source=None):
        assert (make is None) != (source is None)
        self.name, self.shape, self.dtype = name, tuple(shape), dtype
        self.make, self.source = make, source

    @property
    def nbytes(self):
        n = 1
        for s in self.shape:
            n *= s
        return n * (4 if self.dtype == 'F32' else 2)


class Part:
    """What one converter contributes: entries (unprefixed names), its config object, and
    notes printed for the user (values taken from source code rather than the file, etc.)."""

    def __init__(self, entries, config, notes=()):
        self.entries, self.config, self.notes = list(entries), dict(config), list(notes)

    @property
    def nbytes(self):
        return sum(e.nbytes for e in self.entries)


def tensor_entry(name, t, dtype, fn=None):
    """An entry for tensor t (optionally transformed by fn when written)."""
    return Entry(name, t.shape, dtype, make=(lambda: fn(t)) if fn else (lambda: t))


def _write_tensor(f, e):
    t = e.make()
    if tuple(t.shape) != e.shape:
        raise ConvertError(f'{e.name}: produced shape {list(t.shape)}, planned {list(e.shape)}')
    t = t.detach().to(ST_DTYPES[e.dtype]).contiguous().reshape(-1)
    f.write(memoryview(t.view(torch.uint8).numpy()))


def _copy_bytes(f, e, chunk=64 << 20):
    path, offset, n = e.source
    with open(path, 'rb') as src:
        src.seek(offset)
        while n:
            b = src.read(min(chunk, n))
            if not b:
                raise ConvertError(f'{path}: file ends inside tensor {e.name}')
            f.write(b)
            n -= len(b)


def write_safetensors(out, named_entries, metadata, progress=None):
    """named_entries: [(full name, Entry)] in file order. Header from the plan, then the data
    one tensor at a time, into out + '.tmp', renamed to out when complete. Returns the size.
    progress(bytes_written, total), if given, is called after each tensor."""
    names = [n for n, _ in named_entries]
    if len(set(names)) != len(names):
        raise ConvertError('two tensors share a name: ' +
                           _list({n for n in names if names.count(n) > 1}))
    header, offset = {'__metadata__': {k: str(v) for k, v in metadata.items()}}, 0
    for name, e in named_entries:
        header[name] = {'dtype': e.dtype, 'shape': list(e.shape),
                        'data_offsets': [offset, offset + e.nbytes]}
        offset += e.nbytes
    head = json.dumps(header, separators=(',', ':')).encode()
    head += b' ' * (-len(head) % 8)  # the data section starts 8-byte aligned
    total = 8 + len(head) + offset
    tmp = out + '.tmp'
    try:
        with open(tmp, 'wb') as f:
            f.write(struct.pack('<Q', len(head)) + head)
            for _, e in named_entries:
                start = f.tell()
                if e.source is not None:
                    _copy_bytes(f, e)
                else:
                    _write_tensor(f, e)
                if f.tell() - start != e.nbytes:
                    raise ConvertError(f'{e.name}: wrote {f.tell() - start} bytes, expected '
                                       f'{e.nbytes}')
                if progress:
                    progress(f.tell(), total)
            f.flush()
            os.fsync(f.fileno())
            if f.tell() != total:
                raise ConvertError(f'{tmp}: wrote {f.tell()} bytes, expected {total}')
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return total


def write_part(part, out, prefix, metadata):
    """One part alone to a safetensors file, its config in the metadata."""
    meta = dict(metadata, config=json.dumps(part.config, sort_keys=True), prefix=prefix)
    return write_safetensors(out, [(prefix + e.name, e) for e in part.entries], meta)


def write_config_out(path, key, config):
    with open(path, 'w') as f:
        json.dump({key: config}, f, indent=2, sort_keys=True)
        f.write('\n')


def checkpoint_order(name):
    """Sort key for tensor names: dot-separated parts, numbers numerically
    (blocks.2 before blocks.10)."""
    return [(0, int(t), '') if t.isdigit() else (1, 0, t) for t in name.split('.')]


def part_parser(doc, section, src_help):
    """The arguments every part converter takes: src, out, --prefix, --config-out; the
    module docstring's first paragraph is the description, the rest the epilog."""
    desc, _, rest = doc.partition('\n\n')
    ap = argparse.ArgumentParser(description=desc, epilog=rest,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('src', help=src_help)
    ap.add_argument('out', help='safetensors file to write')
    ap.add_argument('--prefix', default=section + '.', help='prefix of every tensor name '
                    f'(default "{section}."; "" for none)')
    ap.add_argument('--config-out', help=f'also write {{"{section}": {{...sizes}}}} to this JSON')
    return ap


def convert_part(tool, section, args, make_part):
    """The command-line end of a part converter: make_part() plans the part, which is written
    to args.out under args.prefix (and its config to args.config_out, when given); notes and a
    summary on stdout, a ConvertError as one line on stderr. Returns the exit status."""
    try:
        part = make_part()
        nbytes = write_part(part, args.out, args.prefix,
                            {'converter': f'tools/{tool}.py', 'format': 'pt',
                             'source': os.path.basename(args.src)})
        if args.config_out:
            write_config_out(args.config_out, section, part.config)
    except ConvertError as e:
        print(f'{tool}: {e}', file=sys.stderr)
        return 1
    for n in part.notes:
        print(f'note: {n}')
    print(f'wrote {args.out} ({nbytes / 1e9:.2f} GB, prefix "{args.prefix}"): '
          f'{json.dumps(part.config, sort_keys=True)}')
    return 0


def parse_ints(text, what):
    try:
        v = [int(x) for x in text.split(',') if x.strip()]
    except ValueError:
        raise ConvertError(f'{what}: expected comma-separated integers, got {text!r}') from None
    if not v:
        raise ConvertError(f'{what}: empty')
    return v
