"""The parameters every skvae estimator shares: their table, constraints, the ``__init__``
made from it, and their numpydoc text."""

import inspect
from numbers import Integral, Real

from sklearn.utils._param_validation import Interval, StrOptions

from skvae import _config

#: The parameters that shape the network: a continued fit (warm_start, partial_fit)
#: refuses to change them.
ARCH_PARAMS = ("n_components", "hidden_layer_sizes", "activation", "likelihood")


#: The keyword-only parameters every skvae estimator takes, in signature order, with their
#: defaults (the "Defaults and why" page says why each is what it is). One table: each estimator's
#: ``__init__`` is made from it by :func:`vae_init`.
VAE_PARAMS = {
    "hidden_layer_sizes": "auto",
    "activation": "selu",
    "likelihood": "gaussian",
    "categorical_features": "from_dtype",
    "max_categories": 255,
    "init": "auto",
    "beta": 1.0,
    "kl_warmup": 30,
    "optimizer": "adam",
    "learning_rate": "auto",
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
PARAMS_ADDED_LATER = {
    "linear_mixture": 0.0, "init": "auto", "categorical_features": "from_dtype",
    "max_categories": 255,
}

#: numpydoc text of the shared parameters, for the estimators' docstrings: what each is and
#: when to change it; the reason for each default, with its figures, is on the documentation's
#: "Defaults and why" page (docs/user_guide/defaults.rst), linked from each entry.
VAE_PARAMS_DOC = """\
    hidden_layer_sizes : "auto" or tuple of int, default="auto"
        Widths of the encoder's hidden Dense layers; the decoder mirrors them. Both heads
        also read their input directly, so a Gaussian VAE contains probabilistic PCA and
        factor analysis. "auto" sizes two layers to the data: the first about twice the
        feature count (a power of two in [32, 256], at most a quarter of the rows; up to 512
        from 32,768 rows), the second half as wide. ``()`` gives a linear VAE. See
        :ref:`default-hidden-layer-sizes`.
    activation : {"relu", "selu", "elu", "tanh", "sigmoid", "softplus", "swish"}, \
            default="selu"
        Activation of the hidden layers. selu (self-normalising) is the classic Keras VAE
        recipe's choice and did best of those tried (:ref:`default-activation`).
    likelihood : {"gaussian", "bernoulli"}, default="gaussian"
        Reconstruction likelihood ``p(x | z)``. "gaussian": real-valued data; features are
        standardized inside (``mean_``, ``scale_``) and each gets a learned variance with a
        floor (``noise_variance_``), so the score is a log-density of the original rows,
        comparable with ``PCA.score``; training starts from a linear model (see ``init``).
        "bernoulli": data in [0, 1] such as pixel intensities; the decoder outputs
        probabilities. See :ref:`default-likelihood`.
    categorical_features : "from_dtype", None, array-like of bool, int or str, \
            default="from_dtype"
        Which columns are categorical: each gets a categorical likelihood (a softmax over
        its levels; two levels make a Bernoulli) inside the model, the others ``likelihood``.
        "from_dtype": a DataFrame's ``category``, bool and text columns (object or string
        columns whose values are not all numbers); arrays are all numeric. Or a boolean
        mask, column indices or column names, as HistGradientBoosting takes them; None: all
        numeric. Fitted on a DataFrame with a categorical column, ``inverse_transform``,
        ``sample`` and imputation return DataFrames with its columns, dtypes and levels. A
        level unseen in fit is a missing cell to ``transform`` and imputation. See
        :ref:`mixed`.
    max_categories : int, default=255
        Most levels a categorical column may have; one with more (an identifier or free
        text) raises a ValueError. 255 is HistGradientBoosting's limit.
    init : {"auto", "best", "ppca", "fa", "random"}, default="auto"
        Where a Gaussian VAE's training starts (``linear_start_`` says which linear model).
        "auto": the better of probabilistic PCA and factor analysis on the validation rows
        (10-fold cross-validated below 100 of them; on the training rows without early
        stopping). "ppca" / "fa": that model (but see ``partial_fit`` for a small first
        chunk). "best": as "auto", plus a second fit from PPCA where that start is FA,
        keeping the better on the validation rows; it costs that second fit. "random":
        Keras' initialisation, no linear start. Try "ppca" or "best" when the codes feed a
        model. With the Bernoulli likelihood, "auto" and "random" are Keras'
        initialisation and the others raise a ValueError. See :ref:`default-init`.
    beta : float, default=1.0
        Weight of the latent (KL) loss; 1 is the ELBO, so ``score`` is a bound on the
        log-likelihood. Below 1 favours reconstruction and keeps more latent components
        active (β-VAE). See :ref:`default-beta`.
    kl_warmup : int, default=30
        Epochs over which β ramps linearly up to ``beta``; 0 disables it. A known cure for
        posterior collapse (latent components that carry nothing); it is also what lets a
        Gaussian VAE leave its linear start. See :ref:`default-kl-warmup`.
    optimizer : {"adam", "nadam", "rmsprop", "sgd"}, default="adam"
        Keras optimizer. With ``warm_start``, changing it or ``learning_rate`` starts a
        fresh optimizer on the kept weights. See :ref:`default-optimizer`.
    learning_rate : "auto" or float, default="auto"
        Learning rate of the optimizer. "auto": 1e-3, or 3e-3 when the fit holds out at
        least 256 validation rows, where the rate is decayed when the held-out loss stops
        gaining (0.4 of the epochs to the same quality on 10,000 images), and has fewer than
        32,768 rows in all (from there 1e-3 reached the better fit). An epoch
        that diverges (its loss turns non-finite or grows by orders of magnitude) sends
        training back to the best weights so far, with a fresh optimizer at a tenth of the
        rate, up to 3 times per fit; the rate used is ``learning_rate_``. A very sharp
        linear start (near-collinear features, one-hot columns) needs this. See
        :ref:`default-learning-rate`.
    batch_size : "auto" or int, default="auto"
        Rows per gradient step; capped at the number of training rows. "auto": a sixteenth
        of the training rows, between 16 and 128, so that small tables get enough steps per
        epoch for early stopping to judge. See :ref:`default-batch-size`.
    max_iter : int, default=1000
        Maximum number of epochs (passes over the training rows): a cap, not a budget.
        Early stopping normally ends the fit first, and a fit that stops earlier is the
        same whatever the cap; raise it if a fit warns that it was still improving. See
        :ref:`default-max-iter`.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of the rows and stop when the held-out negative ELBO
        has not improved by ``tol`` for ``n_iter_no_change`` epochs; the best epoch's
        weights (or the starting weights, if no epoch beat them) are kept. The same rows
        choose the linear start (``init``). Without it, every fit runs ``max_iter`` epochs.
        See :ref:`default-early-stopping`.
    validation_fraction : float, default=0.1
        Share of rows held out for early stopping, in (0, 1).
    n_iter_no_change : int, default=20
        Epochs without improvement before stopping (not counted during ``kl_warmup``). With
        at least 256 validation rows, half that many send training back to the best weights
        at a tenth of the learning rate first (at most twice). Lower it for shorter,
        rougher fits. See :ref:`default-n-iter-no-change` and :ref:`default-plateau`.
    tol : float, default=1e-6
        Minimum improvement of the held-out loss, in nats per row **and feature**: the loss
        is a sum over the features, so this means the same at any width (and, since the
        Gaussian VAE works on standardized features, whatever the data's units). Raise it
        to stop sooner, at some cost in fit quality. See :ref:`default-tol`.
    n_importance_samples : int, default=16
        Samples per row in ``score_samples`` and in imputation (the IWAE bound; 1 gives the
        ELBO). More is tighter and slower (the cost grows linearly). See
        :ref:`default-n-importance-samples`.
    linear_mixture : float in [0, 1), default=0.01
        Gaussian likelihood: ``score_samples`` reports the density of the mixture
        ``(1 - w) p_VAE(x) + w p_linear(x)``, with ``p_linear`` the linear start
        (``linear_start_``; on a table with categorical columns, the numeric columns' start
        times each column's level frequencies, see :ref:`mixed`), so that no row scores more
        than ``log(1 / w)`` below what that model gives it; imputation fills from the same
        mixture. 0 gives the VAE's own
        density. Bernoulli VAEs, ``transform``, ``inverse_transform`` and ``sample`` use the
        VAE alone. Why: the VAE is sharper than the linear model and pays for it on rows
        unlike its training data (:ref:`default-linear-mixture`).
    warm_start : bool, default=False
        Continue from the previous fit's weights and optimizer state.
    verbose : int, default=0
        0: silent. 1: one line per epoch (losses, validation loss, time), then why
        training ended, its seconds and the epoch whose weights were kept.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, sampling noise, shuffling, the validation split and
        the noise of ``score_samples``. An int gives bitwise-identical fits. See
        :ref:`default-random-state`."""


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
        for Bernoulli; NaN for a skewed column of a mixed table, transformed inside, whose
        noise in the data's units depends on the row: see :ref:`mixed`).
    linear_start_ : {"ppca", "fa"} or None
        The linear model the Gaussian VAE started from: the one ``init`` names, or with
        ``init="auto"`` the one with the higher log-likelihood on the validation rows (or in
        10-fold cross-validation when there are fewer than 100 of them). None for
        Bernoulli, for ``init="random"``, or when the data has a single feature or row.
    hidden_layer_sizes_ : tuple of int
        The hidden layer widths used ("auto" resolved).
    batch_size_ : int
        The batch size used ("auto" resolved, capped at the training rows).
    learning_rate_ : float
        The learning rate at the end of the last ``fit`` / ``partial_fit``:
        ``learning_rate`` ("auto" resolved), or a tenth of it per diverged epoch that was
        run again and per plateau of the validation loss (see ``n_iter_no_change``). A
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
        "val_reconstruction", "val_kl" (NaN where not computed), "learning_rate" (the
        rate the epoch ran at) and "seconds" (its wall time, evaluation included).
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


#: sklearn's parameter validation of the shared parameters (``_parameter_constraints``).
PARAMETER_CONSTRAINTS = {
    "n_components": [Interval(Integral, 1, None, closed="left")],
    "hidden_layer_sizes": [StrOptions({"auto"}), "array-like"],
    "activation": [StrOptions(set(_config.ACTIVATIONS))],
    "likelihood": [StrOptions(set(_config.LIKELIHOODS))],
    "categorical_features": [StrOptions({"from_dtype"}), "array-like", None],
    "max_categories": [Interval(Integral, 2, None, closed="left")],
    "init": [StrOptions(set(_config.INITS))],
    "beta": [Interval(Real, 0, None, closed="left")],
    "kl_warmup": [Interval(Integral, 0, None, closed="left")],
    "optimizer": [StrOptions(set(_config.OPTIMIZERS))],
    "learning_rate": [StrOptions({"auto"}), Interval(Real, 0, None, closed="neither")],
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


def check_hidden_layer_sizes(sizes):
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
