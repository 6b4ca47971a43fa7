"""The face detector's own training loss on labelled crops (`--w-face-boxes`, opt-in, beyond the paper).

RetinaFace's multibox loss (Deng et al. 2020, as trained by biubug6/Pytorch_Retinaface, without the landmark
term) on MLSM's output, with the shipped detector frozen: the gradient reaches only the enhancer. It is the
SSD multibox loss facebench already has for PyramidBox (`facebench.detectors.pyramidbox.loss`: an anchor is a
face when its IoU with a ground-truth box is >= 0.35 or it is a box's best anchor; cross-entropy on the faces
and the hardest background anchors; smooth L1 on the faces' offsets, variances 0.1 / 0.2) with RetinaFace's
settings: 7 negatives per face and loss = classification + 2 x regression, per face anchor.

Unlike `DetectionAwareLoss` (face probabilities on the output vs on the normal-light target), this one asks
the detector to find the annotated faces, small ones included, and nothing else.
"""
from __future__ import annotations

import torch
import torch.nn as nn

from facebench.detectors.pyramidbox.loss import multibox_loss
from facebench.mlsm.face_losses import frozen_retinaface

NEGATIVES_PER_FACE = 7
LOC_WEIGHT = 2.0


class FaceBoxLoss(nn.Module):
    """images Tensor[B, 3, H, W] RGB in [0, 1], boxes Tensor[K, 5] (item, x1, y1, x2, y2 in pixels),
    labelled Tensor[B] bool -> scalar loss over the labelled items (0 when there are none)."""

    def __init__(self):
        super().__init__()
        self.net = frozen_retinaface()

    def forward(self, images: torch.Tensor, boxes: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
        items = labelled.nonzero().flatten()
        if not len(items):
            return images.new_zeros(())
        out = self.net.raw_outputs(images[items])
        faces = [boxes[boxes[:, 0] == item, 1:] for item in items.tolist()]
        regression, classification = multibox_loss(out.loc, out.logits, out.anchors, faces,
                                                    neg_pos_ratio=NEGATIVES_PER_FACE)
        return classification + LOC_WEIGHT * regression
