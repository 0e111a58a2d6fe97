"""Loss terms of the variational autoencoder, as Keras ops (any backend).

Every function returns one value per row (summed over its last axis), so callers choose the
reduction: the ELBO per row is ``-(reconstruction_nll + latent_loss)``.
"""

import math

from skvae._tf import import_keras
from skvae.layers import LOG_VAR_RANGE

keras = import_keras()
ops = keras.ops

_LOG_2PI = math.log(2.0 * math.pi)


def latent_loss(mean, log_var):
    """KL divergence from ``N(mean, exp(log_var))`` to ``N(0, I)``, per row.

    ``-1/2 * sum(1 + log_var - exp(log_var) - mean**2)`` over the last axis, with the
    log-variance γ used directly (no square root or log of a variance is taken).
    """
    log_var = ops.clip(log_var, *LOG_VAR_RANGE)
    return -0.5 * ops.sum(1.0 + log_var - ops.exp(log_var) - ops.square(mean), axis=-1)


def _sum(terms, observed):
    return ops.sum(terms if observed is None else terms * observed, axis=-1)


def bernoulli_nll(x, logits, observed=None):
    """Binary cross-entropy from decoder logits, summed over features, per row.

    Computed from logits (``max(l, 0) - l*x + log(1 + exp(-|l|))``), which is exact where
    the probability form would clip at 1e-7. ``x`` may be any value in [0, 1].
    ``observed`` (1 where an entry is observed, 0 where missing; None for all) restricts
    the sum to the observed entries.
    """
    return _sum(ops.relu(logits) - logits * x + ops.log1p(ops.exp(-ops.abs(logits))), observed)


def gaussian_nll(x, mean, log_var, observed=None):
    """Negative log-density of ``x`` under ``N(mean, exp(log_var))``, summed, per row.

    ``log_var`` is one value per feature (broadcast over rows) or one per entry;
    ``observed`` as in :func:`bernoulli_nll`.
    """
    log_var = ops.clip(log_var, *LOG_VAR_RANGE)
    return 0.5 * _sum(_LOG_2PI + log_var + ops.square(x - mean) * ops.exp(-log_var), observed)



def categorical_nll(x, logits, blocks, observed=None):
    """Cross-entropy of one-hot blocks, per row: for each ``(start, stop)`` in ``blocks``,
    ``-sum_j x_j log softmax(logits[start:stop])_j`` (``x`` one-hot over the block; a block
    with ``observed`` 0, or all-zero ``x``, counts nothing)."""
    total = 0.0
    for start, stop in blocks:
        log_p = logits[:, start:stop] - ops.logsumexp(logits[:, start:stop], axis=-1,
                                                       keepdims=True)
        terms = ops.sum(x[:, start:stop] * log_p, axis=-1)
        if observed is not None:
            terms = terms * observed[:, start]
        total = total - terms
    return total
