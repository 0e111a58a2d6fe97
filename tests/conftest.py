import os

# sklearn's array-API check (run on every estimator, with NumPy inputs) skips itself unless
# SciPy's array API mode is on; it must be set before SciPy is first imported.
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import numpy as np
import pytest
from sklearn.datasets import load_digits

from skvae._runtime import ACTIVATIONS


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


# Largest slope of each activation: a difference d in a pre-activation moves its output by
# at most slope * d.
_SLOPES = {"linear": 1.0, "relu": 1.0, "elu": 1.0, "tanh": 1.0, "softplus": 1.0,
           "sigmoid": 0.25, "swish": 1.1, "silu": 1.1, "selu": 1.0507 * 1.6733}


def rounding_bound(stack, x, err=None):
    """How far two batchings of ``x`` may move each output of ``stack`` (a DenseStack).

    ``err`` bounds how far ``x`` itself may already differ between the two (default 0).

    Per layer, the product by any BLAS summation order is within Higham's bound
    ``gamma_K * (|h| @ |W|)`` of the exact one (two orders: twice that); the difference
    already in ``h`` passes through ``|W|`` and the activation's slope; the bias add and the
    activation add a few roundings of their results. Returns one bound array per head.
    """
    u = np.finfo(x.dtype).eps / 2
    err_in = err
    body, heads = stack.layers[: -stack.heads], stack.layers[-stack.heads:]

    def layer(h, err, kernel, bias, activation):
        kernel = kernel.astype(x.dtype)
        gamma = kernel.shape[0] * u / (1 - kernel.shape[0] * u)
        pre = h @ kernel + bias
        moved = 2 * gamma * (np.abs(h) @ np.abs(kernel)) + err @ np.abs(kernel)
        moved += 2 * u * np.abs(pre)
        value = ACTIVATIONS[activation](pre.copy())
        return value, _SLOPES[activation] * moved + 4 * u * np.abs(value)

    h, err = x, np.zeros_like(x) if err is None else err
    for kernel, bias, activation in body:
        h, err = layer(h, err, kernel, bias, activation)
    if stack.skip and body:  # the heads read concat([input, last hidden])
        h = np.concatenate([x, h], axis=1)
        err = np.concatenate([np.zeros_like(x) if err_in is None else err_in, err], axis=1)
    return [layer(h, err, k, b, a)[1] for k, b, a in heads]


def assert_equal_up_to_rounding(a, b, bound):
    """``a`` and ``b`` (the same rows from two batchings) differ by no more than ``bound``."""
    a, b = np.asarray(a), np.asarray(b)
    assert a.dtype == b.dtype and a.shape == b.shape
    excess = np.abs(a.astype(np.float64) - b) - bound
    assert np.all(excess <= 0), f"max |diff| - bound = {excess.max()}"


# ------------------------------------------------------------ fitted estimators
#
# Session-scoped: the tests that share them read them and never change them (they clone,
# copy or pickle them first).


@pytest.fixture(scope="session")
def fitted(digits01, small_params):
    """A Bernoulli VAETransformer(4) fitted on digits01 (40 epochs)."""
    from skvae import VAETransformer

    X, _ = digits01
    return VAETransformer(4, likelihood="bernoulli", **{**small_params, "max_iter": 40}).fit(X)


@pytest.fixture(scope="session")
def fitted_gaussian(digits01, small_params):
    """A Gaussian VAETransformer(3) fitted on digits01."""
    from skvae import VAETransformer

    X, _ = digits01
    return VAETransformer(3, **small_params).fit(X)


# A tiny fit (a hidden layer of 8 units, 3 epochs): for tests of what a user sees
# (messages, finite outputs, shapes, bitwise equality), not of the quality of a fit.
TINY = dict(hidden_layer_sizes=(8,), max_iter=3, early_stopping=False, random_state=0)
N_FEATURES = 5


def uniform_rows(n_rows=40, n_features=N_FEATURES, seed=0):
    return np.random.RandomState(seed).uniform(size=(n_rows, n_features))


@pytest.fixture(scope="session")
def gaussian():
    """A tiny Gaussian VAETransformer(2) fitted on ``uniform_rows()``."""
    from skvae import VAETransformer

    return VAETransformer(2, **TINY).fit(uniform_rows())


def assert_all_outputs_finite(est, X):
    """transform, inverse_transform, score_samples and sample: right shapes, all finite."""
    X = np.asarray(X)
    Z = est.transform(X)
    outputs = {
        "transform": (Z, (len(X), est.n_components_)),
        "inverse_transform": (est.inverse_transform(Z), X.shape),
        "score_samples": (est.score_samples(X), (len(X),)),
        "sample": (est.sample(3, random_state=0), (3, X.shape[1])),
    }
    for name, (out, shape) in outputs.items():
        assert out.shape == shape, name
        assert np.all(np.isfinite(out)), f"{name} returned non-finite values"


# ------------------------------------------------------------------ Keras models
#
# Built from skvae._model's builders (Keras is imported on first use, so that collecting the
# tests that do not need it stays fast).


def tiny_vae(likelihood="bernoulli", n_features=6, seed=0):
    """A VAE keras.Model: n_features -> 8 -> 2 -> 8 -> n_features, selu."""
    from skvae import _model

    seeds = iter(range(seed, seed + 20))
    encoder = _model.build_encoder(n_features, (8,), 2, "selu", seeds)
    decoder = _model.build_decoder(2, (8,), n_features, "selu", likelihood, seeds)
    return _model.VAE(encoder, decoder, likelihood, seed=next(seeds))


def binary_rows(n=200, n_features=6):
    """float32 rows of 0s and 1s."""
    rng = np.random.RandomState(0)
    return (rng.uniform(size=(n, n_features)) > 0.5).astype(np.float32)


def keras_models(activation, likelihood="bernoulli", n_features=7):
    """(encoder, decoder): n_features -> 16 -> 8 -> 3 and back."""
    from skvae import _model

    seeds = iter(range(20))
    encoder = _model.build_encoder(n_features, (16, 8), 3, activation, seeds)
    decoder = _model.build_decoder(3, (16, 8), n_features, activation, likelihood, seeds)
    return encoder, decoder
