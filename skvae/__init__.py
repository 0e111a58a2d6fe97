"""skvae: variational autoencoders that behave like scikit-learn estimators.

>>> from skvae import VAETransformer, VAEImputer, VAEOutlierDetector
"""

from skvae._imputer import VAEImputer
from skvae._outlier import VAEOutlierDetector
from skvae._transformer import VAETransformer

__version__ = "0.2.0"
__all__ = ["VAEImputer", "VAEOutlierDetector", "VAETransformer", "__version__"]
