"""Start a training run from a shipped ONNX model instead of a training checkpoint.

A shipped model's run folder (its ``.pt`` checkpoints) rarely survives the machine that
trained it; ``weights/NAME.onnx`` always does. The ONNX export folds every batch norm that
follows a convolution into that convolution (``W' = W * g / sqrt(v + eps)``, ``b' = b + (beta
- m * g / sqrt(v + eps))``) and renames the folded weights, so the file's initializers do not
load as a state dict. :func:`load_onnx_weights` maps them back:

- the ONNX ``Conv`` nodes, in graph order, pair with the torch ``nn.Conv2d`` modules in the
  order a forward pass calls them (shapes checked pairwise);
- a convolution that the forward pass follows directly with an ``nn.BatchNorm2d`` of its width
  gets the folded weight, and the batch norm becomes the identity plus the folded bias
  (``running_mean`` 0, ``running_var`` 1, ``weight`` ``sqrt(1 + eps)``, ``bias`` ``b'``), which
  computes exactly the export's function while the norm stays in eval mode (as the ImageNet
  encoders' do: :class:`~portraitcli.train.common.networks.MobileNetUNet`);
- every other parameter and buffer is looked up by its state-dict name among the
  initializers (the exporter keeps those names);
- an ONNX ``Conv`` whose kernel is not an initializer but computed in the graph (a fixed
  ``F.conv2d`` kernel, such as the Haar DWT's of the draw generator) has no ``nn.Conv2d``
  and no weights to load: it is left out of the pairing.

The import checks itself: the torch module and ONNX Runtime run the same example and the
largest absolute difference is returned (and refused above ``tol``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from torch import nn

from portraitcli.errors import UsageError
from portraitcli.train.common.checkpoint import load_checkpoint


def _forward_calls(
    module: nn.Module, example: torch.Tensor
) -> tuple[list[tuple[nn.Conv2d, nn.BatchNorm2d | None]], set[int]]:
    """The module's ``Conv2d`` calls in forward order, each with the ``BatchNorm2d`` called right
    after it (or None), and the ids of every submodule the forward pass calls."""
    calls: list[nn.Module] = []
    hooks = [m.register_forward_hook(lambda m, i, o: calls.append(m)) for m in module.modules()]
    try:
        with torch.no_grad():
            module(example)
    finally:
        for h in hooks:
            h.remove()
    layers = [m for m in calls if isinstance(m, (nn.Conv2d, nn.BatchNorm2d))]
    if len({id(m) for m in layers}) != len(layers):
        raise UsageError("a convolution or batch norm runs twice in one forward pass; the ONNX import cannot pair it")
    order: list[tuple[nn.Conv2d, nn.BatchNorm2d | None]] = []
    for i, m in enumerate(layers):
        if isinstance(m, nn.Conv2d):
            nxt = layers[i + 1] if i + 1 < len(layers) else None
            bn = nxt if isinstance(nxt, nn.BatchNorm2d) and nxt.num_features == m.out_channels else None
            order.append((m, bn))
    return order, {id(m) for m in calls}


def load_onnx_weights(module: nn.Module, onnx_path: Path, example: torch.Tensor, tol: float = 1e-3) -> float:
    """Load the weights of an ONNX export of ``module``'s architecture into ``module`` (in place).

    Args:
        module: the untrained network, built with the configuration the ONNX file was
            trained with; it is put in eval mode.
        onnx_path: a model exported by ``portrait train`` (``torch.onnx.export``), e.g.
            ``weights/sketch-v5.onnx``.
        example: (N, C, H, W) float32 input the network accepts; used to order the
            convolutions and to check the result.
        tol: the largest absolute output difference accepted between the torch module and
            ONNX Runtime on ``example`` (outputs in [-1, 1]).

    Returns:
        The largest absolute difference between the two outputs.

    Raises:
        UsageError: the file is not an export of this architecture (different number or
            shapes of convolutions, a parameter missing, or outputs that differ by more
            than ``tol``).
    """
    import onnx
    import onnxruntime as ort
    from onnx import numpy_helper

    model = onnx.load(str(onnx_path))
    inits = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv" and n.input[1] in inits]  # learned kernels only
    module.eval()
    order, called = _forward_calls(module, example)
    if len(convs) != len(order):
        raise UsageError(f"{onnx_path}: {len(convs)} convolutions, the network has {len(order)}; not an export of it")
    done: set[str] = set()
    buffers = {n for n, _ in module.named_buffers()}
    names = {id(p): n for n, p in module.named_parameters()} | {id(b): n for n, b in module.named_buffers()}
    with torch.no_grad():
        for node, (conv, bn) in zip(convs, order, strict=True):
            weight = torch.from_numpy(inits[node.input[1]].copy())
            bias = torch.from_numpy(inits[node.input[2]].copy()) if len(node.input) > 2 and node.input[2] else None
            if tuple(weight.shape) != tuple(conv.weight.shape):
                raise UsageError(
                    f"{onnx_path}: convolution {node.name} has weights {tuple(weight.shape)}, "
                    f"the network's {names[id(conv.weight)]} {tuple(conv.weight.shape)}"
                )
            conv.weight.copy_(weight)
            done.add(names[id(conv.weight)])
            target = bn.bias if bn is not None else conv.bias
            if bn is not None:
                bn.running_mean.zero_()
                bn.running_var.fill_(1.0)
                bn.weight.fill_(float(np.sqrt(1.0 + bn.eps)))
                done.update(names[id(t)] for t in (bn.weight, bn.running_mean, bn.running_var))
                if conv.bias is not None:
                    conv.bias.zero_()
                    done.add(names[id(conv.bias)])
            if target is None:
                if bias is not None and bool(bias.abs().max() > 0):
                    raise UsageError(f"{onnx_path}: convolution {node.name} has a bias the network's lacks")
                continue
            target.copy_(bias if bias is not None else torch.zeros_like(target))
            done.add(names[id(target)])
        for name, tensor in module.state_dict(keep_vars=True).items():
            if name in done or name.endswith("num_batches_tracked"):
                continue
            if name in inits and tuple(inits[name].shape) == tuple(tensor.shape):
                tensor.copy_(torch.from_numpy(inits[name].copy()))
            elif name not in buffers and id(module.get_submodule(name.rpartition(".")[0])) in called:
                raise UsageError(f"{onnx_path}: no weight for the network's {name} {tuple(tensor.shape)}")
        ours = module(example).numpy()
    session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    theirs = session.run(None, {session.get_inputs()[0].name: example.numpy()})[0]
    if ours.shape != theirs.shape:
        raise UsageError(f"{onnx_path}: output {theirs.shape}, the network's {ours.shape}")
    diff = float(np.abs(ours - theirs).max())
    if diff > tol:
        raise UsageError(f"{onnx_path}: the imported network differs from the file by {diff:.2g} (> {tol:g})")
    return diff


def load_init(path: Path, nets: dict[str, nn.Module], in_channels: int = 3) -> None:
    """Start a run's networks from ``init``: a training checkpoint (``RUN/checkpoints/epoch-N.pt``:
    every network of ``nets`` it holds) or a shipped ONNX model (``weights/NAME.onnx``: ``G`` only,
    :func:`load_onnx_weights`; the discriminators start untrained).

    Args:
        in_channels: G's input channels (3 for a photo; more with conditioning planes).

    Raises:
        UsageError: the ONNX file is not an export of G's architecture.
        KeyError: the checkpoint lacks one of ``nets``.
    """
    if path.suffix != ".onnx":
        load_checkpoint(path, nets)
        return
    g = torch.Generator().manual_seed(0)
    example = torch.rand(1, in_channels, 96, 64, generator=g) * 2 - 1
    load_onnx_weights(nets["G"], path, example)
    nets["G"].train()
