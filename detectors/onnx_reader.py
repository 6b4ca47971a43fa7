"""Read the float tensors and the node list of an ONNX model without the `onnx` package.

An ONNX file is one protobuf message (`ModelProto`, onnx/onnx.proto). This module decodes the protobuf
wire format for the few fields a weight conversion needs and skips every other field:

    ModelProto.graph (7) -> GraphProto.node (1), GraphProto.initializer (5)
    NodeProto: input (1), output (2), name (3), op_type (4)
    TensorProto: dims (1), data_type (2), float_data (4), name (8), raw_data (9), data_location (14)

Only float32 tensors stored inside the file are decoded (data_type 1, raw little-endian bytes or
`float_data`); other tensors are listed in `OnnxGraph.skipped` by name. No code in the file is run.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, Iterator, List, Tuple

import numpy as np

_VARINT, _FIXED64, _BYTES, _FIXED32 = 0, 1, 2, 5
_FLOAT = 1  # TensorProto.DataType.FLOAT
_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


@dataclass(frozen=True)
class OnnxNode:
    """One graph node: operator type, node name (the exporter's module scope) and tensor names."""

    op_type: str
    name: str
    inputs: Tuple[str, ...]
    outputs: Tuple[str, ...]


@dataclass
class OnnxGraph:
    """The decoded part of a model.

    Attributes:
        nodes: in the file's (topological) order.
        initializers: name -> float32 array of the tensor's shape.
        skipped: names of initializers that are not float32 or are stored outside the file.
    """

    nodes: List[OnnxNode] = field(default_factory=list)
    initializers: Dict[str, np.ndarray] = field(default_factory=dict)
    skipped: List[str] = field(default_factory=list)


def _varint(buf: memoryview, pos: int) -> Tuple[int, int]:
    value, shift = 0, 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated protobuf varint")
        byte = buf[pos]
        pos += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, pos
        shift += 7


def _fields(buf: memoryview) -> Iterator[Tuple[int, int, "int | memoryview"]]:
    """(field number, wire type, value) for each field of one message: an int for varints and fixed-size
    fields, the bytes for length-delimited ones."""
    pos = 0
    while pos < len(buf):
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _BYTES:
            size, pos = _varint(buf, pos)
            if pos + size > len(buf):
                raise ValueError("truncated protobuf field")
            value, pos = buf[pos:pos + size], pos + size
        elif wire == _FIXED32:
            value, pos = int.from_bytes(buf[pos:pos + 4], "little"), pos + 4
        elif wire == _FIXED64:
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _packed_varints(value: "int | memoryview") -> List[int]:
    """A repeated int64 field: one unpacked varint, or a packed run of them."""
    if isinstance(value, int):
        return [value]
    out, pos = [], 0
    while pos < len(value):
        number, pos = _varint(value, pos)
        out.append(number)
    return out


def _node(buf: memoryview) -> OnnxNode:
    parts: Dict[int, list] = {1: [], 2: [], 3: [""], 4: [""]}
    for number, _, value in _fields(buf):
        if number in (1, 2):
            parts[number].append(bytes(value).decode())
        elif number in (3, 4):
            parts[number] = [bytes(value).decode()]
    return OnnxNode(op_type=parts[4][0], name=parts[3][0], inputs=tuple(parts[1]), outputs=tuple(parts[2]))


def _tensor(buf: memoryview) -> Tuple[str, "np.ndarray | None"]:
    """(name, float32 array) of a TensorProto, or (name, None) when it is not an in-file float32 tensor."""
    name, dims, data_type, raw, floats, external = "", [], 0, None, [], False
    for number, wire, value in _fields(buf):
        if number == 1:
            dims += _packed_varints(value)
        elif number == 2:
            data_type = value
        elif number == 4 and wire == _BYTES:
            if len(value) % 4:
                raise ValueError(f"ONNX tensor float_data of {len(value)} bytes")
            floats += struct.unpack(f"<{len(value) // 4}f", value)
        elif number == 4 and wire == _FIXED32:
            floats.append(struct.unpack("<f", value.to_bytes(4, "little"))[0])
        elif number == 8:
            name = bytes(value).decode()
        elif number == 9:
            raw = bytes(value)
        elif number == 14:
            external = value == _EXTERNAL
    if data_type != _FLOAT or external:
        return name, None
    array = np.frombuffer(raw, dtype="<f4") if raw is not None else np.asarray(floats, dtype=np.float32)
    if array.size != int(np.prod(dims)):
        raise ValueError(f"ONNX tensor {name!r}: {array.size} values for shape {dims}")
    return name, array.astype(np.float32).reshape(dims)


def read_onnx(model: bytes) -> OnnxGraph:
    """Decode the nodes and float32 initializers of a serialised ONNX model.

    Args:
        model: the bytes of an .onnx file.

    Raises:
        ValueError: the bytes are not a protobuf message holding an ONNX graph.
    """
    graph_bytes = [value for number, wire, value in _fields(memoryview(model)) if number == 7 and wire == _BYTES]
    if not graph_bytes:
        raise ValueError("not an ONNX model: no graph")
    graph = OnnxGraph()
    for number, wire, value in _fields(graph_bytes[-1]):
        if number == 1 and wire == _BYTES:
            graph.nodes.append(_node(value))
        elif number == 5 and wire == _BYTES:
            name, array = _tensor(value)
            if array is None:
                graph.skipped.append(name)
            else:
                graph.initializers[name] = array
    return graph
