"""Paired image folders (low-light or degraded image + its clean reference) for quality metrics and training.

Layout:
    DIR/low/<name>.<ext>     the input images
    DIR/high/<name>.<ext>    the references, same file names (the extension may differ)
Every image in low/ is a pair, sorted by name; an image in one folder without its partner in the other
is an error. Other files in DIR are ignored: ../shared/data/paired/sice_part1 (SICE part 1) has this
layout plus a provenance pairs.csv that lists 145 candidate brackets of which the 125 kept are in low/.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import List, Sequence, Tuple

import numpy as np

from facebench.datasets.dataset import DatasetError
from facebench.datasets.images import images_by_stem, read_image


@dataclass(frozen=True)
class ImagePair:
    """One pair. name: file name without extension; low, high: the two image files."""

    name: str
    low: Path
    high: Path


def find_pairs(folder: "str | Path") -> List[ImagePair]:
    """The pairs of a `low/` + `high/` folder (see the module docstring), in order.

    Raises:
        DatasetError: a missing low/ or high/ folder, an unmatched image, or no images.
    """
    folder = Path(folder)
    dirs = {side: folder / side for side in ("low", "high")}
    for side, path in dirs.items():
        if not path.is_dir():
            raise DatasetError(f"{folder}: no {side}/ folder; expected a paired folder with low/ and high/ "
                               "holding images of the same names")
    low, high = images_by_stem(dirs["low"]), images_by_stem(dirs["high"])
    for side, found, other in (("low", low, high), ("high", high, low)):
        missing = sorted(set(found) - set(other))
        if missing:
            partner = dirs["high" if side == "low" else "low"]
            raise DatasetError(f"{found[missing[0]]}: no image of the same name in {partner} ({len(missing)} "
                               "unmatched); expected the same file names in low/ and high/")
    ordered = sorted(low)
    if not ordered:
        raise DatasetError(f"{folder}: low/ and high/ hold no images")
    return [ImagePair(name, low[name], high[name]) for name in ordered]


def pairs_before_holdout(folder: "str | Path", holdout: int) -> List[ImagePair]:
    """The pairs of a paired folder except its last `holdout` by name (kept for testing; never trained on).

    Raises:
        DatasetError: as find_pairs, or when every pair is held out.
    """
    pairs = find_pairs(folder)
    kept = pairs[:max(0, len(pairs) - holdout)]
    if not kept:
        raise DatasetError(f"{folder}: {len(pairs)} pairs, all held out by holdout={holdout}; "
                           f"expected a holdout below {len(pairs)}")
    return kept


def read_pair(pair: ImagePair) -> Tuple[np.ndarray, np.ndarray]:
    """Decode a pair to (low, high), each uint8 RGB [H, W, 3] of the same size.

    Raises:
        DatasetError: unreadable file, or the two images differ in size.
    """
    low, high = read_image(pair.low), read_image(pair.high)
    if low.shape != high.shape:
        raise DatasetError(f"{pair.low}: size {low.shape[1]}x{low.shape[0]} differs from its reference "
                           f"{pair.high} ({high.shape[1]}x{high.shape[0]}); expected aligned pairs of equal size")
    return low, high


def split_pairs(pairs: Sequence[ImagePair], val_fraction: float, seed: int = 0
                ) -> Tuple[List[ImagePair], List[ImagePair]]:
    """(train, val): a seeded random `val_fraction` of the pairs is held out (at least one when 0 < fraction).

    The split depends only on the pair names and the seed, not on the order of `pairs`.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    ordered = sorted(pairs, key=lambda p: p.name)
    n_val = 0 if val_fraction == 0 else max(1, round(len(ordered) * val_fraction))
    chosen = set(np.random.default_rng(seed).permutation(len(ordered))[:n_val].tolist())
    train = [p for i, p in enumerate(ordered) if i not in chosen]
    val = [p for i, p in enumerate(ordered) if i in chosen]
    return train, val
