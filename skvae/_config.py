"""Every tuning constant of skvae, one line each, and the option lists the parameters accept.

Why each value is what it is (the measurements) is told once, in the documentation's
"Tuning constants" page (``docs/user_guide/tuning.rst``); the user-facing defaults are on
its "Defaults" page. A rule that switches at a data size says so when it acts
(``verbose=1``) or in a fitted attribute.
"""

# ---------------------------------------------------------------- options of the parameters

#: Hidden-layer activations (Keras names; NumPy inference implements the same).
ACTIVATIONS = ("relu", "selu", "elu", "tanh", "sigmoid", "softplus", "swish")
#: Keras optimizers by name.
OPTIMIZERS = ("adam", "nadam", "rmsprop", "sgd")
#: Reconstruction likelihoods p(x | z).
LIKELIHOODS = ("bernoulli", "gaussian")
#: Starts of a fit (``init``).
INITS = ("auto", "best", "ppca", "fa", "random")

# ---------------------------------------------------------------- sizes chosen from the data

#: First hidden layer of "auto": about twice the features, a power of two in [32, 256].
HIDDEN_WIDTH_RANGE = (32, 256)
#: From this many rows "auto" may make the first hidden layer 512 wide.
WIDE_MIN_SAMPLES = 2**15
#: Batch size of "auto": a sixteenth of the training rows, within this range.
BATCH_SIZE_RANGE = (16, 128)

# ---------------------------------------------------------------- the Gaussian likelihood

#: Variance floor per standardized feature.
NOISE_FLOOR = 1e-8
#: Variance floor of a feature the linear start determines exactly (one-hot columns).
EXACT_NOISE_FLOOR = 1e-12
#: Below this noise variance the linear start counts a feature as exactly determined.
PINNED_NOISE = 1e-11
#: Variance (on scale 1) of a feature that is constant in the training rows.
CONSTANT_FEATURE_VARIANCE = 1.0
#: Clip of every log-variance (codes and noise), so that exp(-log_var) is finite in float32.
LOG_VAR_RANGE = (-30.0, 20.0)
#: Hidden layers read their input clipped to this range (the linear path reads it whole).
HIDDEN_INPUT_LIMIT = {"encoder": 10.0, "decoder": 6.0}

#: A numeric column is Yeo-Johnson transformed inside when that raises its own Gaussian
#: log-likelihood (Jacobian included) by at least this many nats per row ...
POWER_MIN_GAIN = 0.02
#: ... with its parameter (fitted by PowerTransformer) clipped to this range.
POWER_LAMBDA_RANGE = (-2.0, 4.0)

# ---------------------------------------------------------------- inputs

#: Largest |value| accepted for the Gaussian likelihood: squares overflow float32 above.
MAX_ABS_INPUT = 1e15
#: float32 rows further out than this many standard deviations are computed in float64.
FLOAT32_MAX_STANDARDIZED = 1e6

# ---------------------------------------------------------------- the linear start

#: Rows (at most) that PPCA / FA are fitted to.
LINEAR_START_MAX_ROWS = 5000
#: Fewer validation rows than this: the start is chosen by cross-validation.
CV_BELOW_ROWS = 100
#: Folds of that cross-validation.
CV_FOLDS = 10
#: ... run only on at most this many rows.
CV_MAX_ROWS = 2000
#: Rows per factor (n_components + 1) before FA's per-feature noise variances are trusted.
MIN_ROWS_PER_FACTOR = 10

# ---------------------------------------------------------------- training

#: An epoch whose loss grows by this many times its scale counts as diverged.
BLOW_UP = 1e3
#: Reruns of a diverged epoch per fit ...
LR_RETRIES = 3
#: ... each at the learning rate divided by this.
LR_BACKOFF = 10.0
#: With at least this many validation rows, the first plateau starts a learning-rate anneal
#: (half a cosine) ...
LR_ANNEAL_MIN_VALIDATION_ROWS = 256
#: ... down to the rate divided by this ...
LR_ANNEAL_FACTOR = 100.0
#: ... over this share of the epochs before it; the anneal's end stops the fit.
LR_ANNEAL_SHARE = 1.25
#: A window of epochs whose best held-out loss gained less than this share of the fit's
#: whole gain so far is a plateau too (it starts the anneal).
PROGRESS_FRACTION = 0.01
#: learning_rate="auto": this rate below LR_ANNEAL_MIN_VALIDATION_ROWS validation rows ...
LEARNING_RATE = 1e-3
#: ... and this one from there on, where the anneal brings it down in time (up to
#: WIDE_MIN_SAMPLES rows in all: from there, LEARNING_RATE again).
LARGE_FIT_LEARNING_RATE = 3e-3
#: An epoch of at least this many steps is compiled with XLA ...
JIT_MIN_STEPS = 48
#: ... and so is a training set of at least this many values.
JIT_MIN_VALUES = 2**20
#: Compiled trainers kept for refits of the same architecture.
TRAINER_CACHE_SIZE = 8

# ---------------------------------------------------------------- NumPy inference

#: Rows per block of a decoder's forward pass (throughput: score_samples).
BLOCK = 64
#: Rows per block of an encoder's forward pass (latency: a one-row transform).
ENCODER_BLOCK = 16

# ---------------------------------------------------------------- outliers

#: contamination="auto": robust standard deviations below the training median.
AUTO_DEVIATIONS = 3.0


def hidden_layer_sizes(n_samples, n_features):
    """``hidden_layer_sizes="auto"``: two layers, the first about twice the feature count (a
    power of two in ``HIDDEN_WIDTH_RANGE``, up to 512 from ``WIDE_MIN_SAMPLES`` rows, no
    wider than a quarter of the rows), the second half as wide."""
    low, high = HIDDEN_WIDTH_RANGE
    cap = 2 * high if n_samples >= WIDE_MIN_SAMPLES else high
    width = max(low, min(cap, min(2 * n_features, max(n_samples // 4, low))))
    width = 1 << (int(width) - 1).bit_length() if width > low else int(low)
    return (width, width // 2)


def learning_rate(n_validation, n_samples):
    """``learning_rate="auto"``: ``LARGE_FIT_LEARNING_RATE`` for a fit judged on at least
    ``LR_ANNEAL_MIN_VALIDATION_ROWS`` validation rows (where the learning rate anneals) and of
    fewer than ``WIDE_MIN_SAMPLES`` rows in all (where "auto" layers may be twice as wide),
    ``LEARNING_RATE`` otherwise."""
    if LR_ANNEAL_MIN_VALIDATION_ROWS <= n_validation and n_samples < WIDE_MIN_SAMPLES:
        return LARGE_FIT_LEARNING_RATE
    return LEARNING_RATE


def batch_size(n_samples):
    """``batch_size="auto"``: a sixteenth of the training rows, within ``BATCH_SIZE_RANGE``."""
    low, high = BATCH_SIZE_RANGE
    return int(max(low, min(high, n_samples // 16)))
