"""Defaults sized to the data, in one place, each with the measurement behind it.

The estimators accept ``"auto"`` for these parameters and resolve them here at fit time from
the training data's shape, so that a 9-feature table with 200 rows and a 784-pixel image set
do not get the same network by accident.
"""

#: Variance floor of the Gaussian likelihood, per feature, on the standardized scale (the
#: Gaussian VAE standardizes every feature; a constant feature keeps scale 1, as in
#: StandardScaler). Without a floor a constant feature's log-variance falls by ~1e-3 per Adam
#: step for ever: digits' three constant pixels ran every fit to max_iter and made ``score``
#: rank n_components by those pixels (constant features now get their own variance, below).
#: The floor must stay below the noise variances the linear models find on the most
#: correlated real table we have (Tecator NIR spectra, 100 features): with 1e-6 the VAE
#: scored 488 nats per row at k = 8 against FactorAnalysis' 513, whose smallest noise
#: variances are below 1e-6. 1e-8 (a standard deviation of 0.01 % of the feature's) is
#: still far above float32's rounding of standardized values (~1e-14 in variance).
NOISE_FLOOR = 1e-8

#: The floor of a feature that the linear start determines exactly (its PPCA / FA noise
#: variance below ``PINNED_NOISE``; see ``skvae._init._floored``). One-hot columns sum to 1,
#: so one of each group is an exact linear function of the others, and factor analysis
#: gives it a noise variance at 1e-12, its own floor. Under the general floor the VAE lost
#: FA's likelihood there (3-fold, k = 8, nats per row): penguins 10.5 against FA's 18.1,
#: attrition -0.8 against 14.2, credit_data 5.8 against 9.3. The lower floor for every
#: feature was worse elsewhere: cells k = 8 fell from -21.1 to -27.7 (1e-10: -24.0), its
#: variances over-fitting in training (the start pins none of its features: all above
#: 1e-7). (float32 rounds standardized values to ~1e-14 in variance; log-variances are
#: clipped at -30, e^-30 ~ 9e-14, see ``skvae.layers.LOG_VAR_RANGE``.)
EXACT_NOISE_FLOOR = 1e-12

#: Below this noise variance the linear start pins a feature (see ``EXACT_NOISE_FLOOR``):
#: 10 times FA's floor, which is where FA puts an exactly determined feature. Real noise
#: stays above it on our tables: the smallest FA(8) variances were 1.8e-10 on meats (Tecator
#: spectra) and 8.4e-9 on pd_speech (one training fold each), and those features keep the
#: general floor.
PINNED_NOISE = 1e-11

#: Variance of a feature that is constant in the training data (in its own units: it keeps
#: scale 1). Nothing can be learned about its spread, and the floor above would make any
#: held-out deviation cost ~x² / 2e-6 nats: on digits 3-fold, pixels constant in a training
#: fold but not in its test fold put the held-out score at -2,275 nats per row against
#: PPCA's -86. With variance 1 a constant feature adds the same constant to every row's
#: score whatever n_components is, and a deviation costs x² / 2.
CONSTANT_FEATURE_VARIANCE = 1.0


def _power_of_two(value, low, high):
    value = max(low, min(high, value))
    return 1 << (int(value) - 1).bit_length() if value > low else int(low)


#: From this many rows the first hidden layer may be 512 wide instead of at most 256.
#: Measured on Fashion-MNIST's 60,000 training images (Bernoulli, defaults, test MSE):
#: n_components = 10 reached 0.0117 with (512, 256) in 330 epochs against 0.0121 with
#: (256, 128) in 250, n_components = 2 0.0249 in 453 epochs (24 minutes on 2 cores)
#: against 0.0256 in 349, at about twice the cost per epoch. Below this size the networks stay
#: as tuned on the tables (none of the 15 real ones has more than 4,601 rows; 512 was not
#: measured there) and a grid search on 10,000 images keeps its cost.
WIDE_MIN_SAMPLES = 2**15


def hidden_layer_sizes(n_samples, n_features):
    """Two hidden layers, the first about twice the feature count (a power of two between
    32 and 256, or 512 from ``WIDE_MIN_SAMPLES`` rows, and no wider than a quarter of the
    rows), the second half as wide."""
    cap = 512 if n_samples >= WIDE_MIN_SAMPLES else 256
    width = _power_of_two(min(2 * n_features, max(n_samples // 4, 32)), 32, cap)
    return (width, width // 2)


def batch_size(n_samples):
    """About 16 steps per epoch on small tables (16 to 128 rows per step): with a fixed 128,
    a 200-row table got 2 steps per epoch and early stopping judged after too few steps."""
    return int(max(16, min(128, n_samples // 16)))
