"""MLSM: Multiple Latent Space Mapping for compressed dark image enhancement (arXiv 2403.07622).

Modules: config (frozen dataclasses), blocks (conv units), vae (multi-level VAE, Eq. 9/10), mapping
(latent mapping networks, Fig. 6), model (MLSM and the no-mapping encoder-decoder), inference (padding,
tiling), losses, data, train, train_cli. See MODEL_CARD.md for the choices the paper leaves open.
"""
