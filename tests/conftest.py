import os

# sklearn's array-API check (run on every estimator, with NumPy inputs) skips itself unless
# SciPy's array API mode is on; it must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from sklearn.datasets import load_digits


@pytest.fixture(scope="session")
def digits01():
    """sklearn's digits scaled to [0, 1] (pixel / 16), float64, and labels."""
    X, y = load_digits(return_X_y=True)
    return X / 16.0, y


@pytest.fixture(scope="session")
def small_params():
    """A small, quick network: tests check behaviour, not the quality of the fit."""
    return dict(hidden_layer_sizes=(32,), max_iter=10, batch_size=64, random_state=0)


def assert_bitwise_equal(a, b):
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    assert np.array_equal(a, b), f"max |diff| = {np.max(np.abs(a - b))}"
