"""skvae._init and _model.set_linear_solution: the Gaussian VAE's linear starting point.

The ``init`` options that choose it for an estimator are tested in test_start."""

import warnings

import numpy as np
import pytest
from sklearn.datasets import load_wine
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.preprocessing import StandardScaler

from skvae import _config, _init, _model, _runtime, _scoring


def _wine():
    X = StandardScaler().fit_transform(load_wine().data)
    return X[::2], X[1::2]


def _vae(n_features, n_components, hidden):
    seeds = iter(range(30))
    encoder = _model.build_encoder(n_features, hidden, n_components, "selu", seeds)
    decoder = _model.build_decoder(n_components, hidden, n_features, "selu", "gaussian", seeds)
    return _model.VAE(encoder, decoder, "gaussian", seed=0, noise_floor=1e-8)


def _iwae(vae, X, k=8):
    enc = _runtime.DenseStack.from_keras(vae.encoder)
    dec = _runtime.DenseStack.from_keras(vae.decoder)
    eps = np.random.RandomState(0).standard_normal((k, vae.encoder.outputs[0].shape[-1]))
    log_var = np.asarray(vae.noise_log_var(), np.float64)
    return _scoring.importance_log_likelihood(X, enc, dec, "gaussian", eps, log_var)


@pytest.mark.parametrize("hidden", [(), (16, 8)])
@pytest.mark.parametrize("kind", ["ppca", "fa"])
def test_the_vae_starts_at_the_linear_models_likelihood(kind, hidden):
    """Set to a PPCA or FA solution, the VAE's posterior is exact, so its importance-weighted
    log-likelihood equals the linear model's (to float32 rounding), row by row; the
    non-linear paths, zeroed at their heads, change nothing."""
    train, test = _wine()
    if kind == "ppca":
        model = PCA(3).fit(train)
        loadings = model.components_.T * np.sqrt(model.explained_variance_ - model.noise_variance_)
        noise = np.full(13, model.noise_variance_)
    else:
        model = FactorAnalysis(3, random_state=0).fit(train)
        loadings, noise = model.components_.T, model.noise_variance_
    vae = _vae(13, 4, hidden)  # one latent component more than the linear model: unused
    _model.set_linear_solution(vae, loadings, noise, model.mean_)
    np.testing.assert_allclose(_iwae(vae, test), model.score_samples(test), rtol=2e-5)


def test_linear_start_picks_the_better_model_on_the_validation_rows():
    X = StandardScaler().fit_transform(load_wine().data)
    train, val = X[:70], np.tile(X[70:], (2, 1))  # 216 validation rows: they decide
    assert len(val) >= _config.CV_BELOW_ROWS
    loadings, noise, mean, name = _init.linear_start(train, val, 3, np.full(13, 1e-8), 0)
    scores = {
        "ppca": PCA(3).fit(train).score(val),
        "fa": FactorAnalysis(3, max_iter=200, random_state=0).fit(train).score(val),
    }
    assert name == max(scores, key=scores.get)
    assert loadings.shape == (13, 3) and noise.shape == (13,) and mean.shape == (13,)


def test_a_few_atypical_validation_rows_do_not_decide_the_start_alone():
    """Features 0 and 1 share the factor with little noise: FA's model. Five validation rows
    that break their correlation favour PPCA's shared noise (-10.4 against -30.1 nats per
    row); cross-validation over all 205 rows still finds FA better (-6.9 against -8.3), and
    only as many as CV_BELOW_ROWS such rows are taken at their word."""
    rng = np.random.RandomState(0)

    def draw(n):
        return rng.normal(size=(n, 1)) + rng.normal(size=(n, 6)) * np.sqrt([0.01] * 2 + [1] * 4)

    train, odd = draw(200), draw(5)
    odd[:, 0] += 0.5
    odd[:, 1] -= 0.5
    floor = np.full(6, 1e-8)
    judged = {n: _init.row_log_likelihood(odd, *_init._fit(n, train, 1, floor, 0)).mean()
              for n in ("ppca", "fa")}
    assert judged["ppca"] > judged["fa"] + 10
    assert _init.linear_start(train, odd, 1, floor, 0)[-1] == "fa"
    many = np.tile(odd, (_config.CV_BELOW_ROWS // len(odd), 1))
    assert _init.linear_start(train, many, 1, floor, 0)[-1] == "ppca"


def test_row_log_likelihood_is_sklearns_density_row_by_row():
    """The start is chosen (and bench_start judges it) on these per-row densities: they are
    FactorAnalysis' and PCA's own score_samples."""
    train, test = _wine()
    fa = FactorAnalysis(3, random_state=0).fit(train)
    np.testing.assert_allclose(
        _init.row_log_likelihood(test, fa.components_.T, fa.noise_variance_, fa.mean_),
        fa.score_samples(test), rtol=1e-10,
    )
    pca = PCA(3).fit(train)
    loadings = pca.components_.T * np.sqrt(pca.explained_variance_ - pca.noise_variance_)
    np.testing.assert_allclose(
        _init.row_log_likelihood(test, loadings, np.full(13, pca.noise_variance_), pca.mean_),
        pca.score_samples(test), rtol=1e-10,
    )


def test_observed_log_likelihood_is_the_gaussian_marginal_of_the_observed_cells():
    """linear_mixture scores rows with holes by the start's marginal on their observed
    cells: scipy's density of that sub-vector (of the whole row when complete); a row
    with nothing observed 0."""
    from scipy import stats

    train, test = _wine()
    fa = FactorAnalysis(3, random_state=0).fit(train)
    params = (fa.components_.T, fa.noise_variance_, fa.mean_)
    cov = params[0] @ params[0].T + np.diag(params[1])
    np.testing.assert_allclose(
        _init.observed_log_likelihood(test, *params),
        stats.multivariate_normal(fa.mean_, cov).logpdf(test), rtol=1e-10,
    )
    observed = np.random.RandomState(0).uniform(size=test.shape) < 0.6
    observed[0], observed[1] = False, True
    got = _init.observed_log_likelihood(np.where(observed, test, 0.0), *params, observed)
    expected = [
        stats.multivariate_normal(fa.mean_[o], cov[np.ix_(o, o)]).logpdf(x[o]) if o.any() else 0
        for x, o in zip(test, observed)
    ]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("shape", [(1, 5), (40, 1)])
def test_no_linear_start_without_rows_or_features_to_spare(shape):
    x = np.random.RandomState(0).normal(size=shape)
    assert _init.linear_start(x, None, 2, np.full(shape[1], 1e-8), 0) is None


def test_constant_training_rows_start_from_the_refit_on_all_rows():
    """Nothing varies in the training rows (no warning from sklearn's PCA), but the
    validation rows do: the start is refitted on both and has loadings."""
    x = np.zeros((30, 3))
    x[:3] = [[1.0, 2.0, 3.0], [2.0, 4.0, 6.5], [-1.0, -2.0, -3.0]]
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        loadings, noise, mean, _ = _init.linear_start(x[3:], x[:3], 1, np.full(3, 1e-8), 0)
        nothing = _init.linear_start(x[3:], None, 1, np.full(3, 1e-8), 0)
    assert np.abs(loadings).max() > 0.1 and np.all(np.isfinite(noise))
    np.testing.assert_allclose(mean, x.mean(axis=0))
    assert not nothing[0].any() and nothing[-1] == "ppca"


def test_linear_start_runs_blas_on_one_thread_and_restores_it(monkeypatch):
    """FactorAnalysis' many thin products ran 80x slower on OpenBLAS' two threads than on
    one while another process used a core (36 s against 0.46 s on a 1,346 x 56 table): the
    start runs single-threaded, and the caller's BLAS threads are back afterwards."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    if not threadpoolctl.ThreadpoolController().select(user_api="blas").lib_controllers:
        pytest.skip("no BLAS library that threadpoolctl can limit")
    seen, fit = [], _init._fit

    def watched(*args):
        seen.extend(lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                    if lib["user_api"] == "blas")
        return fit(*args)

    monkeypatch.setattr(_init, "_fit", watched)
    train, test = _wine()
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        _init.linear_start(train, test, 3, np.full(13, 1e-8), 0)
        after = [lib["num_threads"] for lib in threadpoolctl.threadpool_info()
                 if lib["user_api"] == "blas"]
    assert seen and set(seen) == {1}
    assert set(after) == {2}


def test_the_start_keeps_fa_precision_on_exactly_determined_features_only():
    """A feature that the linear model determines exactly (one of a group of one-hot
    columns) keeps FA's precision, below the general floor; the other features get the
    general floor and a constant feature its own variance, as before."""
    from skvae import _config

    rng = np.random.RandomState(0)
    numeric = rng.normal(size=(300, 2)) @ rng.normal(size=(2, 3)) + 0.1 * rng.normal(size=(300, 3))
    one_hot = np.eye(3)[rng.randint(3, size=300)]
    x = np.hstack([numeric, one_hot, np.zeros((300, 1))])
    x[:, :-1] = StandardScaler().fit_transform(x[:, :-1])
    floor = np.r_[np.full(6, _config.NOISE_FLOOR), _config.CONSTANT_FEATURE_VARIANCE]
    _, noise, _, name = _init.linear_start(x, None, 3, floor, 0)
    assert name == "fa"
    assert np.all(noise[3:6] < _config.NOISE_FLOOR)  # the one-hot columns
    assert np.all(noise[3:6] >= _config.EXACT_NOISE_FLOOR)
    assert np.all(noise[:3] >= _config.NOISE_FLOOR) and noise[6] >= 1.0


@pytest.mark.parametrize("n_rows, rank", [(8, 3), (40, 8)])
def test_a_start_from_few_rows_and_none_held_out_is_ppca(n_rows, rank):
    """With fewer than MIN_ROWS_PER_FACTOR rows per factor and no held-out rows to judge by
    (a first partial_fit chunk), FA over-fits its per-feature noise: on 8 standardized
    breast_cancer rows at k = 8 its start scored -6.6e8 nats per held-out row. The start is
    PPCA at a rank of at most (n - 1) // 2, and its held-out likelihood is a sane one."""
    from sklearn.datasets import load_breast_cancer

    X = StandardScaler().fit_transform(load_breast_cancer().data)
    train, test = X[:n_rows], X[100:]
    assert n_rows < _config.MIN_ROWS_PER_FACTOR * (8 + 1)
    loadings, noise, mean, name = _init.linear_start(train, None, 8, np.full(30, 1e-8), 0)
    assert name == "ppca" and loadings.shape == (30, rank)
    assert _init._log_likelihood(test, loadings, noise, mean) > -60
    # With held-out rows to judge by, the rank is not reduced (only capped by the rows).
    judged = _init.linear_start(train, X[50:100], 8, np.full(30, 1e-8), 0)[0]
    assert judged.shape == (30, min(8, n_rows - 1))


@pytest.mark.parametrize("rows, n_features, rank", [("repeated", 30, None), ("distinct", 3, 2)])
def test_a_start_from_few_rows_is_never_an_exact_fit(rows, n_features, rank):
    """The reduced rank counts the dimensions the rows span: 8 rows that are 2 rows repeated
    (old: FA fitted them exactly, -2.2e11 nats per held-out row) get no start; 25 rows of 3
    features span all 3, so the rank is the usual d - 1 and only FA is given up."""
    from sklearn.datasets import load_breast_cancer

    X = StandardScaler().fit_transform(load_breast_cancer().data)[:, :n_features]
    train = np.tile(X[:2], (4, 1)) if rows == "repeated" else X[:25]
    assert len(train) < _init.rows_to_trust_fa(n_features, 8)
    start = _init.linear_start(train, None, 8, np.full(n_features, 1e-8), 0)
    if rank is None:
        assert start is None
    else:
        assert start[-1] == "ppca" and start[0].shape == (n_features, rank)
        assert _init._log_likelihood(X[100:], *start[:3]) > -10
