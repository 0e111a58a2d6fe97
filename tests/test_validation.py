"""skvae._validation: bad input is refused with a message that names the problem (and the
columns), and the inputs that must work (lists, other dtypes, DataFrames, odd memory
layouts) give the same results as a float array.

Kinds covered here (each a test or a parametrize case): NaN (accepted: missing values,
except as latent codes, see test_transformer), +inf, -inf (fit, transform, score_samples,
inverse_transform), no rows, no features, 1-D, 3-D, scalar/None, strings, object dtype with
strings, complex, sparse, too few / too many features, huge magnitudes (fit and
score_samples), values outside [0, 1] for Bernoulli, dates, text and categorical columns,
and the inputs that must work: lists of lists, integer / bool / float16 dtypes, DataFrames
(mixed dtypes, integer names), read-only / Fortran / strided arrays. (One row, two rows,
large values and constant columns: test_base.)
"""

import numpy as np
import pytest

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

from .conftest import (
    N_FEATURES,
    TINY,
    assert_all_outputs_finite,
    assert_bitwise_equal,
    uniform_rows,
)


# Tiny fits stop at max_iter on purpose; that warning says nothing here.
pytestmark = pytest.mark.filterwarnings(
    "ignore:VAETransformer stopped at max_iter:sklearn.exceptions.ConvergenceWarning"
)


_METHODS = ["fit", "transform", "score_samples"]


def _call(method, est, X):
    if method == "fit":
        return VAETransformer(2, **TINY).fit(X)
    return getattr(est, method)(X)


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize("method", _METHODS)
@pytest.mark.parametrize(
    "value, match",
    [(np.inf, "contains infinity"), (-np.inf, "contains infinity")],
    ids=["+inf", "-inf"],
)
def test_non_finite_values_are_refused(gaussian, method, value, match):
    X = uniform_rows()
    X[3, 1] = value
    with pytest.raises(ValueError, match=match):
        _call(method, gaussian, X)


@pytest.mark.parametrize("method", _METHODS)
def test_missing_values_are_accepted_with_finite_results(gaussian, method):
    X = uniform_rows()
    X[3, 1] = np.nan
    out = _call(method, gaussian, X)
    values = out.transform(X) if method == "fit" else out
    assert np.all(np.isfinite(values))


@pytest.mark.parametrize("method", [*_METHODS, "inverse_transform"])
def test_no_rows_is_refused(gaussian, method):
    width = 2 if method == "inverse_transform" else N_FEATURES
    with pytest.raises(ValueError, match=r"0 sample\(s\) \(shape=\(0, \d\)\)"):
        _call(method, gaussian, np.empty((0, width)))


def test_no_features_is_refused():
    with pytest.raises(ValueError, match=r"0 feature\(s\) \(shape=\(5, 0\)\)"):
        VAETransformer(2, **TINY).fit(np.empty((5, 0)))


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
    X = uniform_rows() if method != "inverse_transform" else np.zeros((4, 2))
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
        getattr(gaussian, method)(uniform_rows(n_features=n_features))


# ------------------------------------------------------------- value ranges


@pytest.mark.parametrize("sign", [1, -1])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_huge_values_in_fit_name_the_magnitude(sign, dtype):
    X = uniform_rows().astype(dtype)
    X[2, 2] = sign * 1e30
    with pytest.raises(ValueError, match=r"as large as 1e\+30 in magnitude.*StandardScaler"):
        VAETransformer(2, **TINY).fit(X)


def test_score_samples_of_huge_float32_rows_is_an_error_not_minus_inf(gaussian):
    # transform of such rows stays finite, but a float32 log-density of -1e60 cannot be
    # represented: score_samples returned -inf, which poisons score() and GridSearchCV.
    X = (uniform_rows(n_rows=3) * 1e29).astype(np.float32)
    X[1, 2] = 1e30
    assert np.all(np.isfinite(gaussian.transform(X)))
    with pytest.raises(ValueError, match=r"as large as 1e\+30 in magnitude"):
        gaussian.score_samples(X)


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


# ---------------------------------------------------- inputs that must work


def test_lists_of_lists_give_the_same_results_as_arrays(gaussian):
    X = uniform_rows(n_rows=6)
    rows = X.tolist()
    assert_bitwise_equal(gaussian.transform(rows), gaussian.transform(X))
    assert_bitwise_equal(gaussian.score_samples(rows), gaussian.score_samples(X))
    Z = gaussian.transform(X)
    assert_bitwise_equal(gaussian.inverse_transform(Z.tolist()), gaussian.inverse_transform(Z))


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint8, np.bool_, np.float16])
def test_other_numeric_dtypes_work_as_float64(gaussian, dtype):
    X = (uniform_rows() * 3).astype(dtype)
    X64 = X.astype(np.float64)
    assert_bitwise_equal(gaussian.transform(X), gaussian.transform(X64))
    assert_bitwise_equal(gaussian.score_samples(X), gaussian.score_samples(X64))
    est = VAETransformer(2, **TINY).fit(X)
    assert est.transform(X).dtype == np.float64
    assert_all_outputs_finite(est, X)


def test_read_only_fortran_and_strided_arrays_give_the_same_results(gaussian):
    X = uniform_rows()
    read_only = X.copy()
    read_only.flags.writeable = False
    strided = np.repeat(X, 2, axis=1)[:, ::2]
    for other in (read_only, np.asfortranarray(X), strided):
        assert_bitwise_equal(gaussian.transform(other), gaussian.transform(X))
        assert_bitwise_equal(gaussian.score_samples(other), gaussian.score_samples(X))
    est = VAETransformer(2, **TINY).fit(read_only)  # e.g. a joblib memmap
    assert_bitwise_equal(est.transform(X), VAETransformer(2, **TINY).fit(X).transform(X))


# --------------------------------------------------------------- DataFrames


def test_dataframes_work_and_feature_names_are_checked():
    pd = pytest.importorskip("pandas")
    X = uniform_rows()
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


def test_dataframes_with_mixed_column_dtypes_and_integer_names_work():
    pd = pytest.importorskip("pandas")
    X = uniform_rows()
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
    assert_all_outputs_finite(est, frame)


@pytest.mark.parametrize("tz", [None, "UTC"])
def test_date_and_duration_columns_are_named_with_the_fix(tz):
    """Dates convert to float64 (nanoseconds), which hid them from the column check:
    NumPy's DTypePromotionError (or a TypeError about a Timestamp) reached the user."""
    pd = pytest.importorskip("pandas")
    X = uniform_rows()
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


@pytest.mark.parametrize("estimator", [VAETransformer, VAEImputer, VAEOutlierDetector])
def test_text_and_categorical_columns_are_named_with_the_fix(estimator):
    """A mixed-type table with categorical_features=None (all numeric): the error names
    the columns and the parameter that models them. (With the default they are modelled:
    test_columns.)"""
    pd = pytest.importorskip("pandas")
    X = uniform_rows()
    frame = pd.DataFrame({"x": X[:, 0], "city": ["Oslo", "Lima"] * 20,
                          "grade": pd.Categorical(["a", "b"] * 20), "y": X[:, 1]})
    est = estimator(**TINY)
    match = (rf"{estimator.__name__} needs numeric features, but X has 2 non-numeric column\(s\): "
             r"'city' \(.*\), 'grade' \(category\)\. Name the categorical ones in "
             r"categorical_features")
    with pytest.raises(ValueError, match=match):
        estimator(categorical_features=None, **TINY).fit(frame)
    est.fit(frame[["x", "y"]])
    apply = est.transform if hasattr(est, "transform") else est.score_samples
    with pytest.raises(ValueError, match=r"1 non-numeric column\(s\): 'x'"):
        apply(frame[["city", "y"]].set_axis(["x", "y"], axis=1))
    # Numbers stored as objects are numeric: another problem keeps sklearn's own message.
    renamed = frame[["x", "y"]].astype(object).set_axis(["x", "z"], axis=1)
    with pytest.raises(ValueError, match="feature names should match"):
        apply(renamed)
