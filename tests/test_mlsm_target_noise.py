"""MLSM's noisy targets (`--target-noise`): a synthetic pair's target keeps a share of its input's noise."""
import numpy as np
import pytest

from facebench.mlsm.data import DataConfig, TrainingData


def _pair(share: float, kind: str = "synthetic"):
    photo = np.full((128, 128, 3), 110, np.uint8)
    config = DataConfig(crop=64, max_side=0, scale_range=(1.0, 1.0), qfs=(100,), brightness_range=(0.03, 0.03),
                        target_noise=share, test_count=0, val_count=0)
    data = TrainingData(config, synthetic=[photo])
    return data._synthetic_pair(np.random.default_rng(7))


def test_clean_targets_by_default_and_noisy_targets_follow_the_input():
    dark, clean = _pair(0.0)
    assert (clean == 110).all()
    noisy_dark, noisy = _pair(0.5)
    assert np.array_equal(noisy_dark, dark)                       # the input is the same draw either way
    deviation = noisy.astype(float) - 110
    assert 3 < deviation.std() < 20                              # half of a 16x-brightened night camera's noise
    assert np.corrcoef(deviation.ravel(), dark.astype(float).ravel())[0, 1] > 0.8  # JPEG at QF 100 and rounding


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_target_noise_outside_zero_one_is_a_one_line_error(bad):
    with pytest.raises(ValueError, match=r"target_noise must be a share in \[0, 1\]"):
        DataConfig(target_noise=bad)
