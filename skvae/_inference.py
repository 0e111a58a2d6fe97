"""The inference every fitted skvae estimator shares: rows to the network's scale, codes,
decodes, importance-weighted scores and fills (with the linear mixture), on the NumPy
runtime. A mixin of :class:`skvae._base._BaseVAE`: it reads the fitted state that
``fit`` leaves (``_standardizer``, ``_encoder_stack``, ``_decoder_logits`` ...)."""

import numpy as np
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skvae import _config, _init, _likelihoods, _scoring
from skvae._validation import check_values, has_nan, validate_rows


class InferenceMixin:
    """Codes, decodes, scores and fills of a fitted VAE (see the module docstring)."""

    def _to_model(self, X):
        """``(x, encoder_input, observed)``: X on the scale the network works on
        (standardized for the Gaussian likelihood) with missing cells set to 0, what the
        encoder reads (``[x, missing]`` for a network fitted with missing values, else x),
        and the observed-cell mask (None when nothing is missing: the NaN-free path is the
        same code as before missing values were supported).
        """
        x = X if self._standardizer is None else self._standardizer.forward(X)
        any_missing = has_nan(x)
        if any_missing:
            missing = np.isnan(x)
            x = np.where(missing, 0, x).astype(x.dtype, copy=False)
        encoder_input = x
        if self._arch["missing_indicator"]:
            indicator = missing.astype(x.dtype) if any_missing else np.zeros_like(x)
            encoder_input = np.concatenate([x, indicator], axis=1)
        return x, encoder_input, ~missing if any_missing else None

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
        """The decoder mean for latent codes Z, in the data's units (level probabilities in
        categorical blocks)."""
        if self._blocks:
            (logits,) = self._decoder_logits(Z)
            out = _likelihoods.decoder_means(logits, self._arch["likelihood"], self._blocks)
        else:
            (out,) = self._decoder_stack(Z)
        return out if self._standardizer is None else self._standardizer.inverse(out)

    def _draw(self, Z, rng):
        """Rows drawn from p(x | z) for latent codes Z, in the data's units."""
        (out,) = self._decoder_logits(Z)
        likelihood = self._arch["likelihood"]
        means = _likelihoods.decoder_means(out, likelihood, self._blocks)
        x = _likelihoods.draw(means, likelihood, self._x_log_var, rng, self._blocks)
        return x if self._standardizer is None else self._standardizer.inverse(x)

    def _check_input(self, X, unseen=False):
        """Validated rows for the network (with ``unseen``: and the mask of cells holding a
        level unseen in fit, or None)."""
        check_is_fitted(self)
        rows, unseen_cells = validate_rows(
            self, X, getattr(self, "_codec", None), reset=False
        )
        return (rows, unseen_cells) if unseen else rows

    def _to_table(self, rows):
        """Rows of the network's matrix as the user's table (see ColumnCodec.decode), or as
        they are for an all-numeric fit."""
        codec = getattr(self, "_codec", None)
        return rows if codec is None else codec.decode(rows)

    @property
    def _blocks(self):
        """(start, stop) of each categorical column's block of the network's rows."""
        return self._arch.get("categorical_blocks", ())

    def _score_samples(self, X, unseen=None):
        """Importance-weighted log p(x) per validated row, in the data's units.

        A categorical cell holding a level unseen in fit (``unseen``, from
        :meth:`_check_input`) is scored as the seen level that gives the row its lowest
        score, so that no row scores as more typical for an unknown level than with a known
        one (several such cells in a row: chosen column by column)."""
        if self._arch["likelihood"] == "bernoulli":
            # log-probabilities are undefined outside [0, 1]; transform needs no such check.
            check_values(X, "X", "bernoulli", "MinMaxScaler(clip=True)")
        else:
            check_values(X, "X", "gaussian")
        scores = self._importance_sampling(X)[0]
        if unseen is None or not unseen.any():
            return scores
        odd = np.flatnonzero(unseen.any(axis=1))
        rows = X[odd].copy()
        for j in np.flatnonzero(unseen[odd].any(axis=0)):
            where, here = self._codec.slices[j], unseen[odd, j]
            candidates = []
            for level in range(where.stop - where.start):
                trial = rows[here].copy()
                trial[:, where] = 0
                trial[:, where.start + level] = 1
                candidates.append(self._importance_sampling(trial)[0])
            worst = np.argmin(np.stack(candidates), axis=0)
            rows[np.flatnonzero(here)[:, None], np.arange(where.start, where.stop)] = 0
            rows[np.flatnonzero(here), where.start + worst] = 1
        scores[odd] = self._importance_sampling(rows)[0]
        return scores

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
        # A transformed feature's conditional mean is averaged in the data's units (the way
        # back is not linear; on tables with categorical columns only, see fit_power).
        standardizer = self._standardizer
        in_data_units = fill == "mean" and getattr(standardizer, "lambdas", None) is not None
        to_data = None
        if in_data_units:
            noise_sd = np.exp(np.clip(self._x_log_var, *_config.LOG_VAR_RANGE) / 2)
            to_data = lambda means: standardizer.expected_inverse(means, noise_sd)  # noqa: E731
        scores, filled = _scoring.importance_sampling(
            x, self._encoder_stack, self._decoder_logits, self._arch["likelihood"], eps,
            self._x_log_var,
            encoder_input=encoder_input, observed=observed, fill=fill, rng=rng,
            blocks=self._blocks, to_data=to_data,
        )
        linear_to_data = None
        if in_data_units and getattr(self, "_linear_density", None) is not None:
            sd = np.zeros(x.shape[1])
            sd[self._linear_columns] = np.sqrt(self._linear_density[1])
            linear_to_data = lambda filled: standardizer.expected_inverse(filled, sd)  # noqa: E731
        scores, filled = self._mix_linear(scores, x, observed, filled, fill, rng,
                                          linear_to_data)
        if self._standardizer is not None:
            if self._standardizer.lambdas is not None:  # per row: a Jacobian that varies
                jacobian = self._standardizer.log_jacobian(X)
                scores += np.sum(jacobian, axis=1, where=observed if observed is not None
                                 else True).astype(scores.dtype)
            elif observed is None:
                scores -= scores.dtype.type(self._standardizer.log_scale)
            else:
                scores -= (observed @ np.log(self._standardizer.scale)).astype(scores.dtype)
            if filled is not None and not in_data_units:
                filled = self._standardizer.inverse(filled)
        return scores, filled

    def _mix_linear(self, scores, x, observed, filled=None, fill=None, rng=None,
                    to_data=None):
        """The mixture of ``linear_mixture``, on the network's scale: returns
        ``(log((1 - w) exp(scores) + w p_linear(x)), filled)`` per row, unchanged without a
        linear start or with w = 0. With ``fill``, ``filled`` becomes the mixture's: its
        "mean" is ``(1 - P) fill_VAE + P E_linear[x | x_observed]``, P the linear part's
        posterior weight ``w p_linear / mixture``; "draw" takes the linear model's draw with
        probability P. (P is ~0 for a row the VAE explains: w = 0.01 and p_VAE >> p_linear.)
        On a table with categorical columns, p_linear is the numeric columns' linear model
        times each categorical column's level frequency (fills: the frequencies, or a level
        drawn from them). ``to_data`` maps the linear "mean" fill to the data's units where
        the VAE's fill is already there (see :meth:`_importance_sampling_rows`)."""
        density = getattr(self, "_linear_density", None)  # None in pickles before it
        if density is None or self.linear_mixture == 0:
            return scores, filled
        w = self.linear_mixture
        columns = getattr(self, "_linear_columns", None)  # None: every column
        if columns is None:
            if fill is None:
                linear = _init.observed_log_likelihood(x, *density, observed=observed)
            else:
                linear, linear_filled = _init.linear_fill(x, *density, observed, fill, rng)
        else:
            linear, linear_filled = self._linear_table(x, observed, fill, rng, columns)
        if to_data is not None:
            linear_filled = to_data(linear_filled)
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

    def _linear_table(self, x, observed, fill, rng, columns):
        """``(log p_linear, fill or None)`` of a table with categorical columns (see
        :meth:`_mix_linear`)."""
        density = self._linear_density
        seen = None if observed is None else observed[:, columns]
        linear_filled = None
        if fill is None:
            linear = _init.observed_log_likelihood(x[:, columns], *density, observed=seen)
        else:
            linear, numbers = _init.linear_fill(x[:, columns], *density, seen, fill, rng)
            linear_filled = np.array(x, dtype=np.float64)
            linear_filled[:, columns] = numbers
        for (start, stop), log_p in zip(self._blocks, self._level_log_frequencies):
            block = x[:, start:stop].astype(np.float64)
            here = np.ones(len(x), bool) if observed is None else observed[:, start]
            linear = linear + np.where(here, block @ log_p, 0.0)
            if fill == "mean":
                linear_filled[:, start:stop] = np.where(here[:, None], block, np.exp(log_p))
            elif fill == "draw":
                levels = (rng.uniform(size=(len(x), 1)) > np.cumsum(np.exp(log_p))).sum(axis=1)
                drawn = np.eye(stop - start)[np.minimum(levels, stop - start - 1)]
                linear_filled[:, start:stop] = np.where(here[:, None], block, drawn)
        return linear, linear_filled

    def _feature_log_likelihood(self, X):
        """log p(x_j | z = μ) per cell in the data's units (0 for missing cells)."""
        return self._precise(X, lambda X: (self._feature_log_likelihood_rows(X),))[0]

    def _feature_log_likelihood_rows(self, X):
        x, encoder_input, observed = self._to_model(X)
        mean, log_var = self._encoder_stack(encoder_input)
        mean, _ = _scoring.prior_where_nothing_observed(mean, log_var, observed)
        (decoded,) = self._decoder_logits(mean)
        terms = _likelihoods.entry_log_likelihood(
            x, decoded, self._arch["likelihood"], self._x_log_var, self._blocks
        )
        if self._standardizer is not None:
            terms += self._standardizer.log_jacobian(X).astype(terms.dtype)
        terms = terms if observed is None else np.where(observed, terms, 0)
        codec = getattr(self, "_codec", None)
        return terms if codec is None else codec.feature_terms(terms)

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
