"""NeRCo weights: the authors' three test-time files, or one facebench checkpoint; where they are looked for.

The authors' test (`test.py`) loads `<checkpoints_dir>/<name>/latest_net_{G_A,Pre,H}.pth`, each a bare
state dict (no `module.` prefix). A *weights folder* holds those three files; its tensors get the prefixes
`G_A.`, `Pre.`, `H.` of NeRCoNet's keys. InstanceNorm running statistics that old-PyTorch checkpoints may
carry (`running_mean`, `running_var`, `num_batches_tracked`) are dropped, as the authors' loader does;
everything else must match strictly. A *facebench checkpoint* (`train-enhancer nerco` writes `nerco.pt`)
is one file {"model": prefixed state dict, "metadata": ...}.

Lookup: `--weights PATH` (a weights folder, one of its three files, or a facebench checkpoint), else by
variant: 'cpu' = the checkpoint this project trained and ships (`enhancers/weights/nerco_cpu.pt`, the
default), 'authors' = the folder `$FACEBENCH_HOME/nerco/`. The sha256 recorded for a folder is the sha256
of the text "G_A <sha256>\nPre <sha256>\nH <sha256>\n" of its three files, so any change to any file changes it.
"""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Dict, Optional, Tuple

import torch

from facebench.checkpoint import CheckpointError, load_checkpoint
from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.enhancers.authors_weights import flush_denormals, read_state_dict
from facebench.weights import MissingWeightsError, WeightsInfo, describe, facebench_home, sha256_of

_WEIGHTS = BUILTIN_ENHANCERS["nerco"].meta.weights.sources  # declared where nerco is registered
AUTHOR_FILES = dict(zip(("G_A", "Pre", "H"), _WEIGHTS["authors"].files))  # key prefix in NeRCoNet -> file
HOME_FOLDER, ORIGIN = _WEIGHTS["authors"].folder, _WEIGHTS["authors"].origin
SHIPPED_WEIGHTS = _WEIGHTS["cpu"].path
VARIANTS = tuple(_WEIGHTS)  # ('cpu', 'authors')
SOURCE = "https://github.com/Ysz2022/NeRCo (authors' release)"
SHIPPED_SOURCE = "shipped with facebench (trained by this project)"
_DROPPED_SUFFIXES = (".running_mean", ".running_var", ".num_batches_tracked")
_FILES = ", ".join(AUTHOR_FILES.values())


def _missing_files(folder: Path) -> list:
    return [name for name in AUTHOR_FILES.values() if not (folder / name).is_file()]


def locate(explicit: Optional[str] = None, variant: str = "cpu") -> Path:
    """The weights to load: `explicit` (a folder with the authors' three files, or a facebench checkpoint
    file), else the `variant`'s default ('cpu': the shipped checkpoint, 'authors': $FACEBENCH_HOME/nerco/).

    Raises:
        ValueError: unknown variant.
        MissingWeightsError: one line saying which file is missing, where to put it and where it comes from.
    """
    if variant not in VARIANTS:
        raise ValueError(f"nerco: variant must be one of {', '.join(VARIANTS)}, got {variant!r}")
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_file() and path.name in AUTHOR_FILES.values():
            path = path.parent
        if path.is_file():
            return path
        if not path.is_dir():
            raise MissingWeightsError(f"nerco: weights {path} do not exist (expected a folder with {_FILES}, "
                                      f"or a nerco.pt from `facebench train-enhancer nerco`)")
        missing = _missing_files(path)
        if missing:
            raise MissingWeightsError(f"nerco: weights folder {path} lacks {', '.join(missing)} "
                                      f"(it needs {_FILES}, from {ORIGIN})")
        return path
    if variant == "cpu":
        if SHIPPED_WEIGHTS.is_file():
            return SHIPPED_WEIGHTS
        raise MissingWeightsError(
            f"nerco: the project's shipped CPU weights {SHIPPED_WEIGHTS} are missing from the package: reinstall "
            f"facebench, train them with `facebench train-enhancer nerco` (then --weights RUN/nerco.pt), or use "
            f"variant 'authors' with {_FILES} from {ORIGIN}")
    folder = facebench_home() / HOME_FOLDER
    if not _missing_files(folder):
        return folder
    raise MissingWeightsError(
        f"nerco: weights not found: put {_FILES} in {folder} (or set $FACEBENCH_HOME, or pass --weights DIR or "
        f"a nerco.pt trained by `facebench train-enhancer nerco`); they come from {ORIGIN}; "
        f"facebench never downloads weights")


def _read_authors_file(path: Path) -> Dict[str, torch.Tensor]:
    state = load_checkpoint(path)
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path}: expected a bare state dict of tensors (the authors' save_networks format)")
    return {k: v for k, v in state.items() if not k.endswith(_DROPPED_SUFFIXES)}


def read_weights(path: "str | Path") -> Tuple[Dict[str, torch.Tensor], str]:
    """(NeRCoNet state dict with prefixed keys, source for WeightsInfo) of a folder or checkpoint from `locate`."""
    path = Path(path)
    if path.is_dir():
        state = {}
        for prefix, name in AUTHOR_FILES.items():
            state.update({f"{prefix}.{k}": v for k, v in _read_authors_file(path / name).items()})
        return flush_denormals(state), SOURCE
    state, source = read_state_dict(path, SOURCE)
    return state, (SHIPPED_SOURCE if path.resolve() == SHIPPED_WEIGHTS.resolve() else source)


def weights_info(path: "str | Path", source: str) -> WeightsInfo:
    """Provenance of what `read_weights(path)` read (a folder's sha256 covers its three files)."""
    path = Path(path)
    if not path.is_dir():
        return describe(path, source)
    text = "".join(f"{prefix} {sha256_of(path / name)}\n" for prefix, name in AUTHOR_FILES.items())
    return WeightsInfo(path=str(path.resolve()), sha256=hashlib.sha256(text.encode()).hexdigest(), source=source)
