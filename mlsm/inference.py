"""Run an MLSM model on any H x W: reflect-pad to the network multiple, crop back, and tile large
images with overlapping, linearly blended tiles so peak memory depends on the tile, not the image.

The mapping networks' channel attention gates by the mean of a whole latent map, so a tile alone would
be gated by its own statistics, not the image's (measured on a DARK FACE frame, 256 px tiles: 0.11 mean
absolute difference from one pass). Tiling therefore runs twice: the first pass (E_C and the mapping only,
where the attention layers are) records each attention layer's input mean per tile, and the second gates
every tile by their area-weighted average.
"""
from __future__ import annotations

from typing import List

import torch
import torch.nn.functional as F

from facebench.mlsm.blocks import ChannelAttention
from facebench.mlsm.model import MLSM


def pad_to(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Reflect-pad bottom/right so both sides are multiples of `multiple`.

    Reflection needs pad < side, so very small images are padded in several reflect rounds.
    """
    h, w = x.shape[-2:]
    target_h = -(-h // multiple) * multiple
    target_w = -(-w // multiple) * multiple
    while x.shape[-2] < target_h or x.shape[-1] < target_w:
        ph = min(target_h - x.shape[-2], x.shape[-2] - 1)
        pw = min(target_w - x.shape[-1], x.shape[-1] - 1)
        if (ph <= 0 and x.shape[-2] < target_h) or (pw <= 0 and x.shape[-1] < target_w):  # a side of 1
            return F.pad(x, (0, target_w - x.shape[-1], 0, target_h - x.shape[-2]), mode="replicate")
        x = F.pad(x, (0, max(pw, 0), 0, max(ph, 0)), mode="reflect")
    return x


def enhance_padded(model: MLSM, images: torch.Tensor) -> torch.Tensor:
    """images Tensor[B, 3, H, W] in [0, 1], any H, W -> Tensor[B, 3, H, W] in [0, 1] (one pass)."""
    h, w = images.shape[-2:]
    return model(pad_to(images, model.config.multiple))[..., :h, :w].clamp(0, 1)


def _starts(length: int, tile: int, step: int) -> List[int]:
    if length <= tile:
        return [0]
    starts = list(range(0, length - tile, step))
    return starts + [length - tile]


def _ramp(length: int, overlap: int, device, dtype) -> torch.Tensor:
    """1-D blending weights: rise over `overlap` pixels at each end, 1 in the middle (never 0)."""
    idx = torch.arange(length, device=device, dtype=dtype)
    edge = torch.minimum(idx + 1, length - idx)
    return (edge / max(overlap, 1)).clamp(max=1.0)


class _SharedAttention:
    """Records the input mean of the global channel-attention layers over tiles, then shares it."""

    def __init__(self, model: MLSM):
        self.layers = [m for m in model.modules() if isinstance(m, ChannelAttention) and not m.window]
        self.sums: List = [0.0] * len(self.layers)
        self.area = 0.0
        self.tile_area = 0.0

    def _hook(self, index: int):
        def record(module, args):
            self.sums[index] = self.sums[index] + args[0].mean((2, 3), keepdim=True) * self.tile_area
        return record

    def record(self, run_tiles) -> None:
        """Call `run_tiles(before_tile)`; `before_tile(area)` must be called before each tile's forward."""
        handles = [layer.register_forward_pre_hook(self._hook(i)) for i, layer in enumerate(self.layers)]
        try:
            run_tiles(self._next_tile)
        finally:
            for handle in handles:
                handle.remove()

    def _next_tile(self, area: float) -> None:
        self.tile_area = area
        self.area += area

    def __enter__(self):
        for layer, total in zip(self.layers, self.sums):
            layer.shared_mean = total / self.area
        return self

    def __exit__(self, *exc):
        for layer in self.layers:
            layer.shared_mean = None


def enhance_tiled(model: MLSM, images: torch.Tensor, tile: int = 512, overlap: int = 64) -> torch.Tensor:
    """Tile-wise enhancement with overlap blending; images no larger than `tile` run in one pass.

    Args:
        images (Tensor[B, 3, H, W]): float RGB in [0, 1], any size.
        tile: tile side in pixels (rounded up to the network multiple).
        overlap: pixels shared by neighbouring tiles, blended with linear ramps.
    Returns:
        Tensor[B, 3, H, W] in [0, 1].
    """
    multiple = model.config.multiple
    tile = -(-tile // multiple) * multiple
    if overlap >= tile:
        raise ValueError(f"tile overlap {overlap} must be smaller than the tile {tile}")
    h, w = images.shape[-2:]
    if h <= tile and w <= tile:
        return enhance_padded(model, images)
    # Tiles are only as tall (wide) as the padded image when it fits the tile in that direction.
    tile_h, tile_w = (min(tile, -(-side // multiple) * multiple) for side in (h, w))
    padded = pad_to(images, multiple)
    ph, pw = padded.shape[-2:]
    boxes = [(top, left) for top in _starts(ph, tile_h, tile_h - overlap)
             for left in _starts(pw, tile_w, tile_w - overlap)]

    def first_pass(before_tile):
        for top, left in boxes:
            before_tile(float(tile_h * tile_w))
            model.map_latents(padded[..., top:top + tile_h, left:left + tile_w])

    shared = _SharedAttention(model)
    if shared.layers:
        shared.record(first_pass)
    out = torch.zeros_like(padded)
    weight = torch.zeros((1, 1, ph, pw), device=padded.device, dtype=padded.dtype)
    with shared:
        for top, left in boxes:
            crop = padded[..., top:top + tile_h, left:left + tile_w]
            pred = model(crop).float()
            win = _ramp(crop.shape[-2], overlap, padded.device, padded.dtype)[:, None] * \
                _ramp(crop.shape[-1], overlap, padded.device, padded.dtype)[None, :]
            out[..., top:top + tile_h, left:left + tile_w] += pred * win
            weight[..., top:top + tile_h, left:left + tile_w] += win
    return (out / weight)[..., :h, :w].clamp(0, 1)
