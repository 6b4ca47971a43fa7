"""The `pyramidbox` detector plugin: a user's PyramidBox checkpoint run with a chosen test-time procedure.

Weights are user files: `weights=PATH` (`--detector-weights`) or `$FACEBENCH_HOME/pyramidbox.pth`, in the
public PyTorch port's layout (yxlijun/Pyramidbox.pytorch releases `pyramidbox.pth`; DARK FACE fine-tunes
derived from it use the same layout). See `weights_io` for the accepted file layouts.

Default test-time procedure (tuned for DARK FACE, whose faces are tiny): one pass upscaled by the
max-pixels rule sqrt(2000^2 / (H * W)) (x2.27 for 1080x720), score threshold 0.01 (the public code uses
0.05; AP needs the low-score tail). `procedure="wider"` reproduces the public WIDER FACE evaluation.
fp32 on every device (as upstream); `precision="mixed"` is the opt-in fp16 autocast.
"""
from __future__ import annotations

from typing import List, Optional

import torch

from facebench.detectors import BUILTIN_DETECTORS
from facebench.detectors.pyramidbox.inference import TestTimeConfig, detect_faces
from facebench.detectors.pyramidbox.model import PyramidBoxNet
from facebench.detectors.pyramidbox.weights_io import load_pyramidbox_weights
from facebench.plugin_api import Detector
from facebench.weights import describe, require_user_weights

_WEIGHTS = BUILTIN_DETECTORS["pyramidbox"].meta.weights  # declared where pyramidbox is registered
WEIGHTS_FILE, WEIGHTS_ORIGIN = _WEIGHTS.file, _WEIGHTS.origin


class PyramidBox(Detector):
    """`pyramidbox`: PyramidBox (Tang et al., ECCV 2018) from a user checkpoint in the public layout.

    Args:
        weights: checkpoint path; default `$FACEBENCH_HOME/pyramidbox.pth`.
        procedure, scale, max_pixels, flip, merge, score_threshold, nms_iou, top_k, keep_top_k, precision: see
            `TestTimeConfig` (all part of the identity). `preset="wider"` starts from the public WIDER
            FACE settings instead of the DARK FACE defaults; explicit arguments override it.
        net: an already built network (tests, training); then `weights` is not read and the identity
            records no weights file.
    """

    name = "pyramidbox"
    meta = BUILTIN_DETECTORS["pyramidbox"].meta

    def __init__(self, weights: Optional[str] = None, preset: str = "darkface", net: Optional[PyramidBoxNet] = None,
                 **settings):
        super().__init__()
        if preset not in ("darkface", "wider"):
            raise ValueError(f"pyramidbox: preset {preset!r}: expected 'darkface' or 'wider'")
        unknown = set(settings) - set(TestTimeConfig.__dataclass_fields__)
        if unknown:
            raise TypeError(f"pyramidbox: unknown settings {sorted(unknown)}; known: "
                            f"{sorted(TestTimeConfig.__dataclass_fields__)}")
        self.config = TestTimeConfig.wider(**settings) if preset == "wider" else TestTimeConfig(**settings)
        if net is None:
            path = require_user_weights(self.name, WEIGHTS_FILE, WEIGHTS_ORIGIN, explicit=weights)
            net = PyramidBoxNet()
            load_pyramidbox_weights(net, path)
            self.weights = describe(path, "user file")
        self.net = net.eval()

    def detect(self, images: torch.Tensor) -> List[torch.Tensor]:
        """Detect faces.

        Args:
            images (Tensor[B, 3, H, W]): float RGB in [0, 1] on this detector's device.

        Returns:
            list of B Tensor[N, 5] float32: (x1, y1, x2, y2, score), boxes in pixels of the input image
            (clipped), score = face probability in (score_threshold, 1], by decreasing score.
        """
        if images.ndim != 4 or images.shape[1] != 3:
            raise ValueError(f"pyramidbox: expected images [B, 3, H, W], got {list(images.shape)}")
        return detect_faces(self.net, images.to(self.device), self.config)
