"""VAEImputer and missing values in the VAE core: masked likelihood, fill, sklearn contract."""

import copy
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.datasets import load_wine
from sklearn.exceptions import ConvergenceWarning
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skvae import VAEImputer, VAETransformer, _likelihoods

from .conftest import assert_bitwise_equal

_SMALL = dict(hidden_layer_sizes=(16,), max_iter=40, kl_warmup=0, random_state=0)


def _holed(rate=0.2, seed=0):
    X = StandardScaler().fit_transform(load_wine().data)
    holed = X.copy()
    holed[np.random.RandomState(seed).uniform(size=X.shape) < rate] = np.nan
    return X, holed


@pytest.fixture(scope="module")
def fitted():
    X, holed = _holed()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return VAEImputer(4, **_SMALL).fit(holed)


# ------------------------------------------------------------- the likelihood


def test_masked_likelihood_ignores_the_values_in_missing_cells():
    rng = np.random.RandomState(0)
    x, decoded = rng.normal(size=(5, 6)), rng.normal(size=(5, 6))
    observed = rng.uniform(size=(5, 6)) > 0.3
    other = np.where(observed, x, 1e3)
    for likelihood, log_var in [("gaussian", np.zeros(6)), ("bernoulli", None)]:
        data = (x, other) if likelihood == "gaussian" else (x > 0, other > 0)
        a = _likelihoods.reconstruction_log_likelihood(data[0], decoded, likelihood, log_var,
                                                   observed)
        b = _likelihoods.reconstruction_log_likelihood(data[1].astype(float), decoded, likelihood,
                                                   log_var, observed)
        assert_bitwise_equal(a, b)
        full = _likelihoods.reconstruction_log_likelihood(data[0].astype(float), decoded,
                                                      likelihood, log_var)
        every = _likelihoods.reconstruction_log_likelihood(data[0].astype(float), decoded,
                                                       likelihood, log_var,
                                                       np.ones_like(observed))
        assert_bitwise_equal(full, every)  # all observed: the same bits as no mask


@pytest.mark.slow
def test_complete_rows_are_scored_and_encoded_as_without_missing_values_around():
    """A row with every cell observed gets bitwise the same code and score whether or not
    other rows of its batch have holes (the NaN-free path is unchanged)."""
    X, holed = _holed()
    est = VAETransformer(3, **_SMALL).fit(X)
    complete = ~np.isnan(holed).any(axis=1)
    mixed = np.where(complete[:, None], X, holed)
    assert_bitwise_equal(est.transform(mixed)[complete], est.transform(X)[complete])
    assert_bitwise_equal(est.score_samples(mixed)[complete], est.score_samples(X)[complete])
    assert not est._arch["missing_indicator"]  # fitted without NaN: no indicator input


@pytest.mark.slow
def test_transformer_fits_transforms_and_scores_rows_with_holes():
    X, holed = _holed()
    est = VAETransformer(3, **_SMALL).fit(holed)
    assert est._arch["missing_indicator"]
    Z, scores = est.transform(holed), est.score_samples(holed)
    assert np.isfinite(Z).all() and np.isfinite(scores).all()
    # The score is that of the observed cells only: hiding cells changes it.
    one = holed[:1].copy()
    one[0, ~np.isnan(one[0])] = X[0, ~np.isnan(one[0])]
    fewer = one.copy()
    fewer[0, np.flatnonzero(~np.isnan(one[0]))[:4]] = np.nan
    assert est.score_samples(fewer)[0] != est.score_samples(one)[0]


def test_a_row_with_nothing_observed_encodes_to_the_prior_and_scores_zero():
    X, holed = _holed()
    est = VAETransformer(3, **_SMALL).fit(holed)
    empty = np.full((2, X.shape[1]), np.nan)
    mean, log_var = est.encode(empty)
    assert_bitwise_equal(mean, np.zeros((2, 3)))
    assert_bitwise_equal(log_var, np.zeros((2, 3)))
    assert_bitwise_equal(est.score_samples(empty), np.zeros(2))


def test_a_network_fitted_without_holes_refuses_to_continue_on_holes():
    X, holed = _holed()
    est = VAETransformer(3, **{**_SMALL, "max_iter": 2}).fit(X)
    with pytest.raises(ValueError, match="network was built on data without any"):
        est.partial_fit(holed)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X: np.where(np.arange(X.shape[1]) == 2, np.nan, X),
         r"no observed value in column\(s\) \[2\]"),
        (lambda X: np.where(X > 2, np.inf, X), "infinity"),
    ],
)
def test_transformer_errors_name_the_problem(make, match):
    X, _ = _holed()
    with pytest.raises(ValueError, match=match):
        VAETransformer(2, **_SMALL).fit(make(X))


def test_bernoulli_checks_only_the_observed_values():
    X = np.random.RandomState(0).uniform(size=(60, 5))
    X[::3, 1] = np.nan
    VAETransformer(2, likelihood="bernoulli", **{**_SMALL, "max_iter": 2}).fit(X)
    X[5, 2] = 1.5
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs X in \[0, 1\]"):
        VAETransformer(2, likelihood="bernoulli", **{**_SMALL, "max_iter": 2}).fit(X)


# ------------------------------------------------------------------ imputer


def test_imputer_fills_every_hole_and_leaves_observed_cells_alone(fitted):
    X, holed = _holed()
    filled = fitted.transform(holed)
    assert not np.isnan(filled).any()
    observed = ~np.isnan(holed)
    assert_bitwise_equal(filled[observed], holed[observed])


def test_imputer_beats_mean_imputation(fitted):
    X, holed = _holed()
    holes = np.isnan(holed)
    vae = np.sqrt(np.mean((fitted.transform(holed) - X)[holes] ** 2))
    mean = np.sqrt(np.mean((SimpleImputer().fit_transform(holed) - X)[holes] ** 2))
    assert vae < 0.95 * mean


def test_imputer_is_reproducible_and_draws_differ_from_the_mean(fitted):
    _, holed = _holed()
    assert_bitwise_equal(fitted.transform(holed), clone(fitted).fit(holed).transform(holed))
    draws = clone(fitted).set_params(sample_posterior=True).fit(holed)
    a, b = draws.transform(holed), draws.transform(holed)
    assert_bitwise_equal(a, b)
    other = draws.set_params(random_state=1).transform(holed)
    holes = np.isnan(holed)
    assert not np.array_equal(a[holes], other[holes])
    assert not np.array_equal(a[holes], fitted.transform(holed)[holes])


def test_imputer_fills_from_the_mixture_with_the_linear_start(fitted):
    """The fill is the linear_mixture's: (1 - P) the VAE's conditional mean plus P the
    linear start's, P the start's posterior weight given the observed cells. linear_mixture
    near 1 gives the start's Gaussian conditional E[x_m | x_o] in the data's units; 0 the
    VAE's own fill."""
    _, holed = _holed()
    imp = copy.deepcopy(fitted)
    vae = imp.vae_
    holes = np.isnan(holed)
    rows = holes.any(axis=1)
    w = vae.linear_mixture
    mixed, scores = imp.transform(holed), vae.score_samples(holed)
    vae.set_params(linear_mixture=0)
    own, own_scores = imp.transform(holed), vae.score_samples(holed)
    vae.set_params(linear_mixture=1 - 1e-12)
    linear, linear_scores = imp.transform(holed), vae.score_samples(holed)
    loadings, noise, mean = vae._linear_density
    cov = loadings @ loadings.T + np.diag(noise)
    x = (holed - vae.mean_) / vae.scale_
    for i in np.flatnonzero(rows):
        m, o = holes[i], ~holes[i]
        cond = mean[m] + cov[np.ix_(m, o)] @ np.linalg.solve(cov[np.ix_(o, o)], x[i, o] - mean[o])
        np.testing.assert_allclose(linear[i, m], cond * vae.scale_[m] + vae.mean_[m], rtol=1e-6,
                                   atol=1e-9)
    share = np.exp(np.log(w) + linear_scores - scores)[:, None]
    np.testing.assert_allclose(
        mixed[rows], ((1 - share) * own + share * linear)[rows], rtol=1e-9, atol=1e-9
    )
    assert not np.allclose(own[holes], linear[holes])
    assert np.all(scores >= own_scores + np.log1p(-w) - 1e-9)


@pytest.mark.slow
def test_add_indicator_and_keep_empty_features_behave_as_in_sklearn():
    _, holed = _holed()
    holed[:, 4] = np.nan  # entirely missing
    params = dict(n_components=2, **{**_SMALL, "max_iter": 3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for keep in (False, True):
            for indicator in (False, True):
                ours = VAEImputer(add_indicator=indicator, keep_empty_features=keep,
                                  **params).fit(holed)
                theirs = SimpleImputer(add_indicator=indicator, keep_empty_features=keep
                                       ).fit(holed)
                out, ref = ours.transform(holed), theirs.transform(holed)
                assert out.shape == ref.shape
                assert list(ours.get_feature_names_out()) == list(
                    theirs.get_feature_names_out())
                if keep:
                    assert np.all(out[:, 4] == 0)
                    # observed later, its cells stay; the missing ones get 0, as SimpleImputer
                    later = holed[:6].copy()
                    later[:3, 4] = [1.5, -2.0, 0.25]
                    np.testing.assert_array_equal(ours.transform(later)[:, 4],
                                                  theirs.transform(later)[:, 4])
                    assert ours.transform(later)[0, 4] == 1.5
                if indicator:
                    n_ind = theirs.indicator_.features_.size
                    np.testing.assert_array_equal(out[:, -n_ind:], ref[:, -n_ind:])


def test_imputer_warm_start_continues_training():
    """warm_start=True: a second fit continues from the first's weights, as VAETransformer's
    does (it had been a fresh fit, bitwise the first one)."""
    _, holed = _holed()
    params = dict(n_components=2, **{**_SMALL, "max_iter": 4, "early_stopping": False})
    imputer = VAEImputer(warm_start=True, **params).fit(holed)
    first = imputer.transform(holed)
    imputer.fit(holed)
    assert not np.array_equal(imputer.transform(holed), first)  # 8 epochs in all, not 4
    fresh = VAEImputer(**params).fit(holed).fit(holed)  # without warm_start: from scratch
    assert_bitwise_equal(fresh.transform(holed), first)
    emptied = holed.copy()
    emptied[:, 3] = np.nan
    with pytest.raises(ValueError, match=r"column\(s\) \[3\] are entirely missing"):
        imputer.fit(emptied)
    with pytest.raises(ValueError, match="features"):
        imputer.fit(holed[:, :-1])


def test_imputer_pickles_from_before_a_parameter_existed_load_with_its_old_behaviour():
    _, holed = _holed()
    imputer = VAEImputer(2, **{**_SMALL, "max_iter": 2})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        imputer.fit(holed)
    state = imputer.__getstate__()
    del state["init"], state["linear_mixture"]  # as pickled by a version without them
    old = VAEImputer.__new__(VAEImputer)
    old.__setstate__(state)
    assert old.get_params()["init"] == "auto" and old.get_params()["linear_mixture"] == 0.0
    assert clone(old).init == "auto"


def test_imputer_errors_name_the_problem():
    with pytest.raises(ValueError, match="every column of X is entirely NaN"):
        VAEImputer(**_SMALL).fit(np.full((10, 3), np.nan))
    X, holed = _holed()
    holed[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        VAEImputer(**_SMALL).fit(holed)


def test_imputer_warnings_name_the_imputer_not_its_inner_transformer():
    _, holed = _holed()
    with pytest.warns(ConvergenceWarning, match=r"^VAEImputer stopped at max_iter=2 "):
        VAEImputer(4, **{**_SMALL, "max_iter": 2}).fit(holed)


@pytest.mark.slow
def test_imputer_in_a_pipeline_grid_search_and_pandas_output():
    pd = pytest.importorskip("pandas")
    data = load_wine()
    X = data.data.copy()
    X[np.random.RandomState(0).uniform(size=X.shape) < 0.2] = np.nan
    params = dict(**{**_SMALL, "max_iter": 5})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        acc = cross_val_score(
            make_pipeline(VAEImputer(4, **params), StandardScaler(),
                          LogisticRegression(max_iter=2000)), X, data.target, cv=3).mean()
        assert acc > 0.8
        search = GridSearchCV(
            make_pipeline(VAEImputer(**params), StandardScaler(), LogisticRegression()),
            {"vaeimputer__n_components": [2, 4]}, cv=2).fit(X, data.target)
        assert search.best_params_["vaeimputer__n_components"] in (2, 4)
        frame = pd.DataFrame(X, columns=data.feature_names)
        out = VAEImputer(**params).set_output(transform="pandas").fit(frame).transform(frame)
    assert list(out.columns) == list(data.feature_names)
    assert not out.isna().any().any()


@pytest.mark.slow
def test_imputer_pickles_into_a_fresh_process(fitted, tmp_path):
    _, holed = _holed()
    path, data = tmp_path / "imputer.pkl", tmp_path / "x.npy"
    path.write_bytes(pickle.dumps(fitted))
    np.save(data, holed)
    code = ("import pickle, sys, numpy as np; est = pickle.load(open(sys.argv[1], 'rb')); "
            "np.save(sys.stdout.buffer, est.transform(np.load(sys.argv[2])))")
    import io

    out = subprocess.run([sys.executable, "-c", code, str(path), str(data)],
                         capture_output=True, check=True).stdout
    assert_bitwise_equal(np.load(io.BytesIO(out)), fitted.transform(holed))
