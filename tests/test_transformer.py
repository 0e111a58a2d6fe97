"""skvae._transformer: VAETransformer's own verbs (transform, inverse_transform, sample,
score) and its place in sklearn's pipelines, searches and outputs."""

import numpy as np
import pytest
from scipy.special import expit
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.decomposition import PCA
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import MinMaxScaler

from skvae import VAETransformer

from .conftest import N_FEATURES, assert_bitwise_equal


# ------------------------------------------------------------------ quality


@pytest.mark.slow
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


@pytest.mark.slow
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


# -------------------------------------------------------------- the methods


def test_transform_shapes_and_feature_names(fitted, digits01):
    X, _ = digits01
    Z = fitted.transform(X)
    assert Z.shape == (len(X), 4)
    assert list(fitted.get_feature_names_out()) == [f"vaetransformer{i}" for i in range(4)]
    assert fitted.inverse_transform(Z).shape == X.shape
    mean, log_var = fitted.encode(X)
    assert_bitwise_equal(mean, Z)
    assert log_var.shape == Z.shape


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(fitted, digits01, dtype):
    X = digits01[0][:10].astype(dtype)
    assert fitted.transform(X).dtype == dtype
    assert fitted.inverse_transform(fitted.transform(X)).dtype == dtype
    assert fitted.score_samples(X).dtype == dtype


def test_sample_is_reproducible_and_decodes_standard_normal_codes(fitted):
    a = fitted.sample(5, random_state=3)
    assert a.shape == (5, 64)
    assert_bitwise_equal(a, fitted.sample(5, random_state=3))
    assert not np.array_equal(a, fitted.sample(5, random_state=4))
    # The rows are the decoder's Bernoulli means at z ~ N(0, I) drawn from random_state:
    # the sigmoid of the decoder's logits there (0.5 * (1 + tanh(l / 2)) in the runtime,
    # within a rounding of 1 of scipy's expit).
    z = np.random.RandomState(3).standard_normal((5, fitted.n_components_))
    assert_bitwise_equal(a, fitted.inverse_transform(z))
    (logits,) = fitted._decoder_logits(z)
    assert np.ptp(logits) > 1  # logits, not probabilities
    np.testing.assert_allclose(a, expit(logits), rtol=1e-12, atol=1e-15)


def test_gaussian_sample_draws_rows_with_the_data_spread(fitted_gaussian, digits01):
    """The default Gaussian sample draws x from p(x | z): its columns spread like the data's,
    where decoder means are smoother (each column's spread shrinks by the noise variance)."""
    X = digits01[0]
    drawn = fitted_gaussian.sample(2000, random_state=0)
    means = fitted_gaussian.sample(2000, random_state=0, draw=False)
    z = np.random.RandomState(0).standard_normal((2000, fitted_gaussian.n_components_))
    assert_bitwise_equal(means, fitted_gaussian.inverse_transform(z))
    varied = X.std(axis=0) > 0.05
    data_sd, drawn_sd, mean_sd = (a.std(axis=0)[varied] for a in (X, drawn, means))
    assert np.median(mean_sd / data_sd) < 0.9
    assert 0.9 < np.median(drawn_sd / data_sd) < 1.1
    # the noise is each feature's learned variance around the decoder mean
    noise_sd = np.sqrt(fitted_gaussian.noise_variance_)[varied]
    np.testing.assert_allclose((drawn - means).std(axis=0)[varied], noise_sd, rtol=0.1)


def test_bernoulli_sample_returns_probabilities_unless_asked_to_draw(fitted):
    probabilities = fitted.sample(50, random_state=0)
    assert ((probabilities > 0.01) & (probabilities < 0.99)).any()
    drawn = fitted.sample(50, random_state=0, draw=True)
    assert set(np.unique(drawn)) <= {0.0, 1.0}
    assert abs(drawn.mean() - probabilities.mean()) < 0.03


def test_sample_rejects_a_bad_draw(fitted):
    with pytest.raises(ValueError, match="draw must be 'auto', True or False"):
        fitted.sample(2, draw="yes")


@pytest.mark.parametrize("n_samples", [0, -1, 1.5, True])
def test_sample_rejects_bad_counts(fitted, n_samples):
    with pytest.raises(ValueError, match="n_samples must be a positive int"):
        fitted.sample(n_samples)


def test_sample_accepts_numpy_integers(gaussian):
    assert gaussian.sample(np.int64(4), random_state=0).shape == (4, N_FEATURES)


def test_score_is_mean_of_score_samples_and_deterministic(fitted_gaussian, digits01):
    X, _ = digits01
    s = fitted_gaussian.score_samples(X)
    assert s.shape == (len(X),) and np.all(np.isfinite(s))
    assert fitted_gaussian.score(X) == pytest.approx(s.mean())
    assert_bitwise_equal(s, fitted_gaussian.score_samples(X))


def test_inverse_transform_checks_latent_width(fitted):
    with pytest.raises(ValueError, match=r"n_components=4 columns.*shape \(2, 3\)"):
        fitted.inverse_transform(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        fitted.inverse_transform(np.full((2, 4), np.nan))


@pytest.mark.parametrize(
    "value, match",
    [(np.inf, "contains infinity"), (-np.inf, "contains infinity"), (np.nan, "contains NaN")],
    ids=["+inf", "-inf", "nan"],
)
def test_inverse_transform_refuses_infinite_codes(gaussian, value, match):
    Z = np.zeros((3, 2))
    Z[1, 0] = value
    with pytest.raises(ValueError, match=match):
        gaussian.inverse_transform(Z)


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


# ------------------------------------------------------------- sklearn glue


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
