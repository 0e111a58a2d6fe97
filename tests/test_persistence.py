"""Pickles: estimators written by skvae 0.2.0 still load and give the same outputs."""

import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.fixtures.make_v020_pickles import data

FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="module")
def old():
    with open(FIXTURES / "v020_estimators.pkl", "rb") as f:
        estimators = pickle.load(f)
    return estimators, np.load(FIXTURES / "v020_outputs.npz")


def test_0_2_0_pickles_load_and_give_the_same_outputs(old):
    estimators, expected = old
    X, holed = data()
    transformer = estimators["transformer"]
    # NumPy inference: equal up to the BLAS kernel's rounding (the CPU may differ).
    close = dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(transformer.transform(X), expected["transform"], **close)
    np.testing.assert_allclose(
        transformer.inverse_transform(expected["transform"]), expected["inverse_transform"],
        rtol=1e-4, atol=1e-3,
    )
    np.testing.assert_allclose(transformer.score_samples(X), expected["score_samples"],
                               rtol=1e-5, atol=1e-3)
    np.testing.assert_allclose(estimators["imputer"].transform(holed), expected["impute"],
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(estimators["detector"].decision_function(X),
                               expected["decision_function"], rtol=1e-5, atol=1e-3)


def test_0_2_0_pickles_get_the_parameters_added_since(old):
    estimators, _ = old
    for estimator in estimators.values():
        params = estimator.get_params()
        assert set(params) == set(type(estimator)().get_params())


def test_0_2_0_pickle_continues_training(old):
    estimators, _ = old
    X, _ = data()
    transformer = pickle.loads(pickle.dumps(estimators["transformer"]))
    transformer.set_params(warm_start=True, max_iter=2).fit(X)
    assert np.isfinite(transformer.transform(X)).all()
    # partial_fit extends history_, which gains the keys recorded since 0.2.0: NaN for the
    # epochs 0.2.0 trained.
    detector = pickle.loads(pickle.dumps(estimators["detector"]))
    before = len(detector.history_["loss"])
    detector.partial_fit(X)
    rates = detector.history_["learning_rate"]
    assert len(rates) == len(detector.history_["loss"]) == before + 1
    assert np.isnan(rates[:before]).all() and np.isfinite(rates[before:]).all()
