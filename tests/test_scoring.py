"""skvae._scoring: the importance-weighted (IWAE) log-likelihood, checked against its
definition, and independent of how the rows are chunked."""

import numpy as np

from skvae import _runtime, _scoring

from .conftest import assert_bitwise_equal, keras_models


def test_importance_weights_follow_the_definition():
    """log w = log p(x|z) + log p(z) - log q(z|x) at z = mean + std * eps, checked with
    scipy's densities; K samples give log(mean(w))."""
    from scipy import stats
    from scipy.special import logsumexp

    encoder, decoder = keras_models("selu", "gaussian")
    enc = _runtime.DenseStack.from_keras(encoder)
    dec = _runtime.DenseStack.from_keras(decoder)
    x = np.random.RandomState(1).normal(size=(10, 7))
    x_log_var = np.linspace(-1, 1, 7)
    eps = np.random.RandomState(2).normal(size=(5, 3))
    mean, log_var = enc(x)
    std = np.exp(log_var / 2)
    log_w = []
    for e in eps:
        z = mean + std * e
        (decoded,) = dec(z)
        log_w.append(
            stats.norm.logpdf(x, decoded, np.exp(x_log_var / 2)).sum(axis=1)
            + stats.norm.logpdf(z).sum(axis=1)
            - stats.norm.logpdf(z, mean, std).sum(axis=1)
        )
        one = _scoring.importance_log_likelihood(x, enc, dec, "gaussian", e[None], x_log_var)
        np.testing.assert_allclose(one, log_w[-1], rtol=1e-10)
    expected = logsumexp(np.array(log_w), axis=0) - np.log(len(eps))
    np.testing.assert_allclose(
        _scoring.importance_log_likelihood(x, enc, dec, "gaussian", eps, x_log_var),
        expected, rtol=1e-10,
    )


def test_chunking_does_not_change_scores():
    encoder, decoder = keras_models("relu")
    enc = _runtime.DenseStack.from_keras(encoder)
    dec = _runtime.DenseStack.from_keras(decoder).logits()
    x = np.random.RandomState(4).uniform(size=(37, 7))
    eps = np.random.RandomState(5).normal(size=(8, 3))
    whole = _scoring.importance_log_likelihood(x, enc, dec, "bernoulli", eps)
    chunked = _scoring.importance_log_likelihood(x, enc, dec, "bernoulli", eps,
                                                 max_elements=5 * 8 * 7)
    assert_bitwise_equal(whole, chunked)
