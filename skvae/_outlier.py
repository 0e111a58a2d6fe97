"""VAEOutlierDetector: anomaly detection with scikit-learn's outlier API."""

from numbers import Real

import numpy as np
from sklearn.base import OutlierMixin
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from skvae import _config
from skvae._base import _BaseVAE
from skvae._params import VAE_ATTRIBUTES_DOC, VAE_PARAMS_DOC, vae_init

class VAEOutlierDetector(OutlierMixin, _BaseVAE):
    __doc__ = f"""Outlier detection with a variational autoencoder's log-likelihood.

    Fits a VAE to the (mostly normal) training rows; a row's ``score_samples`` is its
    importance-weighted log-likelihood ``log p(x)`` (higher is more normal), and rows that
    the model finds unlikely are outliers. The API is that of ``IsolationForest``:
    ``decision_function(X) = score_samples(X) - offset_`` (negative for outliers),
    ``predict`` in {{+1, -1}}, ``fit_predict``. Missing values (NaN) are allowed: a row's
    likelihood is that of its observed cells.

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent space.
    contamination : "auto" or float in (0, 0.5], default="auto"
        Expected share of outliers in the training rows. A float sets ``offset_`` to that
        quantile of the training scores, as ``IsolationForest`` does. "auto":
        ``offset_ = median - 3 * 1.4826 * MAD`` of the training scores, i.e. a row is an
        outlier when its log-likelihood lies more than three robust standard deviations
        below the typical training row's (log-likelihoods have no fixed scale across data
        sets). Even on clean data it flags some rows, most when there are few features; pass
        a float where the share is known. See :ref:`default-contamination`.
{VAE_PARAMS_DOC}

    Attributes
    ----------
    offset_ : float
        Subtracted from ``score_samples`` to give ``decision_function``.
{VAE_ATTRIBUTES_DOC}

    See Also
    --------
    sklearn.ensemble.IsolationForest : Isolation by random splits.
    sklearn.neighbors.LocalOutlierFactor : Local density against the neighbours'.
    sklearn.covariance.EllipticEnvelope : A robust Gaussian fit.
    sklearn.decomposition.PCA : ``score_samples`` of probabilistic PCA, the linear analogue.

    References
    ----------
    An, J. & Cho, S. (2015). Variational Autoencoder based Anomaly Detection using
    Reconstruction Probability. SNU Data Mining Center.

    Examples
    --------
    >>> import numpy as np
    >>> from skvae import VAEOutlierDetector
    >>> X = np.random.RandomState(0).normal(size=(300, 5))
    >>> X[:5] += 8
    >>> det = VAEOutlierDetector(max_iter=5, random_state=0).fit(X)
    >>> det.predict(X[:5])
    array([-1, -1, -1, -1, -1])
    """

    __init__ = vae_init(contamination="auto")

    _parameter_constraints = {
        **_BaseVAE._parameter_constraints,
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
    }

    def _after_fit(self, X):
        scores = self._score_samples(X).astype(np.float64)
        if self.contamination == "auto":
            median = np.median(scores)
            spread = 1.4826 * np.median(np.abs(scores - median))
            self.offset_ = float(median - _config.AUTO_DEVIATIONS * spread)
        else:
            self.offset_ = float(np.percentile(scores, 100.0 * self.contamination))

    def score_samples(self, X):
        """Log-likelihood of each row (importance-weighted estimate); lower is more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        scores : ndarray of shape (n_samples,)
        """
        return self._score_samples(*self._check_input(X, unseen=True))

    def decision_function(self, X):
        """``score_samples(X) - offset_``: negative for outliers, positive for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        decision : ndarray of shape (n_samples,)
        """
        check_is_fitted(self)
        return self.score_samples(X) - self.offset_

    def predict(self, X):
        """+1 for inliers, -1 for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        is_inlier : ndarray of shape (n_samples,)
        """
        return np.where(self.decision_function(X) >= 0, 1, -1)

    def feature_log_likelihood(self, X):
        """Each feature's share of a row's log-likelihood: ``log p(x_j | z = μ)``.

        Answers "why is this row flagged?": the features with the lowest values are the
        ones the model reconstructs worst from the row's code. Computed at the posterior
        mean (one decoder pass), in the data's units; missing cells get 0.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples, n_features)
        """
        X = self._check_input(X)
        return self._feature_log_likelihood(X)
