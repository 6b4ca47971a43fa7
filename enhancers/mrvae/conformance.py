"""`conformance_model()`: the object the spec's conformance check drives (shared/specs/mrvae/conformance.py).

It takes the authors' variables (TF names and layout) through `load_state_dict` and runs the authors'
test graph: `model(x, eps)` -> {"DR", "GR", "z", "z_mean", "z_log_var"}, NCHW (see model.py).
"""
from __future__ import annotations

from typing import Any, Dict, Mapping

import torch

from facebench.enhancers.mrvae.model import MRVAEConfig, MRVAENet
from facebench.enhancers.mrvae.weights import config_of_variables, load_state, model_variables, tf_to_torch


class ConformanceModel:
    """MRVAENet behind the TF-variable interface of the conformance check."""

    def __init__(self) -> None:
        self.net = MRVAENet(MRVAEConfig())

    def load_state_dict(self, variables: Mapping[str, Any], strict: bool = True) -> None:
        """variables: TF name -> array/tensor in TF layout (width read from the first kernel).

        `strict` must stay True: every model variable is required and unknown ones are errors (the
        training-only slots of a real checkpoint are dropped first)."""
        if not strict:
            raise ValueError("MR-VAE weights load strictly only")
        model = model_variables(variables)
        self.net = MRVAENet(config_of_variables(model))
        load_state(self.net, tf_to_torch(model), "TF variables")

    def eval(self) -> "ConformanceModel":
        self.net.eval()
        return self

    def __call__(self, x: torch.Tensor, eps: torch.Tensor) -> Dict[str, torch.Tensor]:
        """x (Tensor[N, 3, S, S] in [0, 1]), eps (Tensor[N, 16 w, S/16, S/16]) -> the five outputs."""
        return self.net(x, eps)


def conformance_model() -> ConformanceModel:
    """Factory named by the conformance check: `facebench.enhancers.mrvae:conformance_model`."""
    return ConformanceModel()
