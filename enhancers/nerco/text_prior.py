"""NeRCo's text prior: a frozen CLIP model scores an image against "low light image" / "high light image".

    p = softmax(exp(logit_scale) * cos(encode_image(resize_224(y)), encode_text(prompts)))   [N, 2]
    loss(y, "high") = L1(p, [0, 1]);   loss(y, "low") = L1(p, [1, 0])   (mean over the N x 2 entries)

As in the authors' code, y (in [-1, 1]) is resized to 224 x 224 (bilinear) and given to CLIP without
CLIP's mean/std normalisation. The CLIP weights are a user file (`--clip PATH`, e.g. OpenAI's RN50.pt, as
the authors use); they are read with the `open_clip` package (open_clip_torch) if installed, else with
OpenAI's `clip` package; facebench never downloads them. Without `--clip` the trainer leaves the
text-prior terms out (see MODEL_CARD.md: in the authors' released code those terms pass through a
detaching image pool and add no gradient either).

Tensors: images Tensor[N, 3, H, W] in [-1, 1] -> probabilities Tensor[N, 2] (low, high) / a scalar loss.
"""
from __future__ import annotations

import importlib.util
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

PROMPTS = ("low light image", "high light image")
CLIP_SIZE = 224
LOW, HIGH = 0, 1


class TextPrior(nn.Module):
    """A frozen CLIP-like model (`encode_image`, `logit_scale`) and the prompts' text features.

    Args:
        clip_model: has encode_image(Tensor[N, 3, 224, 224]) -> Tensor[N, D] and a scalar `logit_scale` (log).
        text_features: Tensor[2, D], encode_text of PROMPTS (low, high).
    """

    def __init__(self, clip_model: nn.Module, text_features: torch.Tensor):
        super().__init__()
        self.clip_model = clip_model.eval().requires_grad_(False)
        self.register_buffer("text_features", F.normalize(text_features.detach().float(), dim=-1))

    def train(self, mode: bool = True) -> "TextPrior":
        """CLIP stays in eval mode (its BatchNorm statistics are frozen) whatever the trainer sets."""
        super().train(mode)
        self.clip_model.eval()
        return self

    def probabilities(self, images: torch.Tensor) -> torch.Tensor:
        """images Tensor[N, 3, H, W] in [-1, 1] -> Tensor[N, 2]: P(low light), P(high light); differentiable."""
        resized = F.interpolate(images, size=(CLIP_SIZE, CLIP_SIZE), mode="bilinear", align_corners=False)
        features = F.normalize(self.clip_model.encode_image(resized).float(), dim=-1)
        logits = self.clip_model.logit_scale.exp() * features @ self.text_features.t()
        return logits.softmax(dim=-1)

    def loss(self, images: torch.Tensor, target: int) -> torch.Tensor:
        """L1 between the probabilities and the one-hot `target` (LOW or HIGH); scalar."""
        probs = self.probabilities(images)
        return F.l1_loss(probs, F.one_hot(torch.full((len(probs),), target), 2).to(probs))


def _is_openai_clip() -> bool:
    """True when the importable `clip` is OpenAI's (PyPI's `clip` is an unrelated clipboard tool)."""
    import clip

    return hasattr(clip, "load") and hasattr(clip, "tokenize")


def load_text_prior(path: "str | Path", arch: str = "RN50", device: "str | torch.device" = "cpu") -> TextPrior:
    """The TextPrior of a local CLIP checkpoint (`arch` names the open_clip architecture).

    Raises:
        FileNotFoundError: `path` does not exist.
        ImportError: neither open_clip nor clip is installed (message says what to install).
    """
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"--clip {path}: no such file (a local CLIP checkpoint, e.g. OpenAI's RN50.pt)")
    if importlib.util.find_spec("open_clip") is not None:
        import open_clip

        model = open_clip.create_model(arch, pretrained=str(path), device=device)
        tokens = open_clip.get_tokenizer(arch)(list(PROMPTS)).to(device)
    elif importlib.util.find_spec("clip") is not None and _is_openai_clip():
        import clip

        model, _ = clip.load(str(path), device=device, jit=False)
        tokens = clip.tokenize(list(PROMPTS)).to(device)
    else:
        raise ImportError("--clip needs a CLIP implementation: pip install open_clip_torch (or OpenAI's clip)")
    model = model.float()
    with torch.no_grad():
        text_features = model.encode_text(tokens)
    return TextPrior(model, text_features).to(device)
