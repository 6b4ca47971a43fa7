"""Face datasets: DARK FACE, REGDet, WIDER FACE and COCO labels, and a synthetic dark set.

boxes everywhere: ndarray[M, 4] float64, (x1, y1, x2, y2) in pixels of the stored image.
"""
from facebench.datasets.dataset import DatasetError, FaceDataset, Sample
from facebench.datasets.images import read_image
from facebench.datasets.load import load_dataset
from facebench.datasets.synthetic import SyntheticConfig
from facebench.datasets.synthetic_store import synthetic_dataset, write_synthetic

__all__ = ["DatasetError", "FaceDataset", "Sample", "SyntheticConfig", "load_dataset", "read_image",
           "synthetic_dataset", "write_synthetic"]
