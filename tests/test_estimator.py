"""VAETransformer: the sklearn contract, its methods, parameters and messages."""

import copy
import pickle
import subprocess
import sys
import textwrap
import warnings

import numpy as np
import pytest
from scipy import stats
from sklearn.base import clone
from sklearn.datasets import load_breast_cancer, load_digits, load_wine
from sklearn.decomposition import PCA, FactorAnalysis
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler, StandardScaler

from skvae import VAETransformer

from .conftest import assert_bitwise_equal, assert_equal_up_to_rounding, rounding_bound


@pytest.fixture(scope="module")
def fitted(digits01, small_params):
    X, _ = digits01
    return VAETransformer(4, likelihood="bernoulli", **{**small_params, "max_iter": 40}).fit(X)


@pytest.fixture(scope="module")
def fitted_gaussian(digits01, small_params):
    X, _ = digits01
    return VAETransformer(3, **small_params).fit(X)


# ---------------------------------------------------------------- quality


def test_digits_pipeline_accuracy_close_to_pca(digits01):
    """MinMaxScaler -> VAETransformer(8) -> LogisticRegression, 3-fold, default settings."""
    X, y = digits01
    X = X * 16  # raw digits: the pipeline does the scaling
    clf = LogisticRegression(max_iter=2000)
    vae_acc = cross_val_score(
        make_pipeline(MinMaxScaler(), VAETransformer(8, random_state=0), clf), X, y, cv=3
    ).mean()
    pca_acc = cross_val_score(make_pipeline(MinMaxScaler(), PCA(8), clf), X, y, cv=3).mean()
    print(f"digits 3-fold accuracy: VAETransformer(8) {vae_acc:.4f}, PCA(8) {pca_acc:.4f}")
    assert vae_acc >= 0.80


@pytest.mark.parametrize("loader", [load_wine, load_breast_cancer], ids=["wine", "breast"])
def test_held_out_log_likelihood_is_at_least_ppca_and_fa(loader):
    """With its defaults, the Gaussian VAE's held-out log-likelihood is at least that of
    probabilistic PCA and factor analysis at the same n_components (it starts from the
    better of the two and keeps training only while the validation rows say it helps)."""
    X = StandardScaler().fit_transform(loader().data)
    train, test = X[::2], X[1::2]
    vae = VAETransformer(2, random_state=0).fit(train).score(test)
    ppca = PCA(2).fit(train).score(test)
    fa = FactorAnalysis(2, random_state=0).fit(train).score(test)
    print(f"{loader.__name__}: VAE {vae:.3f}, PPCA {ppca:.3f}, FA {fa:.3f}")
    assert vae >= max(ppca, fa) - 1e-5 * abs(max(ppca, fa))  # float32 rounding of a tie


def test_one_hot_columns_keep_factor_analysis_likelihood():
    """One-hot columns sum to 1, so one of them is an exact linear function of the others
    and factor analysis gives it a noise variance at its 1e-12 floor. The VAE starts from
    that solution and must be able to represent it: with a variance floor or log-variance
    clip above it, the held-out score fell 4.6 nats per row below FA's (1.43 against 6.04
    here)."""
    rng = np.random.RandomState(0)
    z = rng.normal(size=(400, 2))
    numeric = z @ rng.normal(size=(2, 4)) + 0.3 * rng.normal(size=(400, 4))
    category = np.argmax(z @ rng.normal(size=(2, 3)) + rng.normal(size=(400, 3)), axis=1)
    X = StandardScaler().fit_transform(np.hstack([numeric, np.eye(3)[category]]))
    train, test = X[:300], X[300:]
    fa = FactorAnalysis(4, random_state=0).fit(train)
    assert fa.noise_variance_.min() <= 1e-11  # the sharp solution this test is about
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        vae = VAETransformer(4, max_iter=5, random_state=0).fit(train)
    assert vae.linear_start_ == "fa"
    score = vae.score(test)
    assert score >= fa.score(test) - 0.05  # linear_mixture's log(0.99) and rounding
    # only the one-hot columns get the lower floor, and it travels with the model
    relative = vae.noise_variance_ / vae.scale_**2
    assert np.all(relative[4:] < 1e-8) and np.all(relative[:4] >= 1e-8)
    assert pickle.loads(pickle.dumps(vae)).score(test) == score


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


def test_default_fit_on_digits_stops_early_without_a_warning():
    X = load_digits().data
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est = VAETransformer(8, random_state=0).fit(X)
    assert est.n_iter_ < est.max_iter


def test_constant_features_do_not_change_the_ranking_of_n_components():
    """A constant feature adds the same log-density to every row whatever n_components is
    (its variance is fixed, not learned down towards zero), so it cannot decide which latent
    size scores best."""
    X = StandardScaler().fit_transform(load_wine().data)
    padded = np.hstack([X, np.full((len(X), 3), 7.0)])
    scores = {}
    for name, data in [("plain", X), ("padded", padded)]:
        for k in (1, 5):
            est = VAETransformer(k, hidden_layer_sizes=(16,), max_iter=30, random_state=0)
            scores[name, k] = est.fit(data[::2]).score(data[1::2])
    assert (scores["plain", 5] > scores["plain", 1]) == (scores["padded", 5] > scores["padded", 1])
    shift = -1.5 * np.log(2 * np.pi)  # three features, each log N(7; 7, 1)
    for k in (1, 5):
        assert scores["padded", k] - scores["plain", k] == pytest.approx(shift, abs=0.05)


def test_grid_search_picks_latent_size_by_likelihood(digits01):
    X, _ = digits01
    search = GridSearchCV(
        VAETransformer(likelihood="bernoulli", hidden_layer_sizes=(64,), max_iter=40,
                       random_state=0),
        {"n_components": [1, 8]},
        cv=3,
    ).fit(X)
    scores = search.cv_results_["mean_test_score"]
    assert np.all(np.isfinite(scores))
    assert search.best_params_["n_components"] != 1


def test_reconstruction_beats_the_mean(fitted, digits01):
    X, _ = digits01
    mse = np.mean((fitted.inverse_transform(fitted.transform(X)) - X) ** 2)
    baseline = np.mean((X - X.mean(axis=0)) ** 2)
    assert mse < 0.8 * baseline


def test_score_ranks_anomalies_last(fitted, digits01):
    X, _ = digits01
    rng = np.random.RandomState(0)
    noise = rng.uniform(size=(20, X.shape[1]))
    assert fitted.score_samples(noise).max() < np.median(fitted.score_samples(X))


# ------------------------------------------------------------- the methods


def test_transform_shapes_and_feature_names(fitted, digits01):
    X, _ = digits01
    Z = fitted.transform(X)
    assert Z.shape == (len(X), 4)
    assert list(fitted.get_feature_names_out()) == [f"vaetransformer{i}" for i in range(4)]
    assert fitted.inverse_transform(Z).shape == X.shape
    mean, log_var = fitted.encode(X)
    assert_bitwise_equal(mean, Z)
    assert log_var.shape == Z.shape


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


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(fitted, digits01, dtype):
    X = digits01[0][:10].astype(dtype)
    assert fitted.transform(X).dtype == dtype
    assert fitted.inverse_transform(fitted.transform(X)).dtype == dtype
    assert fitted.score_samples(X).dtype == dtype


def test_sample_is_reproducible_and_in_range(fitted):
    a = fitted.sample(5, random_state=3)
    assert a.shape == (5, 64)
    assert_bitwise_equal(a, fitted.sample(5, random_state=3))
    assert not np.array_equal(a, fitted.sample(5, random_state=4))
    assert a.min() >= 0 and a.max() <= 1  # Bernoulli means are probabilities


@pytest.mark.parametrize("n_samples", [0, -1, 1.5, True])
def test_sample_rejects_bad_counts(fitted, n_samples):
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted.sample(n_samples)


def test_score_is_mean_of_score_samples_and_deterministic(fitted_gaussian, digits01):
    X, _ = digits01
    s = fitted_gaussian.score_samples(X)
    assert s.shape == (len(X),) and np.all(np.isfinite(s))
    assert fitted_gaussian.score(X) == pytest.approx(s.mean())
    assert_bitwise_equal(s, fitted_gaussian.score_samples(X))


def test_more_importance_samples_tighten_the_bound(fitted_gaussian, digits01):
    X = digits01[0][:200]
    est = clone(fitted_gaussian)
    elbo = copy.deepcopy(fitted_gaussian).set_params(n_importance_samples=1).score(X)
    iwae = copy.deepcopy(fitted_gaussian).set_params(n_importance_samples=64).score(X)
    assert iwae > elbo
    assert est.get_params()["n_importance_samples"] == fitted_gaussian.n_importance_samples


def test_gaussian_noise_variance_and_kl_per_component(fitted_gaussian, fitted):
    assert fitted_gaussian.noise_variance_.shape == (64,)
    assert np.all(fitted_gaussian.noise_variance_ > 0)
    assert fitted.noise_variance_ is None
    assert fitted.kl_per_component_.shape == (4,)
    assert np.all(fitted.kl_per_component_ >= 0)
    assert fitted.kl_per_component_.max() > 0.5  # at least one dimension carries information


def test_kl_per_component_averages_the_training_rows(fitted, digits01):
    mean, log_var = fitted.encode(digits01[0])
    expected = np.mean(0.5 * (np.exp(log_var) + mean**2 - 1 - log_var), axis=0)
    np.testing.assert_allclose(fitted.kl_per_component_, expected, rtol=1e-6)


def test_set_output_pandas(fitted, digits01):
    pd = pytest.importorskip("pandas")
    X, _ = digits01
    frame = pd.DataFrame(X[:5], columns=[f"p{i}" for i in range(64)])
    est = clone(fitted).set_params(max_iter=2).set_output(transform="pandas")
    out = est.fit(frame).transform(frame)
    assert isinstance(out, pd.DataFrame)
    assert list(out.columns) == [f"vaetransformer{i}" for i in range(4)]
    assert list(est.feature_names_in_) == list(frame.columns)


def test_works_in_a_pipeline_and_on_lists_and_ints(small_params):
    X = [[0, 1, 1, 0], [1, 0, 0, 1], [1, 1, 0, 0]] * 10
    est = VAETransformer(2, likelihood="bernoulli", **small_params).fit(X)
    assert est.transform(np.array(X, dtype=np.int64)).dtype == np.float64
    pipe = make_pipeline(MinMaxScaler(), VAETransformer(2, **small_params)).fit(X)
    assert pipe.transform(X).shape == (30, 2)


def test_methods_before_fit_raise_not_fitted():
    est = VAETransformer()
    for call in (
        lambda: est.transform([[0.0]]),
        lambda: est.inverse_transform([[0.0, 0.0]]),
        lambda: est.sample(1),
        lambda: est.score_samples([[0.0]]),
    ):
        with pytest.raises(NotFittedError):
            call()


# --------------------------------------------------------- error messages


def test_bernoulli_needs_unit_interval(digits01):
    with pytest.raises(ValueError, match=r"likelihood='bernoulli' needs X in \[0, 1\].*"
                       r"MinMaxScaler.*likelihood='gaussian'"):
        VAETransformer(likelihood="bernoulli").fit(digits01[0] * 16)


def test_bernoulli_score_needs_unit_interval_but_transform_does_not(fitted, digits01):
    X = digits01[0][:5].copy()
    X[0, 0] = 3.0
    assert np.all(np.isfinite(fitted.transform(X)))
    with pytest.raises(ValueError, match=r"needs X in \[0, 1\].*MinMaxScaler\(clip=True\)"):
        fitted.score_samples(X)


def test_inverse_transform_checks_latent_width(fitted):
    with pytest.raises(ValueError, match=r"n_components=4 columns.*shape \(2, 3\)"):
        fitted.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.inverse_transform(np.full((2, 4), np.nan))


def test_too_few_rows_for_validation_split():
    with pytest.raises(ValueError, match="n_samples = 1.*early_stopping=False"):
        VAETransformer().fit([[0.5, 0.5]])
    est = VAETransformer(early_stopping=False, max_iter=2).fit([[0.5, 0.5]])
    assert est.transform([[0.5, 0.5]]).shape == (1, 2)


def test_huge_values_are_refused_with_a_scaling_hint():
    with pytest.raises(ValueError, match="StandardScaler"):
        VAETransformer().fit(np.full((10, 2), 1e30))


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


def test_batch_size_larger_than_data_works(small_params):
    X = np.random.RandomState(0).uniform(size=(20, 3))
    est = VAETransformer(**{**small_params, "batch_size": 1000}).fit(X)
    assert np.all(np.isfinite(est.transform(X)))


def test_no_hidden_layers_is_allowed(small_params):
    X = np.random.RandomState(0).uniform(size=(30, 5))
    est = VAETransformer(**{**small_params, "hidden_layer_sizes": ()}).fit(X)
    assert est.transform(X).shape == (30, 2)


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
    from skvae import _config

    assert _config.hidden_layer_sizes(n_samples, n_features) == expected


def test_fitted_hidden_layer_sizes_are_the_auto_sizes(small_params):
    X = np.random.RandomState(0).uniform(size=(200, 9))
    params = {**small_params, "hidden_layer_sizes": "auto", "max_iter": 1}
    est = VAETransformer(**params).fit(X)
    assert est.hidden_layer_sizes_ == (32, 16)
    widths = [layer.units for layer in est.encoder_.layers if hasattr(layer, "units")]
    assert widths[:2] == [32, 16]


# ------------------------------------------------ reproducibility & persistence


def test_two_fits_are_bitwise_identical_and_leave_global_seeds_alone(digits01, small_params):
    X = digits01[0][:500]
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    a = VAETransformer(3, **small_params).fit(X)
    VAETransformer(5, **{**small_params, "random_state": 9}).fit(X)  # fits in between
    b = VAETransformer(3, **small_params).fit(X)
    assert np.array_equal(np.random.get_state()[1], before)
    assert_bitwise_equal(a.transform(X), b.transform(X))
    assert_bitwise_equal(a.score_samples(X), b.score_samples(X))
    assert a.loss_curve_ == b.loss_curve_
    c = VAETransformer(3, **{**small_params, "random_state": 1}).fit(X)
    assert not np.array_equal(a.transform(X), c.transform(X))


_FRESH_PROCESS = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    from sklearn.datasets import load_digits
    from skvae import VAETransformer
    X = load_digits().data[:300] / 16.0
    mode = sys.argv[1]
    if mode == "fit":
        est = VAETransformer(3, likelihood="bernoulli", hidden_layer_sizes=(32,),
                             max_iter=10, batch_size=64, random_state=0).fit(X)
    else:
        with open(sys.argv[2], "rb") as f:
            est = pickle.load(f)
    np.save(sys.stdout.buffer, np.concatenate([
        est.transform(X).ravel(), est.inverse_transform(est.transform(X)).ravel(),
        est.score_samples(X), est.sample(4, random_state=0).ravel()]))
    """
)


def _run_fresh(*args):
    import io

    out = subprocess.run(
        [sys.executable, "-c", _FRESH_PROCESS, *args], capture_output=True, check=True
    ).stdout
    return np.load(io.BytesIO(out))


def test_fresh_process_fit_and_pickle_are_bitwise_identical(tmp_path):
    X = np.load  # noqa: F841  (the subprocesses load their own data)
    from sklearn.datasets import load_digits

    X = load_digits().data[:300] / 16.0
    est = VAETransformer(3, likelihood="bernoulli", hidden_layer_sizes=(32,), max_iter=10,
                         batch_size=64, random_state=0).fit(X)
    here = np.concatenate([
        est.transform(X).ravel(), est.inverse_transform(est.transform(X)).ravel(),
        est.score_samples(X), est.sample(4, random_state=0).ravel()])
    path = tmp_path / "vae.pkl"
    path.write_bytes(pickle.dumps(est))
    assert_bitwise_equal(_run_fresh("load", str(path)), here)
    assert_bitwise_equal(_run_fresh("fit"), here)


@pytest.mark.parametrize(
    "roundtrip",
    [
        lambda e: pickle.loads(pickle.dumps(e)),
        copy.deepcopy,
    ],
    ids=["pickle", "deepcopy"],
)
def test_roundtrips_keep_the_networks(fitted, digits01, roundtrip):
    X, _ = digits01
    other = roundtrip(fitted)
    assert_bitwise_equal(other.transform(X), fitted.transform(X))
    assert_bitwise_equal(other.score_samples(X), fitted.score_samples(X))
    mean, _ = other.encoder_(X[:5].astype(np.float32))
    np.testing.assert_allclose(mean.numpy(), fitted.transform(X[:5]), atol=1e-5)


def test_joblib_roundtrip_and_unfitted_pickle(fitted, digits01, tmp_path):
    import joblib

    X, _ = digits01
    joblib.dump(fitted, tmp_path / "vae.joblib")
    loaded = joblib.load(tmp_path / "vae.joblib")
    assert_bitwise_equal(loaded.transform(X), fitted.transform(X))
    unfitted = pickle.loads(pickle.dumps(VAETransformer(3, beta=0.5)))
    assert unfitted.get_params()["beta"] == 0.5


# ------------------------------------------------------------- training engine


def test_early_stopping_stops_and_keeps_the_best_epoch(digits01):
    X, _ = digits01
    est = VAETransformer(2, likelihood="bernoulli", hidden_layer_sizes=(32,), max_iter=500,
                         n_iter_no_change=3, tol=1 / 64, random_state=0).fit(X)
    assert est.n_iter_ < 500
    assert len(est.validation_scores_) == est.n_iter_
    scores = est.validation_scores_
    assert est.best_validation_score_ == max(scores)
    # it stopped because none of the last n_iter_no_change=3 epochs beat the best by tol
    # per feature: 64 pixels x 1/64 = 1 nat per row
    for i in range(len(scores) - 3, len(scores)):
        assert scores[i] < max(scores[:i]) + 1.0


def test_convergence_warning_when_max_iter_cuts_training(digits01):
    with pytest.warns(ConvergenceWarning, match="max_iter=2"):
        VAETransformer(2, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
            digits01[0]
        )


def test_kl_warmup_ramps_beta(digits01, small_params):
    est = VAETransformer(2, kl_warmup=4, beta=2.0, **small_params).fit(digits01[0])
    assert est.history_["beta"][:5] == [0.5, 1.0, 1.5, 2.0, 2.0]


def test_partial_fit_continues_training(digits01):
    X = digits01[0]
    est = VAETransformer(2, likelihood="bernoulli", hidden_layer_sizes=(32,), random_state=0)
    for _ in range(4):
        est.partial_fit(X)
    assert est.n_iter_ == 4 and len(est.loss_curve_) == 4
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    # optimizer state survives pickling, so training continues seamlessly after it
    again = pickle.loads(pickle.dumps(est)).partial_fit(X)
    est.partial_fit(X)
    assert_bitwise_equal(again.transform(X), est.transform(X))


def test_partial_fit_from_a_small_first_chunk_keeps_a_sane_likelihood():
    """The first chunk fixes the linear start. From 8 rows at n_components=8 the start
    was FA's, fitted exactly with every noise variance at the floor: -7.6e8 nats per
    held-out row after that call. It is PPCA's at a lower rank now (see skvae._init)."""
    X = StandardScaler().fit_transform(load_breast_cancer().data)
    est = VAETransformer(8, hidden_layer_sizes=(16,), random_state=0)
    with pytest.warns(UserWarning, match=r"8 rows are few .* at least 90 rows"):
        est.partial_fit(X[:8])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # only the first call can warn
        est.partial_fit(X[8:16])
    assert est.linear_start_ == "ppca"
    assert est.score(X[100:]) > -80
    # Enough rows: FA may be chosen again, and nothing warns. Three features cap the start's
    # rank at 2, so 30 rows are enough even at n_components=8.
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        VAETransformer(2, hidden_layer_sizes=(16,), random_state=0).partial_fit(X[:30])
        VAETransformer(8, hidden_layer_sizes=(16,), random_state=0).partial_fit(X[:30, :3])


def test_warm_start_continues_from_previous_weights(digits01):
    X = digits01[0]
    params = dict(likelihood="bernoulli", hidden_layer_sizes=(32,), max_iter=3,
                  early_stopping=False, random_state=0)
    est = VAETransformer(2, warm_start=True, **params).fit(X)
    first = est.loss_curve_[-1]
    est.fit(X)
    assert est.loss_curve_[0] < first + 1.0  # no restart from random weights
    cold = VAETransformer(2, **params).fit(X)
    assert est.loss_curve_[-1] < cold.loss_curve_[-1]
    est.set_params(n_components=3)
    with pytest.raises(ValueError, match=r"\['n_components'\] changed"):
        est.fit(X)


def test_warm_start_keeps_the_validation_rows_and_its_pickle_the_optimizer():
    """A warm-started fit (int random_state) holds out the first fit's validation rows, so
    early stopping never judges on rows it trained on: with weights that barely move, the
    held-out scores stay where the first fit left them (they had jumped by 0.4 nats on
    another split). And warm_start switched on after fitting still pickles the optimizer
    state, so a pickle continues as the original does."""
    X = StandardScaler().fit_transform(load_wine().data)
    still = VAETransformer(2, warm_start=True, max_iter=2, learning_rate=1e-12, kl_warmup=0,
                           random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        before = still.fit(X).validation_scores_[-1]
        after = still.fit(X).validation_scores_
    np.testing.assert_allclose(after, before, atol=1e-4)
    est = VAETransformer(2, max_iter=4, early_stopping=False, random_state=0).fit(X)
    est.set_params(warm_start=True)
    copied = pickle.loads(pickle.dumps(est))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est.fit(X), copied.fit(X)
    assert_bitwise_equal(est.transform(X), copied.transform(X))


def test_training_noise_is_reproducible_and_new_in_each_warm_started_call(digits01,
                                                                          monkeypatch):
    """The sampling noise of training comes from random_state: two fits with the same int
    seed draw the same noise, and a warm-started refit (the same seed again) draws new
    noise rather than replaying the previous call's."""
    from skvae import _engine

    drawn, run_epoch = [], _engine.EpochRunner.run_epoch

    def watched(self, x, permutation, beta, noise):
        drawn.append(np.array(noise))
        return run_epoch(self, x, permutation, beta, noise)

    monkeypatch.setattr(_engine.EpochRunner, "run_epoch", watched)
    X = digits01[0]
    params = dict(likelihood="bernoulli", hidden_layer_sizes=(16,), max_iter=1,
                  early_stopping=False, random_state=0)
    VAETransformer(2, **params).fit(X)
    est = VAETransformer(2, warm_start=True, **params).fit(X)
    est.fit(X)
    est.fit(X)  # the refits skip building the network: the same draws from random_state
    first, same_seed, second_call, third_call = drawn
    assert_bitwise_equal(same_seed, first)
    assert not np.array_equal(third_call, second_call)
    assert abs(float(third_call.std()) - 1) < 0.05  # standard normal


def test_verbose_prints_one_line_per_epoch(digits01, capsys):
    VAETransformer(2, hidden_layer_sizes=(16,), max_iter=3, verbose=1,
                   random_state=0).fit(digits01[0])
    lines = capsys.readouterr().out.strip().splitlines()
    # First the choices made from the data's size, then one line per epoch.
    assert lines[0] == ("VAETransformer: linear start PPCA (init='auto', judged by validation "
                        "rows: 1617 training, 180 validation rows)")
    assert lines[1].startswith("VAETransformer: hidden_layer_sizes=(16,), batch_size=")
    assert "epochs compiled with XLA: " in lines[1] and "plateau decays: off" in lines[1]
    epochs = lines[2:]
    assert len(epochs) == 3
    assert epochs[0].startswith("Epoch 1/3") and "val_loss" in epochs[0] and "kl:" in epochs[0]


def test_verbose_zero_is_silent(digits01, capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        VAETransformer(2, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
            digits01[0]
        )
    out, err = capfd.readouterr()
    assert out == "" and err == ""


def test_a_fresh_process_fitting_quietly_prints_nothing():
    """TensorFlow's start-up lines (oneDNN, CUDA stub, CPU features) must not leak out."""
    code = textwrap.dedent(
        """
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        warnings.simplefilter("ignore", ConvergenceWarning)
        import numpy as np
        from skvae import VAETransformer
        X = np.random.RandomState(0).uniform(size=(50, 4))
        VAETransformer(hidden_layer_sizes=(8,), max_iter=2).fit(X).transform(X)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""


def test_divergence_restores_finite_weights(digits01):
    X = digits01[0] * 1e6  # with a huge learning rate the loss overflows
    with pytest.warns(ConvergenceWarning, match="non-finite"):
        est = VAETransformer(2, hidden_layer_sizes=(16,), learning_rate=1e12, optimizer="sgd",
                             max_iter=20, random_state=0).fit(X)
    assert np.all(np.isfinite(est.transform(X)))
    assert np.all(np.isfinite(est.score_samples(X)))
    assert np.all(np.isfinite(est.sample(3, random_state=0)))
