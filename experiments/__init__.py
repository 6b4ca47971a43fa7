"""Experiments that reproduce the MLSM paper's tables and figures with facebench (installed as
`facebench.experiments`; see experiments/README.md for the commands and results)."""
