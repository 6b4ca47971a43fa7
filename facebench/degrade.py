"""JPEG degradation at a quality factor (OpenCV / libjpeg), or none ("raw").

OpenCV's encoder (libjpeg-turbo, 4:2:0 chroma subsampling, standard IJG tables scaled by QF) is
deterministic: the same pixels and QF give the same bytes on every run and machine with the same
OpenCV build. The QF is part of every cache key and results row.
"""
from __future__ import annotations

from typing import Optional, Union

import cv2
import numpy as np

QualityFactor = Optional[int]  # None = raw (no compression)


def parse_qf(value: Union[str, int]) -> QualityFactor:
    """'raw' -> None; '90' / 90 -> 90. Raises ValueError outside 1..100."""
    if isinstance(value, str) and value.strip().lower() in ("raw", "none"):
        return None
    try:
        qf = int(value)
    except (TypeError, ValueError):
        raise ValueError(f"quality factor {value!r}: expected an integer 1..100 or 'raw'") from None
    if not 1 <= qf <= 100:
        raise ValueError(f"quality factor {qf}: expected 1..100 or 'raw'")
    return qf


def qf_label(qf: QualityFactor) -> str:
    """90 -> '90', None -> 'raw' (how QFs appear in tables and file names)."""
    return "raw" if qf is None else str(qf)


def jpeg_bytes(rgb: np.ndarray, qf: int) -> bytes:
    """Encode uint8 RGB [H, W, 3] as JPEG at quality `qf`."""
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, int(qf)])
    if not ok:
        raise RuntimeError(f"OpenCV could not JPEG-encode an image of shape {rgb.shape}")
    return buf.tobytes()


def jpeg_roundtrip(rgb: np.ndarray, qf: QualityFactor) -> np.ndarray:
    """Compress and decompress uint8 RGB [H, W, 3] at `qf` (None returns the input unchanged)."""
    if qf is None:
        return rgb
    data = np.frombuffer(jpeg_bytes(rgb, qf), dtype=np.uint8)
    return cv2.cvtColor(cv2.imdecode(data, cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB)
