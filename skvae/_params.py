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


#: sklearn's parameter validation of the shared parameters (``_parameter_constraints``).
PARAMETER_CONSTRAINTS = {
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
