"""MR-VAE weights: the authors' TensorFlow variables <-> `MRVAENet` state dicts, and facebench weight files.

TF variable `scope/.../leaf` (checkpoint name, TF layout) is parameter `scope. ... .leaf'` of MRVAENet:
    weights (kh, kw, in, out) -> weight (out, in, kh, kw)  [permute(3, 2, 0, 1)]
    biases -> bias;  beta, moving_mean, moving_variance, alpha keep their names and (C,) layout.
Training-only variables of a checkpoint (`global_step`, `Loss/beta*_power`, `<var>/Adam`, `<var>/Adam_1`)
are not model variables and are dropped by `model_variables`.

A weights file is a facebench checkpoint {"model": MRVAENet state dict, "metadata": {"enhancer": "mrvae",
"architecture": {"width": w}, "source": ..., ...}}, written by `facebench convert-weights mrvae` and by
`facebench train-enhancer mrvae`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Mapping, Tuple

import numpy as np
import torch

from facebench.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from facebench.enhancers.mrvae.model import MRVAEConfig, MRVAENet

FIRST_KERNEL = "encoder/downsampling1/Conv/weights"  # (3, 3, 3, width): gives the width of a checkpoint
_RENAMED = {"weights": "weight", "biases": "bias"}
_TRAINING_ONLY = ("global_step", "Loss/")
_SLOTS = ("/Adam", "/Adam_1")


def model_variables(variables: Mapping[str, Any]) -> Dict[str, Any]:
    """The model variables of a TF checkpoint's variables (optimizer slots and step counters dropped)."""
    return {k: v for k, v in variables.items()
            if not k.startswith(_TRAINING_ONLY) and not k.endswith(_SLOTS)}


def torch_key(tf_name: str) -> str:
    """'encoder/downsampling1/Conv/weights' -> 'encoder.downsampling1.Conv.weight'."""
    scope, _, leaf = tf_name.rpartition("/")
    return f"{scope.replace('/', '.')}.{_RENAMED.get(leaf, leaf)}"


def tf_to_torch(variables: Mapping[str, "np.ndarray | torch.Tensor"]) -> Dict[str, torch.Tensor]:
    """TF model variables (TF layout) -> MRVAENet state dict (float32 tensors, PyTorch layout)."""
    state = {}
    for name, value in variables.items():
        tensor = torch.as_tensor(np.asarray(value) if not isinstance(value, torch.Tensor) else value)
        tensor = tensor.detach().to(torch.float32)
        if name.endswith("/weights"):
            if tensor.dim() != 4:
                raise ValueError(f"{name}: expected a 4-d conv kernel (kh, kw, in, out), got shape {tuple(tensor.shape)}")
            tensor = tensor.permute(3, 2, 0, 1)
        state[torch_key(name)] = tensor.contiguous()
    return state


def config_of_variables(variables: Mapping[str, Any]) -> MRVAEConfig:
    """The architecture of a set of TF variables, read from the first kernel's output channels."""
    if FIRST_KERNEL not in variables:
        raise ValueError(f"not MR-VAE variables: {FIRST_KERNEL} is missing")
    return MRVAEConfig(width=int(np.shape(variables[FIRST_KERNEL])[-1]))


def net_from_variables(variables: Mapping[str, Any]) -> MRVAENet:
    """An MRVAENet holding TF checkpoint variables (strict: every model variable, nothing else)."""
    model = model_variables(variables)
    net = MRVAENet(config_of_variables(model))
    load_state(net, tf_to_torch(model), "TF variables")
    return net


def load_state(net: MRVAENet, state: Mapping[str, torch.Tensor], origin: "str | Path") -> None:
    """`net.load_state_dict(state, strict=True)` with a one-line error naming `origin`."""
    try:
        net.load_state_dict(state, strict=True)
    except RuntimeError as exc:
        detail = " ".join(line.strip() for line in str(exc).strip().splitlines()[:3])
        raise ValueError(f"{origin}: weights do not fit MR-VAE width {net.config.width} ({detail})") from None


def save_weights(path: "str | Path", net: MRVAENet, metadata: Dict[str, Any]) -> None:
    """Write a facebench MR-VAE weights file (atomic); `metadata` gains enhancer and architecture."""
    meta = {**metadata, "enhancer": "mrvae", "architecture": {"width": net.config.width}}
    save_checkpoint(path, {"model": net.state_dict(), "metadata": meta})


def load_weights(path: "str | Path") -> Tuple[MRVAENet, Dict[str, Any]]:
    """(MRVAENet in eval mode, metadata) from a weights file written by `save_weights`.

    Raises:
        CheckpointError: unreadable, not an MR-VAE weights file, or tensors that do not fit (names the file).
    """
    checkpoint = load_checkpoint(path)
    metadata = checkpoint.get("metadata") if isinstance(checkpoint, dict) else None
    if not isinstance(metadata, dict) or metadata.get("enhancer") != "mrvae" or "model" not in checkpoint:
        raise CheckpointError(f"{path}: not an MR-VAE weights file (expected {{'model', 'metadata'}} with enhancer "
                              "'mrvae'; made by `facebench convert-weights mrvae` or `facebench train-enhancer mrvae`)")
    net = MRVAENet(MRVAEConfig(**metadata["architecture"]))
    try:
        load_state(net, checkpoint["model"], path)
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None
    return net.eval(), metadata


def convert_tf_checkpoint(ckpt: "str | Path", out: "str | Path") -> Tuple[Path, MRVAENet, Dict[str, Any]]:
    """Convert a TensorFlow checkpoint of the authors' code into the weights file `out`.

    Args:
        ckpt: checkpoint PREFIX (`train/1200.ckpt`), its `.index` file, or its folder (`checkpoint` file).
        out: the facebench weights file to write (atomic).

    Returns:
        (out, the loaded MRVAENet, the metadata written).

    Raises:
        CheckpointError: not a readable TF checkpoint, or its variables do not form an MR-VAE.
    """
    from facebench.enhancers.mrvae.tf_checkpoint import list_tensors, read_tensors, resolve_prefix

    prefix = resolve_prefix(ckpt)
    entries, _ = list_tensors(prefix)
    names = list(model_variables(entries))
    try:
        net = net_from_variables(read_tensors(prefix, names))
    except ValueError as exc:
        raise CheckpointError(f"{prefix}: {exc}") from None
    step = read_tensors(prefix, ["global_step"])["global_step"].item() if "global_step" in entries else None
    metadata = {"source": f"converted from the TensorFlow checkpoint {prefix}", "tf_global_step": step,
                "tf_variables": len(names)}
    save_weights(out, net, metadata)
    return Path(out), net, metadata
