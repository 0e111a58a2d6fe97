"""skvae._params: the shared parameters' constraints name a bad value, and what they allow
works."""

import numpy as np
import pytest

from skvae import VAETransformer


@pytest.mark.parametrize(
    "params, match",
    [
        ({"n_components": 0}, "n_components"),
        ({"batch_size": 0}, "batch_size"),
        ({"activation": "bogus"}, "activation"),
        ({"likelihood": "poisson"}, "likelihood"),
        ({"optimizer": "lbfgs"}, "optimizer"),
        ({"validation_fraction": 1.0}, "validation_fraction"),
        ({"validation_fraction": 0.0}, "validation_fraction"),
        ({"learning_rate": 0.0}, "learning_rate"),
        ({"max_iter": 0}, "max_iter"),
        ({"beta": -1.0}, "beta"),
        ({"hidden_layer_sizes": (16, 0)}, "hidden_layer_sizes must be .auto. or a tuple of positive"),
        ({"hidden_layer_sizes": 16}, "hidden_layer_sizes"),
    ],
)
def test_invalid_parameters_are_named(params, match):
    with pytest.raises((ValueError, TypeError), match=match):
        VAETransformer(**params).fit(np.random.RandomState(0).uniform(size=(20, 3)))


def test_no_hidden_layers_is_allowed(small_params):
    X = np.random.RandomState(0).uniform(size=(30, 5))
    est = VAETransformer(**{**small_params, "hidden_layer_sizes": ()}).fit(X)
    assert est.transform(X).shape == (30, 2)
