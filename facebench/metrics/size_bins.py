"""Face-size bins for AP by size, defined the COCO way.

A face's size is sqrt(w * h) of its ground-truth box, w = x2 - x1 and h = y2 - y1 in pixels (COCO's
box area, no +1). Edges (16, 32) give the bins "<16", "16-32", ">32" (plus "all"). Each bin becomes a
pycocotools `areaRng` [lo**2, hi**2]: ground truth outside the range is ignored (a detection matched to
it is neither a true nor a false positive), and an unmatched detection whose own area is outside the
range is ignored too. pycocotools compares with inclusive bounds, so a face exactly on an edge
(e.g. 16x16 px) counts in both neighbouring bins — as in COCO's own small/medium/large.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

DEFAULT_SIZE_EDGES: Tuple[float, ...] = (16.0, 32.0)
ALL = "all"
_MAX_AREA = 1e10  # pycocotools' "all" uses 1e5 ** 2


def size_bins(edges: Sequence[float] = DEFAULT_SIZE_EDGES) -> List[Tuple[str, float, Optional[float]]]:
    """The bins as (label, lo, hi) in sqrt(area) pixels, "all" first; hi is None for the open last bin.

    Raises:
        ValueError: edges not strictly increasing and positive.
    """
    edges = [float(e) for e in edges]
    if any(e <= 0 for e in edges) or any(b <= a for a, b in zip(edges, edges[1:])):
        raise ValueError(f"size edges {edges}: expected strictly increasing positive pixel sizes")
    bins: List[Tuple[str, float, Optional[float]]] = [(ALL, 0.0, None)]
    if not edges:
        return bins
    bins.append((f"<{edges[0]:g}", 0.0, edges[0]))
    bins += [(f"{a:g}-{b:g}", a, b) for a, b in zip(edges, edges[1:])]
    bins.append((f">{edges[-1]:g}", edges[-1], None))
    return bins


def area_ranges(edges: Sequence[float] = DEFAULT_SIZE_EDGES) -> Tuple[List[str], List[List[float]]]:
    """pycocotools `areaRngLbl` and `areaRng` ([lo**2, hi**2] in square pixels) for the bins."""
    bins = size_bins(edges)
    labels = [label for label, _, _ in bins]
    ranges = [[lo ** 2, _MAX_AREA if hi is None else hi ** 2] for _, lo, hi in bins]
    return labels, ranges
