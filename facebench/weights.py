"""Weight files: where they are looked for, their sha256, and the one message a missing file gives.

Weights other authors released are user files: an explicit path, or `$FACEBENCH_HOME/<file>`
(default `~/.cache/facebench`). Weights this project trained itself ship inside the package.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterable, Optional


class MissingWeightsError(FileNotFoundError):
    """A weight file that is not on disk; the message says which file, where to put it, where it comes from."""


@dataclass(frozen=True)
class WeightsInfo:
    """Provenance of the weights a plugin runs with.

    Attributes:
        path: absolute path of the file.
        sha256: hex digest of the file's bytes.
        source: where the file comes from ("shipped with facebench", "user file", a URL...).
    """

    path: str
    sha256: str
    source: str

    def as_dict(self) -> dict:
        return asdict(self)


def facebench_home() -> Path:
    """The user's weights folder: `$FACEBENCH_HOME`, else `~/.cache/facebench`."""
    return Path(os.environ.get("FACEBENCH_HOME", Path.home() / ".cache" / "facebench")).expanduser()


def torch_hub_checkpoints() -> Path:
    """torch hub's checkpoint folder (`torch.hub.get_dir()/checkpoints`), found without importing torch:
    `$TORCH_HOME/hub/checkpoints`, with `$TORCH_HOME` defaulting to `$XDG_CACHE_HOME/torch` (`~/.cache/torch`)."""
    torch_home = os.environ.get("TORCH_HOME", os.path.join(os.environ.get("XDG_CACHE_HOME", "~/.cache"), "torch"))
    return Path(os.path.expanduser(torch_home)) / "hub" / "checkpoints"


def sha256_of(path: "str | Path", chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            digest.update(block)
    return digest.hexdigest()


def describe(path: "str | Path", source: str) -> WeightsInfo:
    """WeightsInfo for an existing file."""
    path = Path(path).resolve()
    return WeightsInfo(path=str(path), sha256=sha256_of(path), source=source)


def find_user_weights(filename: str, explicit: Optional[str] = None,
                      extra_dirs: Iterable["str | Path"] = ()) -> Optional[Path]:
    """The first existing candidate: `explicit`, `$FACEBENCH_HOME/filename`, then `extra_dirs/filename`."""
    if explicit:
        return Path(explicit).expanduser() if Path(explicit).expanduser().is_file() else None
    for folder in (facebench_home(), *map(Path, extra_dirs)):
        candidate = Path(folder).expanduser() / filename
        if candidate.is_file():
            return candidate
    return None


def require_user_weights(plugin: str, filename: str, origin: str, explicit: Optional[str] = None,
                         extra_dirs: Iterable["str | Path"] = ()) -> Path:
    """Path of a user weight file, or MissingWeightsError with one actionable line.

    Args:
        plugin: plugin name, for the message.
        filename: expected file name inside `$FACEBENCH_HOME`.
        origin: where the user can obtain the file (paper repository, release page).
        explicit: a path the user gave with `--weights`; if given it must exist.
    """
    found = find_user_weights(filename, explicit, extra_dirs)
    if found is not None:
        return found
    if explicit:
        raise MissingWeightsError(f"{plugin}: weights file {explicit} does not exist")
    raise MissingWeightsError(
        f"{plugin}: weights not found: put {filename} in {facebench_home()} (or set $FACEBENCH_HOME, "
        f"or pass --weights PATH); it comes from {origin}; facebench never downloads weights")
