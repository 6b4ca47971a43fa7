"""`python -m facebench ...` (also what torchrun runs: `torchrun --nproc_per_node N -m facebench eval ...`)."""
from facebench.cli import main

main()
