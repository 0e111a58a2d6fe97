"""VAETransformer: the scikit-learn face of the variational autoencoder.

This module validates, converts and calls the core: Keras models and training live in
:mod:`skvae._model` / :mod:`skvae._training`, NumPy inference in :mod:`skvae._forward`.
Keras is imported on the first ``fit`` (or unpickling of a fitted estimator), so
``import skvae`` stays fast.
"""

import logging
import sys
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import (
    BaseEstimator,
    ClassNamePrefixFeaturesOutMixin,
    TransformerMixin,
    _fit_context,
)
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skvae import _forward

logger = logging.getLogger(__name__)

_ACTIVATIONS = ("relu", "selu", "elu", "tanh", "sigmoid", "softplus", "swish")
_OPTIMIZERS = ("adam", "nadam", "rmsprop", "sgd")
_MAX_ABS_INPUT = 1e15  # squares of larger values overflow float32 during training
_ARCH_PARAMS = ("n_components", "hidden_layer_sizes", "activation", "likelihood")


def _core():
    """The Keras side, imported on first use (TensorFlow takes seconds to import)."""
    from skvae import _model, _training

    return _model, _training


def _check_hidden_layer_sizes(sizes):
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be a tuple of positive ints, e.g. (256, 128), or () "
            f"for no hidden layer; got {sizes if sizes is not None else 'a non-sequence'}."
        )
    return tuple(int(s) for s in sizes)


class VAETransformer(ClassNamePrefixFeaturesOutMixin, TransformerMixin, BaseEstimator):
    """Variational autoencoder as a scikit-learn transformer: a non-linear, generative PCA.

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
    hidden_layer_sizes : tuple of int, default=(256, 128)
        Widths of the encoder's hidden Dense layers; the decoder mirrors them. Wide enough
        for Fashion-MNIST's 784 pixels and cheap on small data such as sklearn's digits.
    activation : {"relu", "selu", "elu", "tanh", "sigmoid", "softplus", "swish"}, \
            default="selu"
        Activation of the hidden layers. selu (self-normalising, the classic Keras VAE
        recipe's choice) gave the best digits pipeline accuracy with the Gaussian likelihood
        of those tried (relu 0.77, elu 0.86, selu 0.86, tanh 0.85).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Reconstruction likelihood ``p(x | z)``. "gaussian": real-valued data (ideally
        standardized), with a learned variance per feature (``noise_variance_``), so the score
        is a log-density comparable across models. "bernoulli": data in [0, 1] such as pixel
        intensities; the decoder outputs probabilities. The default works on any real data.
    beta : float, default=1.0
        Weight of the latent (KL) loss; 1 is the ELBO, below 1 favours reconstruction
        (β-VAE).
    kl_warmup : int, default=0
        Epochs over which β ramps linearly up to ``beta``; a known cure for posterior
        collapse (latent components that carry nothing). 0 disables it.
    optimizer : {"adam", "nadam", "rmsprop", "sgd"}, default="adam"
        Keras optimizer. With ``warm_start``, changing it or ``learning_rate`` starts a
        fresh optimizer on the kept weights.
    learning_rate : float, default=1e-3
        Learning rate of the optimizer.
    batch_size : int, default=128
        Rows per gradient step; capped at the number of training rows.
    max_iter : int, default=200
        Maximum number of epochs (passes over the training rows).
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when the held-out negative ELBO
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; the best epoch's weights
        are kept. On by default so that ``max_iter`` is a cap rather than a guess: digits
        stops after about a hundred epochs, Fashion-MNIST after a few dozen.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=10
        Epochs without improvement before stopping.
    tol : float, default=1e-4
        Minimum improvement of the held-out loss (nats per row) that counts.
    n_importance_samples : int, default=16
        Samples per row in ``score_samples`` (the IWAE bound; 1 gives the ELBO). More is
        tighter and slower (cost grows linearly).
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    verbose : int, default=0
        0: silent. 1: one line per epoch (losses, validation loss, time).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, sampling noise, shuffling, the validation split and
        the noise of ``score_samples``. An int gives bitwise-identical fits.

    Attributes
    ----------
    encoder_ : keras.Model
        x -> [mean, log_var].
    decoder_ : keras.Model
        z -> decoder mean (probabilities for the Bernoulli likelihood).
    noise_variance_ : ndarray of shape (n_features_in_,) or None
        Learned per-feature variance of the Gaussian likelihood (None for Bernoulli).
    kl_per_component_ : ndarray of shape (n_components,)
        KL divergence of each latent component, averaged over the training rows: components
        near 0 are unused (collapsed).
    loss_curve_ : list of float
        Training loss (reconstruction NLL + β·KL, nats per row) per epoch.
    validation_scores_ : list of float
        Held-out ELBO (with the target β; higher is better) per epoch, with early stopping.
    best_validation_score_ : float or None
        Best of ``validation_scores_``; its weights are the ones kept.
    history_ : dict of lists
        Per epoch: "loss", "reconstruction", "kl", "beta", "val_loss",
        "val_reconstruction", "val_kl" (NaN where not measured).
    n_iter_ : int
        Epochs run by the last ``fit`` (or the total of ``partial_fit`` calls).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings.

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

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(_ACTIVATIONS))],
        "likelihood": [StrOptions({"gaussian", "bernoulli"})],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [StrOptions(set(_OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components=2,
        *,
        hidden_layer_sizes=(256, 128),
        activation="selu",
        likelihood="gaussian",
        beta=1.0,
        kl_warmup=0,
        optimizer="adam",
        learning_rate=1e-3,
        batch_size=128,
        max_iter=200,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        n_importance_samples=16,
        warm_start=False,
        verbose=0,
        random_state=None,
    ):
        self.n_components = n_components
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.likelihood = likelihood
        self.beta = beta
        self.kl_warmup = kl_warmup
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.batch_size = batch_size
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.n_importance_samples = n_importance_samples
        self.warm_start = warm_start
        self.verbose = verbose
        self.random_state = random_state

    # ------------------------------------------------------------------ fitting

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y=None):
        """Fit the VAE to X (y is ignored).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : VAETransformer
        """
        reuse = self.warm_start and hasattr(self, "_vae")
        X = self._validate_training_data(X, reset=not reuse)
        rng = check_random_state(self.random_state)
        if not reuse:
            self._build(X, rng)
            self._epochs_seen = 0
        elif self._optimizer_settings != (self.optimizer, self.learning_rate):
            _model, _ = _core()
            self._optimizer = _model.make_optimizer(self.optimizer, self.learning_rate)
            self._optimizer_settings = (self.optimizer, self.learning_rate)
            self._runner = None
        train_rows, x_val = self._split(X, rng)
        result = self._train(X, train_rows, x_val, rng, max_epochs=self.max_iter)
        self.n_iter_ = result.n_epochs
        self._finish(result, X, history_reset=True)
        if result.still_improving:
            warnings.warn(
                f"VAETransformer stopped at max_iter={self.max_iter} epochs while the "
                f"{'validation' if x_val is not None else 'training'} loss was still "
                "improving; raise max_iter for a better fit.",
                ConvergenceWarning,
            )
        return self

    def partial_fit(self, X, y=None):
        """One epoch over X, keeping weights and optimizer state between calls.

        For data that arrives in chunks or does not fit in memory at once. No early
        stopping (there is no fixed validation set); ``kl_warmup`` counts calls.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : VAETransformer
        """
        first = not hasattr(self, "_vae")
        if first:
            self._validate_params()
        X = self._validate_training_data(X, reset=first)
        if first:
            self._partial_rng = check_random_state(self.random_state)
            self._build(X, self._partial_rng)
            self._epochs_seen = 0
            self.n_iter_ = 0
        elif not hasattr(self, "_partial_rng"):  # continuing after fit()
            self._partial_rng = check_random_state(self.random_state)
        result = self._train(X, None, None, self._partial_rng, max_epochs=1)
        self.n_iter_ += result.n_epochs
        self._finish(result, X, history_reset=first)
        self._keep_optimizer_state = True
        return self

    def _validate_training_data(self, X, reset):
        X = validate_data(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=1,
        )
        self._check_values(X, "X")
        if not reset and hasattr(self, "_arch") and any(
            self._arch[name] != getattr(self, name) for name in _ARCH_PARAMS
        ):
            changed = [n for n in _ARCH_PARAMS if self._arch[n] != getattr(self, n)]
            raise ValueError(
                f"warm_start / partial_fit continue the fitted network, but {changed} "
                "changed since it was built. Set warm_start=False (or use a fresh "
                "estimator) to fit a new one."
            )
        return X

    def _check_values(self, X, name, hint="MinMaxScaler", likelihood=None):
        if X.size and (likelihood or self.likelihood) == "bernoulli":
            low, high = X.min(), X.max()
            if low < 0 or high > 1:
                raise ValueError(
                    f"likelihood='bernoulli' needs {name} in [0, 1]; got min={low:.4g}, "
                    f"max={high:.4g}. Scale with {hint} or use likelihood='gaussian'."
                )
        elif X.size:
            biggest = np.abs(X).max()
            if biggest > _MAX_ABS_INPUT:
                raise ValueError(
                    f"{name} has values as large as {biggest:.3g} in magnitude; the network "
                    f"computes in float32, where squares above ~1e38 overflow. Scale {name} "
                    "first, e.g. with StandardScaler."
                )

    def _build(self, X, rng):
        _model, _ = _core()
        self._arch = {name: getattr(self, name) for name in _ARCH_PARAMS}
        self._arch["hidden_layer_sizes"] = _check_hidden_layer_sizes(self.hidden_layer_sizes)
        seeds = iter(rng.randint(0, 2**31 - 1, size=64).tolist())
        n_features = X.shape[1]
        hidden = self._arch["hidden_layer_sizes"]
        encoder = _model.build_encoder(
            n_features, hidden, self.n_components, self.activation, seeds
        )
        decoder = _model.build_decoder(
            self.n_components, hidden, n_features, self.activation, self.likelihood, seeds
        )
        self._vae = _model.VAE(
            encoder, decoder, self.likelihood, self.beta, seed=next(seeds)
        )
        self._score_seed = next(seeds)
        self._val_seed = next(seeds)
        self._optimizer = _model.make_optimizer(self.optimizer, self.learning_rate)
        self._optimizer_settings = (self.optimizer, self.learning_rate)
        self._runner = None
        self._keep_optimizer_state = self.warm_start

    def _split(self, X, rng):
        """(train row indices or None, validation rows or None) for early stopping."""
        if not self.early_stopping:
            return None, None
        n = X.shape[0]
        n_val = int(np.ceil(self.validation_fraction * n))
        if n < 2 or n_val >= n:
            raise ValueError(
                f"early_stopping=True holds out validation_fraction={self.validation_fraction}"
                f" of the rows, which leaves no training rows for n_samples = {n}. Pass "
                "more rows, a smaller validation_fraction, or early_stopping=False."
            )
        order = rng.permutation(n)
        return np.sort(order[n_val:]), np.asarray(X[np.sort(order[:n_val])], dtype=np.float32)

    def _train(self, X, train_rows, x_val, rng, max_epochs):
        import tensorflow as tf

        _model, _training = _core()
        # One float32 copy of X, resident for the whole fit; the split indexes into it.
        x = _model.resident_tensor(X)
        n_train = X.shape[0] if train_rows is None else len(train_rows)
        batch_size = min(self.batch_size, n_train)
        if self._runner is None or self._runner.batch_size != batch_size:
            jit = n_train * X.shape[1] >= _model.EpochRunner.JIT_MIN_VALUES
            self._runner = _model.EpochRunner(
                self._vae, self._optimizer, batch_size, jit_compile=jit
            )
        self._vae.beta = float(self.beta)
        val_eps = None
        if x_val is not None:
            val_eps = np.random.RandomState(self._val_seed).standard_normal(
                (len(x_val), self.n_components)
            ).astype(np.float32)
            x_val = tf.convert_to_tensor(x_val)
        result = _training.train(
            self._runner,
            x,
            rng,
            rows=train_rows,
            max_epochs=max_epochs,
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            first_epoch=self._epochs_seen,
            x_val=x_val,
            val_eps=val_eps,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol,
            report=self._report if self.verbose else None,
        )
        self._epochs_seen += result.n_epochs
        if result.diverged:
            warnings.warn(
                f"VAETransformer's loss became non-finite at epoch {self._epochs_seen + 1} "
                f"(learning_rate={self.learning_rate}); training stopped and the last finite "
                "weights were restored. Lower learning_rate or scale X.",
                ConvergenceWarning,
            )
        return result

    def _report(self, epoch, record, seconds):
        parts = [
            f"Epoch {epoch + 1}/{self._epochs_seen + self.max_iter}",
            f"{seconds:.2f}s",
            f"loss: {record['loss']:.4f}",
            f"reconstruction: {record['reconstruction']:.4f}",
            f"kl: {record['kl']:.4f}",
        ]
        if "val_loss" in record:
            parts.append(f"val_loss: {record['val_loss']:.4f}")
        _progress(" - ".join(parts))

    def _finish(self, result, X, history_reset):
        """Fitted attributes from the trained Keras models."""
        self.encoder_ = self._vae.encoder
        self.decoder_ = self._vae.decoder
        self._sync_inference()
        if history_reset or not hasattr(self, "history_"):
            self.history_ = {key: [] for key in result.history}
        for key, values in result.history.items():
            self.history_[key].extend(float(v) for v in values)
        self.loss_curve_ = list(self.history_["loss"])
        val = [-v for v in self.history_["val_loss"] if np.isfinite(v)]
        self.validation_scores_ = val if val else None
        self.best_validation_score_ = max(val) if val else None
        self.kl_per_component_ = _forward.kl_per_component(*self._encode(X)).astype(np.float64)
        self._dtype = X.dtype

    def _sync_inference(self):
        self._encoder_stack = _forward.DenseStack.from_keras(self._vae.encoder)
        self._decoder_stack = _forward.DenseStack.from_keras(self._vae.decoder)
        self._decoder_logits = self._decoder_stack.logits()
        if self._arch["likelihood"] == "gaussian":
            x_log_var = np.asarray(self._vae.x_log_var.numpy(), dtype=np.float64)
            self._x_log_var = x_log_var
            self.noise_variance_ = np.exp(np.clip(x_log_var, *_forward.LOG_VAR_RANGE))
        else:
            self._x_log_var = None
            self.noise_variance_ = None

    # ---------------------------------------------------------------- inference

    def _encode(self, X):
        return self._encoder_stack(X)

    def _check_input(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=[np.float64, np.float32])
        return X

    def transform(self, X):
        """Latent means μ of X: the deterministic reduced representation.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        Z : ndarray of shape (n_samples, n_components), X's float dtype
        """
        X = self._check_input(X)
        mean, _ = self._encode(X)
        return mean

    def encode(self, X):
        """Mean and log-variance of q(z | x) for each row.

        Returns
        -------
        mean, log_var : ndarrays of shape (n_samples, n_components)
        """
        X = self._check_input(X)
        return tuple(self._encode(X))

    def inverse_transform(self, X):
        """Decode latent codes: the decoder mean (probabilities for Bernoulli).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_components)
            Latent codes, e.g. from ``transform``.

        Returns
        -------
        X_original : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        Z = self._check_latent(X)
        (out,) = self._decoder_stack(Z)
        return out

    def _check_latent(self, Z):
        from sklearn.utils import check_array

        Z = check_array(Z, dtype=[np.float64, np.float32], input_name="X")
        if Z.shape[1] != self.n_components_:
            raise ValueError(
                f"inverse_transform takes latent codes with n_components={self.n_components_}"
                f" columns (the output of transform); got an array of shape {Z.shape}."
            )
        return Z

    @property
    def n_components_(self):
        return self._arch["n_components"]

    @property
    def _n_features_out(self):
        return self._arch["n_components"]

    def sample(self, n_samples=1, random_state=None):
        """Generate rows: draw z ~ N(0, I) and decode it (the decoder mean).

        Parameters
        ----------
        n_samples : int, default=1
        random_state : int, RandomState instance or None, default=None
            None uses NumPy's global random state, as ``KernelDensity.sample`` does.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features_in_)
        """
        check_is_fitted(self)
        if isinstance(n_samples, bool) or not isinstance(n_samples, Integral) or n_samples < 1:
            raise ValueError(f"n_samples must be a positive int; got {n_samples!r}.")
        rng = check_random_state(random_state)
        z = rng.standard_normal((int(n_samples), self.n_components_)).astype(self._dtype)
        (out,) = self._decoder_stack(z)
        return out

    def score_samples(self, X):
        """Importance-weighted estimate of log p(x) per row (higher is more typical).

        Uses ``n_importance_samples`` draws from q(z | x) (the IWAE bound, a lower bound of
        log p(x) that tightens as the count grows). The noise is fixed at fit time and shared
        by every row, so a row's score does not depend on the batch or order it comes in (up
        to float rounding: bitwise for the same batch, see :mod:`skvae._forward`).
        For the Gaussian likelihood it is a log-density (nats); for Bernoulli a
        log-probability of the [0, 1] values read as Bernoulli means.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)

        Returns
        -------
        log_likelihood : ndarray of shape (n_samples,)
        """
        X = self._check_input(X)
        if self._arch["likelihood"] == "bernoulli":
            # log-probabilities are undefined outside [0, 1]; transform needs no such check.
            self._check_values(X, "X", "MinMaxScaler(clip=True)", likelihood="bernoulli")
        else:
            self._check_values(X, "X", likelihood="gaussian")
        eps = np.random.RandomState(self._score_seed).standard_normal(
            (self.n_importance_samples, self.n_components_)
        )
        return _forward.importance_log_likelihood(
            X,
            self._encoder_stack,
            self._decoder_logits,
            self._arch["likelihood"],
            eps,
            self._x_log_var,
        )

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

    # ------------------------------------------------------------- sklearn glue

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_vae")

    # -------------------------------------------------------------- persistence

    def __getstate__(self):
        state = super().__getstate__()
        keras_objects = ("_vae", "_optimizer", "_runner", "encoder_", "decoder_")
        state = {k: v for k, v in state.items() if k not in keras_objects}
        for derived in ("_encoder_stack", "_decoder_stack", "_decoder_logits"):
            state.pop(derived, None)
        if hasattr(self, "_vae"):
            saved = {
                "weights": self._vae.get_weights(),
                "sampling_state": self._vae.sampling.seed_generator.state.numpy(),
            }
            if self._keep_optimizer_state and self._optimizer.built:
                saved["optimizer"] = [v.numpy() for v in self._optimizer.variables]
            state["_keras_state"] = saved
        return state

    def __setstate__(self, state):
        saved = state.pop("_keras_state", None)
        super().__setstate__(state)
        if saved is None:
            return
        _model, _ = _core()
        arch = self._arch
        seeds = iter(range(64))  # initial values are overwritten by the saved weights
        n_features = self.n_features_in_
        encoder = _model.build_encoder(
            n_features, arch["hidden_layer_sizes"], arch["n_components"], arch["activation"],
            seeds,
        )
        decoder = _model.build_decoder(
            arch["n_components"], arch["hidden_layer_sizes"], n_features,
            arch["activation"], arch["likelihood"], seeds,
        )
        self._vae = _model.VAE(encoder, decoder, arch["likelihood"], self.beta, seed=0)
        self._vae.set_weights(saved["weights"])
        self._vae.sampling.seed_generator.state.assign(saved["sampling_state"])
        self._optimizer = _model.make_optimizer(self.optimizer, self.learning_rate)
        self._runner = None
        if "optimizer" in saved:
            self._optimizer.build(self._vae.trainable_variables)
            for variable, value in zip(self._optimizer.variables, saved["optimizer"]):
                variable.assign(value)
        self.encoder_ = encoder
        self.decoder_ = decoder
        self._sync_inference()


def _progress(line):
    """The one place the library writes progress (verbose >= 1): a line on stdout."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
