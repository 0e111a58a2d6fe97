"""VAEOutlierDetector: sklearn's outlier API on the VAE core."""

import pickle
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import roc_auc_score

from skvae import VAEOutlierDetector, VAETransformer

from .conftest import assert_bitwise_equal

_SMALL = dict(hidden_layer_sizes=(16,), max_iter=30, kl_warmup=0, random_state=0)


def _planted(n=400, d=6, n_out=20, seed=0):
    """Rows near a 2-D plane in 6-D, and n_out rows off it (the outliers, first)."""
    rng = np.random.RandomState(seed)
    z = rng.normal(size=(n, 2))
    X = z @ rng.normal(size=(2, d)) + 0.1 * rng.normal(size=(n, d))
    X[:n_out] += rng.choice([-3, 3], size=(n_out, d))
    labels = np.zeros(n, bool)
    labels[:n_out] = True
    return X, labels


@pytest.fixture(scope="module")
def fitted():
    X, _ = _planted()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return VAEOutlierDetector(**_SMALL).fit(X)


def test_scores_rank_planted_outliers_first(fitted):
    X, labels = _planted()
    assert roc_auc_score(labels, -fitted.score_samples(X)) > 0.95


def test_decision_function_predict_and_fit_predict_agree(fitted):
    X, _ = _planted()
    decision = fitted.decision_function(X)
    assert_bitwise_equal(decision, fitted.score_samples(X) - fitted.offset_)
    predicted = fitted.predict(X)
    assert set(np.unique(predicted)) <= {-1, 1}
    np.testing.assert_array_equal(predicted, np.where(decision >= 0, 1, -1))
    np.testing.assert_array_equal(clone(fitted).fit_predict(X), predicted)


def test_score_samples_is_the_transformers_log_likelihood(fitted):
    X, _ = _planted()
    params = {k: v for k, v in fitted.get_params().items() if k != "contamination"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        transformer = VAETransformer(**params).fit(X)
    assert_bitwise_equal(fitted.score_samples(X), transformer.score_samples(X))


@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.25])
def test_contamination_sets_the_share_of_outliers_in_the_training_rows(contamination):
    X, _ = _planted()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det = VAEOutlierDetector(contamination=contamination, **_SMALL).fit(X)
    share = np.mean(det.predict(X) == -1)
    assert share == pytest.approx(contamination, abs=1.5 / len(X))


def test_auto_contamination_flags_the_planted_rows_and_few_others(fitted):
    X, labels = _planted()
    flagged = fitted.predict(X) == -1
    assert flagged[labels].mean() > 0.9
    assert flagged[~labels].mean() < 0.08  # 3 robust deviations: a few % of normal rows


def test_feature_log_likelihood_points_at_the_unusual_feature(fitted):
    X, _ = _planted()
    row = X[100:101].copy()
    row[0, 3] += 5
    per_feature = fitted.feature_log_likelihood(row)
    assert per_feature.shape == (1, 6)
    assert np.argmin(per_feature[0]) == 3


def test_rows_with_missing_values_are_scored(fitted):
    X, labels = _planted()
    X = X.copy()
    X[::5, 1] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        det = VAEOutlierDetector(**_SMALL).fit(X)
    scores = det.score_samples(X)
    assert np.isfinite(scores).all()
    assert roc_auc_score(labels, -scores) > 0.9


def test_pickle_and_reproducibility(fitted):
    X, _ = _planted()
    again = pickle.loads(pickle.dumps(fitted))
    assert_bitwise_equal(again.decision_function(X), fitted.decision_function(X))
    assert again.offset_ == fitted.offset_
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        refit = clone(fitted).fit(X)
    assert_bitwise_equal(refit.score_samples(X), fitted.score_samples(X))


@pytest.mark.parametrize("contamination", [0.0, 0.6, "most"])
def test_bad_contamination_is_named(contamination):
    with pytest.raises(ValueError, match="contamination"):
        VAEOutlierDetector(contamination=contamination).fit(np.zeros((10, 2)))
