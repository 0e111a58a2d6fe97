"""The training engine: whole epochs in one compiled ``tf.function`` over resident data,
the cache of compiled trainers, and :func:`fit_network`, which runs the schedule of
:mod:`skvae._training` on them.

A whole epoch runs inside one (XLA-compiled, for large fits) ``tf.function`` over data that
stays resident as a tensor, so Python is entered once per epoch rather than once per batch.
Nothing here knows about scikit-learn.
"""

import functools

import numpy as np

from skvae import _config, _training
from skvae._tf import import_keras

keras = import_keras()
import tensorflow as tf  # noqa: E402  (after import_keras, which imports it quietly)

OPTIMIZERS = {
    "adam": keras.optimizers.Adam,
    "nadam": keras.optimizers.Nadam,
    "rmsprop": keras.optimizers.RMSprop,
    "sgd": keras.optimizers.SGD,
}

def padded_length(n):
    """``n`` rounded up to a shape bucket: a multiple of 1/16 of the power of two at or
    below it (at most 6.25 % more; 6,666 and 6,667 rows both give 6,912).

    XLA compiles one executable per input shape. Without buckets the compiled trainer of an
    architecture (see :class:`TrainerCache`) was compiled again for every new row count:
    each cross-validation fold, the refit of a grid search, every partial_fit chunk (the
    cost: "Shape buckets" in the changelog, 0.2.0).
    """
    n = int(n)
    if n <= 16:
        return max(n, 1)
    quantum = 1 << (n.bit_length() - 5)
    return -(-n // quantum) * quantum


def resident_tensor(array, dtype=np.float32, align=64, n_rows=None):
    """One float32 copy of ``array`` as a tf.Tensor, without a second transient copy, with
    zero rows appended up to ``n_rows`` (a shape bucket, see :func:`padded_length`).

    ``tf.convert_to_tensor`` of a large array costs twice its size in RSS (see the "Tuning
    constants" page, "The training engine"). Instead, copy into a 64-byte-aligned NumPy
    buffer (the alignment TensorFlow's kernels assume; it aborts the process on an unaligned
    one) and hand that buffer to TensorFlow through DLPack, which shares it: the data then
    costs its own size once.
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
    stateless normal sampler (threefry) to scalar integer code, a large share of each step,
    while NumPy draws a whole epoch's noise in milliseconds (the profile: "Noise drawn by
    NumPy" in the changelog, 0.2.0, and the "Tuning constants" page, "The training engine").
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
        # step and the model's loss was a large part of a first fit's first epoch, and the
        # training is the same without it ("No AutoGraph" in the changelog, 0.2.0).
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
        # optimizer's variables, read in one call: one eager call per variable was a third of
        # a small table's epoch (see the "Tuning constants" page, "The training engine").
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
            # which kept every fit's graph alive (a leak per fit; see the "Tuning constants"
            # page, "The training engine").
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
    epoch function costs more than a whole fit on a small table (see TRAINER_CACHE_SIZE on
    the "Tuning constants" page), and a grid search or cross-validation refits the same
    architecture many times.

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


def fit_network(vae, x_model, train_rows, val_rows, rng, *, arch_key, build, optimizer,
                learning_rate,
                optimizer_state, batch_size, n_components, val_seed, max_epochs, **schedule):
    """Train ``vae`` on the rows ``train_rows`` of ``x_model`` (all rows when None), judged on
    ``val_rows`` (or none), with the schedule of :func:`skvae._training.train` (``schedule``:
    its keyword arguments); ``arch_key`` names the network's architecture. Returns ``(result, optimizer_state, jit)``.

    One float32 copy of the data stays resident for the whole fit and the split indexes into
    it. Row counts are padded to shape buckets, and the compiled trainer is borrowed from
    :data:`TRAINERS`, keyed by what shapes its graph (``build()`` makes a new one), so refits
    of one architecture (grid search, cross-validation) compile once.
    """
    x = resident_tensor(x_model, n_rows=padded_length(len(x_model)))
    if train_rows is None:
        train_rows = np.arange(len(x_model))
    jit = EpochRunner.use_jit(len(train_rows), x_model.shape[1], batch_size)
    x_val = val_eps = None
    if val_rows is not None:
        x_val = resident_tensor(x_model[val_rows], n_rows=padded_length(len(val_rows)))
        val_eps = np.random.RandomState(val_seed).standard_normal(
            (len(val_rows), n_components)
        ).astype(np.float32)
    key = (arch_key, x_model.shape[1], optimizer, batch_size, jit)
    trainer = TRAINERS.acquire(key, lambda: Trainer(build(), optimizer, batch_size, jit))
    try:
        trainer.load(vae, optimizer_state, learning_rate)
        trainer.vae.beta = float(schedule["beta"])
        result = _training.train(
            trainer.runner, x, rng, rows=train_rows, max_epochs=max_epochs, x_val=x_val,
            val_eps=val_eps, learning_rate=learning_rate, **schedule,
        )
        trainer.store(vae)
        optimizer_state = trainer.optimizer_state()
    finally:
        TRAINERS.release(key, trainer)
    return result, optimizer_state, jit
