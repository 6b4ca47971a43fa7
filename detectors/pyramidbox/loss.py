"""PyramidBox training loss (public recipe): SSD matching and multibox loss, for the face and head branches.

Dimensions: N images, P priors, M ground-truth boxes of one image.

Matching: a prior is positive when its IoU with a ground-truth box is >= 0.35; additionally every
ground-truth box claims its best-overlapping prior. Hard negative mining keeps the 3 x (number of
positives) negatives with the highest background loss per image. Losses are summed over the batch and
divided by the number of positives of the batch (the batch size when there are none):
    loc  = smooth-L1(offsets of positives)            conf = cross-entropy(positives + mined negatives)
"""
from __future__ import annotations

from typing import Dict, List, Sequence, Tuple

import torch
import torch.nn.functional as F
from torchvision.ops import box_iou

from facebench.detectors.toolkit import encode, point_form

MATCH_IOU = 0.35
NEG_POS_RATIO = 3


def match(truths: torch.Tensor, priors: torch.Tensor,
          threshold: float = MATCH_IOU) -> Tuple[torch.Tensor, torch.Tensor]:
    """Assign ground truth to priors.

    Args:
        truths (Tensor[M, 4]): (x1, y1, x2, y2) normalised like the priors, M >= 0.
        priors (Tensor[P, 4]): (cx, cy, w, h) normalised.

    Returns:
        loc_t (Tensor[P, 4]): encoded offsets of the matched box (meaningful where positive).
        labels (Tensor[P] int64): 1 = positive, 0 = background.
    """
    num_priors = priors.shape[0]
    if truths.shape[0] == 0:
        return priors.new_zeros((num_priors, 4)), torch.zeros(num_priors, dtype=torch.long, device=priors.device)
    overlaps = box_iou(truths, point_form(priors))  # [M, P]
    best_prior = overlaps.argmax(1)  # [M]
    best_truth_overlap, best_truth = overlaps.max(0)  # [P]
    best_truth_overlap[best_prior] = 2.0  # every truth keeps its best prior
    best_truth[best_prior] = torch.arange(truths.shape[0], device=truths.device)
    labels = (best_truth_overlap >= threshold).long()
    return encode(truths[best_truth], priors), labels


def multibox_loss(loc: torch.Tensor, conf: torch.Tensor, priors: torch.Tensor, targets: Sequence[torch.Tensor],
                  threshold: float = MATCH_IOU,
                  neg_pos_ratio: int = NEG_POS_RATIO) -> Tuple[torch.Tensor, torch.Tensor]:
    """SSD multibox loss with hard negative mining.

    Args:
        loc (Tensor[N, P, 4]): predicted offsets.
        conf (Tensor[N, P, 2]): logits (background, object).
        priors (Tensor[P, 4]): (cx, cy, w, h) normalised.
        targets: N Tensors[M_i, 4], ground-truth (x1, y1, x2, y2) normalised.

    Returns:
        (loss_loc, loss_conf): scalar Tensors, each summed and divided by the number of positives.
    """
    matched = [match(t.to(priors), priors, threshold) for t in targets]
    loc_t = torch.stack([m[0] for m in matched])
    labels = torch.stack([m[1] for m in matched])
    pos = labels > 0
    num_pos = pos.sum(1, keepdim=True)
    loss_loc = F.smooth_l1_loss(loc[pos], loc_t[pos], reduction="sum")
    background_loss = (torch.logsumexp(conf, -1) - conf[..., 0]).detach().masked_fill(pos, 0.0)
    rank = background_loss.argsort(1, descending=True).argsort(1)
    neg = rank < (neg_pos_ratio * num_pos).clamp(max=pos.shape[1] - 1)
    chosen = pos | neg
    loss_conf = F.cross_entropy(conf[chosen], labels[chosen], reduction="sum")
    total_pos = int(num_pos.sum())
    normaliser = total_pos if total_pos > 0 else loc.shape[0]
    return loss_loc / normaliser, loss_conf / normaliser


def head_boxes(faces: torch.Tensor) -> torch.Tensor:
    """Head boxes of the PyramidAnchors: face boxes (Tensor[M, 4], x1y1x2y2 normalised) grown by half the
    width / height on every side, clipped to [0, 1]."""
    wh = faces[:, 2:] - faces[:, :2]
    return torch.cat((faces[:, :2] - wh / 2, faces[:, 2:] + wh / 2), 1).clamp(0.0, 1.0)


def pyramidbox_losses(outputs: Tuple[torch.Tensor, ...], faces: List[torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Named loss terms of the face and head branches.

    Args:
        outputs: PyramidBoxNet output (face_loc, face_conf, head_loc, head_conf, priors).
        faces: N Tensors[M_i, 4], face boxes (x1, y1, x2, y2) normalised by the network input size.

    Returns:
        {"face_loc", "face_conf", "head_loc", "head_conf"}: scalar Tensors; the training loss is their sum.
    """
    face_loc, face_conf, head_loc, head_conf, priors = outputs
    face_l, face_c = multibox_loss(face_loc, face_conf, priors, faces)
    head_l, head_c = multibox_loss(head_loc, head_conf, priors, [head_boxes(f) for f in faces])
    return {"face_loc": face_l, "face_conf": face_c, "head_loc": head_l, "head_conf": head_c}
