"""skvae.losses: the latent loss in γ-form and the reconstruction likelihoods."""

import numpy as np
from scipy import stats

from skvae import losses
from skvae._tf import import_keras

keras = import_keras()


def _np(x):
    return keras.ops.convert_to_numpy(x)


def test_latent_loss_is_the_kl_to_a_standard_normal():
    rng = np.random.RandomState(0)
    mean = rng.normal(size=(6, 3)).astype(np.float32)
    log_var = rng.normal(size=(6, 3)).astype(np.float32)
    var = np.exp(log_var.astype(np.float64))
    # KL(N(m, v) || N(0, 1)) = (v + m^2 - 1 - log v) / 2, summed over components
    expected = 0.5 * np.sum(var + mean**2 - 1 - log_var, axis=1)
    np.testing.assert_allclose(_np(losses.latent_loss(mean, log_var)), expected, rtol=1e-5)
    zero = losses.latent_loss(np.zeros((2, 3), np.float32), np.zeros((2, 3), np.float32))
    np.testing.assert_array_equal(_np(zero), [0.0, 0.0])


def test_bernoulli_nll_matches_cross_entropy_and_handles_extreme_logits():
    rng = np.random.RandomState(1)
    x = rng.uniform(size=(4, 5)).astype(np.float32)
    logits = rng.normal(scale=3, size=(4, 5)).astype(np.float32)
    p = 1 / (1 + np.exp(-logits.astype(np.float64)))
    expected = -np.sum(x * np.log(p) + (1 - x) * np.log(1 - p), axis=1)
    np.testing.assert_allclose(_np(losses.bernoulli_nll(x, logits)), expected, rtol=1e-5)
    extreme = _np(losses.bernoulli_nll(np.array([[0.0, 1.0]], np.float32),
                                       np.array([[200.0, -200.0]], np.float32)))
    np.testing.assert_allclose(extreme, [400.0], rtol=1e-6)  # exact, where p-form clips


def test_gaussian_nll_is_the_normal_log_density():
    rng = np.random.RandomState(2)
    x, mean = rng.normal(size=(2, 3, 4)).astype(np.float32)
    log_var = rng.normal(size=4).astype(np.float32)
    expected = -stats.norm.logpdf(x, mean, np.exp(log_var / 2)).sum(axis=1)
    np.testing.assert_allclose(_np(losses.gaussian_nll(x, mean, log_var)), expected, rtol=1e-5)



def test_categorical_nll_is_each_blocks_cross_entropy_with_holes_and_extreme_logits():
    """Blocks of 2, 4 and 3 levels beside numeric columns: the nll is the sum of each block's
    -log softmax at the level taken, a block whose cell is missing (or empty) counts nothing,
    and a level far below the others costs its full gap (no overflow)."""
    rng = np.random.RandomState(2)
    blocks = [(1, 3), (3, 7), (8, 11)]
    n, width = 5, 12
    logits = rng.normal(scale=3, size=(n, width)).astype(np.float32)
    logits[0, 3:7] = [300.0, -300.0, 0.0, 0.0]
    x = np.zeros((n, width), np.float32)
    levels = rng.randint(0, 2, size=n), rng.randint(0, 4, size=n), rng.randint(0, 3, size=n)
    for (start, _), taken in zip(blocks, levels):
        x[np.arange(n), start + taken] = 1.0
    x[0, 3:7] = [0.0, 1.0, 0.0, 0.0]  # the level at -300, 600 below the first
    x[4, 8:11] = 0.0  # an empty block
    observed = np.ones((n, width), np.float32)
    observed[2, 1:3] = 0.0  # a missing cell
    expected, unmasked = np.zeros(n), np.zeros(n)
    for start, stop in blocks:
        block = logits[:, start:stop].astype(np.float64)
        log_p = block - block.max(axis=1, keepdims=True)
        log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
        expected -= np.sum(x[:, start:stop] * log_p, axis=1) * observed[:, start]
        unmasked -= np.sum(x[:, start:stop] * log_p, axis=1)
    got = _np(losses.categorical_nll(x, logits, blocks, observed))
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    assert got[0] > 600.0 - 1e-3
    np.testing.assert_allclose(_np(losses.categorical_nll(x, logits, blocks)), unmasked,
                               rtol=1e-5)


def test_categorical_nll_ignores_numeric_columns_however_large():
    """Numeric cells beside the blocks, with outputs whose product overflows float32, do not
    reach the categorical term (a NaN loss would end the fit as diverged)."""
    x = np.array([[3e20, 1.0, 0.0, 0.0, 1.0]], np.float32)
    logits = np.array([[3e20, 0.5, -0.5, 2.0, 2.0]], np.float32)
    got = _np(losses.categorical_nll(x, logits, [(1, 3), (3, 5)]))
    np.testing.assert_allclose(got, [np.log1p(np.exp(-1.0)) + np.log(2.0)], rtol=1e-6)
