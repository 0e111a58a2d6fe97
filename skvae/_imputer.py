"""VAEImputer: fill missing values from a VAE trained on the observed cells."""

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin, _fit_context
from sklearn.impute import MissingIndicator
from sklearn.utils.validation import _check_feature_names_in, check_is_fitted, validate_data

from skvae._params import (
    PARAMETER_CONSTRAINTS, PARAMS_ADDED_LATER, VAE_PARAMS, VAE_PARAMS_DOC, vae_init,
)
from skvae._columns import categorical_mask
from skvae._validation import validate_table
from skvae._transformer import VAETransformer


def _imputer_params_doc():
    """The shared parameters' text, with VAEImputer's own n_importance_samples entry."""
    start = VAE_PARAMS_DOC.index("    n_importance_samples : int")
    end = VAE_PARAMS_DOC.index("    linear_mixture : float")
    own = """\
    n_importance_samples : int, default=256
        Samples per row for the fill (and ``vae_.score_samples``); the cost grows linearly.
        More than the other estimators' 16: the encoder's proposal q(z | x) is rougher for
        rows with holes, and the fill improves with more samples. See
        :ref:`default-n-importance-samples`.
"""
    return VAE_PARAMS_DOC[:start] + own + VAE_PARAMS_DOC[end:]


_PARAMS_DOC = _imputer_params_doc()


def _isna(X):
    """Missing cells of an array or DataFrame of any dtypes, as a boolean array."""
    import pandas as pd

    return np.asarray(pd.isna(X), dtype=bool)


def _holes(X):
    """NaN where X has a missing cell, 0 elsewhere: what MissingIndicator reads of a table
    of any dtypes."""
    return np.where(_isna(X), np.nan, 0.0)


def _columns(X, keep):
    """The ``keep`` columns of an array or DataFrame."""
    return X.iloc[:, np.flatnonzero(keep)] if hasattr(X, "iloc") else np.asarray(X)[:, keep]


def _concat_frames(columns, names):
    import pandas as pd

    return pd.concat([c.reset_index(drop=True) for c in columns], axis=1).set_axis(
        names, axis=1)


class VAEImputer(TransformerMixin, BaseEstimator):
    __doc__ = f"""Impute missing values (NaN) with a variational autoencoder.

    The VAE is trained on the observed cells only: its likelihood sums over observed entries
    and its encoder reads each row's observed values beside its missingness pattern. Each
    missing cell is then filled with its conditional mean given the row's observed cells,
    ``E[x_missing | x_observed]``, estimated by self-normalised importance sampling over
    ``q(z | x_observed)`` with ``n_importance_samples`` draws (MIWAE, Mattei & Frellsen
    2019), not a single decoder pass; ``sample_posterior=True`` draws from the conditional
    distribution instead, for multiple imputation (fit with different ``random_state`` s,
    as with ``IterativeImputer``). Observed cells are returned untouched.

    Parameters
    ----------
    n_components : int, default=8
        Size of the latent space. Filling in values needs more latent dimensions than a
        2-D picture does; components the data does not need stay unused. See
        :ref:`default-n-components`.
{_PARAMS_DOC}
    add_indicator : bool, default=False
        If True, a :class:`~sklearn.impute.MissingIndicator` adds binary columns for the
        features that had missing values at fit time, as in ``SimpleImputer``.
    keep_empty_features : bool, default=False
        Features with no observed value at fit time are dropped from the output, or, if
        True, kept: their missing cells are filled with 0 and their observed cells (in
        later data) kept, as ``SimpleImputer`` does (``KNNImputer`` sets the whole column
        to 0).
    sample_posterior : bool, default=False
        Fill with a draw from ``p(x_missing | x_observed)`` (sampling importance resampling
        of z, then ``p(x | z)``) instead of the conditional mean.

    Attributes
    ----------
    vae_ : VAETransformer
        The fitted VAE, on the features that had at least one observed value.
    indicator_ : MissingIndicator or None
        The indicator used when ``add_indicator=True``.
    n_iter_ : int
        Epochs the VAE trained.
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings.

    See Also
    --------
    sklearn.impute.SimpleImputer : Column mean / median / most frequent value.
    sklearn.impute.KNNImputer : Mean of the nearest rows' values.
    sklearn.impute.IterativeImputer : Regresses each feature on the others, in rounds.

    References
    ----------
    Mattei, P.-A. & Frellsen, J. (2019). MIWAE: Deep Generative Modelling and Imputation of
    Incomplete Data Sets. ICML.

    Nazabal, A., Olmos, P. M., Ghahramani, Z. & Valera, I. (2020). Handling incomplete
    heterogeneous data using VAEs. Pattern Recognition.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.datasets import load_wine
    >>> from skvae import VAEImputer
    >>> X = load_wine().data
    >>> X[::7, 3] = np.nan
    >>> filled = VAEImputer(max_iter=5, random_state=0).fit_transform(X)
    >>> filled.shape, bool(np.isnan(filled).any())
    ((178, 13), False)
    """

    __init__ = vae_init(
        n_components=8,
        n_importance_samples=256,
        add_indicator=False,
        keep_empty_features=False,
        sample_posterior=False,
    )

    _parameter_constraints = {
        **PARAMETER_CONSTRAINTS,
        "add_indicator": ["boolean"],
        "keep_empty_features": ["boolean"],
        "sample_posterior": ["boolean"],
    }

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE on the observed cells of X (y is ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            May contain NaN.
        y : ignored

        Returns
        -------
        self : VAEImputer
        """
        warm = self.warm_start and hasattr(self, "vae_")
        categorical = categorical_mask(X, self.categorical_features, type(self).__name__)
        self._mixed = bool(categorical.any())
        if self._mixed:
            validate_data(self, X, reset=not warm, skip_check_array=True)
            valid = ~_isna(X).all(axis=0)
        else:
            X = validate_table(
                self, X, reset=not warm, dtype=[np.float64, np.float32],
                ensure_all_finite="allow-nan",
            )
            valid = ~np.isnan(X).all(axis=0)
        if not valid.any():
            raise ValueError(
                "VAEImputer needs at least one feature with an observed value; every column "
                "of X is entirely NaN."
            )
        if warm and not np.array_equal(valid, self._valid):
            changed = np.flatnonzero(valid != self._valid).tolist()[:10]
            raise ValueError(
                "warm_start continues the fitted VAE, whose inputs are the features with an "
                f"observed value at fit time, but column(s) {changed} are entirely missing "
                "in one of the two fits and not in the other. Set warm_start=False to fit "
                "a new one."
            )
        params = {name: getattr(self, name) for name in ("n_components", *VAE_PARAMS)}
        if self._mixed:  # the inner VAE sees the kept columns only
            params["categorical_features"] = categorical[valid]
        if warm:
            self.vae_.set_params(**params)  # continues from its weights, as warm_start says
        else:
            self.vae_ = VAETransformer(**params)
            self.vae_._reported_as = type(self).__name__  # its warnings name the imputer
        self._valid = valid
        self.vae_.fit(_columns(X, self._valid))
        self.n_iter_ = self.vae_.n_iter_
        self.indicator_ = None
        if self.add_indicator:
            self.indicator_ = MissingIndicator(error_on_new=False).fit(
                _holes(X) if self._mixed else X, None
            )
        return self

    def transform(self, X):
        """X with each missing value filled (observed values untouched).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        X_filled : ndarray or DataFrame of shape (n_samples, n_features_out)
            Features entirely missing at fit time are dropped unless
            ``keep_empty_features``; the indicator columns follow with ``add_indicator``.
            Fitted on a table with a categorical column: a DataFrame (when fitted on one)
            with its columns, dtypes and levels, each categorical hole filled with the most
            probable level given the row (a draw with ``sample_posterior``).
        """
        check_is_fitted(self)
        if getattr(self, "_mixed", False):
            return self._transform_table(X)
        X = validate_table(
            self, X, reset=False, dtype=[np.float64, np.float32],
            ensure_all_finite="allow-nan", copy=True,
        )
        filled = self.vae_._impute(
            X[:, self._valid], self.sample_posterior, self.random_state
        )
        indicator = None if self.indicator_ is None else self.indicator_.transform(X)
        if self.keep_empty_features:
            # As SimpleImputer: a feature empty at fit time has nothing to fill from, so its
            # missing cells get 0; its observed cells stay, as every observed cell does.
            out = X
            out[:, self._valid] = filled
            empty = out[:, ~self._valid]
            out[:, ~self._valid] = np.where(np.isnan(empty), 0, empty)
        else:
            out = filled
        if indicator is not None:
            out = np.hstack([out, indicator.astype(out.dtype)])
        return out

    def _transform_table(self, X):
        """``transform`` of a table with categorical columns: the kept columns come back
        with their dtypes and levels (a DataFrame when fitted on one), a categorical hole
        filled with its most probable level given the row (or a draw)."""
        validate_data(self, X, reset=False, skip_check_array=True)
        rows = self.vae_._check_input(_columns(X, self._valid))
        filled = self.vae_._to_table(
            self.vae_._impute(rows, self.sample_posterior, self.random_state)
        )
        frame = hasattr(filled, "iloc")
        if self.keep_empty_features:  # as the numeric path: empty features' holes get 0
            parts, kept = [], iter(range(filled.shape[1]))
            for j, valid in enumerate(self._valid):
                if valid:
                    k = next(kept)
                    parts.append(filled.iloc[:, k] if frame else filled[:, k])
                else:
                    empty = X.iloc[:, j] if frame else np.asarray(X)[:, j]
                    parts.append(empty.fillna(0) if frame else np.where(
                        _isna(empty[:, None])[:, 0], 0, empty))
            filled = (_concat_frames(parts, X.columns) if frame
                      else np.column_stack(parts))
        if self.indicator_ is not None:
            indicator = self.indicator_.transform(_holes(X))
            if frame:
                import pandas as pd

                names = self.indicator_.get_feature_names_out(np.asarray(X.columns, object))
                filled = pd.concat([filled.reset_index(drop=True), pd.DataFrame(
                    indicator, columns=names)], axis=1).set_axis(X.index)
            else:
                filled = np.hstack([filled, indicator.astype(filled.dtype)])
        elif frame:
            filled.index = X.index
        return filled

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns: the kept input features, then the indicators.

        Parameters
        ----------
        input_features : array-like of str or None, default=None

        Returns
        -------
        feature_names_out : ndarray of str
        """
        check_is_fitted(self)
        names = _check_feature_names_in(self, input_features)
        out = names if self.keep_empty_features else names[self._valid]
        if self.indicator_ is not None:
            out = np.concatenate([out, self.indicator_.get_feature_names_out(names)])
        return np.asarray(out, dtype=object)

    def __setstate__(self, state):
        # As _BaseVAE (which does the same for the inner VAETransformer).
        super().__setstate__({**PARAMS_ADDED_LATER, **state})

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
