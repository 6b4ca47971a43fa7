"""Built-in detectors. Adding one = one new file (or folder) here + one line below."""

BUILTIN_DETECTORS = {
    "retinaface": "facebench.detectors.retinaface:RetinaFace",
    "pyramidbox": "facebench.detectors.pyramidbox:PyramidBox",
    "s3fd": "facebench.detectors.s3fd:S3FD",
    "mtcnn": "facebench.detectors.mtcnn:MTCNN",
}
