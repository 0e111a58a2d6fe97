"""Kept so that pickles written by skvae 0.2.0 load: they name ``skvae._forward.Standardizer``.

NumPy inference now lives in :mod:`skvae._runtime` (Dense stacks), :mod:`skvae._likelihoods`
and :mod:`skvae._scoring`; the standardization in :mod:`skvae._standardize`.
"""

from skvae._standardize import Standardizer

__all__ = ["Standardizer"]
