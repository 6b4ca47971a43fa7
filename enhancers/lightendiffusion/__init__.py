"""`lightendiffusion`: LightenDiffusion (Jiang et al., ECCV 2024), unsupervised latent-Retinex diffusion.

Modules: architecture (sizes), reconnet / retinex / ctdn (encoder, decoder, latent Retinex decomposition),
unet (denoiser), diffusion (schedule, DDIM), model (whole network), weights (checkpoint I/O),
enhancer (the plugin), conformance (the spec's check object), data / losses / train / train_cli (training).
See MODEL_CARD.md.
"""
from facebench.enhancers.lightendiffusion.conformance import conformance_model
from facebench.enhancers.lightendiffusion.enhancer import LightenDiffusion

__all__ = ["LightenDiffusion", "conformance_model"]
