"""skvae._standardize: the network's scale for Gaussian features, the Yeo-Johnson transform
of skewed numeric columns on mixed tables, and its log-Jacobian in the scores."""

import warnings

import numpy as np
import pytest
from sklearn.exceptions import ConvergenceWarning

from skvae import VAETransformer, _config
from skvae._standardize import Standardizer, fit_power

pd = pytest.importorskip("pandas")


def skewed_rows(n=1500, seed=0):
    """A log-normal column, a Gaussian one, a two-valued one."""
    rng = np.random.RandomState(seed)
    x = rng.standard_normal(n)
    return np.column_stack([np.exp(x + 0.3 * rng.standard_normal(n)),
                            x + 0.5 * rng.standard_normal(n),
                            (rng.uniform(size=n) < 0.3).astype(float)])


def fitted_standardizer(X):
    mean, scale = X.mean(axis=0), X.std(axis=0)
    return Standardizer(mean, scale, *fit_power((X - mean) / scale, np.ones(X.shape[1], bool)))


def test_only_the_skewed_column_is_transformed():
    standardizer = fitted_standardizer(skewed_rows())
    assert np.isfinite(standardizer.lambdas[0]) and standardizer.lambdas[0] < 0.5
    assert np.isnan(standardizer.lambdas[1:]).all()  # Gaussian already; two values


def test_round_trip_and_jacobian():
    """inverse(forward(x)) is x inside the training range, and the log-Jacobian is that of
    forward (finite differences), so that densities of the network's rows become densities
    of the data's rows."""
    X = skewed_rows()
    standardizer = fitted_standardizer(X)
    inside = X[:200]
    np.testing.assert_allclose(standardizer.inverse(standardizer.forward(inside)), inside,
                               rtol=1e-9, atol=1e-9)
    h = 1e-6
    moved = inside.copy()
    moved[:, 0] += h
    slope = (standardizer.forward(moved) - standardizer.forward(inside))[:, 0] / h
    np.testing.assert_allclose(standardizer.log_jacobian(inside)[:, 0], np.log(slope),
                               rtol=1e-4)
    np.testing.assert_allclose(standardizer.log_jacobian(inside)[:, 1],
                               -np.log(standardizer.scale[1]))


def test_inverse_stays_in_the_training_range():
    X = skewed_rows()
    standardizer = fitted_standardizer(X)
    far = np.full((3, 3), 0.0)
    far[:, 0] = [-50.0, 0.0, 50.0]  # network values far beyond any the data gives
    back = standardizer.inverse(far)[:, 0]
    assert np.isfinite(back).all()
    assert X[:, 0].min() <= back.min() and back.max() <= X[:, 0].max()


def mixed_frame(n=1500, seed=0):
    X = skewed_rows(n, seed)
    colour = np.where(X[:, 1] > 0, "warm", "cold")
    return pd.DataFrame({"income": X[:, 0], "x": X[:, 1], "colour": colour})


def test_a_mixed_table_samples_its_skewed_column_within_its_bounds(monkeypatch):
    """A log-normal column of a mixed table comes out positive, as the data is (without the
    transform, about 5 % of the draws were negative incomes), and the held-out likelihood,
    Jacobian counted, is higher than without the transform."""
    train, test = mixed_frame(), mixed_frame(seed=1)
    params = dict(hidden_layer_sizes=(16,), random_state=0)
    vae = VAETransformer(2, **params).fit(train)
    drawn = vae.sample(len(train), random_state=0)["income"].to_numpy()
    assert drawn.min() >= train["income"].min()
    assert np.isnan(vae.noise_variance_[0]) and np.isfinite(vae.noise_variance_[1])
    monkeypatch.setattr(_config, "POWER_MIN_GAIN", np.inf)
    plain = VAETransformer(2, **params).fit(train)
    assert plain._standardizer.lambdas is None
    assert np.mean(plain.sample(len(train), random_state=0)["income"] < 0) > 0.02
    assert vae.score(test) > plain.score(test) + 0.1


def test_numeric_arrays_keep_the_plain_standardization():
    vae = VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        vae.fit(skewed_rows(300))
    assert vae._standardizer.lambdas is None
    assert np.isfinite(vae.noise_variance_).all()


def test_a_standardizer_pickled_before_the_transform_still_works():
    """Models pickled by 0.2.0 hold a Standardizer with no transform attributes."""
    old = Standardizer.__new__(Standardizer)
    old.__dict__.update(mean=np.zeros(2), scale=np.full(2, 2.0), log_scale=2 * np.log(2.0))
    x = np.array([[1.0, -4.0]])
    np.testing.assert_allclose(old.forward(x), [[0.5, -2.0]])
    np.testing.assert_allclose(old.inverse(old.forward(x)), x)
    np.testing.assert_allclose(old.log_jacobian(x), -np.log([[2.0, 2.0]]))


def test_expected_inverse_is_the_mean_in_the_data_units():
    """Imputation's conditional mean of a transformed cell: the mean of the way back over
    the cell's Gaussian noise (Monte Carlo agrees), not the way back of the mean, which is
    the median (lower for a right-skewed column)."""
    standardizer = fitted_standardizer(skewed_rows())
    y = np.array([[0.3, 0.0, 0.0], [-1.0, 0.0, 0.0]])
    noise_sd = np.array([0.6, 1.0, 1.0])
    expected = standardizer.expected_inverse(y, noise_sd)[:, 0]
    e = np.random.RandomState(0).standard_normal(200_000)
    for row, value in zip(y, expected):
        draws = np.tile(row, (len(e), 1))
        draws[:, 0] += noise_sd[0] * e
        np.testing.assert_allclose(value, standardizer.inverse(draws)[:, 0].mean(), rtol=5e-3)
        assert value > standardizer.inverse(row[None])[0, 0]
    np.testing.assert_allclose(standardizer.expected_inverse(y, noise_sd)[:, 1:],
                               standardizer.inverse(y)[:, 1:])
