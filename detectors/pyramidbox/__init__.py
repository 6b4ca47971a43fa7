"""PyramidBox (Tang et al., ECCV 2018): network, anchors, test-time procedure, detector plugin, training."""
from facebench.detectors.pyramidbox.detector import PyramidBox

__all__ = ["PyramidBox"]
