"""skvae._columns and mixed tables: which columns are categorical, categorical columns inside
the model (a softmax per column), and DataFrames with their dtypes and levels back out of
inverse_transform, sample and VAEImputer."""

import pickle

import numpy as np
import pytest

from skvae import VAEImputer, VAEOutlierDetector, VAETransformer
from skvae._columns import ColumnCodec, categorical_mask

pd = pytest.importorskip("pandas")

SMALL = dict(hidden_layer_sizes=(32,), max_iter=60, random_state=0)


def mixed_table(n=400, seed=0):
    """Numbers, and categorical columns that follow them: a colour from x's range, a flag
    from y's sign, an ordered grade, a count of whole numbers."""
    rng = np.random.RandomState(seed)
    x = rng.standard_normal(n)
    y = x + 0.3 * rng.standard_normal(n)
    colour = np.where(x > 0.4, "red", np.where(x < -0.4, "blue", "green"))
    grade = pd.Categorical(np.where(y > 0.8, "high", np.where(y < -0.8, "low", "mid")),
                           categories=["low", "mid", "high"], ordered=True)
    return pd.DataFrame({"x": x, "colour": colour, "y": y, "flag": y > 0, "grade": grade,
                         "count": np.round(np.exp(x)).astype(np.int64)})


@pytest.fixture(scope="module")
def table():
    return mixed_table()


@pytest.fixture(scope="module")
def fitted(table):
    return VAETransformer(4, **SMALL).fit(table)


# ---------------------------------------------------------------- which columns


def test_from_dtype_takes_text_category_and_bool_columns_of_a_frame():
    frame = pd.DataFrame({"n": [1.0, 2.0], "text": ["a", "b"], "cat": pd.Categorical(["u", "v"]),
                          "flag": [True, False], "numbers_as_objects": np.array([1, 2], object),
                          "numbers_as_text": ["1.5", "2"]})
    assert categorical_mask(frame, "from_dtype", "X").tolist() == [
        False, True, True, True, False, False]


def test_arrays_stay_numeric_unless_named(table):
    assert not categorical_mask(np.zeros((3, 2), bool), "from_dtype", "X").any()
    assert categorical_mask(np.zeros((3, 4)), [1, 3], "X").tolist() == [False, True, False, True]
    assert categorical_mask(table, ["colour"], "X").tolist() == [False, True] + [False] * 4
    assert categorical_mask(table, np.arange(6) == 0, "X")[0]


@pytest.mark.parametrize("given, message", [
    (["nope"], r"names \['nope'\], which are not columns of X"),
    ([7], r"column indices \[7\] outside X's 6 columns"),
    ([True, False], "boolean mask needs one entry per column of X"),
])
def test_bad_categorical_features_are_refused_with_the_reason(table, given, message):
    with pytest.raises(ValueError, match=message):
        VAETransformer(2, categorical_features=given).fit(table)


def test_names_need_a_frame():
    with pytest.raises(ValueError, match="X has no column names"):
        VAETransformer(2, categorical_features=["a"]).fit(np.zeros((20, 2)))


def test_a_column_with_too_many_levels_gets_a_clear_error(table):
    ids = table.assign(id=[f"row{i}" for i in range(len(table))])
    with pytest.raises(ValueError, match=r"'id' has 400 levels, more than max_categories=255"):
        VAETransformer(2, max_iter=1).fit(ids)


def test_an_empty_categorical_column_is_refused(table):
    empty = table.assign(colour=pd.Series([None] * len(table), dtype=object))
    empty["colour"] = empty["colour"].astype("category")
    with pytest.raises(ValueError, match="'colour' has no observed value"):
        VAETransformer(2, max_iter=1).fit(empty)


# ------------------------------------------------------------ tables in and out


def test_inverse_transform_gives_back_the_columns_dtypes_and_levels(fitted, table):
    back = fitted.inverse_transform(fitted.transform(table))
    assert isinstance(back, pd.DataFrame)
    assert list(back.columns) == list(table.columns)
    assert back.dtypes.to_dict() == table.dtypes.to_dict()
    assert back["grade"].cat.categories.tolist() == ["low", "mid", "high"]
    assert back["grade"].cat.ordered
    # the codes carry the categorical columns: reconstructions mostly right
    for name in ("colour", "flag", "grade"):
        assert (back[name] == table[name]).mean() > 0.8, name
    assert np.corrcoef(back["x"], table["x"])[0, 1] > 0.9


def test_sample_draws_levels_at_the_data_frequencies(fitted, table):
    synthetic = fitted.sample(2000, random_state=0)
    assert synthetic.dtypes.to_dict() == table.dtypes.to_dict()
    assert set(synthetic["colour"]) <= set(table["colour"])
    for name in ("colour", "flag", "grade"):
        want = table[name].value_counts(normalize=True)
        got = synthetic[name].value_counts(normalize=True).reindex(want.index, fill_value=0)
        assert np.abs(got - want).max() < 0.1, (name, got, want)
    assert (synthetic["count"] == np.round(synthetic["count"])).all()
    # the draws keep the link between a category and the numbers it follows
    assert synthetic.loc[synthetic["colour"] == "red", "x"].mean() > 0.4
    assert synthetic.loc[synthetic["colour"] == "blue", "x"].mean() < -0.4


def test_numeric_fits_return_arrays_as_before(table):
    numeric = table[["x", "y"]]
    est = VAETransformer(2, **SMALL).fit(numeric)
    assert isinstance(est.sample(3, random_state=0), np.ndarray)
    assert isinstance(est.inverse_transform(est.transform(numeric)), np.ndarray)


def test_set_output_still_wraps_transform(table):
    est = VAETransformer(2, **{**SMALL, "max_iter": 2}).set_output(transform="pandas")
    codes = est.fit_transform(table)
    assert list(codes.columns) == ["vaetransformer0", "vaetransformer1"]


def test_indices_on_an_array_decode_to_the_levels():
    rng = np.random.RandomState(0)
    X = np.column_stack([rng.standard_normal(300), rng.randint(0, 3, 300) * 10.0])
    est = VAETransformer(2, categorical_features=[1], **SMALL).fit(X)
    assert set(np.unique(est.sample(200, random_state=0)[:, 1])) <= {0.0, 10.0, 20.0}


# ------------------------------------------------------ likelihood and scores


def test_the_linear_start_links_categories_to_the_numbers(table):
    """The start regresses each level's indicator on the numeric columns' factors: a colour
    that follows x is read back from the codes of a fit that barely trained (the start, or
    one epoch from it), far above the most frequent colour's share."""
    est = VAETransformer(2, hidden_layer_sizes=(32,), max_iter=1, random_state=0).fit(table)
    assert est.linear_start_ in ("ppca", "fa")
    back = est.inverse_transform(est.transform(table))
    majority = table["colour"].value_counts(normalize=True).max()
    assert (back["colour"] == table["colour"]).mean() > max(0.7, majority + 0.3)


def test_categorical_scores_are_probabilities_of_the_levels():
    """With only categorical columns, exp(score_samples) over every combination of levels
    sums to about 1 (an importance-weighted estimate of each probability)."""
    rng = np.random.RandomState(0)
    a = rng.choice(["u", "v"], 500)
    b = np.where(a == "u", rng.choice(["p", "q", "r"], 500, p=[0.7, 0.2, 0.1]), "r")
    est = VAETransformer(2, **SMALL).fit(pd.DataFrame({"a": a, "b": b}))
    grid = pd.DataFrame([(i, j) for i in "uv" for j in "pqr"], columns=["a", "b"])
    est.set_params(n_importance_samples=1000)  # a tight estimate: the sum is near 1
    p = np.exp(est.score_samples(grid))
    assert 0.95 < p.sum() < 1.02
    assert p[grid.a.eq("v") & grid.b.eq("r")].item() > 0.35  # the data's 0.5


def test_an_unseen_level_is_a_hole_to_transform_and_never_more_typical(fitted, table):
    rows = table.iloc[:20].copy()
    rows["colour"] = rows["colour"].astype(object)
    rows.loc[rows.index[:5], "colour"] = "purple"
    codes = fitted.transform(rows)
    holed = rows.copy()
    holed.loc[holed.index[:5], "colour"] = np.nan
    np.testing.assert_array_equal(codes, fitted.transform(holed))
    unseen = fitted.score_samples(rows)[:5]
    for level in ("red", "green", "blue"):
        seen = fitted.score_samples(rows.assign(colour=rows["colour"].replace("purple", level)))
        assert np.all(unseen <= seen[:5] + 1e-9), level


def test_score_samples_of_holed_categorical_cells_is_finite(fitted, table):
    rows = table.iloc[:30].copy()
    rows["colour"] = rows["colour"].astype(object)
    rows.loc[rows.index[::3], "colour"] = None
    assert np.isfinite(fitted.score_samples(rows)).all()


def test_a_pickled_mixed_model_gives_the_same_tables(fitted, table):
    copy = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(copy.sample(50, random_state=1),
                                  fitted.sample(50, random_state=1))
    np.testing.assert_array_equal(copy.score_samples(table), fitted.score_samples(table))


# -------------------------------------------------------- imputer and outliers


def test_imputer_fills_categorical_holes_better_than_the_mode(table):
    rng = np.random.RandomState(1)
    holed = table.copy()
    holed["colour"] = holed["colour"].astype(object)
    hide = rng.choice(len(table), 80, replace=False)
    holed.loc[hide, "colour"] = np.nan
    imp = VAEImputer(4, **SMALL).fit(holed)
    filled = imp.transform(holed)
    assert isinstance(filled, pd.DataFrame) and not filled.isna().any().any()
    assert filled.dtypes.to_dict() == holed.dtypes.to_dict()
    truth = table["colour"].iloc[hide]
    accuracy = (filled["colour"].iloc[hide] == truth).mean()
    mode = (truth == holed["colour"].mode()[0]).mean()
    assert accuracy > mode + 0.2, (accuracy, mode)
    observed = holed["colour"].notna()
    assert (filled.loc[observed, "colour"] == holed.loc[observed, "colour"]).all()


def test_imputer_indicator_on_a_mixed_table(table):
    holed = table.copy()
    holed["colour"] = holed["colour"].astype(object)
    holed.loc[:9, "colour"] = np.nan
    imp = VAEImputer(2, add_indicator=True, **{**SMALL, "max_iter": 3}).fit(holed)
    out = imp.transform(holed)
    assert list(out.columns) == list(imp.get_feature_names_out())
    assert out["missingindicator_colour"].iloc[:10].all()


def test_outlier_feature_log_likelihood_has_one_column_per_table_column(table):
    det = VAEOutlierDetector(4, **SMALL).fit(table)
    terms = det.feature_log_likelihood(table)
    assert terms.shape == table.shape
    odd = table.iloc[:1].assign(colour="red", x=-2.5)  # a red colour far below red's range
    assert np.argmin(det.feature_log_likelihood(odd)[0]) in (0, 1)
    assert det.score_samples(odd)[0] < np.percentile(det.score_samples(table), 5)


def test_codec_round_trip_without_a_model(table):
    codec = ColumnCodec.fit(table, "from_dtype", 255, "X")
    rows, unseen = codec.encode(table)
    assert rows.shape == (len(table), 2 + 3 + 2 + 3 + 1) and not unseen.any()
    pd.testing.assert_frame_equal(codec.decode(rows), table)


def test_imputer_fills_a_column_tied_exactly_to_another_on_a_mixed_table():
    """A charge that is an exact multiple of the minutes (FA pins the pair) and a hole in the
    minutes of a row with a high charge: the codes of such a row are far out, and the VAE
    part of the fill extrapolates (-176 service calls on mlc_churn). The linear part of the
    mixture, numeric columns times level frequencies, takes over: the minutes come back
    from the charge, the other holes within the data's range."""
    rng = np.random.RandomState(0)
    n = 1500
    minutes = rng.gamma(9.0, 20.0, n)
    frame = pd.DataFrame({
        "minutes": minutes, "charge": np.round(0.17 * minutes, 2),
        "calls": rng.poisson(100, n).astype(float), "service": rng.poisson(1.5, n).astype(float),
        "plan": np.where(rng.uniform(size=n) < 0.2, "yes", "no"),
    })
    imputer = VAEImputer(random_state=0).fit(frame)
    row = frame.iloc[[int(np.argmax(frame["charge"].to_numpy()))]].copy()
    row[["minutes", "service"]] = np.nan
    filled = imputer.transform(row).iloc[0]
    assert abs(filled["minutes"] - row["charge"].iloc[0] / 0.17) < 0.05 * filled["minutes"]
    assert frame["service"].min() <= filled["service"] <= frame["service"].max()
