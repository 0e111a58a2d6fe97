"""Input checks shared by the estimators: sklearn's validate_data with errors that name
the offending columns, and the value ranges each likelihood accepts."""

import numpy as np
from sklearn.utils import check_array
from sklearn.utils.validation import validate_data

from skvae import _config


def validate_table(estimator, X, **kwargs):
    """sklearn's ``validate_data``; a DataFrame with text, categorical, date or duration
    columns (or an array of dates) gets an error that names them and says how to encode
    them (sklearn's says only "could not convert string to float: 'x'", about a value, not
    a column, and converts dates to nanoseconds without a word)."""
    dtypes = getattr(X, "dtypes", None)
    if hasattr(dtypes, "items"):
        dated = [(str(c), str(t)) for c, t in dtypes.items()
                 if getattr(t, "kind", None) in ("M", "m")]
        if dated:
            raise _non_numeric_error(estimator, dated)
    elif getattr(getattr(X, "dtype", None), "kind", None) in ("M", "m"):
        raise ValueError(
            f"{type(estimator).__name__} needs numeric features, but X holds dates or "
            f"durations ({X.dtype}). Convert them to numbers first, e.g. days since a "
            "reference date."
        )
    try:
        return validate_data(estimator, X, **kwargs)
    except (ValueError, TypeError) as error:
        if not hasattr(dtypes, "items"):
            raise
        columns = [(str(c), str(t)) for c, t in dtypes.items()
                   if getattr(t, "kind", "O") not in "biuf" and not _is_numeric(X[c])]
        if not columns:
            raise  # another problem (names, widths, values): sklearn's message says it
        raise _non_numeric_error(estimator, columns) from error


def validate_rows(estimator, X, codec, reset, **kwargs):
    """``(rows, unseen)``: X as the float matrix the network reads, with
    :func:`validate_table`'s checks. With a :class:`skvae._columns.ColumnCodec` (a table
    with categorical columns), its columns are checked by name and count as sklearn does,
    then encoded (``unseen`` marks cells with a level unseen in fit); without one, ``unseen``
    is None."""
    kwargs = {"dtype": [np.float64, np.float32], "ensure_all_finite": "allow-nan",
              "ensure_min_samples": 1, **kwargs}
    if codec is None:
        return validate_table(estimator, X, reset=reset, **kwargs), None
    validate_data(estimator, X, reset=reset, skip_check_array=True)
    rows, unseen = codec.encode(X)
    kwargs.pop("dtype")
    return check_array(rows, dtype=np.float64, input_name="X", **kwargs), unseen


def _non_numeric_error(estimator, columns):
    named = ", ".join(f"{c!r} ({t})" for c, t in columns[:10])
    dates = any(t.startswith(("datetime", "timedelta")) for _, t in columns)
    return ValueError(
        f"{type(estimator).__name__} needs numeric features, but X has "
        f"{len(columns)} non-numeric column(s): {named}. Name the categorical ones in "
        "categorical_features (its default, 'from_dtype', takes a DataFrame's text, "
        "category and bool columns), encode them before it in a Pipeline"
        + (" (dates and durations: as numbers, e.g. days since a reference date)"
           if dates else "")
        + ", or drop them."
    )


def _is_numeric(column):
    try:
        np.asarray(column, dtype=np.float64)
    except (ValueError, TypeError):
        return False
    return True


def has_nan(X):
    """Whether the float array X holds a NaN, read in one pass with no temporary of X's size
    (``np.min`` propagates NaN): the NaN-free case, the common one, stays cheap on large
    data, where ``np.isnan(X).any()`` wrote a boolean copy of X first."""
    return X.size > 0 and bool(np.isnan(np.min(X)))


def check_values(X, name, likelihood, hint="MinMaxScaler", nan=None):
    """Refuse values the likelihood cannot take: outside [0, 1] for Bernoulli, beyond
    ``_config.MAX_ABS_INPUT`` for Gaussian (float32 overflows). ``nan``: ``has_nan(X)``
    where the caller has it already (each pass over a large X costs)."""
    nan = has_nan(X) if nan is None else nan
    if not X.size or (nan and np.isnan(X).all()):
        return
    low, high = np.nanmin(X), np.nanmax(X)  # reading passes: no temporary of X's size
    if likelihood == "bernoulli":
        if low < 0 or high > 1:
            raise ValueError(
                f"likelihood='bernoulli' needs {name} in [0, 1]; got min={low:.4g}, "
                f"max={high:.4g}. Scale with {hint} or use likelihood='gaussian'."
            )
    else:
        biggest = max(-low, high)
        if biggest > _config.MAX_ABS_INPUT:
            raise ValueError(
                f"{name} has values as large as {biggest:.3g} in magnitude; the network "
                f"computes in float32, where squares above ~1e38 overflow. Scale {name} "
                "first, e.g. with StandardScaler."
            )
