"""`lightendiffusion`: LightenDiffusion (Jiang et al., ECCV 2024), unsupervised latent-Retinex diffusion.

Modules: architecture (sizes), reconnet / retinex / ctdn (encoder, decoder, latent Retinex decomposition),
unet (denoiser), diffusion (schedule, DDIM), model (whole network), weights (checkpoint I/O),
enhancer (the plugin), conformance (the spec's check object), config / data / losses / train / train_cli
(training). See MODEL_CARD.md.

`LightenDiffusion` and `conformance_model` are imported on first access, so that the command line can
read `config` without importing torch.
"""
import importlib

_EXPORTS = {"LightenDiffusion": "enhancer", "conformance_model": "conformance"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
