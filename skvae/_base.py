"""The shared core of skvae's estimators: parameters, validation, fitting and persistence.

:class:`_BaseVAE` holds everything the three estimators have in common (as sklearn's
``_BasePCA`` or ``BaseBagging`` do): the parameter table and its constraints, ``fit`` /
``partial_fit``, the one Keras builder (used by ``fit`` and by unpickling), the encoder /
decoder / score in NumPy, tags and pickling. Each public estimator adds only its own verbs.
Keras maths lives in :mod:`skvae._model` / :mod:`skvae._training`, NumPy inference in
:mod:`skvae._runtime`, :mod:`skvae._scoring`; Keras is imported on the first ``fit`` (or unpickling of a fitted
estimator), so ``import skvae`` stays fast.
"""

import copy
import inspect
import logging
import sys
import warnings
from numbers import Integral, Real

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from skvae import _config, _likelihoods, _runtime, _scoring
from skvae._standardize import Standardizer

logger = logging.getLogger(__name__)

_ARCH_PARAMS = ("n_components", "hidden_layer_sizes", "activation", "likelihood")

#: The keyword-only parameters every skvae estimator takes, in signature order, with their
#: defaults (the docstrings say why each is what it is). One table: each estimator's
#: ``__init__`` is made from it by :func:`vae_init`.
VAE_PARAMS = {
    "hidden_layer_sizes": "auto",
    "activation": "selu",
    "likelihood": "gaussian",
    "init": "auto",
    "beta": 1.0,
    "kl_warmup": 30,
    "optimizer": "adam",
    "learning_rate": 1e-3,
    "batch_size": "auto",
    "max_iter": 1000,
    "early_stopping": True,
    "validation_fraction": 0.1,
    "n_iter_no_change": 20,
    "tol": 1e-6,
    "n_importance_samples": 16,
    "linear_mixture": 0.01,
    "warm_start": False,
    "verbose": 0,
    "random_state": None,
}

#: Parameters added after the first release, with the value an older pickle was fitted under
#: (unpickling fills them in): before linear_mixture there was no linear start to mix in,
#: and before init the start was init="auto"'s.
PARAMS_ADDED_LATER = {"linear_mixture": 0.0, "init": "auto"}

#: numpydoc text of the shared parameters, for the estimators' docstrings.
VAE_PARAMS_DOC = """\
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Widths of the encoder's hidden Dense layers; the decoder mirrors them. The heads of
        both also read their input directly (a linear path), so a Gaussian VAE contains
        probabilistic PCA and factor analysis. "auto" sizes two layers to the data: the
        first about twice the feature count (a power of two in [32, 256], at most a quarter
        of the rows; up to 512 from 32,768 rows), the second half as wide: (32, 16) for a
        9-feature table, (128, 64) for digits, (256, 128) for 10,000 Fashion-MNIST images
        and (512, 256) for all 60,000 (test MSE 0.0117 against 0.0121 with (256, 128) at
        n_components=10, twice the time per epoch). ``()`` gives a linear VAE.
    activation : {"relu", "selu", "elu", "tanh", "sigmoid", "softplus", "swish"}, \
            default="selu"
        Activation of the hidden layers. selu (self-normalising, the classic Keras VAE
        recipe's choice) gave the best digits pipeline accuracy with the Gaussian likelihood
        of those tried (relu 0.77, elu 0.86, selu 0.86, tanh 0.85).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Reconstruction likelihood ``p(x | z)``. "gaussian": real-valued data; features are
        standardized inside (``mean_``, ``scale_``) and each gets a learned variance with a
        floor (``noise_variance_``), so the score is a log-density of the original rows,
        comparable with ``PCA.score`` and ``FactorAnalysis.score``; training starts from the
        better of probabilistic PCA and factor analysis on the validation rows
        (``linear_start_``; see ``init``). "bernoulli": data in [0, 1] such as pixel
        intensities; the decoder outputs probabilities.
    init : {"auto", "best", "ppca", "fa", "random"}, default="auto"
        Where a Gaussian VAE's training starts (``linear_start_`` says which linear model).
        "auto": the better of probabilistic PCA and factor analysis on the validation rows
        (10-fold cross-validated below 100 of them; without early stopping, on the training
        rows), so that training starts at the better linear model's likelihood. On the 35
        table cases of ``benchmarks/bench_tables.py`` (3-fold, SkylakeX CPU) the VAE's
        held-out log-likelihood is then >= max(PPCA, FA) in 30 (the rest ties within 0.25
        nats), and its codes are >= PCA's as a reducer in 16. "ppca" / "fa": that model,
        whatever the validation rows say (but from fewer than 10 x (n_components + 1) rows
        with none held out, as a first ``partial_fit`` chunk, every linear start is PPCA at
        a reduced rank: FA fitted to so few rows puts noise variances at the floor, see
        ``partial_fit``). FA's sharp per-feature noise can hold the VAE near its start where
        PPCA's single noise variance lets it move: from PPCA the VAE scored higher in 14 of
        the 35 (tissue gene expression k = 2 -544 against -596 nats per row, pipeline
        accuracy 0.815 against 0.646; olive k = 2 0.984 against 0.888; credit k = 8 +20.9
        nats; cells k = 8 +7.3) and lower where FA's precision is the model (Tecator spectra
        k = 8 -39.8; one-hot columns: penguins k = 8 -19.1, attrition -16.3): >= max(PPCA,
        FA) in 24, >= PCA as a reducer in 21. "best": as "auto", and where that start is FA,
        a second fit from PPCA; the fit with the better validation score is kept (each is
        bitwise the fit "auto" or "ppca" gives; without validation rows, "best" is "auto").
        On the 35 cases: held-out log-likelihood >= the default's in 33 (the other two
        within 0.03 nats), mean +2.9 nats per row (tissue k = 2 +49, credit k = 8 +21, cells
        k = 8 +7.3, penguins k = 2 +6.3), >= max(PPCA, FA) in 30, >= PCA as a reducer in 19;
        for 1.9 times the fit time (FA was the start in 89 of 105 folds). It is not the
        default for that cost, which every Gaussian fit would pay for gains on 8 of the 35.
        For codes that feed a model the pipeline's own score can choose:
        ``{"vaetransformer__init": ["auto", "ppca"]}`` in a grid search. "random": Keras'
        initialisation and no linear start (so ``linear_mixture`` has no linear model to mix
        in), the VAE of the literature: >= max(PPCA, FA) in 18 of the 35, with failures such
        as pd_speech k = 8 (-15,211 against PPCA's -1,250). With the Bernoulli likelihood,
        "auto" and "random" are Keras' initialisation and the others raise a ValueError.
    beta : float, default=1.0
        Weight of the latent (KL) loss; 1 is the ELBO, below 1 favours reconstruction
        (β-VAE).
    kl_warmup : int, default=30
        Epochs over which β ramps linearly up to ``beta``; a known cure for posterior
        collapse (latent components that carry nothing). 0 disables it. With the default,
        the VAE leaves its linear start: on ``make_s_curve`` a 2-D code predicts the curve's
        coordinate with R² 0.85 (0 warm-up: 0.54; PCA: 0.33), and digits' pipeline accuracy
        rose from 0.855 to 0.895 at k = 8 (``benchmarks/bench_tables.py``).
    optimizer : {"adam", "nadam", "rmsprop", "sgd"}, default="adam"
        Keras optimizer. With ``warm_start``, changing it or ``learning_rate`` starts a
        fresh optimizer on the kept weights.
    learning_rate : float, default=1e-3
        Learning rate of the optimizer. An epoch that diverges (its loss turns non-finite
        or grows by orders of magnitude) sends training back to the best weights so far,
        with a fresh optimizer at a tenth of the rate, up to 3 times per fit; the rate
        used is ``learning_rate_``. A Gaussian VAE whose
        linear start is very sharp (near-collinear features, one-hot columns) needs this.
    batch_size : "auto" or int, default="auto"
        Rows per gradient step; capped at the number of training rows. "auto": a sixteenth
        of the training rows, between 16 and 128, so that small tables get enough steps per
        epoch for early stopping to judge.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training rows): a cap, not a budget
        (early stopping ends default fits on sklearn's tables after 50 to 570 epochs; a fit
        that stops earlier is the same whatever the cap). With 500, fits still improving
        were cut and warned: standardized digits with random_state=2 (k = 8; validation
        score -43.8 at epoch 500, -41.5 when it stopped by itself at 569), one fold of
        make_s_curve and one of the attrition table.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when the held-out negative ELBO
        has not improved by ``tol`` (per feature) for ``n_iter_no_change`` epochs; the best
        epoch's weights (or the starting weights, if no epoch beat them) are kept. On by
        default so that ``max_iter`` is a cap rather than a guess.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=20
        Epochs without improvement before stopping (not counted during ``kl_warmup``). 20
        rather than 10: with 10, fits on small tables stopped on validation noise before the
        non-linear paths had learned anything. With at least 256 validation rows, half that
        many epochs without improvement send training back to the best weights at a tenth
        of the learning rate (at most twice; Fashion-MNIST k = 2: test MSE 0.0255 -> 0.0249
        in as many epochs; spam k = 2: held-out log-likelihood +5.6 nats per row). On fewer
        validation rows it fitted their noise (breast_cancer, diabetes: -0.1 to -0.4 nats).
    tol : float, default=1e-6
        Minimum improvement of the held-out loss, in nats per row **and feature**: the loss
        is a sum over the features, so this means the same at any width (and, since the
        Gaussian VAE works on standardized features, whatever the data's units). Measured
        on Fashion-MNIST (60,000 images, 784 pixels, k = 10; AMD EPYC): 1e-6 per feature
        (7.8e-4 nats per row) stopped after 250 epochs at test MSE 0.0121 (k = 2: 349
        epochs, 0.0256); 1e-5 per feature after 86 epochs at 0.0125 (k = 2: 94, 0.0259).
        The earlier 1e-4 nats per row ran 624 epochs to 0.0122 (another CPU). On the 35
        table cases of ``benchmarks/bench_tables.py`` (4 to 751 features) 1e-6 per feature
        and 1e-4 per row stop every fit at the same epoch.
    n_importance_samples : int, default=16
        Samples per row in ``score_samples`` and in imputation (the IWAE bound; 1 gives the
        ELBO). More is tighter and slower (cost grows linearly). 16 came within 0.2 nats per
        row of a 1,000-sample estimate on sklearn's tables (wine: 0; breast_cancer k = 2:
        0.18, k = 8: 0.06) at 1/60 of its cost.
    linear_mixture : float in [0, 1), default=0.01
        Gaussian likelihood: the density that ``score_samples`` and ``score`` report is
        ``(1 - w) p_VAE(x) + w p_linear(x)``, with ``p_linear`` the linear model the VAE
        started from (``linear_start_``: PPCA or FA, fitted to the training rows), so that no
        row scores more than ``log(1 / w)`` (4.6 nats) below what that model gives it, while
        a row the VAE explains loses at most ``log(1 / (1 - w))`` (0.01 nats). The VAE is
        sharper than the linear model, and pays for it on a row unlike its training data:
        a 12-feature table with 2 % of its rows scaled 50 times (one 70/30 split): median
        held-out row -12.8 nats against PPCA's -22.4, worst -9,296 against -1,181; over 3
        folds the mean was -68.4 against PPCA's -34.3, and -36.9 with the mixture. On the
        tables of ``benchmarks/bench_tables.py`` (3 folds): spam k = 8 -62.9 -> -41.6
        (FA -78.8), digits k = 8 -59.6 -> -55.9, musk k = 2 -171.3 -> -167.8, and no case
        lost more than 0.01. 0.001 and 0.05 gave means within 0.2 nats of 0.01's. 0 gives
        the VAE's own density. Imputation fills from the same mixture: a row's fill is
        ``(1 - P)`` the VAE's plus ``P`` the linear model's conditional mean, with P the
        linear part's posterior weight given the observed cells (~0 unless the VAE finds
        the row far less likely than the linear model does). Bernoulli VAEs (no linear
        start) and ``transform``, ``inverse_transform`` and ``sample`` use the VAE alone.
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    verbose : int, default=0
        0: silent. 1: one line per epoch (losses, validation loss, time).
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, sampling noise, shuffling, the validation split and
        the noise of ``score_samples``. An int gives bitwise-identical fits."""

#: numpydoc text of the shared fitted attributes.
VAE_ATTRIBUTES_DOC = """\
    encoder_ : keras.Model
        x -> [mean, log_var]; for the Gaussian likelihood it reads standardized rows,
        ``(x - mean_) / scale_``.
    decoder_ : keras.Model
        z -> decoder mean (probabilities for Bernoulli; standardized values for Gaussian).
    mean_, scale_ : ndarray of shape (n_features,) or None
        Per-feature standardization of the Gaussian likelihood (a constant feature gets
        scale 1, as in StandardScaler); None for Bernoulli.
    noise_variance_ : ndarray of shape (n_features,) or None
        Learned per-feature variance of the Gaussian likelihood, in the data's units (None
        for Bernoulli).
    linear_start_ : {"ppca", "fa"} or None
        The linear model the Gaussian VAE started from: the one ``init`` names, or with
        ``init="auto"`` the one with the higher log-likelihood on the validation rows, or in
        10-fold cross-validation when there are fewer than 100 of them (see
        ``skvae._init``). None for Bernoulli, for ``init="random"``, or when the data has a
        single feature or row.
    hidden_layer_sizes_ : tuple of int
        The hidden layer widths used ("auto" resolved).
    batch_size_ : int
        The batch size used ("auto" resolved, capped at the training rows).
    learning_rate_ : float
        The learning rate at the end of the last ``fit`` / ``partial_fit``:
        ``learning_rate``, or a tenth of it per diverged epoch that was run again and per
        plateau of the validation loss (see ``n_iter_no_change``). A
        ``warm_start`` fit or a further ``partial_fit`` continues at this rate until
        ``learning_rate`` is changed.
    kl_per_component_ : ndarray of shape (n_components,)
        KL divergence of each latent component, averaged over the training rows: components
        near 0 are unused (collapsed).
    loss_curve_ : list of float
        Training loss (reconstruction NLL + β·KL, nats per row) per epoch.
    validation_scores_ : list of float
        Held-out ELBO (with the target β; higher is better) per epoch, with early stopping.
    best_validation_score_ : float or None
        Best of ``validation_scores_`` and of the starting weights' held-out ELBO; its
        weights are the ones kept.
    history_ : dict of lists
        Per epoch: "loss", "reconstruction", "kl", "beta", "val_loss",
        "val_reconstruction", "val_kl" (NaN where not measured).
    n_iter_ : int
        Epochs run by the last ``fit`` (or the total of ``partial_fit`` calls).
    n_features_in_ : int
    feature_names_in_ : ndarray of str
        Only when X has feature names that are all strings."""


def vae_init(n_components=2, **own):
    """An ``__init__`` that only stores its arguments: ``n_components`` (positional), then
    the shared :data:`VAE_PARAMS` and the estimator's ``own`` keyword-only parameters.

    Its ``__signature__`` lists every parameter, which is what ``get_params``, ``clone``
    and ``GridSearchCV`` read.
    """
    kinds = inspect.Parameter
    signature = inspect.Signature(
        [
            kinds("self", kinds.POSITIONAL_OR_KEYWORD),
            kinds("n_components", kinds.POSITIONAL_OR_KEYWORD, default=n_components),
            *(kinds(n, kinds.KEYWORD_ONLY, default=d) for n, d in {**VAE_PARAMS, **own}.items()),
        ]
    )

    def __init__(self, *args, **kwargs):
        bound = signature.bind(self, *args, **kwargs)
        bound.apply_defaults()
        for name, value in list(bound.arguments.items())[1:]:
            setattr(self, name, value)

    __init__.__signature__ = signature
    return __init__


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


def _non_numeric_error(estimator, columns):
    named = ", ".join(f"{c!r} ({t})" for c, t in columns[:10])
    dates = any(t.startswith(("datetime", "timedelta")) for _, t in columns)
    return ValueError(
        f"{type(estimator).__name__} needs numeric features, but X has "
        f"{len(columns)} non-numeric column(s): {named}. Encode them first, e.g. "
        "OneHotEncoder in a ColumnTransformer before it in a Pipeline"
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


def _check_hidden_layer_sizes(sizes):
    try:
        sizes = tuple(sizes)
    except TypeError:
        sizes = None
    if sizes is None or not all(
        isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
    ):
        raise ValueError(
            "hidden_layer_sizes must be 'auto' or a tuple of positive ints, e.g. (256, 128), "
            f"or () for no hidden layer; got {sizes if sizes is not None else 'a non-sequence'}."
        )
    return tuple(int(s) for s in sizes)


def build_vae(n_features, arch, beta, seeds, noise_floor):
    """The one builder of the Keras VAE (:func:`skvae._model.build_vae`), imported on first
    use: TensorFlow takes seconds to import, and ``import skvae`` stays fast."""
    from skvae import _model

    return _model.build_vae(n_features, arch, beta, seeds, noise_floor)


def _build_seeds(rng):
    """The seeds of a new network's layers and of its fixed noise streams, drawn from rng."""
    return iter(rng.randint(0, 2**31 - 1, size=64).tolist())


class _BaseVAE(BaseEstimator):
    """Fitting, validation, inference and persistence shared by skvae's estimators."""

    _parameter_constraints = {
        "n_components": [Interval(Integral, 1, None, closed="left")],
        "hidden_layer_sizes": [StrOptions({"auto"}), "array-like"],
        "activation": [StrOptions(set(_config.ACTIVATIONS))],
        "likelihood": [StrOptions(set(_config.LIKELIHOODS))],
        "init": [StrOptions(set(_config.INITS))],
        "beta": [Interval(Real, 0, None, closed="left")],
        "kl_warmup": [Interval(Integral, 0, None, closed="left")],
        "optimizer": [StrOptions(set(_config.OPTIMIZERS))],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "batch_size": [StrOptions({"auto"}), Interval(Integral, 1, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "n_importance_samples": [Interval(Integral, 1, None, closed="left")],
        "linear_mixture": [Interval(Real, 0, 1, closed="left")],
        "warm_start": ["boolean"],
        "verbose": ["verbose"],
        "random_state": ["random_state"],
    }

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
        self : object
        """
        reuse = self.warm_start and hasattr(self, "_vae")
        X = self._validate_training_data(X, reset=not reuse)
        rng = check_random_state(self.random_state)
        if not reuse:
            self._build(X, rng)
            self._epochs_seen = 0
        else:
            # The draws _build makes, so that the validation rows below are the first fit's
            # (with an int random_state): early stopping must not judge on rows it trained on.
            _build_seeds(rng)
        if reuse and self._optimizer_settings != (self.optimizer, self.learning_rate):
            self._optimizer_state = None  # a fresh optimizer on the kept weights
            self._optimizer_settings = (self.optimizer, self.learning_rate)
            self._learning_rate_used = (None, None)
        x, X_model, _ = self._to_model(X)
        train_rows, val_rows = self._split(X, rng)
        if reuse:
            result = self._train(X_model, train_rows, val_rows, rng, max_epochs=self.max_iter)
        else:
            result = self._fit_from_start(x, X_model, train_rows, val_rows, rng)
        self.n_iter_ = result.n_epochs
        self._finish(result, X, history_reset=True)
        if result.still_improving:
            warnings.warn(
                f"{self._reported_name()} stopped at max_iter={self.max_iter} epochs while the "
                f"{'validation' if val_rows is not None else 'training'} loss was still "
                "improving; raise max_iter for a better fit.",
                ConvergenceWarning,
            )
        self._after_fit(X)
        return self

    def _after_fit(self, X):
        """Hook for an estimator's own fitted attributes (e.g. an outlier threshold)."""

    def partial_fit(self, X, y=None):
        """One epoch over X, keeping weights and optimizer state between calls.

        For data that arrives in chunks or does not fit in memory at once. No early
        stopping (there is no fixed validation set); ``kl_warmup`` counts calls. The first
        call fixes the Gaussian likelihood's standardization and linear start from its chunk,
        so give it rows that look like the rest, at least 10 x (n_components + 1) of them.
        From fewer it warns, and the start is PPCA at a rank of at most (n_rows - 1) // 2:
        FA fitted exactly to 8 standardized breast_cancer rows at n_components=8 had scored
        -7.6e8 nats per held-out row (-46 now).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : ignored

        Returns
        -------
        self : object
        """
        first = not hasattr(self, "_vae")
        if first:
            self._validate_params()
        X = self._validate_training_data(X, reset=first)
        if first:
            self._partial_rng = check_random_state(self.random_state)
            self._build(X, self._partial_rng)
        elif not hasattr(self, "_partial_rng"):  # continuing after fit()
            self._partial_rng = check_random_state(self.random_state)
        x, X_model, _ = self._to_model(X)
        if first:
            self._start(x, None, None)
            self._warn_small_first_chunk(x)
            self._epochs_seen = 0
            self.n_iter_ = 0
        result = self._train(X_model, None, None, self._partial_rng, max_epochs=1)
        self.n_iter_ += result.n_epochs
        self._finish(result, X, history_reset=first)
        self._keep_optimizer_state = True
        self._after_fit(X)
        return self

    def _warn_small_first_chunk(self, x):
        """After the first partial_fit chunk's start: say so when the chunk had too few rows
        for it (see skvae._init.rows_to_trust_fa)."""
        from skvae._init import rows_to_trust_fa

        n_rows, n_features = x.shape
        enough = rows_to_trust_fa(n_features, self.n_components)
        if self.likelihood != "gaussian" or n_features < 2 or n_rows >= enough:
            return
        if self.init == "random":
            start = "init='random' has no linear start to fit to them"
        elif self._linear_density is None:
            start = "they are too few for a linear start"
        else:
            rank = self._linear_density[0].shape[1]
            start = f"the linear start is PPCA of rank {rank} (FA would over-fit them)"
        warnings.warn(
            f"{self._reported_name()}.partial_fit: the first chunk fixes the "
            f"standardization and the linear start, and {n_rows} rows are few for "
            f"n_components={self.n_components}: {start}, and a feature that barely varies "
            "in these rows is scaled up for all later ones. Pass at least "
            f"{enough} rows in the first call.",
            UserWarning,
            stacklevel=3,
        )

    def _validate_training_data(self, X, reset):
        X = validate_table(
            self,
            X,
            reset=reset,
            dtype=[np.float64, np.float32],
            ensure_min_samples=1,
            ensure_all_finite="allow-nan",
        )
        self._check_values(X, "X")
        empty = np.flatnonzero(np.isnan(X).all(axis=0)) if X.size else []
        if len(empty):
            raise ValueError(
                f"X has no observed value in column(s) {empty.tolist()[:10]}: there is "
                "nothing to learn about them. Drop them, or use VAEImputer, whose "
                "keep_empty_features says what becomes of them."
            )
        if not reset and hasattr(self, "_arch") and np.isnan(X).any() and not self._arch.get(
            "missing_indicator"
        ):
            raise ValueError(
                "X has missing values (NaN), but this network was built on data without "
                "any, so its encoder has no missing-value input to train. Refit from "
                "scratch (warm_start=False, or a first partial_fit chunk with NaN)."
            )
        if not reset and hasattr(self, "_arch_params") and any(
            self._arch_params[name] != getattr(self, name) for name in _ARCH_PARAMS
        ):
            changed = [n for n in _ARCH_PARAMS if self._arch_params[n] != getattr(self, n)]
            raise ValueError(
                f"warm_start / partial_fit continue the fitted network, but {changed} "
                "changed since it was built. Set warm_start=False (or use a fresh "
                "estimator) to fit a new one."
            )
        return X

    def _check_values(self, X, name, hint="MinMaxScaler", likelihood=None):
        if not X.size or np.isnan(X).all():
            return
        if (likelihood or self.likelihood) == "bernoulli":
            low, high = np.nanmin(X), np.nanmax(X)
            if low < 0 or high > 1:
                raise ValueError(
                    f"likelihood='bernoulli' needs {name} in [0, 1]; got min={low:.4g}, "
                    f"max={high:.4g}. Scale with {hint} or use likelihood='gaussian'."
                )
        else:
            biggest = np.nanmax(np.abs(X))
            if biggest > _config.MAX_ABS_INPUT:
                raise ValueError(
                    f"{name} has values as large as {biggest:.3g} in magnitude; the network "
                    f"computes in float32, where squares above ~1e38 overflow. Scale {name} "
                    "first, e.g. with StandardScaler."
                )

    def _build(self, X, rng):
        if self.likelihood != "gaussian" and self.init in ("best", "ppca", "fa"):
            raise ValueError(
                f"init={self.init!r} starts a Gaussian VAE from a linear Gaussian model; "
                f"likelihood={self.likelihood!r} has none and starts from random weights. "
                "Pass init='auto' (or 'random'), or likelihood='gaussian'."
            )
        n_samples, n_features = X.shape
        self._arch_params = {name: getattr(self, name) for name in _ARCH_PARAMS}
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, str):
            hidden = _config.hidden_layer_sizes(n_samples, n_features)
        self._arch = {
            **self._arch_params,
            "hidden_layer_sizes": _check_hidden_layer_sizes(hidden),
            "missing_indicator": bool(np.isnan(X).any()),
        }
        self.hidden_layer_sizes_ = self._arch["hidden_layer_sizes"]
        self._standardizer, self._noise_floor = None, _config.NOISE_FLOOR
        if self.likelihood == "gaussian":
            mean = np.nanmean(X, axis=0, dtype=np.float64)
            scale = np.nanstd(X, axis=0, dtype=np.float64)
            constant = scale <= 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1)
            scale[constant] = 1.0
            self._standardizer = Standardizer(mean, scale)
            self._noise_floor = np.where(constant, _config.CONSTANT_FEATURE_VARIANCE,
                                         _config.NOISE_FLOOR)
        seeds = _build_seeds(rng)
        self._vae = build_vae(n_features, self._arch, self.beta, seeds, self._noise_floor)
        self._score_seed = next(seeds)
        self._val_seed = next(seeds)
        self._init_seed = next(seeds)
        self._optimizer_state = None
        self._optimizer_settings = (self.optimizer, self.learning_rate)
        self._learning_rate_used = (None, None)
        self._keep_optimizer_state = self.warm_start

    def _reported_name(self):
        """The estimator a user called, for warnings and errors: a ``VAEImputer`` fits its
        VAE through a ``VAETransformer`` and names it its own (``_reported_as``)."""
        return getattr(self, "_reported_as", type(self).__name__)

    def _to_model(self, X):
        """``(x, encoder_input, observed)``: X on the scale the network works on
        (standardized for the Gaussian likelihood) with missing cells set to 0, what the
        encoder reads (``[x, missing]`` for a network fitted with missing values, else x),
        and the observed-cell mask (None when nothing is missing: the NaN-free path is the
        same code as before missing values were supported).
        """
        x = X if self._standardizer is None else self._standardizer.forward(X)
        missing = np.isnan(x)
        any_missing = missing.any()
        if any_missing:
            x = np.where(missing, 0, x).astype(x.dtype, copy=False)
        encoder_input = x
        if self._arch["missing_indicator"]:
            encoder_input = np.concatenate([x, missing.astype(x.dtype)], axis=1)
        return x, encoder_input, ~missing if any_missing else None

    def _fit_from_start(self, x, X_model, train_rows, val_rows, rng):
        """Start (see :meth:`_start`) and train; with ``init="best"``, where the start is FA
        and there are validation rows, train from PPCA as well and keep the fit with the
        better validation score (its warnings alone are raised). Each fit is bitwise the one
        ``init="auto"`` / ``init="ppca"`` would give."""
        if self.init != "best" or val_rows is None:
            self._start(x, train_rows, val_rows)
            return self._train(X_model, train_rows, val_rows, rng, max_epochs=self.max_iter)
        initial = self._vae.get_weights()  # before any start: the layers' initialisation
        floor, fits = self._noise_floor, []
        for method in ("auto", "ppca"):
            if fits:
                if fits[0][1]["linear_start_"] != "fa":
                    break  # the start was PPCA (or none): nothing else to try
                self._vae.set_weights(initial)
                self._noise_floor = floor
                self._vae.set_noise_floor(floor)
                self._optimizer_state, self._epochs_seen = None, 0
                self._learning_rate_used = (None, None)
            self._start(x, train_rows, val_rows, method)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = self._train(X_model, train_rows, val_rows, copy.deepcopy(rng),
                                     max_epochs=self.max_iter)
            losses = [v for v in result.history["val_loss"] if np.isfinite(v)]
            if result.start_val_loss is not None and np.isfinite(result.start_val_loss):
                losses.append(result.start_val_loss)
            state = {name: getattr(self, name) for name in self._FIT_STATE}
            state["weights"] = self._vae.get_weights()
            fits.append((min(losses, default=np.inf), state, result, caught))
        _, state, result, caught = min(fits, key=lambda fit: fit[0])  # FA's on a tie
        self._vae.set_weights(state.pop("weights"))
        self._vae.set_noise_floor(state["_noise_floor"])
        for name, value in state.items():
            setattr(self, name, value)
        for caught_warning in caught:
            warnings.warn_explicit(caught_warning.message, caught_warning.category,
                                   caught_warning.filename, caught_warning.lineno)
        return result

    #: What a fit from one start leaves on the estimator, besides the network's weights.
    _FIT_STATE = ("linear_start_", "_linear_density", "_noise_floor", "_optimizer_state",
                  "_epochs_seen", "learning_rate_", "_learning_rate_used", "batch_size_")

    def _start(self, X_model, train_rows, val_rows, method=None):
        """Gaussian likelihood: start from the better of PPCA and FA (see skvae._init), or
        the one ``method`` (default: ``init``; "best" starts as "auto") names, fitted to the
        standardized rows with missing cells at 0 (the feature's mean)."""
        self.linear_start_ = None
        self._linear_density = None
        method = self.init if method is None else method
        method = "auto" if method == "best" else method
        if self._arch["likelihood"] != "gaussian" or method == "random":
            return
        from skvae import _init

        from skvae import _model

        x_train = X_model if train_rows is None else X_model[train_rows]
        x_val = None if val_rows is None else X_model[val_rows]
        start = _init.linear_start(
            x_train, x_val, self.n_components, self._noise_floor, self._init_seed,
            method=method,
        )
        if start is not None:
            loadings, noise_variance, mean, self.linear_start_ = start
            # A feature the start determines exactly (one-hot columns) keeps its precision
            # in training: the lower floor it was given there (see EXACT_NOISE_FLOOR).
            pinned = noise_variance < np.asarray(self._noise_floor)
            if pinned.any():
                self._noise_floor = np.where(pinned, _config.EXACT_NOISE_FLOOR,
                                             self._noise_floor)
                self._vae.set_noise_floor(self._noise_floor)
            _model.set_linear_solution(self._vae, loadings, noise_variance, mean)
            # Kept for linear_mixture: the start is part of the density score_samples gives.
            self._linear_density = (loadings, noise_variance, mean)

    def _split(self, X, rng):
        """(train row indices, validation row indices), or (None, None) without early
        stopping."""
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
        return np.sort(order[n_val:]), np.sort(order[:n_val])

    def _train(self, X_model, train_rows, val_rows, rng, max_epochs):
        from skvae import _engine

        n_train = len(X_model) if train_rows is None else len(train_rows)
        batch_size = self.batch_size
        if isinstance(batch_size, str):
            batch_size = _config.batch_size(n_train)
        self.batch_size_ = batch_size = min(batch_size, n_train)
        # A continued fit (warm_start, partial_fit) keeps a learning rate lowered after a
        # divergence, unless the user has changed learning_rate since.
        asked, used = getattr(self, "_learning_rate_used", (None, None))
        learning_rate = used if asked == self.learning_rate else self.learning_rate
        result, self._optimizer_state, self._jit = _engine.fit_network(
            self._vae, X_model, train_rows, val_rows, rng,
            arch_key=tuple(sorted((k, str(v)) for k, v in self._arch.items())),
            build=lambda: build_vae(self.n_features_in_, self._arch, self.beta,
                                    iter(range(64)), self._noise_floor),
            optimizer=self.optimizer,
            learning_rate=learning_rate,
            optimizer_state=self._optimizer_state,
            batch_size=batch_size,
            n_components=self.n_components,
            val_seed=self._val_seed,
            max_epochs=max_epochs,
            beta=self.beta,
            kl_warmup=self.kl_warmup,
            first_epoch=self._epochs_seen,
            n_iter_no_change=self.n_iter_no_change,
            tol=self.tol * self.n_features_in_,  # per feature -> per row
            lr_retries=_config.LR_RETRIES,
            lr_decays=_config.LR_DECAYS,
            report=self._report if self.verbose else None,
        )
        self._epochs_seen += result.n_epochs
        self.learning_rate_ = result.learning_rate
        self._learning_rate_used = (self.learning_rate, result.learning_rate)
        retried = ", ".join(f"{lr / _config.LR_BACKOFF:g}" for _, lr in result.retried_at)
        if self.verbose and result.retried_at:
            _progress(f"Diverged epoch(s) run again at learning_rate {retried}")
        if result.diverged:
            kept = "the best finite weights were restored"
            if result.n_epochs == 0 and getattr(self, "linear_start_", None):
                # Typical of a very sharp linear solution (noise variances near the floor,
                # e.g. spectra or one-hot columns): any step of this size makes it worse.
                kept = (f"the {self.linear_start_.upper()} solution it started from was kept "
                        "(the non-linear layers learned nothing)")
            warnings.warn(
                f"{self._reported_name()}'s loss diverged (became non-finite or grew by orders "
                f"of magnitude) at epoch {self._epochs_seen + 1} (learning_rate="
                f"{learning_rate}); "
                + (f"run again from the best weights at learning_rate {retried}, it "
                   "diverged each time; " if result.retried_at else "")
                + f"training stopped and {kept}. Lower learning_rate or scale X.",
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
        start = result.start_val_loss
        candidates = val + ([-start] if start is not None and np.isfinite(start) else [])
        self.best_validation_score_ = max(candidates) if candidates else None
        mean, log_var = self._encode(X)
        (decoded,) = self._decoder_stack(mean[:1000])
        if not (np.isfinite(mean).all() and np.isfinite(log_var).all()
                and np.isfinite(decoded).all()):
            del self._vae  # not fitted: no estimator whose outputs are not finite
            raise ValueError(
                f"{self._reported_name()} could not be fitted: even the best weights give "
                f"non-finite outputs (learning_rate={self.learning_rate}). Lower "
                "learning_rate, or scale X (e.g. StandardScaler or MinMaxScaler)."
            )
        self.kl_per_component_ = _likelihoods.kl_per_component(mean, log_var).astype(np.float64)
        self._dtype = X.dtype

    def _sync_inference(self):
        self._encoder_stack = _runtime.DenseStack.from_keras(
            self._vae.encoder, block=_config.ENCODER_BLOCK
        )
        self._decoder_stack = _runtime.DenseStack.from_keras(self._vae.decoder)
        self._decoder_logits = self._decoder_stack.logits()
        if self._arch["likelihood"] == "gaussian":
            x_log_var = np.asarray(self._vae.noise_log_var().numpy(), dtype=np.float64)
            self._x_log_var = x_log_var
            scale = self._standardizer.scale
            self.mean_, self.scale_ = self._standardizer.mean, scale
            self.noise_variance_ = np.exp(np.clip(x_log_var, *_config.LOG_VAR_RANGE)) * scale**2
        else:
            self._x_log_var = None
            self.mean_ = self.scale_ = self.noise_variance_ = None

    # ---------------------------------------------------------------- inference

    def _encode(self, X):
        """[mean, log_var] of q(z | x) for validated rows X. A row with no observed cell
        gets the prior, N(0, I): with nothing observed, the posterior is the prior."""

        def encode(X):
            _, encoder_input, observed = self._to_model(X)
            mean, log_var = self._encoder_stack(encoder_input)
            return _scoring.prior_where_nothing_observed(mean, log_var, observed)

        return self._precise(X, encode)

    def _precise(self, X, compute):
        """``compute(X)`` (a tuple of per-row arrays, or None entries), with the float32 rows
        that lie beyond ``_config.FLOAT32_MAX_STANDARDIZED`` standard deviations in some feature
        computed in float64 apart from the others, so that the other rows' results do not
        change (their random draws do, with ``sample_posterior``). The merged results are
        float32 where every value fits in float32 (codes, fills), else float64 (the score
        of such a row can be below -3.4e38)."""
        if X.dtype != np.float32 or self._standardizer is None or not len(X):
            return compute(X)
        mean, scale = self._standardizer.mean, self._standardizer.scale
        reach = _config.FLOAT32_MAX_STANDARDIZED * scale
        # Bounds in float32: the test makes boolean temporaries, not a float64 copy of X.
        low, high = (mean - reach).astype(np.float32), (mean + reach).astype(np.float32)
        far = ((X < low) | (X > high)).any(axis=1)
        if not far.any():
            return compute(X)
        parts = compute(X[~far]), compute(X[far].astype(np.float64))
        merged = []
        for near_part, far_part in zip(*parts):
            if near_part is None:
                merged.append(None)
                continue
            out = np.empty((len(X), *far_part.shape[1:]), np.float64)
            out[~far], out[far] = near_part, far_part
            fits = np.all(np.abs(out[np.isfinite(out)]) <= np.finfo(np.float32).max)
            merged.append(out.astype(np.float32) if fits else out)
        return tuple(merged)

    def _decode(self, Z):
        """The decoder mean for latent codes Z, in the data's units."""
        (out,) = self._decoder_stack(Z)
        return out if self._standardizer is None else self._standardizer.inverse(out)

    def _check_input(self, X):
        check_is_fitted(self)
        return validate_table(
            self, X, reset=False, dtype=[np.float64, np.float32], ensure_all_finite="allow-nan"
        )

    def _score_samples(self, X):
        """Importance-weighted log p(x) per validated row, in the data's units."""
        if self._arch["likelihood"] == "bernoulli":
            # log-probabilities are undefined outside [0, 1]; transform needs no such check.
            self._check_values(X, "X", "MinMaxScaler(clip=True)", likelihood="bernoulli")
        else:
            self._check_values(X, "X", likelihood="gaussian")
        return self._importance_sampling(X)[0]

    def _importance_sampling(self, X, fill=None, rng=None):
        """``(log p(x_observed) per row in the data's units, filled rows or None)``, see
        :func:`skvae._scoring.importance_sampling`. An all-missing row scores 0 (the
        probability of observing nothing is 1)."""
        return self._precise(X, lambda X: self._importance_sampling_rows(X, fill, rng))

    def _importance_sampling_rows(self, X, fill, rng):
        eps = np.random.RandomState(self._score_seed).standard_normal(
            (self.n_importance_samples, self._arch["n_components"])
        )
        x, encoder_input, observed = self._to_model(X)
        scores, filled = _scoring.importance_sampling(
            x, self._encoder_stack, self._decoder_logits, self._arch["likelihood"], eps,
            self._x_log_var,
            encoder_input=encoder_input, observed=observed, fill=fill, rng=rng,
        )
        scores, filled = self._mix_linear(scores, x, observed, filled, fill, rng)
        if self._standardizer is not None:
            log_scale = np.log(self._standardizer.scale)
            if observed is None:
                scores -= scores.dtype.type(self._standardizer.log_scale)
            else:
                scores -= (observed @ log_scale).astype(scores.dtype)
            if filled is not None:
                filled = self._standardizer.inverse(filled)
        return scores, filled

    def _mix_linear(self, scores, x, observed, filled=None, fill=None, rng=None):
        """The mixture of ``linear_mixture``, on the network's scale: returns
        ``(log((1 - w) exp(scores) + w p_linear(x)), filled)`` per row, unchanged without a
        linear start or with w = 0. With ``fill``, ``filled`` becomes the mixture's: its
        "mean" is ``(1 - P) fill_VAE + P E_linear[x | x_observed]``, P the linear part's
        posterior weight ``w p_linear / mixture``; "draw" takes the linear model's draw with
        probability P. (P is ~0 for a row the VAE explains: w = 0.01 and p_VAE >> p_linear.)"""
        density = getattr(self, "_linear_density", None)  # None in pickles before it
        if density is None or self.linear_mixture == 0:
            return scores, filled
        from skvae import _init

        w = self.linear_mixture
        if fill is None:
            linear = _init.observed_log_likelihood(x, *density, observed=observed)
        else:
            linear, linear_filled = _init.linear_fill(x, *density, observed, fill, rng)
        mixed = np.logaddexp(np.log1p(-w) + scores.astype(np.float64), np.log(w) + linear)
        if observed is not None:  # nothing observed: probability 1 under both, exactly 0
            empty = ~observed.any(axis=1)
            mixed[empty] = scores[empty]
        if fill is not None:
            share = np.exp(np.log(w) + linear - mixed)[:, None]  # P(linear | x_observed)
            if fill == "mean":
                filled = ((1 - share) * filled + share * linear_filled).astype(filled.dtype)
            else:
                pick = rng.uniform(size=len(share)) < share[:, 0]
                filled[pick] = linear_filled[pick]
        return mixed.astype(scores.dtype), filled

    def _feature_log_likelihood(self, X):
        """log p(x_j | z = μ) per cell in the data's units (0 for missing cells)."""
        return self._precise(X, lambda X: (self._feature_log_likelihood_rows(X),))[0]

    def _feature_log_likelihood_rows(self, X):
        x, encoder_input, observed = self._to_model(X)
        mean, log_var = self._encoder_stack(encoder_input)
        mean, _ = _scoring.prior_where_nothing_observed(mean, log_var, observed)
        (decoded,) = self._decoder_logits(mean)
        terms = _likelihoods.entry_log_likelihood(
            x, decoded, self._arch["likelihood"], self._x_log_var
        )
        if self._standardizer is not None:
            terms -= np.log(self._standardizer.scale).astype(terms.dtype)
        return terms if observed is None else np.where(observed, terms, 0)

    def _impute(self, X, sample_posterior=False, random_state=None):
        """X with each NaN replaced by its conditional mean given the row's observed cells
        (or a draw from the conditional distribution), estimated by importance sampling."""
        rng = check_random_state(random_state) if sample_posterior else None
        missing = np.isnan(X)
        holed = np.flatnonzero(missing.any(axis=1))  # complete rows need no sampling
        out = X.copy()
        if len(holed):
            _, filled = self._importance_sampling(
                X[holed], fill="draw" if sample_posterior else "mean", rng=rng
            )
            out[holed] = np.where(missing[holed], filled, X[holed])
        return out

    # ------------------------------------------------------------- sklearn glue

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = True
        tags.input_tags.sparse = False
        return tags

    def __sklearn_is_fitted__(self):
        return hasattr(self, "_vae")

    # -------------------------------------------------------------- persistence

    def __getstate__(self):
        state = super().__getstate__()
        keras_objects = ("_vae", "encoder_", "decoder_", "_optimizer_state")
        state = {k: v for k, v in state.items() if k not in keras_objects}
        for derived in ("_encoder_stack", "_decoder_stack", "_decoder_logits"):
            state.pop(derived, None)
        if hasattr(self, "_vae"):
            saved = {
                "weights": self._vae.get_weights(),
                "sampling_state": self._vae.sampling.seed_generator.state.numpy(),
            }
            # Kept where a later fit continues from it: warm_start on now (it may have been
            # switched on after fitting) or a partial_fit in progress.
            keep = self._keep_optimizer_state or self.warm_start
            if keep and self._optimizer_state is not None:
                saved["optimizer"] = self._optimizer_state
            state["_keras_state"] = saved
        return state

    def __setstate__(self, state):
        saved = state.pop("_keras_state", None)
        super().__setstate__({**PARAMS_ADDED_LATER, **state})
        if saved is None:
            return
        # Initial values are overwritten by the saved weights.
        self._vae = build_vae(
            self.n_features_in_, self._arch, self.beta, iter(range(64)), self._noise_floor
        )
        self._vae.set_weights(saved["weights"])
        self._vae.sampling.seed_generator.state.assign(saved["sampling_state"])
        self._optimizer_state = saved.get("optimizer")
        self.encoder_ = self._vae.encoder
        self.decoder_ = self._vae.decoder
        self._sync_inference()


def _progress(line):
    """The one place the library writes progress (verbose >= 1): a line on stdout."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
