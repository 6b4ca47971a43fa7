"""The face detector's own training loss on labelled crops (`--w-face-boxes`, opt-in, beyond the paper).

RetinaFace's multibox loss (Deng et al. 2020, as trained by biubug6/Pytorch_Retinaface, without the landmark
term) on MLSM's output, with the shipped detector frozen: the gradient reaches only the enhancer. Per image,
an anchor is a face when its IoU with a ground-truth box is >= `iou_threshold` (0.35) or when it is a box's
best anchor (IoU >= 0.2); classification is cross-entropy on the faces and on the `negatives_per_positive`
(7) hardest background anchors; box regression is smooth L1 on the faces' offsets (variances 0.1, 0.2);
loss = (classification + `loc_weight` x regression) / number of face anchors.

Unlike `DetectionAwareLoss` (face probabilities on the output vs on the normal-light target), this one asks
the detector to find the annotated faces, small ones included, and nothing else.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F
from torchvision.ops import box_convert, box_iou

from facebench.detectors.toolkit import encode
from facebench.mlsm.face_losses import frozen_retinaface

BEST_ANCHOR_MIN_IOU = 0.2


class FaceBoxLoss(nn.Module):
    """images Tensor[B, 3, H, W] RGB in [0, 1], boxes Tensor[K, 5] (item, x1, y1, x2, y2 in pixels),
    labelled Tensor[B] bool -> scalar loss over the labelled items (0 when there are none)."""

    def __init__(self, iou_threshold: float = 0.35, negatives_per_positive: int = 7, loc_weight: float = 2.0):
        super().__init__()
        self.net = frozen_retinaface()
        self.iou_threshold = iou_threshold
        self.negatives_per_positive = negatives_per_positive
        self.loc_weight = loc_weight

    def forward(self, images: torch.Tensor, boxes: torch.Tensor, labelled: torch.Tensor) -> torch.Tensor:
        items = labelled.nonzero().flatten()
        if not len(items):
            return images.new_zeros(())
        out = self.net.raw_outputs(images[items])
        anchors_xyxy = box_convert(out.anchors, "cxcywh", "xyxy")
        classification, regression, positives = images.new_zeros(()), images.new_zeros(()), 0
        for row, item in enumerate(items.tolist()):
            truth = boxes[boxes[:, 0] == item, 1:]
            face = self.match(truth, anchors_xyxy)
            ce = F.cross_entropy(out.logits[row], (face >= 0).long(), reduction="none")
            count = int((face >= 0).sum())
            hardest = ce.detach().masked_fill(face >= 0, float("-inf"))
            negatives = hardest.topk(min(self.negatives_per_positive * count, len(ce) - count)).indices
            classification = classification + ce[face >= 0].sum() + ce[negatives].sum()
            if count:
                target = encode(truth[face[face >= 0]], out.anchors[face >= 0])
                regression = regression + F.smooth_l1_loss(out.loc[row][face >= 0], target, reduction="sum")
            positives += count
        return (classification + self.loc_weight * regression) / max(positives, 1)

    def match(self, truth: torch.Tensor, anchors_xyxy: torch.Tensor) -> torch.Tensor:
        """Per anchor, the index of its ground-truth face, or -1 for background (Tensor[A] long)."""
        face = torch.full((len(anchors_xyxy),), -1, dtype=torch.long, device=anchors_xyxy.device)
        if not len(truth):
            return face
        iou = box_iou(truth, anchors_xyxy)
        best_iou, best_truth = iou.max(0)
        face[best_iou >= self.iou_threshold] = best_truth[best_iou >= self.iou_threshold]
        own_iou, own_anchor = iou.max(1)
        keep = own_iou >= BEST_ANCHOR_MIN_IOU
        face[own_anchor[keep]] = torch.arange(len(truth), device=face.device)[keep]
        return face
