"""Import Keras quietly and size TensorFlow's thread pools once per process.

Everything in skvae that needs Keras imports it through :func:`import_keras`, so that
``import skvae`` stays fast (TensorFlow takes seconds to import) and the library adds no
start-up log noise of its own: TensorFlow's C++ start-up lines (oneDNN, CUDA stub, CPU
feature notes) are written before any logging setting is read, so the first import runs with
the process's stderr captured, and only lines that are not such INFO notes are written back.

Threads: TensorFlow sizes its pools from the number of cores, which oversubscribes a small
machine when several worker processes (joblib, Dask) each start TensorFlow. The first import
reads ``SKVAE_NUM_THREADS`` and, failing that, ``OMP_NUM_THREADS`` (which joblib's process
workers and Dask's nannies set for their workers) and uses it for TensorFlow's intra-op pool.
"""

import os
import re
import sys
import tempfile
import threading

_THREAD_ENV_VARS = ("SKVAE_NUM_THREADS", "OMP_NUM_THREADS")
_NOISE = re.compile(
    r"^(I\d{4} |E\d{4} .*failed call to cuInit|WARNING: All log messages before absl::InitializeLog|"
    r"To enable the following instructions|This TensorFlow binary is optimized)"
)
_lock = threading.Lock()


def configured_threads():
    """Threads for TensorFlow's intra-op pool from the environment, or None."""
    for name in _THREAD_ENV_VARS:
        value = os.environ.get(name, "").strip()
        if value.isdigit() and int(value) > 0:
            return int(value)
    return None


def _set_threads(tf):
    n_threads = configured_threads()
    if n_threads is None:
        return
    try:
        tf.config.threading.set_intra_op_parallelism_threads(n_threads)
        tf.config.threading.set_inter_op_parallelism_threads(min(2, n_threads))
    except RuntimeError:  # the runtime had already started
        pass


def _import_quietly():
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # stderr replaced (IDE, pytest capture)
        fd = 2
    sys.stderr.flush()
    saved = os.dup(fd)
    with tempfile.TemporaryFile(mode="w+b") as sink:
        os.dup2(sink.fileno(), fd)
        try:
            import keras  # noqa: F401
            import tensorflow as tf

            _set_threads(tf)
            # Device set-up logs (e.g. a failed cuInit on a machine without a GPU) come
            # with the first op, not at import: run one here, inside the capture.
            tf.zeros(())
        finally:
            os.dup2(saved, fd)
            os.close(saved)
            sink.seek(0)
            text = sink.read().decode("utf-8", "replace")
            kept = [line for line in text.splitlines() if not _NOISE.match(line)]
            if kept:
                sys.stderr.write("\n".join(kept) + "\n")


def import_keras():
    """Return the ``keras`` module (TensorFlow backend), importing it quietly once."""
    if "tensorflow" not in sys.modules:
        with _lock:
            if "tensorflow" not in sys.modules:
                os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
                _import_quietly()
    import keras

    return keras
