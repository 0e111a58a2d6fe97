"""Loss terms of the variational autoencoder, as Keras ops (any backend).

Every function returns one value per row (summed over its last axis), so callers choose the
reduction: the ELBO per row is ``-(reconstruction_nll + latent_loss)``.
"""

import math

import numpy as np

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
    with ``observed`` 0, or all-zero ``x``, counts nothing).

    All blocks at once, in a fixed number of ops: the logits are gathered into a (rows,
    blocks, most levels) array whose padding adds nothing to the log-sum-exp, and the level
    taken in each block is read with a product by the blocks' indicator matrix. A loop over
    the blocks made one set of ops each, and a table with a few categorical columns trained
    at 1.6 times the time per epoch of an all-numeric one of the same width.
    """
    levels, index, padding, member = _block_layout(blocks, logits.shape[-1])
    gathered = ops.reshape(ops.take(logits, index, axis=1), (-1, len(blocks), levels))
    gathered = gathered + padding
    # log-sum-exp by hand: the backend's adds a guard for infinite maxima, ops every step.
    top = ops.stop_gradient(ops.max(gathered, axis=-1))  # (rows, blocks)
    log_norm = top + ops.log(ops.sum(ops.exp(gathered - top[..., None]), axis=-1))
    # x outside the blocks zeroed first: a numeric value times its output must not overflow
    # into the sums below (inf * 0 is NaN).
    x = x * np.sum(member, axis=1)
    taken = ops.matmul(x * logits, member)  # the chosen level's logit, 0 in an empty block
    counted = ops.matmul(x, member)  # 1 where the block holds a level, 0 where it is empty
    terms = counted * log_norm - taken
    if observed is not None:
        terms = terms * ops.take(observed, [start for start, _ in blocks], axis=1)
    return ops.sum(terms, axis=-1)


def _block_layout(blocks, width):
    """``(levels, index, padding, member)`` for :func:`categorical_nll`: the most levels of a
    block; the columns to gather, block after block, each padded to ``levels`` by repeating
    its last column; 0 for a real level and -1e30 for a repeat, shaped (blocks, levels); the
    (width, blocks) float32 indicator of each block's columns."""
    levels = max(stop - start for start, stop in blocks)
    index, padding = [], []
    member = np.zeros((width, len(blocks)), np.float32)
    for b, (start, stop) in enumerate(blocks):
        index += [min(start + j, stop - 1) for j in range(levels)]
        padding.append([0.0 if start + j < stop else -1e30 for j in range(levels)])
        member[start:stop, b] = 1.0
    return levels, np.array(index, np.int32), np.array(padding, np.float32), member
