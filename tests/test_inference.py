"""skvae._inference: what every fitted estimator computes on the NumPy runtime: codes and
decodes equal to the Keras models, batch and order invariance up to rounding, the
importance-weighted score and its linear mixture, far-out float32 rows recomputed in
float64, and calls from threads."""

import copy
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

from .conftest import (
    TINY,
    assert_bitwise_equal,
    assert_equal_up_to_rounding,
    rounding_bound,
    uniform_rows,
)


def test_transform_equals_the_keras_encoder(fitted, digits01):
    X, _ = digits01
    X32 = X.astype(np.float32)
    mean, _ = fitted.encoder_(X32)
    np.testing.assert_allclose(fitted.transform(X32), mean.numpy(), rtol=1e-4, atol=1e-5)
    Z = fitted.transform(X32)
    np.testing.assert_allclose(
        fitted.inverse_transform(Z), fitted.decoder_(Z).numpy(), rtol=1e-4, atol=1e-5
    )


def _score_rounding_bound(est, X):
    """How far two batchings may move ``score_samples`` of a Bernoulli model: the rounding
    bounds of μ and γ pass into z = μ + exp(γ / 2)·ε, then through the decoder's logits into
    log p(x | z) (slope |σ(l) - x| <= 1 per logit), log p(z) and log q(z | x); the
    log-sum-exp over samples moves by at most the largest of those."""
    u = np.finfo(X.dtype).eps / 2
    mean, log_var = est._encoder_stack(X)
    e_mean, e_log_var = rounding_bound(est._encoder_stack, X)
    eps = np.random.RandomState(est._score_seed).standard_normal(
        (est.n_importance_samples, est.n_components_)).astype(X.dtype)
    bounds = []
    for e in eps:
        std = np.exp(log_var / 2)
        z = mean + std * e
        e_z = e_mean + np.abs(e) * std * e_log_var + 4 * u * np.abs(z)
        (logits,) = est._decoder_logits(z)
        (e_logits,) = rounding_bound(est._decoder_logits, z, e_z)
        terms = np.abs(logits).sum(1) + np.abs(z**2).sum(1) + np.abs(log_var).sum(1)
        bounds.append(e_logits.sum(1) + (np.abs(z) * e_z).sum(1) + e_log_var.sum(1)
                      + 2 * X.shape[1] * u * terms)
    return np.max(bounds, axis=0) * (1 + 1e-3) + 8 * u * np.abs(est.score_samples(X))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_batch_and_order_move_results_only_within_rounding(fitted, digits01, dtype):
    """The same rows in the same batch give bitwise the same results; in another batch or
    order (a slice starting at row 10, the padded last block, one row alone, a permutation)
    they stay within the rounding bound of BLAS, whatever kernel this CPU gets."""
    X = digits01[0][:300].astype(dtype)
    Z = fitted.transform(X)
    X_hat = fitted.inverse_transform(Z)
    scores = fitted.score_samples(X)
    assert_bitwise_equal(fitted.transform(X), Z)
    assert_bitwise_equal(fitted.inverse_transform(Z), X_hat)
    assert_bitwise_equal(fitted.score_samples(X), scores)
    (z_bound, _) = rounding_bound(fitted._encoder_stack, X)
    (x_bound,) = rounding_bound(fitted._decoder_stack, Z)
    s_bound = _score_rounding_bound(fitted, X)
    perm = np.random.RandomState(1).permutation(len(X))
    for rows in [perm, slice(10, 74), slice(256, 300), slice(299, 300), slice(0, 1)]:
        assert_equal_up_to_rounding(fitted.transform(X[rows]), Z[rows], z_bound[rows])
        assert_equal_up_to_rounding(fitted.inverse_transform(Z[rows]), X_hat[rows],
                                    x_bound[rows])
        assert_equal_up_to_rounding(fitted.score_samples(X[rows]), scores[rows],
                                    s_bound[rows])


def test_more_importance_samples_tighten_the_bound(fitted_gaussian, digits01):
    X = digits01[0][:200]
    est = clone(fitted_gaussian)
    elbo = copy.deepcopy(fitted_gaussian).set_params(n_importance_samples=1).score(X)
    iwae = copy.deepcopy(fitted_gaussian).set_params(n_importance_samples=64).score(X)
    assert iwae > elbo
    assert est.get_params()["n_importance_samples"] == fitted_gaussian.n_importance_samples


def test_linear_mixture_keeps_every_row_within_log_w_of_the_linear_start():
    """score_samples is log((1 - w) p_VAE + w p_linear): a row far from the training data
    (here scaled 30 times) scores at most log(1 / w) below the linear start's density, one
    that the VAE explains loses at most log(1 / (1 - w)); w = 0 is the VAE alone, and w
    near 1 the start's Gaussian density in the data's units."""
    rng = np.random.RandomState(0)
    z = rng.normal(size=(500, 2))
    X = np.tanh(z @ rng.normal(size=(2, 6))) + 0.1 * rng.normal(size=(500, 6))
    X = X * [1, 10, 100, 0.1, 1, 5] + 3
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = VAETransformer(2, hidden_layer_sizes=(32,), max_iter=60, random_state=0)
        est.fit(X[:400])
    test = X[400:].copy()
    test[:5] = 3 + 30 * (test[:5] - 3)
    w = est.linear_mixture
    mixed = est.score_samples(test)
    vae = copy.deepcopy(est).set_params(linear_mixture=0).score_samples(test)
    linear = copy.deepcopy(est).set_params(linear_mixture=1 - 1e-12).score_samples(test)
    standardized = (test - est.mean_) / est.scale_
    loadings, noise, mean = est._linear_density
    expected = (stats.multivariate_normal(mean, loadings @ loadings.T + np.diag(noise))
                .logpdf(standardized) - np.log(est.scale_).sum())
    np.testing.assert_allclose(linear, expected, rtol=1e-9)
    assert np.all(mixed >= vae + np.log1p(-w) - 1e-9)
    assert np.all(mixed >= linear + np.log(w) - 1e-9)
    assert np.all(mixed <= np.maximum(vae, linear) + 1e-9)
    # the scaled rows: the VAE is sharper than the linear model and falls far below it
    assert np.all(vae[:5] < linear[:5] + np.log(w))
    assert mixed[:5].mean() > vae[:5].mean() + 10
    assert est.score(test) == pytest.approx(mixed.mean())


def test_far_out_float32_rows_are_scored_and_imputed_finitely():
    """A float32 value 1e14 in a column whose training spread is 1e-6 is 1e20 standard
    deviations out: squared over a noise variance it overflows float32. Such rows are
    computed in float64: finite scores, codes and fills instead of -inf and NaN."""
    X = uniform_rows(n_rows=120).astype(np.float32)
    X[:, 1] *= 1e-6
    far = X[:4].copy()
    far[0, 1], far[1, 0] = 1e14, 1e20
    holed = far.copy()
    holed[:, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = VAETransformer(2, **TINY).fit(X)
        detector = VAEOutlierDetector(2, **TINY).fit(X)
        imputer = VAEImputer(2, **TINY).fit(X)
    assert np.all(np.isfinite(est.score_samples(far[[0, 2, 3]])))
    assert np.all(np.isfinite(est.transform(far)))
    assert np.all(np.isfinite(detector.decision_function(far[[0, 2, 3]])))
    assert detector.predict(far[:1])[0] == -1
    filled = imputer.transform(holed)
    assert filled.dtype == np.float32 and np.all(np.isfinite(filled))
    # the other rows of the batch keep the float32 path: the same results as without them;
    # codes stay float32, a score below float32's range comes back in float64
    codes = est.transform(far)
    assert codes.dtype == np.float32
    assert_bitwise_equal(codes[2:], est.transform(far[2:]))
    scores = est.score_samples(far[[0, 2, 3]])
    assert scores.dtype == np.float64 and scores[0] < -np.finfo(np.float32).max
    assert_bitwise_equal(scores[1:], est.score_samples(far[2:]).astype(np.float64))


# -------------------------------------------------------------- concurrency


@pytest.fixture(scope="module")
def fitted_for_threads(digits01):
    return VAETransformer(3, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
        digits01[0]
    )


def test_threads_get_bitwise_the_same_results_as_serial_calls(fitted_for_threads, digits01):
    X = digits01[0]
    est = copy.deepcopy(fitted_for_threads)  # empty per-dtype weight caches: filled by threads
    slices = [slice(i * 200, i * 200 + 37 * (i + 1)) for i in range(8)]
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)

        def work(s):
            return est.transform(Xd[s]), est.score_samples(Xd[s])

        with ThreadPoolExecutor(max_workers=8) as pool:
            threaded = list(pool.map(work, slices * 4))
        for s, (Z, scores) in zip(slices * 4, threaded):
            assert_bitwise_equal(Z, fitted_for_threads.transform(Xd[s]))
            assert_bitwise_equal(scores, fitted_for_threads.score_samples(Xd[s]))
