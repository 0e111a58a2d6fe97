"""The sklearn contract shared by skvae's estimators: fit orchestration, tags and pickling.

:class:`_BaseVAE` holds what the three estimators have in common (as sklearn's ``_BasePCA``
or ``BaseBagging`` do) and delegates everything numeric: the parameters live in
:mod:`skvae._params`, input checks in :mod:`skvae._validation`, the linear start in
:mod:`skvae._init`, the Keras model and its builder in :mod:`skvae._model`, training in
:mod:`skvae._engine` / :mod:`skvae._training`, inference in :mod:`skvae._inference`. Keras is
imported on the first ``fit`` (or unpickling of a fitted estimator), so ``import skvae``
stays fast.
"""

import logging
import time
import warnings

import numpy as np
from sklearn.base import BaseEstimator, _fit_context
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state

from skvae import _config, _likelihoods, _runtime
from skvae._inference import InferenceMixin
from skvae._columns import ColumnCodec
from skvae._params import (
    ARCH_PARAMS,
    PARAMETER_CONSTRAINTS,
    PARAMS_ADDED_LATER,
    check_hidden_layer_sizes,
)
from skvae._progress import progress
from skvae._standardize import Standardizer, fit_power
from skvae._start import LinearStartMixin
from skvae._validation import check_values, has_nan, validate_rows

logger = logging.getLogger(__name__)

def build_vae(n_features, arch, beta, seeds, noise_floor):
    """The one builder of the Keras VAE (:func:`skvae._model.build_vae`), imported on first
    use: TensorFlow takes seconds to import, and ``import skvae`` stays fast."""
    from skvae import _model

    return _model.build_vae(n_features, arch, beta, seeds, noise_floor)


def _build_seeds(rng):
    """The seeds of a new network's layers and of its fixed noise streams, drawn from rng."""
    return iter(rng.randint(0, 2**31 - 1, size=64).tolist())


class _BaseVAE(LinearStartMixin, InferenceMixin, BaseEstimator):
    """Fitting, validation, inference and persistence shared by skvae's estimators."""

    _parameter_constraints = dict(PARAMETER_CONSTRAINTS)

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

    def _validate_training_data(self, X, reset):
        if reset:
            self._codec = ColumnCodec.fit(
                X, self.categorical_features, self.max_categories, self._reported_name()
            )
        X, _ = validate_rows(self, X, getattr(self, "_codec", None), reset=reset)
        nan = has_nan(X)
        check_values(X, "X", self.likelihood, nan=nan)
        empty = np.flatnonzero(np.isnan(X).all(axis=0)) if nan else []
        if len(empty):
            raise ValueError(
                f"X has no observed value in column(s) {empty.tolist()[:10]}: there is "
                "nothing to learn about them. Drop them, or use VAEImputer, whose "
                "keep_empty_features says what becomes of them."
            )
        if not reset and hasattr(self, "_arch") and nan and not self._arch.get(
            "missing_indicator"
        ):
            raise ValueError(
                "X has missing values (NaN), but this network was built on data without "
                "any, so its encoder has no missing-value input to train. Refit from "
                "scratch (warm_start=False, or a first partial_fit chunk with NaN)."
            )
        if not reset and hasattr(self, "_arch_params") and any(
            self._arch_params[name] != getattr(self, name) for name in ARCH_PARAMS
        ):
            changed = [n for n in ARCH_PARAMS if self._arch_params[n] != getattr(self, n)]
            raise ValueError(
                f"warm_start / partial_fit continue the fitted network, but {changed} "
                "changed since it was built. Set warm_start=False (or use a fresh "
                "estimator) to fit a new one."
            )
        return X

    def _build(self, X, rng):
        if self.likelihood != "gaussian" and self.init in ("best", "ppca", "fa"):
            raise ValueError(
                f"init={self.init!r} starts a Gaussian VAE from a linear Gaussian model; "
                f"likelihood={self.likelihood!r} has none and starts from random weights. "
                "Pass init='auto' (or 'random'), or likelihood='gaussian'."
            )
        n_samples, n_features = X.shape
        self._arch_params = {name: getattr(self, name) for name in ARCH_PARAMS}
        hidden = self.hidden_layer_sizes
        if isinstance(hidden, str):
            hidden = _config.hidden_layer_sizes(n_samples, n_features)
        self._arch = {
            **self._arch_params,
            "hidden_layer_sizes": check_hidden_layer_sizes(hidden),
            "missing_indicator": has_nan(X),
        }
        if getattr(self, "_codec", None) is not None:
            self._arch["categorical_blocks"] = self._codec.blocks
        self.hidden_layer_sizes_ = self._arch["hidden_layer_sizes"]
        self._standardizer, self._noise_floor = None, _config.NOISE_FLOOR
        if self.likelihood == "gaussian":
            mean = np.nanmean(X, axis=0, dtype=np.float64)
            scale = np.nanstd(X, axis=0, dtype=np.float64)
            constant = scale <= 10 * np.finfo(np.float64).eps * np.maximum(np.abs(mean), 1)
            scale[constant] = 1.0
            if getattr(self, "_codec", None) is not None:  # indicators of levels enter as they are
                indicators = np.ones(n_features, bool)
                indicators[self._codec.numeric] = False
                mean[indicators], scale[indicators], constant[indicators] = 0.0, 1.0, False
            power = None
            if getattr(self, "_codec", None) is not None:  # mixed tables (see fit_power)
                power = fit_power((X - mean) / scale, ~constant & ~indicators)
            self._standardizer = Standardizer(mean, scale, *(power or ()))
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

    @property
    def _n_model_columns(self):
        """The width of the network's rows: the columns, with one per level of each
        categorical column."""
        codec = getattr(self, "_codec", None)
        return self.n_features_in_ if codec is None else codec.width

    def _reported_name(self):
        """The estimator a user called, for warnings and errors: a ``VAEImputer`` fits its
        VAE through a ``VAETransformer`` and names it its own (``_reported_as``)."""
        return getattr(self, "_reported_as", type(self).__name__)

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
        if self.verbose:
            self._report_settings(X_model.shape[1], n_train, val_rows, batch_size)
        # A continued fit (warm_start, partial_fit) keeps a learning rate lowered after a
        # divergence, unless the user has changed learning_rate since.
        asked, used = getattr(self, "_learning_rate_used", (None, None))
        learning_rate = used if asked == self.learning_rate else self.learning_rate
        n_val = 0 if val_rows is None else len(val_rows)
        if isinstance(learning_rate, str):
            learning_rate = _config.learning_rate(n_val, n_train + n_val)
        started = time.perf_counter()
        result, self._optimizer_state, self._jit = _engine.fit_network(
            self._vae, X_model, train_rows, val_rows, rng,
            arch_key=tuple(sorted((k, str(v)) for k, v in self._arch.items())),
            build=lambda: build_vae(self._n_model_columns, self._arch, self.beta,
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
            anneal_share=_config.LR_ANNEAL_SHARE,
            progress_fraction=_config.PROGRESS_FRACTION,
            report=self._report if self.verbose else None,
        )
        if self.verbose:
            progress(self._training_summary(result, learning_rate, max_epochs,
                                            time.perf_counter() - started))
        self._epochs_seen += result.n_epochs
        self.learning_rate_ = result.learning_rate
        self._learning_rate_used = (self.learning_rate, result.learning_rate)
        retried = ", ".join(f"{lr / _config.LR_BACKOFF:g}" for _, lr in result.retried_at)
        if self.verbose and result.retried_at:
            progress(f"Diverged epoch(s) run again at learning_rate {retried}")
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

    def _report_settings(self, width, n_train, val_rows, batch_size):
        """``verbose``: the choices this fit made from the data's size, in one line."""
        from skvae import _engine

        n_val = 0 if val_rows is None else len(val_rows)
        steps = -(-n_train // batch_size)
        jit = _engine.EpochRunner.use_jit(n_train, width, batch_size)
        auto = lambda name: " (auto)" if isinstance(getattr(self, name), str) else ""  # noqa: E731
        anneal = (f"on ({n_val} validation rows)" if n_val >= _config.LR_ANNEAL_MIN_VALIDATION_ROWS
                  else f"off (needs {_config.LR_ANNEAL_MIN_VALIDATION_ROWS} validation rows, "
                  f"has {n_val})")
        progress(
            f"{self._reported_name()}: hidden_layer_sizes={self.hidden_layer_sizes_}"
            f"{auto('hidden_layer_sizes')}, batch_size={batch_size}{auto('batch_size')} "
            f"({steps} steps per epoch), epochs compiled with XLA: {'yes' if jit else 'no'}, "
            f"learning-rate anneal: {anneal}"
        )

    def _training_summary(self, result, learning_rate, max_epochs, seconds):
        """``verbose``: why training ended, where its time went and which epoch was kept."""
        n = result.n_epochs
        if result.diverged:
            why = "stopped: the loss diverged"
        elif result.anneal_ended:
            why = "stopped at the end of the learning-rate anneal"
        elif result.stopped_early:
            why = "stopped early: the held-out loss stopped improving"
        elif n >= max_epochs:
            why = f"reached max_iter={max_epochs}"
        else:
            why = "stopped"
        line = (f"{self._reported_name()}: {why} after {n} epochs in {seconds:.1f}s "
                f"({seconds / max(n, 1):.2f}s per epoch, fixed costs included)")
        val = result.history.get("val_loss", [])
        if val and np.isfinite(val).any():
            best = int(np.nanargmin(val))
            kept = ("the starting weights" if result.start_val_loss is not None
                    and result.start_val_loss <= val[best] else f"epoch {best + 1}")
            line += f"; kept {kept}"
        if result.anneal:
            first, length = result.anneal
            line += (f"; learning rate {learning_rate:g} -> {result.learning_rate:g} "
                     f"(annealed from epoch {first + 1} over {length} epochs)")
        return line

    def _report(self, epoch, record):
        seconds = record["seconds"]
        parts = [
            f"Epoch {epoch + 1}/{self._epochs_seen + self.max_iter}",
            f"{seconds:.2f}s",
            f"loss: {record['loss']:.4f}",
            f"reconstruction: {record['reconstruction']:.4f}",
            f"kl: {record['kl']:.4f}",
        ]
        if "val_loss" in record:
            parts.append(f"val_loss: {record['val_loss']:.4f}")
        parts.append(f"learning rate: {record['learning_rate']:.3g}")
        if "epochs_left" in record:  # the anneal's end is the fit's: its time is known
            left = record["epochs_left"]
            parts.append(f"annealing: {left} epochs left (about {left * seconds:.0f}s)")
        progress(" - ".join(parts))

    def _finish(self, result, X, history_reset):
        """Fitted attributes from the trained Keras models."""
        self.encoder_ = self._vae.encoder
        self.decoder_ = self._vae.decoder
        self._sync_inference()
        if history_reset or not hasattr(self, "history_"):
            self.history_ = {key: [] for key in result.history}
        before = len(self.history_["loss"])
        for key, values in result.history.items():
            # Keys an older version did not record (a model pickled by it) start as NaN.
            self.history_.setdefault(key, [np.nan] * before)
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
            if self._standardizer.lambdas is not None:  # its noise in data units varies with z
                self.noise_variance_[self._standardizer.power] = np.nan
        else:
            self._x_log_var = None
            self.mean_ = self.scale_ = self.noise_variance_ = None

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
            self._n_model_columns, self._arch, self.beta, iter(range(64)), self._noise_floor
        )
        self._vae.set_weights(saved["weights"])
        self._vae.sampling.seed_generator.state.assign(saved["sampling_state"])
        self._optimizer_state = saved.get("optimizer")
        self.encoder_ = self._vae.encoder
        self.decoder_ = self._vae.decoder
        self._sync_inference()
