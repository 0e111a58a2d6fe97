"""Keras core of the VAE: encoder / decoder builders, the VAE model and its fast trainer.

Nothing here knows about scikit-learn. :class:`VAE` is a plain ``keras.Model`` (usable with
``vae.compile(optimizer); vae.fit(x)``); :class:`EpochRunner` is the fast path the estimator
uses: a whole epoch runs inside one XLA-compiled ``tf.function`` over data that stays resident
as a tensor, so Python is entered once per epoch rather than once per batch.
"""

import functools

import numpy as np

from skvae import _config, losses
from skvae._tf import import_keras
from skvae.layers import Clip, Sampling

keras = import_keras()
ops = keras.ops
import tensorflow as tf  # noqa: E402  (after import_keras, which imports it quietly)

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "nadam": keras.optimizers.Nadam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}


def _dense(units, activation, seed, name):
    return keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed=seed),
        name=name,
    )


def build_encoder(
    n_features, hidden_layer_sizes, n_components, activation, seeds, missing_indicator=False
):
    """x -> [mean, log_var]: a Dense stack with two linear heads.

    With ``missing_indicator`` the encoder reads ``[x, missing]`` (2 * n_features values: the
    row with its missing cells filled with 0, then 1 where a cell is missing), so that it
    can tell a missing cell from an observed 0.

    With hidden layers, the heads read the input itself beside the last hidden layer
    (``concat([x, h])``): the encoder contains a linear map, so the VAE contains probabilistic
    PCA and factor analysis as special cases (see :func:`set_linear_solution`).
    ``seeds`` is an iterator of ints, one per layer's initializer.
    """
    x = keras.Input((2 * n_features if missing_indicator else n_features,), name="x")
    head_input = _hidden_stack(x, hidden_layer_sizes, activation, seeds, "encoder")
    mean = _dense(n_components, None, next(seeds), "z_mean")(head_input)
    log_var = _dense(n_components, None, next(seeds), "z_log_var")(head_input)
    return keras.Model(x, [mean, log_var], name="encoder")


def build_decoder(n_components, hidden_layer_sizes, n_features, activation, likelihood, seeds):
    """z -> decoder mean: the mirrored Dense stack, its head reading ``concat([z, h])``.

    The last Dense layer is linear; for the Bernoulli likelihood a sigmoid follows it as a
    separate layer, so that training can read the logits (see :func:`decoder_logits_model`).
    """
    z = keras.Input((n_components,), name="z")
    head_input = _hidden_stack(
        z, tuple(reversed(tuple(hidden_layer_sizes))), activation, seeds, "decoder"
    )
    out = _dense(n_features, None, next(seeds), "x_mean")(head_input)
    if likelihood == "bernoulli":
        out = keras.layers.Activation("sigmoid", name="x_probability")(out)
    return keras.Model(z, out, name="decoder")




def _hidden_stack(inputs, sizes, activation, seeds, prefix):
    h = inputs
    if sizes:
        h = Clip(_config.HIDDEN_INPUT_LIMIT[prefix], name=f"{prefix}_clip")(h)
    for i, units in enumerate(sizes):
        h = _dense(units, activation, next(seeds), f"{prefix}_hidden_{i}")(h)
    if not sizes:
        return inputs
    return keras.layers.Concatenate(name=f"{prefix}_skip")([inputs, h])


def decoder_logits_model(decoder):
    """The decoder without its final sigmoid (shares its layers), or the decoder itself."""
    last = decoder.layers[-1]
    if isinstance(last, keras.layers.Activation):
        return keras.Model(decoder.inputs, last.input, name="decoder_logits")
    return decoder


@keras.saving.register_keras_serializable(package="skvae")
class VAE(keras.Model):
    """Encoder + Sampling + decoder, trained on ``reconstruction NLL + beta * latent loss``.

    Parameters
    ----------
    encoder : keras.Model, x -> [mean, log_var]
    decoder : keras.Model, z -> decoder mean (probabilities for ``likelihood="bernoulli"``)
    likelihood : {"bernoulli", "gaussian"}
        For "gaussian" the model owns ``x_log_var``, a learned log-variance per feature.
    beta : float
        Weight of the latent loss (the KL divergence to N(0, I)).
    seed : int or None
        Seed of the Sampling layer.
    noise_floor : float or sequence of float (one per feature)
        Gaussian likelihood only: the per-feature variance is ``noise_floor + exp(x_log_var)``,
        never below the floor (a constant feature would otherwise drive its log-variance
        down for ever, and its density up without bound).
    """

    def __init__(
        self, encoder, decoder, likelihood="bernoulli", beta=1.0, seed=None, noise_floor=1e-6,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if likelihood not in _config.LIKELIHOODS:
            raise ValueError(f"likelihood must be one of {_config.LIKELIHOODS}; got {likelihood!r}.")
        self.encoder = encoder
        self.decoder = decoder
        self.likelihood = likelihood
        self.beta = float(beta)
        self.seed = seed
        floor = _checked_floor(noise_floor)
        self.noise_floor = floor.tolist() if floor.ndim else float(floor)
        self.sampling = Sampling(seed=seed, name="sampling")
        self._decoder_head = decoder_logits_model(decoder)
        n_features = decoder.outputs[0].shape[-1]
        # An encoder that reads [x, missing] (see build_encoder): rows then carry both.
        self.masked = encoder.inputs[0].shape[-1] == 2 * n_features
        self.n_features = n_features
        if likelihood == "gaussian":
            self.x_log_var = self.add_weight(
                shape=(n_features,), initializer="zeros", name="x_log_var"
            )
            # A variable, not a constant, so that a compiled training step can be reused for
            # another data set with other constant features (see TrainerCache).
            log_floor = np.broadcast_to(np.log(floor), (n_features,))
            self.log_noise_floor = self.add_weight(
                shape=(n_features,),
                initializer=keras.initializers.Constant(log_floor),
                trainable=False,
                name="log_noise_floor",
            )
        self.total_tracker = keras.metrics.Mean(name="loss")
        self.reconstruction_tracker = keras.metrics.Mean(name="reconstruction")
        self.kl_tracker = keras.metrics.Mean(name="kl")

    def build(self, input_shape=None):
        # The encoder and decoder arrive built (functional models) and x_log_var is made in
        # __init__: there is no state left to create.
        self.built = True

    def call(self, x, training=False):
        mean, log_var = self.encoder(x, training=training)
        z = self.sampling([mean, log_var]) if training else mean
        return self.decoder(z, training=training)

    def reconstruction_nll(self, x, z, training=False, observed=None):
        """-log p(x | z), per row, over the ``observed`` entries (None: all)."""
        out = self._decoder_head(z, training=training)
        if self.likelihood == "bernoulli":
            return losses.bernoulli_nll(x, out, observed)
        return losses.gaussian_nll(x, out, self.noise_log_var(), observed)

    def set_noise_floor(self, noise_floor):
        """Set the Gaussian likelihood's per-feature variance floor (``noise_floor``)."""
        floor = np.broadcast_to(_checked_floor(noise_floor), (self.n_features,))
        self.noise_floor = floor.tolist()
        self.log_noise_floor.assign(np.log(floor).astype(np.float32))

    def noise_log_var(self):
        """The Gaussian likelihood's per-feature log-variance, floored at ``noise_floor``."""
        return ops.logaddexp(self.x_log_var, self.log_noise_floor)

    def loss_parts(self, x, training=False, eps=None):
        """Per-row (reconstruction NLL, latent loss) with one sampled z per row.

        ``eps`` fixes the noise (for a deterministic validation loss); otherwise the
        Sampling layer draws it. For a masked model the rows are ``[x, missing]`` and the
        reconstruction counts the observed entries only.
        """
        mean, log_var = self.encoder(x, training=training)
        if eps is None:
            z = self.sampling([mean, log_var])
        else:
            z = mean + eps * ops.exp(ops.clip(log_var, *_config.LOG_VAR_RANGE) / 2.0)
        observed = None
        if self.masked:
            x, observed = x[:, : self.n_features], 1.0 - x[:, self.n_features :]
        recon = self.reconstruction_nll(x, z, training, observed)
        return recon, losses.latent_loss(mean, log_var)

    def train_step(self, data):
        x = data[0] if isinstance(data, tuple) else data
        with tf.GradientTape() as tape:
            recon, kl = self.loss_parts(x, training=True)
            loss = ops.mean(recon + self.beta * kl)
        grads = tape.gradient(loss, self.trainable_variables)
        self.optimizer.apply(grads, self.trainable_variables)
        self.total_tracker.update_state(loss)
        self.reconstruction_tracker.update_state(ops.mean(recon))
        self.kl_tracker.update_state(ops.mean(kl))
        return {m.name: m.result() for m in self.metrics}

    @property
    def metrics(self):
        return [self.total_tracker, self.reconstruction_tracker, self.kl_tracker]

    def get_config(self):
        return {
            **super().get_config(),
            "encoder": keras.saving.serialize_keras_object(self.encoder),
            "decoder": keras.saving.serialize_keras_object(self.decoder),
            "likelihood": self.likelihood,
            "beta": self.beta,
            "seed": self.seed,
            "noise_floor": self.noise_floor,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = keras.saving.deserialize_keras_object(config["encoder"])
        config["decoder"] = keras.saving.deserialize_keras_object(config["decoder"])
        return cls(**config)


def _checked_floor(noise_floor):
    """``noise_floor`` as a float64 array, or a ValueError unless every value is > 0."""
    floor = np.asarray(noise_floor, dtype=np.float64)
    if not np.all(floor > 0):
        raise ValueError(f"noise_floor must be > 0; got {noise_floor!r}.")
    return floor


def set_linear_solution(vae, loadings, noise_variance, mean):
    """Set the VAE's weights to the linear Gaussian model ``x = W z + mean + noise``.

    ``loadings`` W is (n_features, r) with r <= n_components, ``noise_variance`` the
    per-feature variance (probabilistic PCA: all equal; factor analysis: one each). W is
    rotated so that ``W' Psi^-1 W`` is diagonal (D); the exact posterior is then
    ``N((I + D)^-1 W' Psi^-1 (x - mean), (I + D)^-1)`` with a diagonal covariance, which the
    encoder's linear path and log-variance bias represent exactly, and the decoder's linear
    path is W. The ELBO then equals the linear model's log-likelihood, and training starts
    from it. The non-linear paths' head weights are zeroed (their hidden layers keep their
    random initialisation, so they start learning at the first step); latent components
    beyond r start as unused (prior) components.
    """
    encoder, decoder = vae.encoder, vae.decoder
    n_features, rank = loadings.shape
    n_components = encoder.get_layer("z_mean").units
    scaled = loadings / noise_variance[:, None]
    strengths, rotation = np.linalg.eigh(loadings.T @ scaled)
    order = np.argsort(strengths)[::-1]
    strengths, rotation = np.maximum(strengths[order], 0.0), rotation[:, order]
    loadings = loadings @ rotation
    flip = np.sign(loadings[np.argmax(np.abs(loadings), axis=0), np.arange(rank)])
    flip[flip == 0] = 1
    loadings, rotation = loadings * flip, rotation * flip

    def head(layer, kernel_top, bias):
        kernel = np.zeros(layer.kernel.shape, np.float32)
        kernel[: kernel_top.shape[0], : kernel_top.shape[1]] = kernel_top
        layer.set_weights([kernel, bias.astype(np.float32)])

    enc = (scaled @ rotation) / (1.0 + strengths)
    head(encoder.get_layer("z_mean"), enc, np.pad(-mean @ enc, (0, n_components - rank)))
    head(
        encoder.get_layer("z_log_var"),
        np.zeros((n_features, n_components)),
        np.pad(-np.log1p(strengths), (0, n_components - rank)),
    )
    head(decoder.get_layer("x_mean"), loadings.T, mean)
    floor = np.exp(np.asarray(vae.log_noise_floor.numpy(), np.float64))
    excess = np.asarray(noise_variance, np.float64) - floor
    vae.x_log_var.assign(np.log(np.maximum(excess, 1e-3 * floor)).astype(np.float32))


def padded_length(n):
    """``n`` rounded up to a shape bucket: a multiple of 1/16 of the power of two at or
    below it (at most 6.25 % more; 6,666 and 6,667 rows both give 6,912).

    XLA compiles one executable per input shape. Without buckets the compiled trainer of an
    architecture (see :class:`TrainerCache`) was compiled again for every new row count:
    each cross-validation fold, the refit of a grid search, every partial_fit chunk. Measured
    on 6,667 and 6,666 Fashion-MNIST rows (784-256-128-10): the first epoch on the second
    row count took 2.3 s against 0.26 s for an epoch that reuses the executable.
    """
    n = int(n)
    if n <= 16:
        return max(n, 1)
    quantum = 1 << (n.bit_length() - 5)
    return -(-n // quantum) * quantum


def resident_tensor(array, dtype=np.float32, align=64, n_rows=None):
    """One float32 copy of ``array`` as a tf.Tensor, without a second transient copy, with
    zero rows appended up to ``n_rows`` (a shape bucket, see :func:`padded_length`).

    ``tf.convert_to_tensor`` of a large array costs twice its size in RSS here (measured:
    337 MB for 165 MB of data). Instead, copy into a 64-byte-aligned NumPy buffer (the
    alignment TensorFlow's kernels assume; it aborts the process on an unaligned one) and
    hand that buffer to TensorFlow through DLPack, which shares it: the data then costs its
    own size once.
    """
    array = np.asarray(array)
    n_rows = len(array) if n_rows is None else int(n_rows)
    shape = (n_rows, *array.shape[1:])
    n_bytes = int(np.prod(shape)) * np.dtype(dtype).itemsize
    if n_bytes == 0:
        return tf.zeros(shape, dtype)
    raw = np.empty(n_bytes + align, dtype=np.uint8)
    offset = (-raw.ctypes.data) % align
    buffer = raw[offset : offset + n_bytes].view(dtype).reshape(shape)
    np.copyto(buffer[: len(array)], array, casting="same_kind")
    buffer[len(array) :] = 0
    return tf.experimental.dlpack.from_dlpack(buffer.__dlpack__())


def make_optimizer(name, learning_rate):
    return OPTIMIZERS[name](learning_rate=learning_rate)


class EpochRunner:
    """Runs whole epochs of minibatch training inside one compiled ``tf.function``.

    The training rows live in one float32 tensor; each epoch takes a permutation and the
    epoch's sampling noise (both from the caller's random state) and a beta, and returns the
    mean reconstruction NLL and latent loss of the epoch. The loop stops at the first step
    whose loss is not finite, and says so. The last, partial batch is padded to full size and
    masked, so there is one shape and one compilation per fit; the order and noise are
    padded further to a shape bucket (:func:`padded_length`) of batches that the loop does
    not run, and the caller pads the data's rows (:func:`resident_tensor`), so that refits
    on a few rows more or less reuse the compiled executable.

    The noise ``eps`` of ``z = mean + eps * exp(log_var / 2)`` comes in as an input instead
    of being drawn in the graph by the :class:`Sampling` layer: XLA:CPU compiles TensorFlow's
    stateless normal sampler (threefry) to scalar integer code. Profiled on Fashion-MNIST
    (784-150-100-10, batch 128), drawing a step's 1,280 normals took 0.54 ms of a 3.4 ms
    step; NumPy draws a whole epoch's 550,000 in ~7 ms. Side by side in one process, an
    epoch took 1.06 s against 1.35 s, and its first call (tracing and compiling) 2.9 s
    against 3.8 s.
    """

    @staticmethod
    def use_jit(n_train, n_features, batch_size):
        """Whether a fit on ``n_train`` rows of ``n_features`` values in batches of
        ``batch_size`` should compile its epoch with XLA."""
        steps = -(-int(n_train) // int(batch_size))
        return (steps >= _config.JIT_MIN_STEPS
                or n_train * n_features >= _config.JIT_MIN_VALUES)

    def __init__(self, vae, optimizer, batch_size, jit_compile=True):
        self.vae = vae
        self.optimizer = optimizer
        self.batch_size = int(batch_size)
        self.variables = list(vae.trainable_variables)
        optimizer.build(self.variables)
        # Fresh function objects per runner: each runner traces its own graph (its own
        # variables), and TensorFlow would otherwise count those traces against one shared
        # method and warn about "retracing". The signatures leave the row counts open, so
        # one trace serves every data set of the same width (see TrainerCache).
        # autograph=False: the graphs hold no Python control flow on tensors (the loop is an
        # explicit tf.while_loop), and AutoGraph's source transformation of the epoch, its
        # step and the model's loss cost 1.2 s of a first fit's 3.9 s first epoch (profiled,
        # Fashion-MNIST 784-150-100-10; tracing without it 0.44 s), the same training after.
        width = vae.encoder.inputs[0].shape[-1]
        self.n_components = n_components = vae.encoder.outputs[0].shape[-1]
        rows = tf.TensorSpec((None, width), tf.float32)
        codes = tf.TensorSpec((None, n_components), tf.float32)
        self._epoch = tf.function(
            functools.partial(EpochRunner._epoch_graph, self),
            jit_compile=jit_compile,
            autograph=False,
            input_signature=[
                rows,
                tf.TensorSpec((None,), tf.int32),
                tf.TensorSpec((), tf.int32),
                tf.TensorSpec((), tf.float32),
                codes,
            ],
        )
        self._evaluate = tf.function(
            functools.partial(EpochRunner._evaluate_graph, self),
            jit_compile=jit_compile,
            autograph=False,
            input_signature=[rows, codes, tf.TensorSpec((), tf.int32)],
        )
        # The model's weights (in ``vae.weights`` order, as ``get_weights``) and the
        # optimizer's variables, read in one call: reading them one by one (~90 us each) cost
        # ~9 ms per epoch on a small table, a third of breast_cancer's 31 ms epochs.
        self._n_weights = len(vae.weights)
        state = list(vae.weights) + list(optimizer.variables)
        self._read_state = tf.function(
            functools.partial(EpochRunner._read_graph, state), autograph=False
        )

    def _epoch_graph(self, x, order, n_rows, beta, noise):
        bs = self.batch_size
        batches = tf.reshape(order, (-1, bs))
        noise = tf.reshape(noise, (tf.shape(batches)[0], bs, self.n_components))
        # The batches that hold rows; those beyond (shape-bucket padding) are never run.
        n_batches = (n_rows + bs - 1) // bs
        positions = tf.range(bs)

        def step(i, sums, finite):
            xb = tf.gather(x, batches[i])
            mask = tf.cast(i * bs + positions < n_rows, x.dtype)
            with tf.GradientTape() as tape:
                recon, kl = self.vae.loss_parts(xb, training=True, eps=noise[i])
                loss = tf.reduce_sum(mask * (recon + beta * kl)) / tf.reduce_sum(mask)
            grads = tape.gradient(loss, self.variables)
            # update_step per variable rather than optimizer.apply: apply() registers a
            # gradient function in a global TensorFlow registry each time it is traced,
            # which kept every fit's graph alive (~8 MB leaked per fit).
            lr = tf.cast(self.optimizer.learning_rate, x.dtype)
            for grad, variable in zip(grads, self.variables):
                self.optimizer.update_step(grad, variable, lr)
            self.optimizer.iterations.assign_add(1)
            parts = tf.stack([tf.reduce_sum(mask * recon), tf.reduce_sum(mask * kl)])
            return i + 1, sums + parts, tf.math.is_finite(loss)

        i, sums, finite = tf.while_loop(
            lambda i, sums, finite: tf.logical_and(i < n_batches, finite),
            step,
            (tf.constant(0), tf.zeros((2,), x.dtype), tf.constant(True)),
        )
        return sums / tf.cast(n_rows, x.dtype), finite, i

    @staticmethod
    def _read_graph(variables):
        return [tf.identity(v) for v in variables]

    def _evaluate_graph(self, x, eps, n_rows):
        recon, kl = self.vae.loss_parts(x, training=False, eps=eps)
        mask = tf.cast(tf.range(tf.shape(x)[0]) < n_rows, x.dtype)
        sums = tf.stack([tf.reduce_sum(mask * recon), tf.reduce_sum(mask * kl)])
        return sums / tf.cast(n_rows, x.dtype)

    def run_epoch(self, x, permutation, beta, noise):
        """One pass over ``x`` (a tf tensor) in ``permutation``'s order; ``noise`` (one row
        of ``n_components`` standard normals per entry of ``permutation``) is the ``eps`` of
        the sampled codes, row i of the epoch getting ``noise[i]``.

        Returns ``(reconstruction, kl, finite, steps)``.
        """
        n_rows = len(permutation)
        n_slots = padded_length(-(-n_rows // self.batch_size)) * self.batch_size
        order = np.zeros(n_slots, dtype=np.int32)
        order[:n_rows] = permutation
        eps = np.zeros((n_slots, self.n_components), dtype=np.float32)
        eps[:n_rows] = noise
        parts, finite, steps = self._epoch(
            x, tf.constant(order), tf.constant(n_rows, tf.int32), tf.constant(beta, x.dtype),
            tf.constant(eps),
        )
        parts = parts.numpy()
        return float(parts[0]), float(parts[1]), bool(finite), int(steps)

    def evaluate(self, x, eps):
        """Mean (reconstruction, kl) over the first ``len(eps)`` rows of ``x`` (which may
        carry zero rows beyond them, see :func:`resident_tensor`) with the fixed noise
        ``eps``."""
        n_rows = len(eps)
        padded = np.zeros((int(x.shape[0]), self.n_components), np.float32)
        padded[:n_rows] = eps
        parts = self._evaluate(x, tf.constant(padded), tf.constant(n_rows, tf.int32)).numpy()
        return float(parts[0]), float(parts[1])

    def optimizer_state(self):
        """The optimizer's variables (moments, step count, learning rate) as arrays."""
        return self.read_state()[1]

    def read_state(self):
        """``(weights, optimizer_state)``: the model's weights as ``vae.get_weights()`` gives
        them and :meth:`optimizer_state`, as NumPy arrays read in one call."""
        # Copies: an eager tensor's NumPy view may share the variable's buffer.
        values = [np.array(t) for t in self._read_state()]
        return values[: self._n_weights], values[self._n_weights :]

    def load_optimizer_state(self, state=None, learning_rate=None):
        """Set the optimizer's variables to ``state`` (from :meth:`optimizer_state`), or to a
        fresh state (zeros) for None; then the learning rate, if given."""
        for i, variable in enumerate(self.optimizer.variables):
            variable.assign(np.zeros(variable.shape, variable.dtype) if state is None else state[i])
        if learning_rate is not None:
            self.optimizer.learning_rate = learning_rate


class TrainerCache:
    """Compiled trainers kept for reuse across fits: tracing (and XLA compilation) of the
    epoch function costs ~0.8 s per fit here, more than a whole fit on a small table, and a
    grid search or cross-validation refits the same architecture many times.

    A trainer is a Keras VAE, its optimizer and an :class:`EpochRunner`, owned by the cache
    and keyed by everything that shapes the traced graph (architecture, input width,
    likelihood, optimizer, batch size, XLA or not). A fit borrows one, copies its own
    starting weights and optimizer state in, trains, and copies them
    back out; the trainer holds nothing else between fits, so a reused trainer gives
    bitwise the same fit as a fresh one (tested). At most ``max_size`` idle trainers are
    kept (least recently used first out); concurrent fits of one key get separate trainers.
    """

    def __init__(self, max_size=_config.TRAINER_CACHE_SIZE):
        import collections
        import threading

        self.max_size = max_size
        self._idle = collections.OrderedDict()  # key -> list of idle trainers
        self._lock = threading.Lock()

    def acquire(self, key, make):
        with self._lock:
            idle = self._idle.get(key)
            if idle:
                trainer = idle.pop()
                if not idle:
                    del self._idle[key]
                return trainer
        return make()

    def release(self, key, trainer):
        with self._lock:
            self._idle.setdefault(key, []).append(trainer)
            self._idle.move_to_end(key)
            while sum(len(v) for v in self._idle.values()) > self.max_size:
                oldest = next(iter(self._idle))
                self._idle[oldest].pop(0)
                if not self._idle[oldest]:
                    del self._idle[oldest]

    def clear(self):
        with self._lock:
            self._idle.clear()


TRAINERS = TrainerCache()


class Trainer:
    """A VAE with its optimizer and compiled :class:`EpochRunner`, loaded with a fit's state
    (see :class:`TrainerCache`)."""

    def __init__(self, vae, optimizer_name, batch_size, jit_compile):
        self.vae = vae
        self.optimizer = make_optimizer(optimizer_name, 1e-3)
        self.runner = EpochRunner(vae, self.optimizer, batch_size, jit_compile=jit_compile)

    def load(self, vae, optimizer_state, learning_rate):
        """Copy ``vae``'s weights in; the optimizer gets ``optimizer_state`` (a list of
        arrays from :meth:`optimizer_state`) or a fresh state, and ``learning_rate``. (The
        sampling noise comes from the fit's random state, see :class:`EpochRunner`.)"""
        self.vae.set_weights(vae.get_weights())
        self.runner.load_optimizer_state(optimizer_state, learning_rate)

    def store(self, vae):
        """Copy the trained weights back into ``vae``."""
        vae.set_weights(self.vae.get_weights())

    def optimizer_state(self):
        return self.runner.optimizer_state()
