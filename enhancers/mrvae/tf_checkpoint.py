"""Read a TensorFlow checkpoint (V2 "tensor bundle", what `tf.train.Saver` writes in TF 1.x and 2.x)
without TensorFlow.

Files of a checkpoint PREFIX (e.g. `train/1200.ckpt`):
    PREFIX.index                    a LevelDB-format table: tensor name -> BundleEntryProto (protobuf)
    PREFIX.data-SSSSS-of-NNNNN      raw little-endian tensor bytes, one file per shard

The table: the last 48 bytes are the footer (metaindex and index block handles as varint64 pairs,
zero padding, magic 0xdb4775248b80fb57). Each block holds prefix-compressed entries (varint32 shared /
unshared key bytes / value length, key suffix, value), then uint32 restart offsets and their count, and
is followed on disk by a 5-byte trailer (compression byte, checksum). The index block maps the last key
of each data block to that block's handle. Key "" holds the BundleHeaderProto (num_shards,
endianness); every other key is a tensor: BundleEntryProto fields 1 dtype, 2 shape, 3 shard_id,
4 offset, 5 size, 7 slices (partitioned variables; unsupported here).

Why not TensorFlow: it is a ~600 MB install that facebench needs for nothing else, and this format is
small and stable. Checksums are not verified (sizes are); snappy-compressed tables (TF never writes
them for bundles) are refused with a clear error. The reader is tested against a checkpoint written by
TensorFlow 2.21's compat.v1 Saver (tests/test_mrvae_data/).
"""
from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path, PureWindowsPath
from typing import Dict, Iterable, Iterator, List, Tuple

import numpy as np

from facebench.checkpoint import CheckpointError

_MAGIC = 0xDB4775248B80FB57
_FOOTER = 48
# TF DataType enum -> little-endian numpy dtype (the numeric types a model checkpoint holds)
_DTYPES = {1: "<f4", 2: "<f8", 3: "<i4", 4: "u1", 5: "<i2", 6: "i1", 9: "<i8", 10: "?", 17: "<u2", 19: "<f2",
           22: "<u4", 23: "<u8"}
_EXPECTED = ("expected a TensorFlow checkpoint PREFIX with PREFIX.index and PREFIX.data-00000-of-00001 "
             "(or the .index file, or a folder holding a `checkpoint` file)")


@dataclass(frozen=True)
class TensorEntry:
    """Where one tensor is. dtype: TF DataType code; shape: dims; shard, offset, size: bytes in a data file."""

    dtype: int
    shape: Tuple[int, ...]
    shard: int
    offset: int
    size: int


def _varint(data: bytes, pos: int) -> Tuple[int, int]:
    """(value, next position) of the unsigned LEB128 varint at `pos`."""
    value = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _proto_fields(data: bytes) -> Dict[int, List]:
    """Decode a protobuf message shallowly: field number -> values (ints, or bytes for length-delimited)."""
    fields: Dict[int, List] = {}
    pos = 0
    while pos < len(data):
        tag, pos = _varint(data, pos)
        number, wire = tag >> 3, tag & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 1:
            value, pos = struct.unpack_from("<Q", data, pos)[0], pos + 8
        elif wire == 2:
            length, pos = _varint(data, pos)
            value, pos = data[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = struct.unpack_from("<I", data, pos)[0], pos + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        fields.setdefault(number, []).append(value)
    return fields


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


def _entry(name: str, data: bytes) -> TensorEntry:
    fields = _proto_fields(data)
    if 7 in fields:
        raise ValueError(f"tensor {name!r} is saved in slices (a partitioned variable); not supported")
    shape_fields = _proto_fields(fields.get(2, [b""])[0])
    dims = tuple(_signed(_proto_fields(dim).get(1, [0])[0]) for dim in shape_fields.get(2, []))
    dtype, shard, offset, size = (fields.get(k, [0])[0] for k in (1, 3, 4, 5))  # proto3 default: 0
    return TensorEntry(dtype, dims, shard, offset, size)


def _block(table: bytes, handle: bytes) -> bytes:
    """The contents of the block a varint64 (offset, size) handle points at; refuses compressed blocks."""
    offset, pos = _varint(handle, 0)
    size, _ = _varint(handle, pos)
    if offset + size + 5 > len(table):
        raise ValueError("block handle points past the end of the index file")
    if table[offset + size] != 0:
        raise ValueError(f"compressed table block (type {table[offset + size]}); only uncompressed tables are read")
    return table[offset:offset + size]


def _block_entries(block: bytes) -> Iterator[Tuple[bytes, bytes]]:
    """(key, value) pairs of a table block, in order."""
    restarts = struct.unpack_from("<I", block, len(block) - 4)[0]
    end, pos, key = len(block) - 4 * (restarts + 1), 0, b""
    while pos < end:
        shared, pos = _varint(block, pos)
        unshared, pos = _varint(block, pos)
        length, pos = _varint(block, pos)
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        yield key, block[pos:pos + length]
        pos += length


def _table_entries(table: bytes) -> Iterator[Tuple[bytes, bytes]]:
    if len(table) < _FOOTER or struct.unpack_from("<Q", table, len(table) - 8)[0] != _MAGIC:
        raise ValueError("not a TensorFlow table (bad footer magic)")
    footer = table[-_FOOTER:]
    _, pos = _varint(footer, 0)  # metaindex handle: offset
    _, pos = _varint(footer, pos)  # metaindex handle: size
    for _, handle in _block_entries(_block(table, footer[pos:])):
        yield from _block_entries(_block(table, handle))


def resolve_prefix(path: "str | Path") -> Path:
    """The checkpoint PREFIX for a prefix, its .index / .data-* file, or a folder with a `checkpoint` file
    (its `model_checkpoint_path`, taken beside the file when the recorded path does not exist here)."""
    path = Path(path).expanduser()
    if path.is_dir():
        state = path / "checkpoint"
        match = re.search(r'^model_checkpoint_path:\s*"(.*)"', state.read_text(), re.M) if state.is_file() else None
        if match is None:
            raise CheckpointError(f"{path}: folder without a `checkpoint` file naming the latest checkpoint; {_EXPECTED}")
        recorded = Path(match.group(1))
        path = recorded if recorded.is_absolute() and Path(f"{recorded}.index").is_file() \
            else path / PureWindowsPath(match.group(1)).name
    path = Path(re.sub(r"\.(index|data-\d{5}-of-\d{5})$", "", str(path)))
    if not Path(f"{path}.index").is_file():
        raise CheckpointError(f"{path}: no {path.name}.index; {_EXPECTED}")
    return path


def list_tensors(prefix: "str | Path") -> Tuple[Dict[str, TensorEntry], int]:
    """({tensor name: TensorEntry}, number of data shards) of a checkpoint PREFIX.

    Raises:
        CheckpointError: missing or malformed index (the message names the file).
    """
    prefix = resolve_prefix(prefix)
    index = Path(f"{prefix}.index")
    entries, shards = {}, 1
    try:
        for key, value in _table_entries(index.read_bytes()):
            if key == b"":
                header = _proto_fields(value)
                shards = header.get(1, [1])[0]
                if header.get(2, [0])[0] != 0:
                    raise ValueError("big-endian checkpoint; only little-endian is supported")
                continue
            name = key.decode("utf-8")
            entries[name] = _entry(name, value)
    except (ValueError, IndexError, struct.error, UnicodeDecodeError) as exc:
        raise CheckpointError(f"{index}: unreadable TensorFlow checkpoint index ({exc})") from None
    return entries, shards


def read_tensors(prefix: "str | Path", names: Iterable[str]) -> Dict[str, np.ndarray]:
    """The tensors `names` of a checkpoint PREFIX as numpy arrays (their TF dtype and shape).

    Raises:
        CheckpointError: a name that is not in the checkpoint, an unsupported dtype, or a data file that is
            missing or too short (the message names the file).
    """
    prefix = resolve_prefix(prefix)
    entries, shards = list_tensors(prefix)
    out = {}
    for name in names:
        if name not in entries:
            raise CheckpointError(f"{prefix}.index: no tensor {name!r} in the checkpoint")
        entry = entries[name]
        if entry.dtype not in _DTYPES:
            raise CheckpointError(f"{prefix}.index: tensor {name!r} has TF dtype {entry.dtype}, not a numeric type read here")
        dtype = np.dtype(_DTYPES[entry.dtype])
        count = int(np.prod(entry.shape, dtype=np.int64))
        data_file = Path(f"{prefix}.data-{entry.shard:05d}-of-{shards:05d}")
        if count * dtype.itemsize != entry.size:
            raise CheckpointError(f"{data_file}: tensor {name!r} has {entry.size} bytes, expected {count * dtype.itemsize}")
        try:
            with open(data_file, "rb") as f:
                f.seek(entry.offset)
                raw = f.read(entry.size)
        except OSError as exc:
            raise CheckpointError(f"{data_file}: cannot read checkpoint data ({exc.strerror})") from None
        if len(raw) != entry.size:
            raise CheckpointError(f"{data_file}: file ends inside tensor {name!r} (truncated checkpoint)")
        out[name] = np.frombuffer(raw, dtype=dtype).reshape(entry.shape).copy()
    return out
