"""skvae._tf: TensorFlow is imported quietly."""

import subprocess
import sys
import textwrap

import pytest


@pytest.mark.slow
def test_a_fresh_process_fitting_quietly_prints_nothing():
    """TensorFlow's start-up lines (oneDNN, CUDA stub, CPU features) must not leak out."""
    code = textwrap.dedent(
        """
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        warnings.simplefilter("ignore", ConvergenceWarning)
        import numpy as np
        from skvae import VAETransformer
        X = np.random.RandomState(0).uniform(size=(50, 4))
        VAETransformer(hidden_layer_sizes=(8,), max_iter=2).fit(X).transform(X)
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "" and done.stderr == ""
