"""skvae._config: the rules behind hidden_layer_sizes="auto" and batch_size="auto"."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skvae import VAETransformer, _config


@pytest.mark.parametrize(
    "n_samples, n_features, expected",
    [
        (200, 9, (32, 16)),  # a small table
        (1797, 64, (128, 64)),  # digits
        (10_000, 784, (256, 128)),  # Fashion-MNIST subsets, e.g. a grid search's folds
        (60_000, 784, (512, 256)),  # all of Fashion-MNIST's training images
        (60_000, 20, (64, 32)),  # many rows, few features: still about 2 x the features
        (100, 784, (32, 16)),  # wide but few rows: at most a quarter of the rows, >= 32
    ],
)
def test_auto_hidden_layer_sizes_follow_the_data_shape(n_samples, n_features, expected):
    assert _config.hidden_layer_sizes(n_samples, n_features) == expected


@pytest.mark.parametrize(
    "n_samples, expected",
    [(100, 16), (1000, 62), (1800, 112), (60_000, 128)],  # 16 <= n_samples // 16 <= 128
)
def test_auto_batch_size_is_a_sixteenth_of_the_rows_within_its_range(n_samples, expected):
    assert _config.batch_size(n_samples) == expected


def test_fitted_auto_batch_size_counts_the_training_rows_only():
    """The rule sees the rows training runs on: 1,800 of 2,000 with early stopping (200
    held out), all 2,000 without."""
    X = np.random.RandomState(0).uniform(size=(2000, 3))
    params = dict(hidden_layer_sizes=(4,), max_iter=1, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        held_out = VAETransformer(2, **params).fit(X)
        all_rows = VAETransformer(2, early_stopping=False, **params).fit(X)
    assert held_out.batch_size_ == _config.batch_size(1800) == 112
    assert all_rows.batch_size_ == _config.batch_size(2000) == 125


@pytest.mark.parametrize(
    "n_validation, n_samples, expected",
    [
        (100, 1000, _config.LEARNING_RATE),  # no anneal to bring a high rate down
        (1000, 10_000, _config.LARGE_FIT_LEARNING_RATE),  # 10,000 Fashion-MNIST images
        (6000, 60_000, _config.LEARNING_RATE),  # all 60,000: 3e-3 lost 2 % of the test MSE
    ],
)
def test_auto_learning_rate_is_high_only_where_it_paid(n_validation, n_samples, expected):
    assert _config.learning_rate(n_validation, n_samples) == expected
