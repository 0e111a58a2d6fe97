"""The Gaussian likelihood's features on the network's scale: standardization, a Yeo-Johnson
transform of the skewed ones, and the log-Jacobian that turns densities back into the data's
units."""

import numpy as np

from skvae import _config


#: Nodes of the Gauss-Hermite rule in :meth:`Standardizer.expected_inverse`.
_QUADRATURE_NODES = 16


class Standardizer:
    """Per-feature ``(x - mean) / scale``, then, for the features with a ``lambdas`` entry
    (NaN elsewhere), a Yeo-Johnson transform of that value and a second standardization
    (``shift``, ``spread``), and back, in the input's float dtype.

    The Gaussian VAE works on standardized features, so that its learning rate, tolerance and
    variance floor mean the same whatever each feature's unit; the estimator converts at the
    edges. A skewed feature (see :func:`fit_power`) is made closer to Gaussian first, so that
    rows drawn from p(x | z) have the data's skew and bounds. :meth:`log_jacobian` turns a
    density of the network's rows into one of the original rows.
    """

    #: Pickles written before the transform existed have none.
    lambdas = None

    def __init__(self, mean, scale, lambdas=None, shift=None, spread=None, bounds=None):
        self.mean = np.asarray(mean, np.float64)
        self.scale = np.asarray(scale, np.float64)
        self.log_scale = float(np.sum(np.log(self.scale)))
        if lambdas is not None and np.isfinite(lambdas).any():
            self.lambdas = np.asarray(lambdas, np.float64)
            self.power = np.flatnonzero(np.isfinite(self.lambdas))
            self.shift, self.spread = np.asarray(shift), np.asarray(spread)
            self.bounds = np.asarray(bounds)  # (2, len(power)): where inverse is defined

    def forward(self, x):
        out = x - self.mean.astype(x.dtype)
        out /= self.scale.astype(x.dtype)
        if self.lambdas is not None:
            j, lam = self.power, self.lambdas[self.power]
            y = (yeo_johnson(out[:, j].astype(np.float64), lam) - self.shift) / self.spread
            out[:, j] = y.astype(out.dtype)
        return out

    def inverse(self, y):
        out = y
        if self.lambdas is not None:
            out = y.copy()
            j, lam = self.power, self.lambdas[self.power]
            t = np.clip(y[:, j].astype(np.float64) * self.spread + self.shift, *self.bounds)
            out[:, j] = inverse_yeo_johnson(t, lam).astype(y.dtype)
        out = out * self.scale.astype(y.dtype)
        out += self.mean.astype(y.dtype)
        return out

    def expected_inverse(self, y, noise_sd):
        """``E[inverse(y + noise_sd * e)]``, e standard normal, per cell of network rows
        ``y`` (noise standard deviations ``noise_sd`` per feature): the mean in the data's
        units of a cell whose network value is Gaussian around ``y``. ``inverse(y)`` for a
        feature without the transform (it is linear there); by Gauss-Hermite quadrature for
        a transformed one, where ``inverse(y)`` alone would be the median, not the mean."""
        out = self.inverse(y)
        if self.lambdas is None:
            return out
        j = self.power
        nodes, weights = np.polynomial.hermite_e.hermegauss(_QUADRATURE_NODES)
        weights = weights / weights.sum()
        cells = y[:, j].astype(np.float64)
        total = np.zeros_like(cells)
        lam = self.lambdas[j]
        for node, weight in zip(nodes, weights):
            t = np.clip((cells + node * noise_sd[j]) * self.spread + self.shift, *self.bounds)
            total += weight * inverse_yeo_johnson(t, lam)
        out[:, j] = (total * self.scale[j] + self.mean[j]).astype(out.dtype)
        return out

    def log_jacobian(self, x):
        """Per cell, log |d(network value) / d(x)| for rows ``x`` in the data's units (the
        density of a network row plus these, over the observed cells, is the row's)."""
        terms = np.broadcast_to(-np.log(self.scale), x.shape)
        if self.lambdas is None:
            return terms
        terms = terms.copy()
        j, lam = self.power, self.lambdas[self.power]
        z = (np.asarray(x[:, j], np.float64) - self.mean[j]) / self.scale[j]
        terms[:, j] += log_slope(z, lam) - np.log(self.spread)
        return np.where(np.isnan(terms), 0.0, terms)


def yeo_johnson(z, lam):
    """The Yeo-Johnson transform of ``z`` (columns), one ``lam`` per column."""
    z, lam = np.asarray(z, np.float64), np.broadcast_to(lam, z.shape[1:])
    pos = z >= 0
    with np.errstate(divide="ignore", invalid="ignore"):
        small = np.abs(lam) < 1e-8
        out_pos = np.where(small, np.log1p(z), np.expm1(lam * np.log1p(z)) / lam)
        two = np.abs(lam - 2) < 1e-8
        out_neg = np.where(two, -np.log1p(-z),
                           -np.expm1((2 - lam) * np.log1p(-z)) / (2 - lam))
    return np.where(pos, out_pos, out_neg)


def log_slope(z, lam):
    """log of the derivative of :func:`yeo_johnson` at ``z``: its log-Jacobian per cell."""
    return (lam - 1) * np.sign(z) * np.log1p(np.abs(z))


def inverse_yeo_johnson(y, lam):
    """The inverse of :func:`yeo_johnson` (``y`` inside its image)."""
    y, lam = np.asarray(y, np.float64), np.broadcast_to(lam, y.shape[1:])
    pos = y >= 0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        small = np.abs(lam) < 1e-8
        z_pos = np.where(small, np.expm1(y), np.expm1(np.log1p(lam * y) / lam))
        two = np.abs(lam - 2) < 1e-8
        z_neg = np.where(two, -np.expm1(-y),
                         -np.expm1(np.log1p(-(2 - lam) * y) / (2 - lam)))
    return np.where(pos, z_pos, z_neg)


def fit_power(z, candidates):
    """Yeo-Johnson parameters for the standardized columns ``z`` (NaN for holes): per column,
    ``(lambdas, shift, spread, bounds)`` where ``lambdas`` is NaN for a column left as it is.

    A ``candidates`` column is transformed where the maximum-likelihood Yeo-Johnson fit (by
    scikit-learn's :class:`~sklearn.preprocessing.PowerTransformer`) raises its Gaussian
    log-likelihood, Jacobian included, by at least ``_config.POWER_MIN_GAIN`` nats per row:
    a skewed or bounded column, not one that is Gaussian already or has two values. Its
    values come back (``inverse``) within the column's training range, where the inverse is
    defined whatever the parameter.

    The estimators call it for the numeric columns of tables with a categorical column,
    where it was measured (``benchmarks/bench_synth.py``); all-numeric data keeps the plain
    standardization, whose held-out likelihoods ``bench_tables.py`` records."""
    from sklearn.preprocessing import PowerTransformer

    d = z.shape[1]
    lambdas = np.full(d, np.nan)
    chosen = [j for j in np.flatnonzero(candidates)
              if len(np.unique(z[~np.isnan(z[:, j]), j])) > 2]
    if not chosen:
        return lambdas, None, None, None
    cols = z[:, chosen]
    fitted = PowerTransformer(method="yeo-johnson", standardize=False).fit(cols)
    lam = np.clip(fitted.lambdas_, *_config.POWER_LAMBDA_RANGE)
    gains = _gaussian_ll(yeo_johnson(cols, lam), cols, lam) - _gaussian_ll(cols, cols, 1.0)
    keep = gains >= _config.POWER_MIN_GAIN
    if not keep.any():
        return lambdas, None, None, None
    chosen, cols, lam = np.asarray(chosen)[keep], cols[:, keep], lam[keep]
    lambdas[chosen] = lam
    y = yeo_johnson(cols, lam)
    shift, spread = np.nanmean(y, axis=0), np.nanstd(y, axis=0)
    low, high = np.nanmin(cols, axis=0), np.nanmax(cols, axis=0)
    bounds = np.stack([yeo_johnson(low[None], lam)[0], yeo_johnson(high[None], lam)[0]])
    return lambdas, shift, spread, bounds


def _gaussian_ll(y, z, lam):
    """Mean log-likelihood per row of the Gaussian fitted to the transformed columns ``y``,
    in the units of ``z`` (Jacobian included), per column."""
    var = np.nanvar(y, axis=0)
    jac = np.nanmean(log_slope(z, lam), axis=0)
    return -0.5 * (np.log(2 * np.pi * var) + 1) + jac
