"""A table's columns and the network's matrix: which columns are categorical, each one's
one-hot block, and the way back to the user's columns, dtypes and levels.

Numeric columns enter the matrix as numbers; a categorical column becomes a block of one
indicator per level, all NaN where the cell is missing or holds a level unseen in fit (so the
network treats both as holes). Only tables with a categorical column get a codec: all-numeric
data takes the array path it always took.
"""

import numpy as np


def categorical_mask(X, categorical_features, estimator_name):
    """Boolean mask of X's categorical columns (``categorical_features`` as documented in
    :data:`skvae._params.VAE_PARAMS_DOC`)."""
    frame = hasattr(X, "iloc") and hasattr(X, "columns")
    if categorical_features is None or (isinstance(categorical_features, str) and not frame):
        return np.zeros(0, bool)  # arrays stay numeric (bool arrays included)
    if frame:
        n_columns, names = X.shape[1], [str(c) for c in X.columns]
    else:
        shape = np.shape(X)
        if len(shape) != 2:
            return np.zeros(0, bool)  # not a table: sklearn's validation says so
        n_columns, names = shape[1], None
    if isinstance(categorical_features, str):  # "from_dtype" (the constraint allows no other)
        return np.array([_is_categorical(X.iloc[:, j]) for j in range(n_columns)], bool)
    given = np.asarray(categorical_features)
    if given.dtype == bool:
        if given.shape != (n_columns,):
            raise ValueError(
                f"categorical_features as a boolean mask needs one entry per column of X "
                f"({n_columns}); got {given.shape[0] if given.ndim else 'a scalar'}."
            )
        return given.copy()
    mask = np.zeros(n_columns, bool)
    if given.dtype.kind in "iu":
        bad = given[(given < -n_columns) | (given >= n_columns)]
        if bad.size:
            raise ValueError(
                f"categorical_features has column indices {bad.tolist()[:5]} outside X's "
                f"{n_columns} columns."
            )
        mask[given] = True
        return mask
    if given.dtype.kind in "UO":
        if names is None:
            raise ValueError(
                "categorical_features names columns, but X has no column names; pass a "
                "pandas DataFrame, or give indices or a boolean mask."
            )
        unknown = sorted(set(map(str, given)) - set(names))
        if unknown:
            raise ValueError(
                f"categorical_features names {unknown[:5]}, which are not columns of X "
                f"(its columns: {names[:10]})."
            )
        mask[[names.index(str(name)) for name in given]] = True
        return mask
    raise TypeError(
        "categorical_features must be 'from_dtype', None, a boolean mask, column indices or "
        f"column names; got {categorical_features!r} ({given.dtype})."
    )


def _is_categorical(column):
    """A DataFrame column is categorical if its dtype is ``category`` or bool, or if it holds
    text (an object or string column whose values are not all numbers)."""
    import pandas as pd

    dtype = column.dtype
    if isinstance(dtype, pd.CategoricalDtype) or pd.api.types.is_bool_dtype(dtype):
        return True
    if not (pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)):
        return False
    values = column.dropna()
    if pd.api.types.infer_dtype(values, skipna=True) == "boolean":
        return True
    return pd.to_numeric(values, errors="coerce").isna().any()


class ColumnCodec:
    """The user's columns <-> the network's matrix (see the module docstring).

    Parameters
    ----------
    levels : list of (ndarray or None)
        Per column: its levels (categorical) or None (numeric).
    dtypes : list
        Per column, the dtype to give back (pandas dtypes for a DataFrame).
    integral : ndarray of bool
        Per column: numeric with only whole numbers in fit (given back rounded).
    columns : Index or None
        The DataFrame's columns (None: X was an array).
    """

    def __init__(self, levels, dtypes, integral, columns):
        self.levels = levels
        self.dtypes = dtypes
        self.integral = np.asarray(integral, bool)
        self.columns = columns
        starts = np.cumsum([0] + [1 if lv is None else len(lv) for lv in levels])
        self.slices = [slice(int(a), int(b)) for a, b in zip(starts[:-1], starts[1:])]
        self.width = int(starts[-1])
        #: (start, stop) of each categorical column's block in the matrix.
        self.blocks = tuple((s.start, s.stop) for s, lv in zip(self.slices, levels)
                            if lv is not None)
        self.numeric = np.array([s.start for s, lv in zip(self.slices, levels) if lv is None],
                                dtype=np.intp)
        self.categorical = np.array([lv is not None for lv in levels])
        #: Each matrix column's original column.
        self.owner = np.repeat(np.arange(len(levels)), np.diff(starts))

    @classmethod
    def fit(cls, X, categorical_features, max_categories, estimator_name):
        """The codec of X, or None when X has no categorical column."""
        mask = categorical_mask(X, categorical_features, estimator_name)
        if not mask.any():
            return None
        frame = hasattr(X, "iloc")
        columns = X.columns if frame else None
        get = (lambda j: X.iloc[:, j]) if frame else (lambda j: np.asarray(X)[:, j])
        levels, dtypes, integral = [], [], []
        for j, categorical in enumerate(mask):
            column = get(j)
            dtypes.append(column.dtype)
            if categorical:
                found = _levels(column)
                if not len(found):
                    name = repr(str(columns[j])) if frame else j
                    raise ValueError(
                        f"{estimator_name}: categorical column {name} has no observed value: "
                        "there is nothing to learn about it. Drop it."
                    )
                if len(found) > max_categories:
                    name = repr(str(columns[j])) if frame else j
                    raise ValueError(
                        f"{estimator_name}: categorical column {name} has {len(found)} "
                        f"levels, more than max_categories={max_categories}. An identifier "
                        "or free-text column carries no shared structure: drop it, group its "
                        "rare levels, or raise max_categories."
                    )
                levels.append(found)
                integral.append(False)
            else:
                values = _numbers(column, j, columns, estimator_name)
                observed = values[~np.isnan(values)]
                levels.append(None)
                integral.append(bool(observed.size) and bool(np.all(observed == np.round(observed))))
        return cls(levels, dtypes, integral, columns)

    def encode(self, X):
        """``(matrix, unseen)``: X as the network's float64 matrix, and a boolean (n_rows,
        n_columns) mask of the categorical cells holding a level unseen in fit (their
        blocks are NaN, like missing cells)."""
        frame = hasattr(X, "iloc")
        n = X.shape[0]
        out = np.empty((n, self.width), np.float64)
        unseen = np.zeros((n, len(self.levels)), bool)
        array = None if frame else np.asarray(X)
        for j, (levels, where) in enumerate(zip(self.levels, self.slices)):
            column = X.iloc[:, j] if frame else array[:, j]
            if levels is None:
                out[:, where.start] = _numbers(column, j, self.columns, "X")
                continue
            codes, missing = _codes(column, levels)
            unseen[:, j] = (codes < 0) & ~missing
            block = out[:, where]
            block[:] = 0.0
            known = codes >= 0
            block[np.flatnonzero(known), codes[known]] = 1.0
            block[~known] = np.nan
        return out, unseen

    def decode(self, matrix):
        """The network's matrix (categorical blocks: probabilities, one-hot rows or scores
        whose largest entry is the level) back as the user's table: a DataFrame with X's
        columns and dtypes when fitted on one, else an array."""
        values = []
        for levels, where, integral, dtype in zip(
            self.levels, self.slices, self.integral, self.dtypes
        ):
            if levels is None:
                column = matrix[:, where.start].astype(np.float64)
                values.append(np.round(column) if integral else column)
            else:
                values.append(levels[np.argmax(matrix[:, where], axis=1)])
        if self.columns is None:
            kind = object if any(v.dtype == object for v in values) else np.float64
            return np.column_stack([np.asarray(v, dtype=kind) for v in values])
        import pandas as pd

        frame = {}
        for name, column, dtype, levels in zip(self.columns, values, self.dtypes, self.levels):
            frame[name] = _as_dtype(column, dtype, levels)
        return pd.DataFrame(frame, columns=self.columns)

    def feature_terms(self, terms):
        """Per-matrix-column terms summed per original column (a categorical column's log
        probability is the sum over its block)."""
        out = np.zeros((terms.shape[0], len(self.levels)), terms.dtype)
        np.add.at(out.T, self.owner, terms.T)
        return out


def _levels(column):
    """A categorical column's levels: a category dtype's own categories (in their order),
    False and True for booleans, else the distinct values sorted."""
    import pandas as pd

    dtype = getattr(column, "dtype", None)
    if isinstance(dtype, pd.CategoricalDtype):
        return np.asarray(dtype.categories, dtype=object)
    values = pd.Series(np.asarray(column, dtype=object)).dropna().unique()
    try:
        return np.asarray(sorted(values), dtype=object)
    except TypeError:  # mixed types: order by text
        return np.asarray(sorted(values, key=str), dtype=object)


def _codes(column, levels):
    """(index of each cell's level, -1 where none; missing cells)."""
    import pandas as pd

    values = pd.Series(np.asarray(column, dtype=object))
    missing = values.isna().to_numpy()
    codes = pd.Index(levels).get_indexer(values.where(~missing, None))
    return np.asarray(codes, np.intp), missing


def _numbers(column, j, columns, who):
    try:
        if hasattr(column, "to_numpy"):
            import pandas as pd

            return pd.to_numeric(column).to_numpy(dtype=np.float64, na_value=np.nan)
        return np.asarray(column, dtype=np.float64)
    except (ValueError, TypeError) as error:
        name = repr(str(columns[j])) if columns is not None else j
        raise ValueError(
            f"{who}: column {name} is numeric in the fitted table but holds values that are "
            f"not numbers ({error})."
        ) from None


def _as_dtype(values, dtype, levels):
    """A decoded column in the dtype its column had in fit."""
    import pandas as pd

    if isinstance(dtype, pd.CategoricalDtype):
        return pd.Categorical(values, dtype=dtype)
    if levels is not None and pd.api.types.is_object_dtype(dtype):
        return pd.Series(values, dtype=object)  # not inferred: pandas would make text str
    if levels is None and pd.api.types.is_integer_dtype(dtype):
        values = np.round(values)
    if isinstance(dtype, np.dtype):
        return values.astype(dtype) if dtype.kind != "O" else values
    return pd.array(values, dtype=dtype)  # pandas' own dtypes: Int64, boolean, string ...
