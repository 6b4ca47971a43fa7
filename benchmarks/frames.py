"""The benchmark input: one 1080x720 DARK FACE frame from ../shared, or seeded dark noise without it."""
from __future__ import annotations

from pathlib import Path
from typing import Tuple

import cv2
import torch

SAMPLE = Path(__file__).resolve().parents[2] / "shared/data/darkface_sample/image/1.png"
HEIGHT, WIDTH = 720, 1080


def darkface_frame() -> Tuple[torch.Tensor, str]:
    """Tensor[1, 3, 720, 1080] float RGB in [0, 1] on the 8-bit grid, and a short description."""
    if SAMPLE.is_file():
        rgb = cv2.cvtColor(cv2.imread(str(SAMPLE)), cv2.COLOR_BGR2RGB)
        if rgb.shape[:2] != (HEIGHT, WIDTH):
            rgb = cv2.resize(rgb, (WIDTH, HEIGHT), interpolation=cv2.INTER_AREA)
        return torch.from_numpy(rgb).permute(2, 0, 1)[None].float() / 255, f"DARK FACE {SAMPLE.name}"
    generator = torch.Generator().manual_seed(0)
    noise = (torch.rand(1, 3, HEIGHT, WIDTH, generator=generator) * 0.1 * 255).round() / 255
    return noise, "dark noise"
