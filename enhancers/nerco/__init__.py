"""`nerco`: NeRCo, implicit neural representation for cooperative low-light enhancement (Yang et al., ICCV 2023).

Modules: blocks (shared trunk), nrn (netPre + NRN), extractor (netH), model (test-time net, authors' keys),
weights_io (the authors' three files / facebench checkpoints), enhancer (the plugin), discriminator,
edges, pool, text_prior, losses (dual closed loop), data, train, train_cli. See MODEL_CARD.md.
"""
from facebench.enhancers.nerco.enhancer import NeRCo
from facebench.enhancers.nerco.model import conformance_model

__all__ = ["NeRCo", "conformance_model"]
