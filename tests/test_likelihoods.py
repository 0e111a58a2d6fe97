"""skvae._likelihoods: the NumPy log-likelihoods."""

import numpy as np
import pytest

from skvae import _likelihoods

from .conftest import assert_bitwise_equal


@pytest.mark.parametrize("n_features", [11, 784, 1024])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_bernoulli_score_shortcut_equals_the_entrywise_formula(n_features, dtype):
    # importance_sampling's Bernoulli path sums x * logit as one product per row and takes
    # the log of products of the softplus factors; 784 and 1024 pixels exercise the products.
    rng = np.random.RandomState(6)
    logits = rng.normal(scale=6, size=(9, 5, n_features)).astype(dtype)
    x = rng.uniform(size=(9, 1, n_features)).astype(dtype)
    given = logits.copy()
    fast = _likelihoods.reconstruction_log_likelihood(x, logits, "bernoulli")
    assert fast.dtype == dtype
    assert_bitwise_equal(logits, given)  # the caller's logits are left alone by default
    exact = _likelihoods.entry_log_likelihood(
        x.astype(np.float64), logits.astype(np.float64), "bernoulli"
    )
    # float32: within a few roundings of each term's magnitude, summed
    tol = 1e-12 if dtype == np.float64 else 8 * np.finfo(dtype).eps
    assert np.all(np.abs(fast - exact.sum(axis=-1)) <= tol * np.abs(exact).sum(axis=-1))
    again = _likelihoods.reconstruction_log_likelihood(x, logits, "bernoulli",
                                                   overwrite_decoded=True)
    assert_bitwise_equal(again, fast)
