"""LIME: brightening, the refinement's linear system and matrix, denoising (size/range: test_all_plugins.py)."""
import cv2
import numpy as np
import pytest
import torch

from facebench.enhancers.lime import LIME, LIMEConfig, initial_illumination, refine_illumination, system_matrix


def _scene(h: int = 32, w: int = 40, seed: int = 0) -> np.ndarray:
    """A piecewise-smooth RGB scene [H, W, 3] in [0, 1]: lit rectangle and disc on a ramp, plus noise."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w] / max(h, w)
    base = 0.3 + 0.4 * xx
    base[h // 4: h // 2, w // 5: w // 2] = 0.95
    base[(yy - 0.55) ** 2 + (xx - 0.7) ** 2 < 0.02] = 0.1
    tint = np.array([1.0, 0.8, 0.6])
    return np.clip(base[..., None] * tint + 0.02 * rng.standard_normal((h, w, 3)), 0, 1)


def _tv(a: np.ndarray) -> float:
    return float(np.abs(np.diff(a, axis=0)).sum() + np.abs(np.diff(a, axis=1)).sum())


def _dense_reference_matrix(t_hat: np.ndarray, cfg: LIMEConfig) -> np.ndarray:
    """I + α Σ_d D_dᵀ diag(w̃_d) D_d from explicit difference matrices and explicit Gaussian sums."""
    h, w = t_hat.shape
    n = h * w
    radius = int(4.0 * cfg.sigma + 0.5)
    taps = np.exp(-np.arange(-radius, radius + 1) ** 2 / (2 * cfg.sigma ** 2))
    taps /= taps.sum()

    def reflect(i: int, size: int) -> int:  # half-sample symmetric: d c b a | a b c d | d c b a
        while not 0 <= i < size:
            i = -i - 1 if i < 0 else 2 * size - i - 1
        return i

    matrix = np.eye(n)
    for dy, dx in ((0, 1), (1, 0)):
        eh, ew = h - dy, w - dx
        grad = np.array([[t_hat[i + dy, j + dx] - t_hat[i, j] for j in range(ew)] for i in range(eh)])
        diff = np.zeros((eh * ew, n))
        weights = np.zeros(eh * ew)
        for i in range(eh):
            for j in range(ew):
                smooth = sum(taps[u + radius] * taps[v + radius] * grad[reflect(i + u, eh), reflect(j + v, ew)]
                             for u in range(-radius, radius + 1) for v in range(-radius, radius + 1))
                big_w = 1.0 / (abs(smooth) + cfg.epsilon)  # strategy III, Σ G = 1
                k = i * ew + j
                weights[k] = big_w / (abs(grad[i, j]) + cfg.epsilon)
                diff[k, i * w + j] = -1.0
                diff[k, (i + dy) * w + j + dx] = 1.0
        matrix += cfg.alpha * diff.T @ np.diag(weights) @ diff
    return matrix


def test_downscaled_solve_keeps_size():
    """(Shape, range and device at the default settings: tests/test_all_plugins.py.)"""
    assert LIME(solve_scale=0.5)(torch.rand(1, 3, 15, 11)).shape == (1, 3, 15, 11)


def test_brightens_a_synthetic_dark_image():
    dark = torch.from_numpy(0.08 * _scene()).permute(2, 0, 1)[None].float()
    out = LIME()(dark)
    assert float(out.mean()) > 3 * float(dark.mean())
    assert float(out.max()) <= 1.0


def test_brightens_a_real_dark_image(shared):
    bgr = cv2.imread(str(shared / "data" / "dark_real" / "LIME" / "2.bmp"))
    rgb = cv2.resize(bgr, (140, 105), interpolation=cv2.INTER_AREA)[..., ::-1] / 255.0
    x = torch.from_numpy(rgb.copy()).permute(2, 0, 1)[None].float()
    out = LIME()(x)
    assert float(out.mean()) > 1.5 * float(x.mean())


def test_refined_map_solves_the_system_and_is_smoother_but_close():
    cfg = LIMEConfig()
    t_hat = initial_illumination(_scene(40, 48))
    t = refine_illumination(t_hat, cfg)
    matrix = system_matrix(t_hat, cfg.alpha, cfg.sigma, cfg.epsilon)
    residual = np.linalg.norm(matrix @ t.ravel() - t_hat.ravel()) / np.linalg.norm(t_hat)
    assert residual < 1e-10
    assert _tv(t) < 0.5 * _tv(t_hat)
    assert np.corrcoef(t.ravel(), t_hat.ravel())[0, 1] > 0.9  # follows T̂ ...
    assert np.abs(t - t_hat).mean() < 0.15 and np.abs(t - t_hat).max() < 0.35  # ... within a bounded distance
    assert t_hat.min() - 1e-9 <= t.min() and t.max() <= t_hat.max() + 1e-9  # M-matrix: no overshoot


def test_system_matrix_matches_the_formula_and_is_symmetric_positive_definite():
    cfg = LIMEConfig()
    t_hat = initial_illumination(_scene(6, 5, seed=1))
    matrix = system_matrix(t_hat, cfg.alpha, cfg.sigma, cfg.epsilon).toarray()
    np.testing.assert_allclose(matrix, _dense_reference_matrix(t_hat, cfg), rtol=1e-9, atol=1e-6)
    assert np.array_equal(matrix, matrix.T)
    assert np.linalg.eigvalsh(matrix).min() >= 1.0 - 1e-9  # I + positive semi-definite


def test_denoising_reduces_noise_in_dark_flat_regions():
    rng = np.random.default_rng(3)
    noisy = np.clip(0.05 + 0.005 * rng.standard_normal((1, 1, 48, 48)), 0, 1).repeat(3, axis=1)  # luma noise
    x = torch.from_numpy(noisy).float()
    plain, denoised = LIME()(x), LIME(denoise=True)(x)
    assert float(denoised.std()) < 0.5 * float(plain.std())
    assert float(denoised.min()) >= 0.0 and float(denoised.max()) <= 1.0
    assert LIME(denoise=True).settings()["denoise"] is True


def test_bad_input_and_settings_raise():
    with pytest.raises(ValueError, match=r"lime: expected images of shape \[B, 3, H, W\]"):
        LIME()(torch.rand(3, 8, 8))
    with pytest.raises(ValueError, match="solve_scale"):
        LIME(solve_scale=0)
    with pytest.raises(ValueError, match="denoise must be true or false"):
        LIME(denoise="False")
