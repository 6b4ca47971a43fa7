"""The PyramidBox network (Tang et al., ECCV 2018) in the layout of the public PyTorch checkpoints.

Dimensions: N images per batch, P priors of one image (all six levels, level by level, row-major over
each feature map), C = 2 classes (background, face) or (background, head).

Module names and shapes match the public `pyramidbox.pth` (281 tensors, 57.2 M parameters; see
`../shared/specs/pyramidbox/state_dict.tsv`), so such a file loads with `strict=True`: VGG16 + fc6/fc7
as the flat list `vgg`, `extras`, the low-level feature pyramid (`lfpn_topdown`, `lfpn_later`), three
`L2Norm*` layers, six context-sensitive prediction modules `cpm` and the heads `loc_layers`,
`conf_layers` (face and head branches; the body branch of the paper is absent from that layout).

Under fp16 autocast ("mixed" precision) the LFPN (its 1x1 convolutions, the fusions and the L2Norm layers
after them) and the heads still run in fp32: a fusion multiplies two un-normalised activations, and its
product (2e5-4e9 with the conformance weights) and the next top-down convolution of it (up to 1e7) overflow
fp16 (max 65504); in pure fp16 that turned 5,880 of 5,982 face logits into NaN.
"""
from __future__ import annotations

from typing import List, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from facebench.detectors.precision import float32
from facebench.detectors.pyramidbox.priors import prior_boxes

# VGG16 conv channels; "M" = 2x2/stride-2 max-pool (floor mode). fc6/fc7 follow as convolutions.
_VGG_CFG = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M")
# Output of `vgg[i]` used as conv3_3, conv4_3, conv5_3 (after their ReLU); fc7 = the last layer.
_CONV3_3, _CONV4_3, _CONV5_3 = 15, 22, 29
_CPM_IN = (256, 512, 512, 1024, 512, 256)  # lfpn conv3, lfpn conv4, lfpn conv5, fc7, conv6_2, conv7_2
_HEAD_IN = 512  # every CPM outputs 256 + 128 + 128 channels


class L2Norm(nn.Module):
    """Channel-wise L2 normalisation with a learned per-channel scale (ParseNet), as in SSD/S3FD.

    Args:
        channels: number of input channels.
        scale: initial value of every per-channel weight.
    """

    def __init__(self, channels: int, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.full((channels,), float(scale)))
        self.eps = 1e-10

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (Tensor[N, C, H, W]) -> same shape: x / ||x||_2 over C, times weight."""
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return x / norm * self.weight.view(1, -1, 1, 1)


class ConvBN(nn.Module):
    """Conv2d (with bias) followed by BatchNorm2d; submodules named `conv1` and `bn1` as in the checkpoint."""

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2)
        self.bn1 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn1(self.conv1(x))


class CPM(nn.Module):
    """Context-sensitive prediction module: a residual block, then SSH-style context branches.

    Args:
        in_channels: channels of the feature map it is applied to.

    Input Tensor[N, in_channels, H, W] -> Tensor[N, 512, H, W] (256 + 128 + 128 context channels, ReLU).
    """

    def __init__(self, in_channels: int):
        super().__init__()
        self.branch1 = ConvBN(in_channels, 1024, 1)
        self.branch2a = ConvBN(in_channels, 256, 1)
        self.branch2b = ConvBN(256, 256, 3)
        self.branch2c = ConvBN(256, 1024, 1)
        self.ssh_1 = nn.Conv2d(1024, 256, 3, padding=1)
        self.ssh_dimred = nn.Conv2d(1024, 128, 3, padding=1)
        self.ssh_2 = nn.Conv2d(128, 128, 3, padding=1)
        self.ssh_3a = nn.Conv2d(128, 128, 3, padding=1)
        self.ssh_3b = nn.Conv2d(128, 128, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        residual = self.branch1(x)
        x = F.relu(self.branch2a(x))
        x = F.relu(self.branch2b(x))
        x = F.relu(self.branch2c(x) + residual)
        reduced = F.relu(self.ssh_dimred(x))
        context = self.ssh_3b(F.relu(self.ssh_3a(reduced)))
        return F.relu(torch.cat((self.ssh_1(x), self.ssh_2(reduced), context), dim=1))


def _vgg_layers() -> List[nn.Module]:
    layers: List[nn.Module] = []
    in_channels = 3
    for v in _VGG_CFG:
        if v == "M":
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            layers += [nn.Conv2d(in_channels, v, 3, padding=1), nn.ReLU(inplace=True)]
            in_channels = v
    layers += [nn.Conv2d(512, 1024, 3, padding=6, dilation=6), nn.ReLU(inplace=True),
               nn.Conv2d(1024, 1024, 1), nn.ReLU(inplace=True)]
    return layers


def _upsample_product(top: torch.Tensor, lateral: torch.Tensor) -> torch.Tensor:
    """LFPN fusion: bilinear upsampling of `top` to the lateral map's size, times the lateral map, ReLU."""
    up = F.interpolate(top, size=lateral.shape[2:], mode="bilinear", align_corners=False)
    return F.relu(up * lateral)


def _flatten(t: torch.Tensor, k: int) -> torch.Tensor:
    """Tensor[N, k, H, W] -> Tensor[N, H*W, k] (row-major over the map)."""
    return t.permute(0, 2, 3, 1).reshape(t.shape[0], -1, k)


class PyramidBoxNet(nn.Module):
    """PyramidBox with face and head branches.

    `forward(x)` and `forward_raw(x)` are the same (train and eval mode return the same type):

    Args:
        x (Tensor[N, 3, H, W]): float RGB in 0..255 minus the mean (R 123, G 117, B 104), any H, W >= 1.

    Returns:
        face_loc (Tensor[N, P, 4]): (dx, dy, dw, dh) offsets from the priors (variances 0.1, 0.2).
        face_conf (Tensor[N, P, 2]): logits (background, face), max-in-out already applied.
        head_loc (Tensor[N, P, 4]): head-box offsets from the same priors.
        head_conf (Tensor[N, P, 2]): logits (background, head).
        priors (Tensor[P, 4]): (cx, cy, w, h) normalised by the input width/height.
    """

    def __init__(self):
        super().__init__()
        self.vgg = nn.ModuleList(_vgg_layers())
        self.extras = nn.ModuleList([nn.Conv2d(1024, 256, 1), nn.Conv2d(256, 512, 3, stride=2, padding=1),
                                     nn.Conv2d(512, 128, 1), nn.Conv2d(128, 256, 3, stride=2, padding=1)])
        self.L2Norm3_3 = L2Norm(256, 10.0)
        self.L2Norm4_3 = L2Norm(512, 8.0)
        self.L2Norm5_3 = L2Norm(512, 5.0)
        self.lfpn_topdown = nn.ModuleList([nn.Conv2d(1024, 512, 1), nn.Conv2d(512, 512, 1), nn.Conv2d(512, 256, 1)])
        self.lfpn_later = nn.ModuleList([nn.Conv2d(512, 512, 1), nn.Conv2d(512, 512, 1), nn.Conv2d(256, 256, 1)])
        self.cpm = nn.ModuleList([CPM(c) for c in _CPM_IN])
        self.loc_layers = nn.ModuleList([nn.Conv2d(_HEAD_IN, 8, 3, padding=1) for _ in range(6)])
        self.conf_layers = nn.ModuleList([nn.Conv2d(_HEAD_IN, 8 if i == 0 else 6, 3, padding=1) for i in range(6)])

    def features(self, x: torch.Tensor) -> List[torch.Tensor]:
        """The six CPM outputs, Tensor[N, 512, H_l, W_l] at strides 4, 8, 16, 32, 64, 128."""
        taps = {}
        for i, layer in enumerate(self.vgg):
            x = layer(x)
            if i in (_CONV3_3, _CONV4_3, _CONV5_3):
                taps[i] = x
        fc7 = x
        conv6_2 = F.relu(self.extras[1](F.relu(self.extras[0](fc7))))
        conv7_2 = F.relu(self.extras[3](F.relu(self.extras[2](conv6_2))))
        with float32(x.device):  # the LFPN in fp32 under autocast (see the module docstring)
            normalised = self._lfpn(fc7.float(), taps[_CONV5_3].float(), taps[_CONV4_3].float(),
                                    taps[_CONV3_3].float())
        sources = (*normalised, fc7, conv6_2, conv7_2)
        return [cpm(s) for cpm, s in zip(self.cpm, sources)]

    def _lfpn(self, fc7: torch.Tensor, conv5_3: torch.Tensor, conv4_3: torch.Tensor,
              conv3_3: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Low-level feature pyramid, top-down from fc7 -> L2-normalised fused maps at strides 4, 8, 16."""
        lfpn5 = _upsample_product(F.relu(self.lfpn_topdown[0](fc7)), self.lfpn_later[0](conv5_3))
        lfpn4 = _upsample_product(F.relu(self.lfpn_topdown[1](lfpn5)), self.lfpn_later[1](conv4_3))
        lfpn3 = _upsample_product(F.relu(self.lfpn_topdown[2](lfpn4)), self.lfpn_later[2](conv3_3))
        return self.L2Norm3_3(lfpn3), self.L2Norm4_3(lfpn4), self.L2Norm5_3(lfpn5)

    def forward_raw(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """See the class docstring."""
        feats = self.features(x)
        face_loc, face_conf, head_loc, head_conf = [], [], [], []
        for level, feat in enumerate(feats):
            with float32(feat.device):  # the heads in fp32 under autocast (see the module docstring)
                loc = self.loc_layers[level](feat.float())
                conf = self.conf_layers[level](feat.float())
            face_loc.append(_flatten(loc[:, :4], 4))
            head_loc.append(_flatten(loc[:, 4:], 4))
            if level == 0:  # [3 background, face, 3 head-background, head]: max-in-out on background
                face = torch.cat((conf[:, 0:3].amax(1, keepdim=True), conf[:, 3:4]), 1)
                head = torch.cat((conf[:, 4:7].amax(1, keepdim=True), conf[:, 7:8]), 1)
            else:  # [background, 3 face, head-background, head]: max-in-out on face
                face = torch.cat((conf[:, 0:1], conf[:, 1:4].amax(1, keepdim=True)), 1)
                head = conf[:, 4:6]
            face_conf.append(_flatten(face, 2))
            head_conf.append(_flatten(head, 2))
        sizes = [tuple(f.shape[2:]) for f in feats]
        priors = prior_boxes(sizes, x.shape[2], x.shape[3], device=x.device)
        return (torch.cat(face_loc, 1), torch.cat(face_conf, 1), torch.cat(head_loc, 1),
                torch.cat(head_conf, 1), priors)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        return self.forward_raw(x)


def pyramidbox_net() -> PyramidBoxNet:
    """A PyramidBox network with PyTorch's default initialisation, in eval mode."""
    return PyramidBoxNet().eval()
