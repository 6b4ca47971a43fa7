"""`load_dataset`: one entry point that recognises the dataset format from the path.

Recognised (in this order):
- None: the embedded synthetic set (`synthetic_store.synthetic_dataset`, default config);
- a folder with `label/` (or `labels/`): DARK FACE (`image/` or `images/` beside it); one written by
  `facebench demo-data` (README.txt starting "SYNTHETIC DATA") loads with synthetic=True;
- a folder of `<id>.txt` files: DARK FACE labels only (no images);
- a `.json` file: COCO;
- a `.txt` file named `*bbx_gt*`, or starting "image path" / "count" lines: WIDER FACE;
- a `.txt` file whose first line is `name N x y w h 1 ...`: REGDet.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Optional, Sequence, Tuple, Union

from facebench.datasets.coco import load_coco
from facebench.datasets.darkface import is_darkface, is_label_folder, load_darkface
from facebench.datasets.dataset import DatasetError, FaceDataset, Sample, select
from facebench.datasets.regdet import load_regdet, looks_like_regdet
from facebench.datasets.synthetic_store import SYNTHETIC_MARKER, synthetic_dataset
from facebench.datasets.wider import load_wider, looks_like_wider

_EXPECTED = ("expected a DARK FACE folder (image/ + label/), a folder of <id>.txt labels, a REGDet .txt, "
             "a WIDER FACE *_bbx_gt.txt or a COCO .json")


def load_dataset(path: Union[str, Path, None], limit: Optional[int] = None, ids: Optional[Sequence[str]] = None,
                 require_images: bool = True) -> FaceDataset:
    """Load a face dataset, format recognised from `path` (see the module docstring).

    Args:
        path: dataset folder or label file; None for the synthetic set.
        limit: keep the first `limit` images in natural id order ("2" before "10").
        ids: keep only these image ids (each must exist); applied before `limit`.
        require_images: when False, labels without images are accepted (image_path None), e.g. for
            scoring saved predictions against ground truth.

    Raises:
        DatasetError: one line naming the file (and line) and what was expected.
    """
    if path is None:
        dataset = synthetic_dataset()
        return FaceDataset(name=dataset.name, format=dataset.format, root=dataset.root,
                           samples=select(dataset.samples, dataset.root, limit, ids), synthetic=True)
    root = Path(path).expanduser()
    if not root.exists():
        raise DatasetError(f"{root}: no such file or folder; {_EXPECTED}")
    fmt, samples = _load_any(root, require_images)
    _check_unique(root, samples)
    if require_images and fmt == "darkface-labels":
        raise DatasetError(f"{root}: labels only, no images; expected image/<id>.png beside label/<id>.txt "
                           "(labels-only folders serve as ground truth for scoring)")
    name = root.stem if root.is_file() else root.name
    synthetic = _marked_synthetic(root)
    return FaceDataset(name=f"{name} (SYNTHETIC)" if synthetic else name, format=fmt, root=root,
                       samples=select(samples, root, limit, ids), synthetic=synthetic)


def _load_any(root: Path, require_images: bool) -> Tuple[str, List[Sample]]:
    """(format name, samples) for an existing path."""
    if root.is_dir():
        if is_darkface(root):
            return "darkface", load_darkface(root, require_images)
        if is_label_folder(root):
            return "darkface-labels", load_darkface(root, require_images=False)
        raise DatasetError(f"{root}: folder without label/ or <id>.txt files; {_EXPECTED}")
    if root.suffix.lower() == ".json":
        return "coco", load_coco(root, require_images)
    if root.suffix.lower() == ".txt":
        first = _first_lines(root, 2)
        if looks_like_wider(root, first):
            return "wider", load_wider(root, require_images)
        if first and looks_like_regdet(first[0]):
            return "regdet", load_regdet(root, require_images)
        raise DatasetError(f"{root}:1: neither 'name N x y w h 1 ...' (REGDet) nor 'image path' + 'count' lines "
                           f"(WIDER FACE); {_EXPECTED}")
    raise DatasetError(f"{root}: unknown file type '{root.suffix}'; {_EXPECTED}")


def _marked_synthetic(root: Path) -> bool:
    """True for a folder written by `write_synthetic` (its README.txt starts with the marker)."""
    readme = root / "README.txt"
    return root.is_dir() and readme.is_file() and readme.read_text(encoding="utf-8").startswith(SYNTHETIC_MARKER)


def _first_lines(path: Path, count: int) -> List[str]:
    """The first `count` non-empty lines of a text file."""
    lines = []
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.strip():
                lines.append(line)
                if len(lines) == count:
                    break
    return lines


def _check_unique(root: Path, samples: List[Sample]) -> None:
    seen = set()
    for sample in samples:
        if sample.image_id in seen:
            raise DatasetError(f"{root}: image id {sample.image_id} appears twice (names equal up to the "
                               "extension?); expected unique image names")
        seen.add(sample.image_id)
