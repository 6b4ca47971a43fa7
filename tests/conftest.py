"""Shared test fixtures. `shared` is ../shared beside the repository; tests needing it skip without it."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"


@pytest.fixture
def shared() -> Path:
    """Path of ../shared (real data, specs, fixtures); skips the test when it is absent."""
    if not (SHARED / "specs").is_dir():
        pytest.skip(f"needs ../shared beside the repository ({SHARED} not found)")
    return SHARED
