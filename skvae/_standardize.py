"""The standardization of the Gaussian likelihood's features, and its log-Jacobian."""

import numpy as np


class Standardizer:
    """Per-feature ``(x - mean) / scale`` and back, in the input's float dtype.

    The Gaussian VAE works on standardized features, so that its learning rate, tolerance and
    variance floor mean the same whatever each feature's unit; the estimator converts at the
    edges. ``log_scale`` is the log-Jacobian that turns a density of standardized rows into
    one of the original rows.
    """

    def __init__(self, mean, scale):
        self.mean = np.asarray(mean, np.float64)
        self.scale = np.asarray(scale, np.float64)
        self.log_scale = float(np.sum(np.log(self.scale)))

    def forward(self, x):
        out = x - self.mean.astype(x.dtype)
        out /= self.scale.astype(x.dtype)
        return out

    def inverse(self, y):
        out = y * self.scale.astype(y.dtype)
        out += self.mean.astype(y.dtype)
        return out
