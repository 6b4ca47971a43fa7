"""Built-in detectors. Adding one = one new file (or folder) here + one line below."""

BUILTIN_DETECTORS = {
    "retinaface": "facebench.detectors.retinaface:RetinaFace",
}
