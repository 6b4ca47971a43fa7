"""`lime`: LIME, low-light enhancement via illumination map estimation (Guo, Li, Ling, TIP 2017).

Per image (L: float64 RGB [H, W, 3] in [0, 1]; maps T̂, T: float64 [H, W]):
    1. Initial illumination  T̂(x) = max_c L^c(x)  (the paper's max-RGB estimate).
    2. Structure-aware refinement, the paper's sped-up solver: the l1 term α‖W∘∇T‖₁ is replaced by
       α Σ_x Σ_d W_d(x) (∇_d T(x))² / (|∇_d T̂(x)| + ε), so the minimiser of ‖T̂ − T‖² + that term
       solves the sparse linear system
           (I + α Σ_{d∈{h,v}} D_dᵀ diag(w̃_d) D_d) t = t̂,   w̃_d = W_d / (|∇_d T̂| + ε),
       with weighting strategy III:  W_d(x) = Σ_y G_σ(x, y) / (|Σ_y G_σ(x, y) ∇_d T̂(y)| + ε).
       D_h, D_v are forward differences between 4-neighbours (edges inside the image only, no wrap),
       so the matrix is I plus a weighted graph Laplacian with positive weights: 5-point, symmetric
       positive definite, an M-matrix (t stays within [min T̂, max T̂]).
       It is solved exactly with a sparse direct LU (SuperLU via `scipy.sparse.linalg.spsolve`,
       minimum-degree ordering on AᵀA+A). Why direct: the weights span ~6 orders of magnitude (up to
       α/ε² = 1.5e5 in flat regions), so the system is badly conditioned; on a 1080x720 night frame
       Jacobi-preconditioned CG needed ~5000 iterations and ILU-preconditioned CG did not converge in
       2000 and smoothed-aggregation AMG (pyamg) as CG preconditioner was ~4x slower than the direct
       solve, which has no tolerance to tune and leaves a residual at round-off level (< 1e-9).
    3. Gamma correction  T ← T^γ,  then  R^c = L^c / T  per channel, clamped to [0, 1].
    4. Optional denoising (off by default): the authors' demo denoises the luma Y of R with BM3D
       (σ = 10 on the 8-bit scale) and recombines  R_f = R·T + R_d·(1 − T)  (bright regions keep R,
       dark, noise-amplified regions take the denoised R_d). BM3D is not in OpenCV / scikit-image, so
       we use OpenCV's non-local means on 8-bit Y (YCrCb, full range) with filter strength h = 10;
       T here is the gamma-corrected map R was divided by.

Parameters and where they come from:
    alpha = 0.15: the authors' released MATLAB demo (`demo.m`, `para.lambda = .15`, commented "fine
        for SPED-UP SOLVER + STRATEGY III").
    sigma = 2: the same demo (`para.sigma = 2`, "Sigma for Strategy III").
    epsilon = 1e-3: the paper's "small constant" avoiding zero denominators (value as in common
        re-implementations; the demo does not expose it).
    gamma = 0.8: the paper's gamma correction of the illumination map (the demo script uses 0.7).
    denoise_strength = 10: the demo's BM3D sigma (10 on the 8-bit scale), used as NLM's h.

Speed: the default is the exact full-resolution solve. `solve_scale` < 1 solves for T on a
downscaled T̂ (OpenCV area resampling) and upsamples T bilinearly, ~1/scale² fewer unknowns.
Measured on this 2-core CPU (shared with other jobs) for one 1080x720 DARK FACE image with
benchmarks/bench_enhancers_classic.py: 8.5 s median (6.8-11.1 s) at full resolution, of which
~1 s builds the system and the rest is the sparse LU (~64 M factor non-zeros, ~1.6 GB peak RSS);
1.9 s with solve_scale=0.5.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import cv2
import numpy as np
import scipy.ndimage
import scipy.sparse
import scipy.sparse.linalg
import torch

from facebench.enhancers import BUILTIN_ENHANCERS
from facebench.plugin_api import Enhancer


@dataclass(frozen=True)
class LIMEConfig:
    """LIME settings (all change the output, so all are part of the plugin's identity)."""

    alpha: float = 0.15  # weight of the structure term (authors' demo.m, sped-up solver + strategy III)
    sigma: float = 2.0  # std (pixels) of the Gaussian in weighting strategy III (authors' demo.m)
    epsilon: float = 1e-3  # small constant in the weights and in R = L / T
    gamma: float = 0.8  # gamma correction of the refined map, T ** gamma (paper)
    solve_scale: float = 1.0  # 1 = exact full-resolution solve; < 1 solves on a downscaled map
    denoise: bool = False  # the paper's optional denoising of Y, recombined with the map
    denoise_strength: float = 10.0  # OpenCV NLM h on 8-bit Y (the demo's BM3D sigma 10)


def initial_illumination(rgb: np.ndarray) -> np.ndarray:
    """rgb (float [H, W, 3] in [0, 1]) -> T̂ (float64 [H, W]): the maximum over R, G, B."""
    return rgb.max(axis=2).astype(np.float64)


def _edge_weights(t_hat: np.ndarray, sigma: float, epsilon: float) -> Tuple[np.ndarray, np.ndarray]:
    """Strategy III weights w̃_d = W_d / (|∇_d T̂| + ε) on horizontal [H, W-1] and vertical [H-1, W] edges.

    The Gaussian is normalised, so the numerator Σ_y G_σ(x, y) of W_d is 1.
    """
    weights = []
    for axis in (1, 0):
        grad = np.diff(t_hat, axis=axis)
        smoothed = scipy.ndimage.gaussian_filter(grad, sigma, mode="reflect")
        weights.append(1.0 / ((np.abs(smoothed) + epsilon) * (np.abs(grad) + epsilon)))
    return weights[0], weights[1]


def system_matrix(t_hat: np.ndarray, alpha: float, sigma: float, epsilon: float) -> scipy.sparse.csc_matrix:
    """A = I + α Σ_d D_dᵀ diag(w̃_d) D_d for T̂ (float [H, W]) -> sparse [H*W, H*W], row-major pixels.

    Each edge (p, q) with weight a = α w̃ adds a to A[p, p] and A[q, q] and -a to A[p, q] and A[q, p].
    """
    h, w = t_hat.shape
    w_h, w_v = _edge_weights(t_hat, sigma, epsilon)
    index = np.arange(h * w).reshape(h, w)
    p = np.concatenate([index[:, :-1].ravel(), index[:-1, :].ravel()])
    q = np.concatenate([index[:, 1:].ravel(), index[1:, :].ravel()])
    a = alpha * np.concatenate([w_h.ravel(), w_v.ravel()])
    n = h * w
    diagonal = 1.0 + np.bincount(p, a, n) + np.bincount(q, a, n)
    rows = np.concatenate([index.ravel(), p, q])
    cols = np.concatenate([index.ravel(), q, p])
    values = np.concatenate([diagonal, -a, -a])
    return scipy.sparse.csc_matrix((values, (rows, cols)), shape=(n, n))


def refine_illumination(t_hat: np.ndarray, config: LIMEConfig) -> np.ndarray:
    """T̂ (float [H, W] in [0, 1]) -> refined map T (float64 [H, W], before gamma), the exact solve.

    With config.solve_scale < 1 the system is solved on a downscaled T̂ and T is upsampled back.
    """
    h, w = t_hat.shape
    target = t_hat
    if config.solve_scale < 1.0:
        size = (max(1, round(w * config.solve_scale)), max(1, round(h * config.solve_scale)))
        target = cv2.resize(t_hat, size, interpolation=cv2.INTER_AREA)
    matrix = system_matrix(target, config.alpha, config.sigma, config.epsilon)
    t = scipy.sparse.linalg.spsolve(matrix, target.ravel(), permc_spec="MMD_AT_PLUS_A").reshape(target.shape)
    if t.shape != (h, w):
        t = cv2.resize(t, (w, h), interpolation=cv2.INTER_LINEAR)
    return t


def _denoise(rgb: np.ndarray, illumination: np.ndarray, strength: float) -> np.ndarray:
    """R (float [H, W, 3] in [0, 1]), T ([H, W]) -> R·T + R_d·(1 − T), R_d = R with NLM-denoised luma."""
    ycrcb = cv2.cvtColor(rgb.astype(np.float32), cv2.COLOR_RGB2YCrCb)
    luma8 = np.clip(ycrcb[..., 0] * 255.0 + 0.5, 0, 255).astype(np.uint8)
    ycrcb[..., 0] = cv2.fastNlMeansDenoising(luma8, None, h=strength).astype(np.float32) / 255.0
    denoised = np.clip(cv2.cvtColor(ycrcb, cv2.COLOR_YCrCb2RGB), 0.0, 1.0).astype(np.float64)
    t = illumination[..., None]
    return rgb * t + denoised * (1.0 - t)


def enhance_array(rgb: np.ndarray, config: LIMEConfig) -> np.ndarray:
    """rgb (float [H, W, 3] in [0, 1]) -> enhanced float64 [H, W, 3] in [0, 1]."""
    rgb = rgb.astype(np.float64)
    t = refine_illumination(initial_illumination(rgb), config)
    t = np.maximum(t, config.epsilon) ** config.gamma
    out = np.clip(rgb / t[..., None], 0.0, 1.0)
    if config.denoise:
        out = np.clip(_denoise(out, t, config.denoise_strength), 0.0, 1.0)
    return out


class LIME(Enhancer):
    """`lime`: max-RGB illumination, exact sped-up refinement (strategy III), gamma, R = L / T."""

    name = "lime"
    meta = BUILTIN_ENHANCERS["lime"].meta

    def __init__(self, alpha: float = 0.15, sigma: float = 2.0, epsilon: float = 1e-3, gamma: float = 0.8,
                 solve_scale: float = 1.0, denoise: bool = False, denoise_strength: float = 10.0):
        super().__init__()
        if alpha <= 0 or sigma <= 0 or epsilon <= 0 or gamma <= 0 or denoise_strength <= 0:
            raise ValueError(f"lime: alpha, sigma, epsilon, gamma, denoise_strength must be > 0, got "
                             f"{alpha}, {sigma}, {epsilon}, {gamma}, {denoise_strength}")
        if not isinstance(denoise, bool):
            raise ValueError(f"lime: denoise must be true or false, got {denoise!r}")
        if not 0 < solve_scale <= 1:
            raise ValueError(f"lime: solve_scale must be in (0, 1], got {solve_scale}")
        self.config = LIMEConfig(float(alpha), float(sigma), float(epsilon), float(gamma),
                                 float(solve_scale), denoise, float(denoise_strength))

    def enhance(self, images: torch.Tensor) -> torch.Tensor:
        """images (Tensor[B, 3, H, W], float RGB in [0, 1], any device) -> Tensor[B, 3, H, W] in [0, 1]."""
        if images.dim() != 4 or images.shape[1] != 3:
            raise ValueError(f"lime: expected images of shape [B, 3, H, W], got {tuple(images.shape)}")
        arrays = images.detach().clamp(0, 1).permute(0, 2, 3, 1).cpu().double().numpy()
        out = np.stack([enhance_array(a, self.config) for a in arrays])
        return torch.from_numpy(out).permute(0, 3, 1, 2).to(images.device, torch.float32)
