"""The NumPy runtime of fitted VAEs: Dense stacks run in fixed row blocks, on a thread pool.

Keras' per-call overhead (``model.predict``, even an eager ``model(x)``) is most of the cost
of transforming one row. A fitted VAE is a stack of Dense layers, so inference is
a few matrix products: this module runs them in NumPy from weights read off the Keras layers
(:meth:`DenseStack.from_keras`), in the input's float dtype.

Batch invariance, and what is guaranteed. BLAS picks its kernel from the CPU and the matrix
shapes, and a row's result can change in its last bits with the shape of the call and with the
row's position inside it. Every product of a stack is done in blocks of exactly its ``block``
rows (the last block zero-padded), so every row meets the same call shape: ``BLOCK`` (64) rows
for decoders, ``ENCODER_BLOCK`` (16) for encoders (see there why they differ). What that buys
depends on the kernel (rows never depend on the *values* of the other rows): some kernels
treat every position in a block alike, and there a row's output is bitwise the same whatever
batch or order it comes in; others (OpenBLAS' ``Haswell`` sgemm) round some positions of a
block differently, and float32 results then move by an ulp or so with the batch. Which
kernels do which is on the documentation's "Performance" page.

Making every kernel bitwise invariant was tried and rejected as several times slower (see the
"Tuning constants" page, "NumPy inference"). The guarantee is therefore:

* the same rows in the same batch give bitwise the same results (always), and
* a row in another batch or order gives the same result up to floating-point rounding: each
  product is within Higham's bound ``|fl(x @ w) - x @ w| <= gamma_K * (|x| @ |w|)``,
  ``gamma_K = K u / (1 - K u)``, so two batchings differ by at most twice that per layer.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from skvae._config import BLOCK

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


# exp(h) - 1 rather than expm1(h) in selu and elu, and log(1 + t) rather than log1p(t) in the
# Bernoulli likelihood: NumPy has SIMD float32 exp and log for AVX2, but its expm1 and log1p
# are vectorised only with AVX-512 (SVML), several times slower elsewhere. The cost is an
# absolute rounding of about float32's eps where the exact value is near 0 (timings and
# error: the "Tuning constants" page, "NumPy inference").
def _elu(h, alpha=None):
    """elu in place of h (a fresh pre-activation): max(h, 0) + alpha (exp(min(h, 0)) - 1).
    One of the two terms is exactly 0 at every entry, so the values are bitwise those of
    ``where(h > 0, h, alpha * (exp(h) - 1))``, in two temporaries fewer."""
    negative = np.minimum(h, 0)
    np.exp(negative, out=negative)
    negative -= 1  # exp(h) - 1, not expm1 (see above)
    if alpha is not None:
        negative *= alpha
    np.maximum(h, 0, out=h)
    h += negative
    return h


def _selu(h):
    # scale * elu(h, alpha), in Keras' order of the products
    h = _elu(h, _SELU_ALPHA)
    h *= _SELU_SCALE
    return h


def _softplus(h):
    return np.logaddexp(h, 0).astype(h.dtype, copy=False)


def _sigmoid(h, out=None):
    # 0.5 * (1 + tanh(h / 2)): exact sigmoid, no overflow, and NumPy's SIMD tanh is
    # several times faster than scipy's expit.
    # out=h computes in place (DenseStack's pre-activations are fresh arrays): no second
    # array of the output's size.
    out = np.multiply(h, 0.5, out=out, dtype=h.dtype)
    np.tanh(out, out=out)
    out += 1
    out *= 0.5
    return out


def _swish(h):
    return h * _sigmoid(h)


ACTIVATIONS = {
    "linear": lambda h: h,
    "relu": lambda h: np.maximum(h, 0, out=h),
    "selu": _selu,
    "elu": _elu,
    "tanh": np.tanh,
    "sigmoid": lambda h: _sigmoid(h, out=h),
    "softplus": _softplus,
    "swish": _swish,
    "silu": _swish,
}


class RowThreads:
    """Runs row-wise work on a few threads, each with one BLAS thread.

    OpenBLAS splits every block's product over its own threads, which costs more than it
    saves on products this small (see the "Tuning constants" page, "NumPy inference"). Here
    OpenBLAS runs single-threaded during an inference call (threadpoolctl; the original
    limit is restored when the last concurrent call ends), and the rows are split instead:
    into chunks of whole blocks of the stack's rows, so every block meets the same products
    as in a serial pass and the results are bitwise the same whatever the number of threads.
    The thread count is the BLAS thread count found at the call (so
    ``threadpoolctl.threadpool_limits(1)``, or joblib's limits inside its workers, make
    inference serial too).
    """

    #: Fewer rows than this run on the calling thread (1-row latency has no thread hops),
    #: still with one BLAS thread: OpenBLAS' two-thread sgemm rounds differently from its
    #: one-thread sgemm even on SkylakeX, so a row alone would no longer match the same row
    #: in a large batch bitwise; that costs one row a little latency ("Threads" in the
    #: changelog, 0.2.0).
    MIN_ROWS = 1024

    def __init__(self):
        self._reset()
        # A child made by fork() has the pool object but not its threads: start afresh there.
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(after_in_child=self._reset)

    def _reset(self):
        self._lock = threading.Lock()
        self._local = threading.local()
        self._depth = 0
        self._limiter = None
        self._n_threads = 1
        self._blas = None
        self._pool = None
        self._pool_size = 0

    @contextlib.contextmanager
    def single_blas(self):
        """Context with OpenBLAS (any BLAS threadpoolctl finds) at one thread; yields the
        number of threads the caller may use instead (1 on a worker thread)."""
        if getattr(self._local, "inside", False):  # a worker: the caller holds the limit
            yield 1
            return
        with self._lock:
            if self._depth == 0:
                if self._blas is None:
                    import threadpoolctl

                    self._blas = threadpoolctl.ThreadpoolController().select(user_api="blas")
                counts = [lib.num_threads for lib in self._blas.lib_controllers]
                self._n_threads = max(counts + [1])
                self._limiter = self._blas.limit(limits=1) if counts else None
            self._depth += 1
            n_threads = self._n_threads
        try:
            yield n_threads
        finally:
            with self._lock:
                self._depth -= 1
                if self._depth == 0 and self._limiter is not None:
                    self._limiter.restore_original_limits()
                    self._limiter = None

    def map(self, fn, chunks):
        """``[fn(chunk) for chunk in chunks]``, on up to the BLAS thread count of threads."""
        chunks = list(chunks)
        with self.single_blas() as n_threads:
            if n_threads <= 1 or len(chunks) <= 1:
                return [fn(chunk) for chunk in chunks]
            return list(self._executor(n_threads).map(self._on_worker(fn), chunks))

    def rows(self, n_rows, n_threads, block=BLOCK):
        """Slices that cover ``n_rows`` rows in whole ``block``-row blocks, one per thread (or
        one slice below ``MIN_ROWS``)."""
        if n_rows < self.MIN_ROWS or n_threads <= 1:
            return [slice(0, n_rows)]
        blocks = -(-n_rows // block)
        per = -(-blocks // n_threads) * block
        return [slice(s, min(s + per, n_rows)) for s in range(0, n_rows, per)]

    def _on_worker(self, fn):
        def run(chunk):
            self._local.inside = True
            try:
                return fn(chunk)
            finally:
                self._local.inside = False

        return run

    def _executor(self, n_threads):
        with self._lock:
            n_threads = min(n_threads, os.cpu_count() or 1, 32)
            if self._pool is None or self._pool_size < n_threads:
                if self._pool is not None:
                    self._pool.shutdown(wait=False)
                self._pool = ThreadPoolExecutor(n_threads, thread_name_prefix="skvae-inference")
                self._pool_size = n_threads
            return self._pool


THREADS = RowThreads()


def blocked_matmul(x, w, out=None, block=BLOCK):
    """``x @ w`` computed in blocks of ``block`` rows (see the module docstring), written into
    ``out`` (a C-contiguous array of the result's shape) when given.

    Full blocks are a reshaped view of ``x`` (no copy); only the last, partial block is
    copied into a zero-padded block.
    """
    n, n_full = x.shape[0], x.shape[0] - x.shape[0] % block
    if out is None:
        out = np.empty((n, w.shape[1]), dtype=np.result_type(x, w))
    elif not out.flags.c_contiguous:  # its reshape below would be a copy, the result lost
        raise ValueError("blocked_matmul writes into C-contiguous arrays only.")
    if n_full:
        full = np.ascontiguousarray(x[:n_full]).reshape(n_full // block, block, -1)
        # Written in place: no temporary of the output's size (a view of out's full rows).
        np.matmul(full, w, out=out[:n_full].reshape(n_full // block, block, -1))
    if n_full < n:
        last = np.zeros((1, block, x.shape[1]), dtype=x.dtype)
        last[0, : n - n_full] = x[n_full:]
        out[n_full:] = np.matmul(last, w)[0, : n - n_full]
    return out


class DenseStack:
    """A chain of Dense layers as NumPy arrays: ``[(kernel, bias, activation name), ...]``.

    ``heads`` is the number of final layers that all read the last hidden output (2 for the
    encoder's mean and log-variance, 1 for the decoder); with ``skip`` they read the input
    beside it, ``concat([x, h])`` (the builders' linear path). ``block``: the rows of every
    product (:data:`BLOCK`, or :data:`ENCODER_BLOCK` for encoders).
    """

    def __init__(self, layers, heads=1, skip=False, clip=None, block=BLOCK):
        for _, _, activation in layers:
            if activation not in ACTIVATIONS:
                raise ValueError(f"No NumPy forward pass for activation {activation!r}.")
        self.layers = layers
        self.heads = heads
        self.skip = skip
        self.clip = clip
        self.block = block
        self._cache = {}

    @classmethod
    def from_keras(cls, model, block=BLOCK):
        """Read the Dense layers (and a trailing Activation) of a functional Keras model.

        Hidden layers must form a chain; the last ``len(model.outputs)`` Dense layers are the
        heads, each reading the last hidden output, or ``concat([input, last hidden])`` where
        a Concatenate layer stands before them.
        """
        layers, skip, clip = [], False, None
        for layer in model.layers:
            kind = type(layer).__name__
            if kind == "InputLayer":
                continue
            if kind == "Clip" and not layers:
                clip = layer.limit
                continue
            if kind == "Concatenate":
                skip = True
                continue
            if kind == "Dense":
                kernel, bias = (np.asarray(w) for w in layer.get_weights())
                layers.append([kernel, bias, _activation_name(layer.activation)])
            elif kind == "Activation" and layers and layers[-1][2] == "linear":
                layers[-1][2] = _activation_name(layer.activation)
            else:
                raise ValueError(f"No NumPy forward pass for layer {layer.name!r} ({kind}).")
        return cls(
            [tuple(layer) for layer in layers], heads=len(model.outputs), skip=skip, clip=clip,
            block=block,
        )

    def logits(self):
        """The same stack with its last activation removed (shares the arrays)."""
        *body, (kernel, bias, _) = self.layers
        return DenseStack(
            [*body, (kernel, bias, "linear")], heads=self.heads, skip=self.skip, clip=self.clip,
            block=self.block,
        )

    def _weights(self, dtype):
        dtype = np.dtype(dtype)
        if dtype not in self._cache:
            self._cache[dtype] = [
                (k.astype(dtype), b.astype(dtype), ACTIVATIONS[a]) for k, b, a in self.layers
            ]
        return self._cache[dtype]

    def __call__(self, x):
        """Forward pass in ``x``'s float dtype; a list of ``heads`` arrays (rows split over
        :data:`THREADS`)."""
        weights = self._weights(x.dtype)
        with THREADS.single_blas() as n_threads:
            chunks = THREADS.rows(x.shape[0], n_threads, self.block)
            if len(chunks) == 1:
                return self._forward(x, weights)
            outputs = [
                np.empty((x.shape[0], kernel.shape[1]), dtype=x.dtype)
                for kernel, _, _ in weights[-self.heads :]
            ]

            # Each thread writes its rows of the outputs in place (contiguous row slices):
            # no per-thread result to copy over (a 10,000 x 784 output is 31 MB).
            THREADS.map(
                lambda rows: self._forward(x[rows], weights, [out[rows] for out in outputs]),
                chunks,
            )
        return outputs

    def _forward(self, x, weights, outputs=None):
        """The layers on ``x``; the heads are written into ``outputs`` (arrays of their
        shape) when given, else into new arrays."""
        body, heads = weights[: -self.heads], weights[-self.heads :]
        h = x
        if self.clip is not None and body and _outside(x, self.clip):
            h = np.clip(x, -self.clip, self.clip)
        for kernel, bias, activation in body:
            h = blocked_matmul(h, kernel, block=self.block)
            h += bias
            h = activation(h)
        if self.skip and body:
            h = np.concatenate([x, h], axis=1)
        results = []
        for i, (kernel, bias, activation) in enumerate(heads):
            out = blocked_matmul(
                h, kernel, None if outputs is None else outputs[i], block=self.block
            )
            out += bias
            result = activation(out)
            if outputs is not None and result is not out:  # an activation that is not in place
                out[...] = result
                result = out
            results.append(result)
        return results

    def __getstate__(self):
        return {"layers": self.layers, "heads": self.heads, "skip": self.skip,
                "clip": self.clip, "block": self.block}

    def __setstate__(self, state):
        self.__init__(
            state["layers"], state["heads"], state.get("skip", False), state.get("clip"),
            state.get("block", BLOCK),
        )


def _outside(x, limit):
    """Whether some value of ``x`` lies outside ``[-limit, limit]`` (or is NaN). Two reading
    passes cost less than half of ``np.clip``'s copy, and rows inside the limit, nearly all
    of them, then skip that copy: the clip is the identity on them."""
    return not (x.size == 0 or (x.min() >= -limit and x.max() <= limit))


def _activation_name(fn):
    name = getattr(fn, "__name__", str(fn))
    return "linear" if name in ("linear", "identity") else name
