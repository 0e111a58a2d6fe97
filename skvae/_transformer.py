"""VAETransformer: the variational autoencoder as a scikit-learn transformer."""

from numbers import Integral

import numpy as np
from sklearn.base import ClassNamePrefixFeaturesOutMixin, TransformerMixin
from sklearn.utils import check_array, check_random_state
from sklearn.utils.validation import check_is_fitted

from skvae._base import _BaseVAE
from skvae._params import VAE_ATTRIBUTES_DOC, VAE_PARAMS_DOC, vae_init


class VAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, _BaseVAE):
    __doc__ = f"""Variational autoencoder as a scikit-learn transformer: a non-linear,
    generative PCA.

    An encoder (Dense layers) maps each row ``x`` to the mean ``μ`` and the log-variance
    ``γ = log σ²`` of a Gaussian over a latent code ``z``; a decoder maps ``z`` back. Training
    maximises the evidence lower bound (ELBO): it minimises, averaged over rows,
    ``-log p(x | z) + beta * KL(N(μ, σ²) || N(0, I))`` with ``z = μ + σ·ε`` drawn by the
    reparameterisation trick and the latent loss ``-½ Σ (1 + γ - exp γ - μ²)``.

    ``transform`` returns ``μ`` (deterministic), ``inverse_transform`` the decoder mean,
    ``sample`` new rows decoded from ``z ~ N(0, I)``, and ``score_samples`` an importance-
    weighted estimate of ``log p(x)`` (so ``GridSearchCV`` can choose ``n_components``
    without a scorer, as with ``PCA``).

    Parameters
    ----------
    n_components : int, default=2
        Size of the latent space.
{VAE_PARAMS_DOC}

    Attributes
    ----------
{VAE_ATTRIBUTES_DOC}

    See Also
    --------
    sklearn.decomposition.PCA : Linear, exact, much faster; the baseline to beat.
    sklearn.decomposition.FactorAnalysis : Linear Gaussian latent model with per-feature
        noise, the linear special case of the Gaussian VAE.
    sklearn.neural_network.BernoulliRBM : Another neural generative model of [0, 1] data.

    References
    ----------
    Kingma, D. P. & Welling, M. (2014). Auto-Encoding Variational Bayes. ICLR.

    Burda, Y., Grosse, R. & Salakhutdinov, R. (2016). Importance Weighted Autoencoders. ICLR.

    Lucas, J., Tucker, G., Grosse, R. & Norouzi, M. (2019). Don't Blame the ELBO! A Linear VAE
    Perspective on Posterior Collapse. NeurIPS.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> from skvae import VAETransformer
    >>> X = MinMaxScaler().fit_transform(load_digits().data)
    >>> vae = VAETransformer(n_components=2, likelihood="bernoulli", max_iter=5,
    ...                      random_state=0).fit(X)
    >>> vae.transform(X).shape
    (1797, 2)
    >>> vae.sample(3, random_state=0).shape
    (3, 64)
    """

    __init__ = vae_init()

    def transform(self, X):
        """Latent means μ of X: the deterministic reduced representation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), X's float dtype
        """
        mean, _ = self._encode(self._check_input(X))
        return mean

    def encode(self, X):
        """Mean and log-variance of q(z | x) for each row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        mean, log_var : ndarrays of shape (n_samples, n_components)
        """
        return tuple(self._encode(self._check_input(X)))

    def inverse_transform(self, X):
        """Decode latent codes: the decoder mean (probabilities for Bernoulli).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from ``transform``.

        Returns
        -------
        X_original : ndarray or DataFrame of shape (n_samples, n_features)
            A DataFrame with the fitted table's columns, dtypes and levels when fitted on
            one with a categorical column (each categorical cell its most probable level).
        """
        check_is_fitted(self)
        Z = check_array(X, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform takes latent codes with n_components={self.n_components_}"
                f" columns (the output of transform); got an array of shape {Z.shape}."
            )
        return self._to_table(self._decode(Z))

    @property
    def n_components_(self):
        """The latent size of the fitted network."""
        return self._arch["n_components"]

    @property
    def _n_features_out(self):
        return self._arch["n_components"]

    def sample(self, n_samples=1, random_state=None, *, draw="auto"):
        """Generate rows: draw z ~ N(0, I), then x from p(x | z).

        With ``draw=True`` each row is a draw from the likelihood at its z (Gaussian noise
        with the learned per-feature variances; 0 or 1 per pixel for Bernoulli), so the rows
        spread like the data. With ``draw=False`` they are the decoder's means at z (pixel
        probabilities for Bernoulli: smooth images; ``inverse_transform`` of the same z).
        ``"auto"`` (default) draws for the Gaussian likelihood and returns the means for
        Bernoulli, whose draws are speckled black-and-white images.

        The rows come from the VAE alone, not from ``linear_mixture``'s linear part: that
        small share bounds how unlikely ``score_samples`` may find a row unlike the training
        data, it is not a generator of its own.

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            None uses NumPy's global random state, as ``KernelDensity.sample`` does. The
            codes z are drawn first, so ``draw=False`` decodes the same z as ``draw=True``.
        draw : "auto" or bool, default="auto"
            Whether to draw x from p(x | z) or return the decoder's means.

        Returns
        -------
        X : ndarray or DataFrame of shape (n_samples, n_features)
            A DataFrame with the fitted table's columns, dtypes and levels when fitted on
            one with a categorical column (categorical cells drawn from their softmax, or
            the most probable level with ``draw=False``).
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        if not (draw == "auto" or isinstance(draw, (bool, np.bool_))):
            raise ValueError(f"draw must be 'auto', True or False; got {draw!r}.")
        if draw == "auto":
            draw = self._arch["likelihood"] != "bernoulli"
        rng = check_random_state(random_state)
        z = rng.standard_normal((int(n_samples), self.n_components_)).astype(self._dtype)
        return self._to_table(self._draw(z, rng) if draw else self._decode(z))

    def score_samples(self, X):
        """Importance-weighted estimate of log p(x) per row (higher is more typical).

        Uses ``n_importance_samples`` draws from q(z | x) (the IWAE bound, a lower bound of
        log p(x) that tightens as the count grows). The noise is fixed at fit time and shared
        by every row, so a row's score does not depend on the batch or order it comes in (up
        to float rounding: bitwise for the same batch, within BLAS rounding across batchings).
        For the Gaussian likelihood it is a log-density of the original rows (nats), to
        compare with ``PCA.score_samples``; for Bernoulli a log-probability of the [0, 1]
        values read as Bernoulli means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        return self._score_samples(*self._check_input(X, unseen=True))

    def score(self, X, y=None):
        """Mean of ``score_samples(X)``: the held-out log-likelihood per row.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        score : float
        """
        return float(np.mean(self.score_samples(X)))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        return tags
