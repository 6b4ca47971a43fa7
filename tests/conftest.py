"""Shared test fixtures. `shared` is ../shared beside the repository; tests needing it skip without it."""
import os
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# $FACEBENCH_HOME layout the plugins look up (their WEIGHTS_FILE / weights_file(variant)) -> the file or
# folder in ../shared holding the authors' released weights.
_SHARED_WEIGHTS = {
    "zerodce/Epoch99.pth": "specs/zerodce/Epoch99.pth",
    "zerodce_pp": "data/weights/zerodce_pp",
    "sci": "data/weights/sci",
    "ruas": "data/weights/ruas",
}


@pytest.fixture(scope="session", autouse=True)
def isolated_facebench_home(tmp_path_factory):
    """A fresh $FACEBENCH_HOME for the whole session (subprocesses inherit it): tests never read the
    user's weights or caches nor write into ~/.cache/facebench."""
    previous = os.environ.get("FACEBENCH_HOME")
    os.environ["FACEBENCH_HOME"] = str(tmp_path_factory.mktemp("facebench_home"))
    yield
    if previous is None:
        del os.environ["FACEBENCH_HOME"]
    else:
        os.environ["FACEBENCH_HOME"] = previous


@pytest.fixture
def shared() -> Path:
    """Path of ../shared (real data, specs, fixtures); skips the test when it is absent."""
    if not (SHARED / "specs").is_dir():
        pytest.skip(f"needs ../shared beside the repository ({SHARED} not found)")
    return SHARED


@pytest.fixture
def one_thread():
    """One torch thread during the test (the machine is shared; keeps timings predictable)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def weights_home(shared, tmp_path, monkeypatch) -> Path:
    """A fresh $FACEBENCH_HOME (set for the test) whose entries are symlinks to the authors' weights in
    ../shared: zerodce/Epoch99.pth, zerodce_pp/, sci/, ruas/."""
    home = tmp_path / "facebench_home"
    for entry, target in _SHARED_WEIGHTS.items():
        link = home / entry
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(shared / target, target_is_directory=(shared / target).is_dir())
    monkeypatch.setenv("FACEBENCH_HOME", str(home))
    return home
