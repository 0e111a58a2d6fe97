"""Reliability (issue #5): bad input, divergence, persistence across processes, repeated
fits, threads, and a fuzz test over shapes, dtypes and value ranges.

Every fit here is tiny (a hidden layer of 4-16 units, 2-5 epochs): the tests check what a
user sees (messages, finite outputs, shapes, bitwise equality), not the quality of a fit.
"""

import copy
import faulthandler
import io
import json
import pickle
import subprocess
import sys
import textwrap
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.exceptions import ConvergenceWarning

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

from .conftest import assert_bitwise_equal

# Tiny fits stop at max_iter on purpose; that warning says nothing here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:VAETransformer stopped at max_iter:sklearn.exceptions.ConvergenceWarning"
)

TINY = dict(hidden_layer_sizes=(8,), max_iter=3, early_stopping=False, random_state=0)
N_FEATURES = 5


def _data(n_rows=40, n_features=N_FEATURES, seed=0):
    return np.random.RandomState(seed).uniform(size=(n_rows, n_features))


@pytest.fixture(scope="module")
def gaussian():
    return VAETransformer(2, **TINY).fit(_data())


def _assert_all_outputs_finite(est, X):
    """transform, inverse_transform, score_samples and sample: right shapes, all finite."""
    X = np.asarray(X)
    Z = est.transform(X)
    outputs = {
        "transform": (Z, (len(X), est.n_components_)),
        "inverse_transform": (est.inverse_transform(Z), X.shape),
        "score_samples": (est.score_samples(X), (len(X),)),
        "sample": (est.sample(3, random_state=0), (3, X.shape[1])),
    }
    for name, (out, shape) in outputs.items():
        assert out.shape == shape, name
        assert np.all(np.isfinite(out)), f"{name} returned non-finite values"


# ------------------------------------------------------------------ bad input
#
# Kinds covered here (each a test or a parametrize case): NaN (accepted: missing values,
# except as latent codes), +inf, -inf (fit, transform, score_samples, inverse_transform), no rows, no features, one row, 1-D, 3-D, scalar/None,
# strings, object dtype with strings, complex, sparse, too few / too many features, huge
# magnitudes (fit and score_samples), and the inputs that must work: lists of lists,
# integer / bool / float16 dtypes, DataFrames, read-only / Fortran / strided arrays,
# large (1e6) values, constant columns.

_METHODS = ["fit", "transform", "score_samples"]


def _call(method, est, X):
    if method == "fit":
        return VAETransformer(2, **TINY).fit(X)
    return getattr(est, method)(X)


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize(
    "value, match",
    [(np.inf, "contains infinity"), (-np.inf, "contains infinity")],
    ids=["+inf", "-inf"],
)
def test_non_finite_values_are_refused(gaussian, method, value, match):
    X = _data()
    X[3, 1] = value
    with pytest.raises(ValueError, match=match):
        _call(method, gaussian, X)


@pytest.mark.parametrize("method", _METHODS)
def test_missing_values_are_accepted_with_finite_results(gaussian, method):
    X = _data()
    X[3, 1] = np.nan
    out = _call(method, gaussian, X)
    values = out.transform(X) if method == "fit" else out
    assert np.all(np.isfinite(values))


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


@pytest.mark.parametrize("method", [*_METHODS, "inverse_transform"])
def test_no_rows_is_refused(gaussian, method):
    width = 2 if method == "inverse_transform" else N_FEATURES
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, \d\)\)"):
        _call(method, gaussian, np.empty((0, width)))


def test_no_features_is_refused():
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(5, 0\)\)"):
        VAETransformer(2, **TINY).fit(np.empty((5, 0)))


@pytest.mark.parametrize("likelihood", ["gaussian", "bernoulli"])
def test_one_row_without_early_stopping_gives_finite_outputs(likelihood):
    X = _data(n_rows=1)
    est = VAETransformer(2, likelihood=likelihood, **TINY).fit(X)
    _assert_all_outputs_finite(est, X)


def test_a_split_that_leaves_no_training_rows_names_the_row_count():
    est = VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2, validation_fraction=0.9)
    with pytest.raises(ValueError, match=r"validation_fraction=0\.9.*n_samples = 5\."):
        est.fit(_data(n_rows=5))


def test_two_rows_are_enough_for_early_stopping():
    X = _data(n_rows=2)
    est = VAETransformer(2, hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X)
    assert len(est.validation_scores_) == est.n_iter_
    _assert_all_outputs_finite(est, X)


@pytest.mark.parametrize("method", [*_METHODS, "inverse_transform"])
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda X: X[0], "Expected 2D array, got 1D array"),
        (lambda X: X[:, :, None], "Found array with dim 3"),
        (lambda X: None, "Expected 2D array, got scalar array"),
    ],
    ids=["1-D", "3-D", "None"],
)
def test_wrong_number_of_dimensions_is_refused(gaussian, method, make, match):
    X = _data() if method != "inverse_transform" else np.zeros((4, 2))
    with pytest.raises(ValueError, match=match):
        _call(method, gaussian, make(X))


@pytest.mark.parametrize("method", [*_METHODS, "inverse_transform"])
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda shape: [["a"] * shape[1]] * shape[0], "could not convert string to float"),
        (lambda shape: np.full(shape, "a", dtype=object), "could not convert string to float"),
        (lambda shape: np.ones(shape, dtype=complex), "Complex data not supported"),
    ],
    ids=["strings", "object-strings", "complex"],
)
def test_non_numeric_data_is_refused(gaussian, method, make, match):
    shape = (4, 2) if method == "inverse_transform" else (4, N_FEATURES)
    with pytest.raises(ValueError, match=match):
        _call(method, gaussian, make(shape))


@pytest.mark.parametrize("method", [*_METHODS, "inverse_transform"])
def test_sparse_input_is_refused_with_a_toarray_hint(gaussian, method):
    sparse = pytest.importorskip("scipy.sparse")
    width = 2 if method == "inverse_transform" else N_FEATURES
    X = sparse.csr_matrix(np.eye(4, width))
    with pytest.raises(TypeError, match=r"dense data is required\. Use '\.toarray\(\)'"):
        _call(method, gaussian, X)


@pytest.mark.parametrize("method", ["transform", "score_samples"])
@pytest.mark.parametrize("n_features", [N_FEATURES - 1, N_FEATURES + 1])
def test_feature_count_mismatch_is_refused(gaussian, method, n_features):
    with pytest.raises(
        ValueError,
        match=rf"X has {n_features} features, but VAETransformer is expecting {N_FEATURES}",
    ):
        getattr(gaussian, method)(_data(n_features=n_features))


def test_sample_accepts_numpy_integers(gaussian):
    assert gaussian.sample(np.int64(4), random_state=0).shape == (4, N_FEATURES)


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_values_in_fit_name_the_magnitude(sign, dtype):
    X = _data().astype(dtype)
    X[2, 2] = sign * 1e30
    with pytest.raises(ValueError, match=r"as large as 1e\+30 in magnitude.*StandardScaler"):
        VAETransformer(2, **TINY).fit(X)


def test_score_samples_of_huge_float32_rows_is_an_error_not_minus_inf(gaussian):
    # transform of such rows stays finite, but a float32 log-density of -1e60 cannot be
    # represented: score_samples returned -inf, which poisons score() and GridSearchCV.
    X = (_data(n_rows=3) * 1e29).astype(np.float32)
    X[1, 2] = 1e30
    assert np.all(np.isfinite(gaussian.transform(X)))
    with pytest.raises(ValueError, match=r"as large as 1e\+30 in magnitude"):
        gaussian.score_samples(X)


def test_large_but_representable_values_give_finite_outputs():
    X = _data() * 1e6 - 5e5
    est = VAETransformer(2, **TINY).fit(X)
    _assert_all_outputs_finite(est, X)


@pytest.mark.parametrize("columns", ["one", "all"])
@pytest.mark.parametrize("value", [0.0, 7.0])
def test_constant_features_give_finite_outputs_with_the_gaussian_likelihood(columns, value):
    X = _data()
    if columns == "one":
        X[:, 1] = value
    else:
        X[:] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no NumPy noise from the start
        est = VAETransformer(2, **{**TINY, "max_iter": 5}).fit(X)
    _assert_all_outputs_finite(est, X)
    assert np.all(est.noise_variance_ > 0)
    if columns == "all":  # it starts at the exact solution: no loadings, the mean
        assert est.linear_start_ == "ppca"
        np.testing.assert_allclose(est.inverse_transform(est.transform(X)), X, atol=1e-6)


def test_lists_of_lists_give_the_same_results_as_arrays(gaussian):
    X = _data(n_rows=6)
    rows = X.tolist()
    assert_bitwise_equal(gaussian.transform(rows), gaussian.transform(X))
    assert_bitwise_equal(gaussian.score_samples(rows), gaussian.score_samples(X))
    Z = gaussian.transform(X)
    assert_bitwise_equal(gaussian.inverse_transform(Z.tolist()), gaussian.inverse_transform(Z))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float16])
def test_other_numeric_dtypes_work_as_float64(gaussian, dtype):
    X = (_data() * 3).astype(dtype)
    X64 = X.astype(np.float64)
    assert_bitwise_equal(gaussian.transform(X), gaussian.transform(X64))
    assert_bitwise_equal(gaussian.score_samples(X), gaussian.score_samples(X64))
    est = VAETransformer(2, **TINY).fit(X)
    assert est.transform(X).dtype == np.float64
    _assert_all_outputs_finite(est, X)


def test_read_only_fortran_and_strided_arrays_give_the_same_results(gaussian):
    X = _data()
    read_only = X.copy()
    read_only.flags.writeable = False
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    for other in (read_only, np.asfortranarray(X), strided):
        assert_bitwise_equal(gaussian.transform(other), gaussian.transform(X))
        assert_bitwise_equal(gaussian.score_samples(other), gaussian.score_samples(X))
    est = VAETransformer(2, **TINY).fit(read_only)  # e.g. a joblib memmap
    assert_bitwise_equal(est.transform(X), VAETransformer(2, **TINY).fit(X).transform(X))


def test_dataframes_work_and_feature_names_are_checked():
    pd = pytest.importorskip("pandas")
    X = _data()
    names = ["a", "b", "c", "d", "e"]
    frame = pd.DataFrame(X, columns=names)
    est = VAETransformer(2, **TINY).fit(frame)
    assert list(est.feature_names_in_) == names
    assert np.all(np.isfinite(est.score_samples(frame)))
    renamed = frame.rename(columns={"a": "z"})
    with pytest.raises(ValueError, match=r"(?s)names should match.*unseen at fit time:\n- z"):
        est.transform(renamed)
    with pytest.raises(ValueError, match="feature names should match"):
        est.score_samples(renamed)
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        assert_bitwise_equal(est.transform(X), est.transform(frame))


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_date_and_duration_columns_are_named_with_the_fix(tz):
    """Dates convert to float64 (nanoseconds), which hid them from the column check:
    NumPy's DTypePromotionError (or a TypeError about a Timestamp) reached the user."""
    pd = pytest.importorskip("pandas")
    X = _data()
    frame = pd.DataFrame({"x": X[:, 0], "when": pd.date_range("2020", periods=len(X), tz=tz),
                          "took": pd.to_timedelta(np.arange(len(X)), "s")})
    with pytest.raises(ValueError, match=r"2 non-numeric column\(s\): 'when' \(datetime64.*"
                                         r"'took' \(timedelta64.*days since a reference date"):
        VAETransformer(2, **TINY).fit(frame)
    # only dates (sklearn would read them as nanoseconds), or an array of them
    with pytest.raises(ValueError, match=r"1 non-numeric column\(s\): 'when'"):
        VAETransformer(2, **TINY).fit(frame[["when"]])
    if tz is None:  # (tz-aware dates become an object array of Timestamps: sklearn's error)
        with pytest.raises(ValueError, match=r"holds dates or durations.*days since"):
            VAETransformer(2, **TINY).fit(frame[["when"]].to_numpy())


def test_far_out_float32_rows_are_scored_and_imputed_finitely():
    """A float32 value 1e14 in a column whose training spread is 1e-6 is 1e20 standard
    deviations out: squared over a noise variance it overflows float32. Such rows are
    computed in float64: finite scores, codes and fills instead of -inf and NaN."""
    X = _data(n_rows=120).astype(np.float32)
    X[:, 1] *= 1e-6
    far = X[:4].copy()
    far[0, 1], far[1, 0] = 1e14, 1e20
    holed = far.copy()
    holed[:, 2] = np.nan
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = VAETransformer(2, **TINY).fit(X)
        detector = VAEOutlierDetector(2, **TINY).fit(X)
        imputer = VAEImputer(2, **TINY).fit(X)
    assert np.all(np.isfinite(est.score_samples(far[[0, 2, 3]])))
    assert np.all(np.isfinite(est.transform(far)))
    assert np.all(np.isfinite(detector.decision_function(far[[0, 2, 3]])))
    assert detector.predict(far[:1])[0] == -1
    filled = imputer.transform(holed)
    assert filled.dtype == np.float32 and np.all(np.isfinite(filled))
    # the other rows of the batch keep the float32 path: the same results as without them;
    # codes stay float32, a score below float32's range comes back in float64
    codes = est.transform(far)
    assert codes.dtype == np.float32
    assert_bitwise_equal(codes[2:], est.transform(far[2:]))
    scores = est.score_samples(far[[0, 2, 3]])
    assert scores.dtype == np.float64 and scores[0] < -np.finfo(np.float32).max
    assert_bitwise_equal(scores[1:], est.score_samples(far[2:]).astype(np.float64))


def test_dataframes_with_mixed_column_dtypes_and_integer_names_work():
    pd = pytest.importorskip("pandas")
    X = _data()
    frame = pd.DataFrame({
        0: np.arange(len(X)),
        1: X[:, 1].astype(np.float32),
        2: X[:, 2] > 0.5,
        3: X[:, 3],
    })
    est = VAETransformer(2, **TINY).fit(frame)
    assert not hasattr(est, "feature_names_in_")  # names that are not strings are ignored
    Z = est.transform(frame)
    assert Z.dtype == np.float64 and Z.shape == (len(X), 2)
    _assert_all_outputs_finite(est, frame)


@pytest.mark.parametrize("estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_text_and_categorical_columns_are_named_with_the_fix(estimator):
    """A mixed-type table straight from read_csv: the error names the columns to encode."""
    pd = pytest.importorskip("pandas")
    X = _data()
    frame = pd.DataFrame({"x": X[:, 0], "city": ["Oslo", "Lima"] * 20,
                          "grade": pd.Categorical(["a", "b"] * 20), "y": X[:, 1]})
    est = estimator(**TINY)
    match = (rf"{estimator.__name__} needs numeric features, but X has 2 non-numeric column\(s\): "
             r"'city' \(.*\), 'grade' \(category\)\. Encode them first, e\.g\. OneHotEncoder")
    with pytest.raises(ValueError, match=match):
        est.fit(frame)
    est.fit(frame[["x", "y"]])
    apply = est.transform if hasattr(est, "transform") else est.score_samples
    with pytest.raises(ValueError, match=r"1 non-numeric column\(s\): 'x'"):
        apply(frame[["city", "y"]].set_axis(["x", "y"], axis=1))
    # Numbers stored as objects are numeric: another problem keeps sklearn's own message.
    renamed = frame[["x", "y"]].astype(object).set_axis(["x", "z"], axis=1)
    with pytest.raises(ValueError, match="feature names should match"):
        apply(renamed)


# ----------------------------------------------------------------- divergence

_DIVERGING = dict(hidden_layer_sizes=(8,), learning_rate=1e12, optimizer="sgd", max_iter=5,
                  early_stopping=False, random_state=0)


@pytest.mark.parametrize(
    "likelihood, method",
    [("bernoulli", "fit"), ("bernoulli", "partial_fit"), ("gaussian", "partial_fit")],
)
def test_divergence_leaves_finite_outputs(digits01, likelihood, method):
    X = digits01[0][:200]
    if likelihood == "gaussian":
        X = X * 1e6
    est = VAETransformer(2, likelihood=likelihood, **_DIVERGING)
    with pytest.warns(
        ConvergenceWarning, match=r"diverged .* at epoch 1 \(learning_rate=1000000000000\.0\)"
    ):
        getattr(est, method)(X)
    _assert_all_outputs_finite(est, X)
    assert np.all(np.isfinite(est.loss_curve_))
    assert np.isfinite(est.score(X))


@pytest.mark.parametrize("early_stopping", [True, False])
def test_a_blow_up_keeps_a_usable_epoch_or_raises(digits01, early_stopping):
    """learning_rate=1e6 on data scaled by 100 sends the loss up by orders of magnitude
    without it turning NaN at once: the fit keeps the best usable weights (outputs finite
    and on the data's scale) or refuses with a message naming learning_rate and scaling."""
    X = 100 * digits01[0][:300]
    est = VAETransformer(2, learning_rate=1e6, max_iter=5, early_stopping=early_stopping,
                         random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            est.fit(X)
        except ValueError as error:
            assert "learning_rate" in str(error) and "scale" in str(error)
            return
    _assert_all_outputs_finite(est, X)
    assert np.abs(est.transform(X)).max() < 1e3
    assert np.abs(est.inverse_transform(est.transform(X))).max() < 1e3 * np.abs(X).max()


def test_lowering_learning_rate_after_divergence_recovers_a_warm_start(digits01):
    """The divergence warning says "Lower learning_rate": with warm_start that must work."""
    X = digits01[0][:200]
    est = VAETransformer(2, **{**_DIVERGING, "optimizer": "adam", "warm_start": True})
    with pytest.warns(ConvergenceWarning, match="diverged"):
        est.fit(X * 1e6)
    est.set_params(learning_rate=1e-3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        est.fit(X)
    messages = [str(w.message) for w in caught]
    assert not [m for m in messages if "diverged" in m], messages
    assert est.n_iter_ == est.max_iter
    _assert_all_outputs_finite(est, X)


def test_a_sharp_linear_start_fits_without_warning_and_keeps_its_score():
    """One-hot columns sum to 1, so the linear start is exact along that direction (noise
    variances at the floor) and the first Adam step at learning_rate=1e-3 blows the loss up
    (as on real tables with one-hot or near-collinear columns). The epoch is run again at a
    lower rate: no warning, a validation score at least the linear start's (a held-out
    score as good up to the noise of choosing on 10 validation rows), and the user's
    learning_rate left as given."""
    rng = np.random.RandomState(0)
    onehot = np.eye(3)[rng.randint(3, size=150)]
    X = np.hstack([onehot, onehot @ rng.randn(3, 3) + 0.3 * rng.randn(150, 3)])
    X_train, X_test = X[:100], X[100:]
    est = VAETransformer(2, hidden_layer_sizes=(8,), random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        est.fit(X_train)
    start = VAETransformer(2, hidden_layer_sizes=(8,), learning_rate=1e-12, max_iter=1,
                           random_state=0).fit(X_train)  # the linear start, unchanged
    assert est.linear_start_ == "fa"
    # The start is a candidate of early stopping: the kept weights are at least as good on
    # the validation rows, and on the 50 test rows as good up to what choosing on 10
    # validation rows can miss (measured over random_state 0-3: 0.11 nats at most).
    assert est.best_validation_score_ >= start.best_validation_score_
    assert est.score(X_test) >= start.score(X_test) - 0.25
    assert est.learning_rate == 1e-3 and est.learning_rate_ < 1e-3
    # A warm start continues at the lowered rate rather than diverging again.
    lowered = est.learning_rate_
    est.set_params(warm_start=True, max_iter=2)
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*diverged", category=ConvergenceWarning)
        est.fit(X_train)
    assert est.learning_rate_ == lowered


def test_a_plateau_lowers_the_learning_rate_only_with_enough_validation_rows():
    """Half the patience without improvement sends training back to the best weights at a
    tenth of the rate (at most twice), where the validation rows are many enough for the
    choice among more epochs to mean something; the kept weights stay the best validation
    epoch's, and fewer validation rows leave the rate alone."""
    from skvae import _config

    rng = np.random.RandomState(0)
    latent = rng.randn(3000, 2)
    X = np.tanh(latent @ rng.randn(2, 6)) + 0.1 * rng.randn(3000, 6)
    params = dict(hidden_layer_sizes=(8,), n_iter_no_change=4, kl_warmup=0, max_iter=300,
                  random_state=0)
    many = VAETransformer(2, **params).fit(X)  # 300 validation rows
    assert many.n_iter_ < 300
    assert 1e-3 / 10**_config.LR_DECAYS * 0.999 < many.learning_rate_ < 1e-3
    assert many.learning_rate == 1e-3
    few = VAETransformer(2, **params).fit(X[:2000])  # 200 validation rows
    assert few.learning_rate_ == 1e-3


# ---------------------------------------------------------------- persistence

_LOAD_AND_RUN = textwrap.dedent(
    """
    import sys
    import joblib
    import numpy as np
    est = joblib.load(sys.argv[1])
    X = np.load(sys.argv[2])
    Z = est.transform(X)
    np.savez(sys.stdout.buffer, transform=Z, inverse_transform=est.inverse_transform(Z),
             score_samples=est.score_samples(X), sample=est.sample(4, random_state=0))
    """
)


def test_joblib_dump_loads_bitwise_equal_in_a_fresh_process(digits01, tmp_path):
    X = digits01[0][:300]
    est = VAETransformer(3, hidden_layer_sizes=(16,), max_iter=3, random_state=0).fit(X)
    Z = est.transform(X)
    here = dict(transform=Z, inverse_transform=est.inverse_transform(Z),
                score_samples=est.score_samples(X), sample=est.sample(4, random_state=0))
    import joblib

    joblib.dump(est, tmp_path / "vae.joblib")
    np.save(tmp_path / "X.npy", X)
    done = subprocess.run(
        [sys.executable, "-c", _LOAD_AND_RUN, str(tmp_path / "vae.joblib"),
         str(tmp_path / "X.npy")],
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr.decode()
    there = np.load(io.BytesIO(done.stdout))
    for name, value in here.items():
        assert_bitwise_equal(there[name], value)


def test_an_unfitted_estimator_pickles_and_then_fits_like_the_original():
    X = _data()
    est = VAETransformer(2, **TINY)
    loaded = pickle.loads(pickle.dumps(est))
    assert loaded.get_params() == est.get_params()
    assert_bitwise_equal(loaded.fit(X).transform(X), est.fit(X).transform(X))


def test_pickle_holds_the_weights_and_no_optimizer_state_unless_warm_starting(digits01):
    X = digits01[0][:300]
    params = dict(hidden_layer_sizes=(64,), max_iter=2, early_stopping=False, random_state=0)
    cold = VAETransformer(2, **params).fit(X)
    warm = VAETransformer(2, warm_start=True, **params).fit(X)
    n_weights = (cold.encoder_.count_params() + cold.decoder_.count_params()
                 + cold.noise_variance_.size)
    weight_bytes = 4 * n_weights  # float32
    cold_size, warm_size = len(pickle.dumps(cold)), len(pickle.dumps(warm))
    print(f"weights {weight_bytes} B, pickle {cold_size} B (warm_start=False), "
          f"{warm_size} B (warm_start=True)")
    assert weight_bytes <= cold_size < 3 * weight_bytes + 64 * 1024
    # Adam keeps two moments per weight: only the warm-start pickle carries them.
    assert warm_size - cold_size > 1.5 * weight_bytes
    assert cold_size < 1.25 * weight_bytes + 16 * 1024


# ------------------------------------------------------------- repeated fits

_REFIT = textwrap.dedent(
    """
    import gc, json, os, warnings
    from sklearn.exceptions import ConvergenceWarning
    warnings.simplefilter("ignore", ConvergenceWarning)
    import numpy as np
    from skvae import VAETransformer

    def rss_mb():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    X = np.random.RandomState(0).uniform(size=(200, 16))
    rss = []
    for i in range(8):
        est = VAETransformer(2, hidden_layer_sizes=(16,), max_iter=3, random_state=i).fit(X)
        est.transform(X)
        del est
        gc.collect()  # measure what is kept, not garbage the collector has not reached yet
        rss.append(rss_mb())
    print(json.dumps(rss))
    """
)


@pytest.fixture(scope="module")
def refit_process():
    """A fresh process that fits 8 small estimators (default early stopping) in turn."""
    done = subprocess.run([sys.executable, "-c", _REFIT], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_repeated_fits_do_not_grow_memory(refit_process):
    rss, _ = refit_process
    growth = rss[-1] - rss[1]
    print("RSS MB after each fit:", [round(r, 1) for r in rss])
    assert growth < 16, f"RSS grew {growth:.1f} MB over fits 3-8: {rss}"


def test_repeated_fits_print_no_tensorflow_warnings(refit_process):
    _, stderr = refit_process
    assert stderr == ""


# --------------------------------------------------------------- concurrency


@pytest.fixture(scope="module")
def fitted_for_threads(digits01):
    return VAETransformer(3, hidden_layer_sizes=(16,), max_iter=2, random_state=0).fit(
        digits01[0]
    )


def test_threads_get_bitwise_the_same_results_as_serial_calls(fitted_for_threads, digits01):
    X = digits01[0]
    est = copy.deepcopy(fitted_for_threads)  # empty per-dtype weight caches: filled by threads
    slices = [slice(i * 200, i * 200 + 37 * (i + 1)) for i in range(8)]
    for dtype in (np.float32, np.float64):
        Xd = X.astype(dtype)

        def work(s):
            return est.transform(Xd[s]), est.score_samples(Xd[s])

        with ThreadPoolExecutor(max_workers=8) as pool:
            threaded = list(pool.map(work, slices * 4))
        for s, (Z, scores) in zip(slices * 4, threaded):
            assert_bitwise_equal(Z, fitted_for_threads.transform(Xd[s]))
            assert_bitwise_equal(scores, fitted_for_threads.score_samples(Xd[s]))


# --------------------------------------------------------------------- fuzzing


@st.composite
def _datasets(draw):
    n_rows = draw(st.integers(1, 50))
    n_features = draw(st.integers(1, 30))
    dtype = draw(st.sampled_from([np.float32, np.float64, np.int64]))
    scale = draw(st.sampled_from([1.0, 1e3, 1e6]))
    kind = draw(st.sampled_from(["uniform", "normal", "negative", "zeros"]))
    rng = np.random.RandomState(draw(st.integers(0, 2**16)))
    X = {
        "uniform": lambda: rng.uniform(0, scale, (n_rows, n_features)),
        "normal": lambda: rng.normal(0, scale, (n_rows, n_features)),
        "negative": lambda: -rng.uniform(0, scale, (n_rows, n_features)),
        "zeros": lambda: np.zeros((n_rows, n_features)),
    }[kind]()
    constant = draw(st.lists(st.integers(0, n_features - 1), max_size=3))
    X[:, constant] = draw(st.sampled_from([0.0, 1.0, -scale]))
    likelihood = draw(st.sampled_from(["gaussian", "bernoulli"]))
    if likelihood == "bernoulli" and draw(st.booleans()):  # sometimes in [0, 1], sometimes not
        span = X.max() - X.min()
        X = (X - X.min()) / span if span > 0 else np.zeros_like(X)
        if dtype == np.int64:
            X = np.round(X)
    return X.astype(dtype), likelihood, draw(st.booleans())


@pytest.fixture
def hang_guard():
    """Kill the run with a traceback of every thread if the fuzz test hangs."""
    faulthandler.dump_traceback_later(240, exit=True)
    yield
    faulthandler.cancel_dump_traceback_later()


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=_datasets())
def test_fuzz_fit_transform_succeeds_finitely_or_raises_value_or_type_error(hang_guard, data):
    X, likelihood, early_stopping = data
    est = VAETransformer(2, hidden_layer_sizes=(4,), max_iter=2, likelihood=likelihood,
                         early_stopping=early_stopping, random_state=0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            est.fit(X)
        Z = est.transform(X)
        scores = est.score_samples(X)
    except (ValueError, TypeError):
        return
    out_dtype = np.float32 if X.dtype == np.float32 else np.float64
    assert Z.shape == (len(X), 2) and Z.dtype == out_dtype
    assert scores.shape == (len(X),) and scores.dtype == out_dtype
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(scores))
    assert np.all(np.isfinite(est.inverse_transform(Z)))
