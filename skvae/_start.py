"""Where a Gaussian VAE's training starts (``init``): the linear start fitted by
:mod:`skvae._init` and written into the network, and ``init="best"``'s second fit from
PPCA. A mixin of :class:`skvae._base._BaseVAE`, which calls it from ``fit`` and
``partial_fit``."""

import copy
import warnings

import numpy as np

from skvae import _config, _init
from skvae._progress import progress


class LinearStartMixin:
    """The start of a fit: see the module docstring."""

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
    _FIT_STATE = ("linear_start_", "_linear_density", "_linear_columns",
                  "_level_log_frequencies", "_noise_floor", "_optimizer_state",
                  "_epochs_seen", "learning_rate_", "_learning_rate_used", "batch_size_")

    def _start(self, X_model, train_rows, val_rows, method=None):
        """Gaussian likelihood: start from the better of PPCA and FA (see skvae._init), or
        the one ``method`` (default: ``init``; "best" starts as "auto") names, fitted to the
        standardized rows with missing cells at 0 (the feature's mean)."""
        self.linear_start_ = None
        self._linear_density = self._linear_columns = self._level_log_frequencies = None
        method = self.init if method is None else method
        method = "auto" if method == "best" else method
        if self._arch["likelihood"] != "gaussian" or method == "random":
            return
        from skvae import _model

        x_train = X_model if train_rows is None else X_model[train_rows]
        x_val = None if val_rows is None else X_model[val_rows]
        blocks = self._arch.get("categorical_blocks")
        if blocks:  # the linear model of the numeric columns (see _categorical_start)
            numeric = self._codec.numeric
            if not len(numeric):
                return
            x_full = x_train
            x_train = x_train[:, numeric]
            x_val = None if x_val is None else x_val[:, numeric]
        floor = np.broadcast_to(self._noise_floor, (X_model.shape[1],))
        start = _init.linear_start(
            x_train, x_val, self.n_components, floor[numeric] if blocks else self._noise_floor,
            self._init_seed, method=method,
        )
        if blocks and start is not None:
            start = _categorical_start(start, numeric, x_full)
        if self.verbose:
            n_val = 0 if x_val is None else len(x_val)
            how = _init.judging(min(len(x_train), _config.LINEAR_START_MAX_ROWS), n_val,
                                x_train.shape[1], self.n_components, method)
            chosen = "none" if start is None else start[-1].upper()
            subsampled = (f", fitted to {_config.LINEAR_START_MAX_ROWS} of the training rows"
                          if len(x_train) > _config.LINEAR_START_MAX_ROWS else "")
            progress(f"{self._reported_name()}: linear start {chosen} (init={self.init!r}, "
                     f"judged by {how}: {len(x_train)} training, {n_val} validation rows"
                     f"{subsampled})")
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
            # On a table with categorical columns, the numeric columns' linear model times
            # each categorical column's level frequencies (its indicators as Gaussian
            # numbers would not be a density of the table's rows).
            if not blocks:
                self._linear_density = (loadings, noise_variance, mean)
            else:
                self._linear_density = tuple(a[numeric] for a in (loadings, noise_variance,
                                                                    mean))
                self._linear_columns = numeric
                self._level_log_frequencies = _level_log_frequencies(x_full, blocks)

    def _warn_small_first_chunk(self, x):
        """After the first partial_fit chunk's start: say so when the chunk had too few rows
        for it (see skvae._init.rows_to_trust_fa)."""
        n_rows, n_features = x.shape
        enough = _init.rows_to_trust_fa(n_features, self.n_components)
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


def _categorical_start(start, numeric, x):
    """A linear start of the numeric columns widened to the network's matrix ``x`` (training
    rows, holes at 0): each level indicator gets the loadings of its least-squares regression
    on the start's posterior means of z, which the decoder writes as logits, so the start
    links the categories to the numeric columns' factors; the encoder's linear path reads
    the numeric columns only (see :func:`skvae._model.set_linear_solution`), so the codes and
    the numeric columns' fit are the numeric start's.

    Fitted to the indicators as numbers alongside the numeric columns, the linear model
    found them nearly collinear (a column's indicators sum to 1) and noise-free, and the
    sharp start it gave diverged at every learning rate (salaries: -70.3 nats per held-out
    row against -20.0 from a random start)."""
    loadings, noise_variance, mean, name = start
    width = x.shape[1]
    indicators = np.setdiff1d(np.arange(width), numeric)
    scaled = loadings / noise_variance[:, None]
    precision = np.eye(loadings.shape[1]) + loadings.T @ scaled
    z = np.linalg.solve(precision, ((x[:, numeric] - mean) @ scaled).T).T  # E[z | numbers]
    frequencies = x[:, indicators].mean(axis=0)
    coef, *_ = np.linalg.lstsq(z, x[:, indicators] - frequencies, rcond=None)
    full_loadings = np.zeros((width, loadings.shape[1]))
    full_noise, full_mean = np.ones(width), np.zeros(width)
    full_loadings[numeric], full_noise[numeric], full_mean[numeric] = (
        loadings, noise_variance, mean)
    full_loadings[indicators], full_mean[indicators] = coef.T, frequencies
    return full_loadings, full_noise, full_mean, name


def _level_log_frequencies(x, blocks):
    """Per categorical block of the training rows ``x`` (one-hot, all 0 in a hole): the log
    of each level's frequency among the rows where the column is observed, with half a count
    added to every level so that one absent from these rows keeps a finite probability."""
    out = []
    for start, stop in blocks:
        block = x[:, start:stop]
        counts = block[block.sum(axis=1) > 0].sum(axis=0) + 0.5
        out.append(np.log(counts / counts.sum()))
    return out
