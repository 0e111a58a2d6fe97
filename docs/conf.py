"""Sphinx configuration of skvae's documentation.

Build with ``make docs`` (``sphinx-build -W --keep-going -b html docs docs/_build/html``):
every warning is an error, so a docstring numpydoc cannot parse, a broken cross-reference
or a gallery script that raises fails the build. Nothing is fetched from the network:
no intersphinx, MathJax is served from the build's own ``_static`` folder
(``sphinx-mathjax-offline``), and the theme ships its fonts and icons.
"""

import os
import sys
import warnings
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))  # the checkout's skvae, also without an editable install
sys.path.insert(0, str(HERE / "_ext"))  # skvae_docs: helpers of this build

# Headless, quiet, reproducible example runs.
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import skvae  # noqa: E402

# sphinx-gallery resolves the names a script imports (for the "Gallery examples using ..." links)
# also without running it (``-D plot_gallery=0``): IterativeImputer must then be importable.
import sklearn.experimental.enable_iterative_imputer  # noqa: E402, F401

project = "skvae"
author = "skvae developers"
copyright = "2026, skvae developers"
version = release = skvae.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "sphinx-mathjax-offline",  # MathJax 3 copied into _static: maths renders offline
    "myst_parser",  # reads the benchmarks' Markdown results files that the pages include
    "skvae_docs",  # docs/_ext: docstring checks, the defaults table
]

templates_path = ["_templates"]
exclude_patterns = ["_build"]
source_suffix = {".rst": "restructuredtext"}  # the .md files are only ever included
root_doc = "index"
language = "en"

# ---------------------------------------------------------------- benchmark results
# Each benchmark writes its table to benchmarks/results/<name>.md, and the pages include
# those files (``.. include:: ../benchmarks/results/fit.md`` with
# ``:parser: myst_parser.sphinx_``) rather than typing their figures. A results file's
# headings are ``###``, relative to the section that includes it: MyST's warning that a
# document's headings do not start at H1 does not apply to an included fragment.
suppress_warnings = ["myst.header"]

# ---------------------------------------------------------------- cross-references
# Every reference to skvae must resolve (nitpicky): a typo in a :func: or :class: fails the
# build. Names of other libraries are not linked (no intersphinx: the build is offline), so
# they are exempted by pattern.
nitpicky = True
_EXTERNAL = (
    r"(sklearn|keras|tf|tensorflow|numpy|np|scipy|pandas|pd|matplotlib|dask|joblib|"
    r"distributed|pathlib|os)(\..*)?"
)
nitpick_ignore_regex = [
    (r"py:.*", _EXTERNAL),
    # numpydoc type words ("array-like of shape (n, d)", "int, default=2", ...).
    (r"py:.*", r"(array-like|ndarray|callable|path-like|iterable|sequence|Bunch|"
               r"Figure|Axes|SubFigure|Colormap|RandomState|RandomState instance|"
               r"Generator|dict of lists|list of float|Pipeline)"),
]

# ---------------------------------------------------------------- autodoc / numpydoc
autosummary_generate = True
autosummary_imported_members = False
autodoc_typehints = "none"  # the signatures (made by vae_init) carry the defaults
autoclass_content = "class"
add_module_names = False

numpydoc_show_class_members = False  # the class template lists methods itself
numpydoc_show_inherited_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# ---------------------------------------------------------------- HTML
html_theme = "pydata_sphinx_theme"
html_title = f"skvae {release}"
html_static_path = ["_static"]
html_css_files = ["skvae.css"]
html_show_sourcelink = False
html_last_updated_fmt = None
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "show_prev_next": True,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "install": []}
html_context = {"default_mode": "light"}

# ---------------------------------------------------------------- gallery
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r".*\.py$",  # run every script, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "abort_on_example_error": True,
    "only_warn_on_example_error": False,
    "within_subsection_order": "FileNameSortKey",
    "doc_module": ("skvae",),
    "reference_url": {"skvae": None},
    "backreferences_dir": "generated/backreferences",
    "inspect_global_variables": False,
    "remove_config_comments": True,
    "download_all_examples": False,
    "show_memory": False,
    "show_signature": False,
    "reset_modules": ("matplotlib", "skvae_docs.reset_keras"),
    "image_scrapers": ("matplotlib",),
    "matplotlib_animations": False,
    "capture_repr": (),  # show what the scripts print, not the repr of a last expression
    "write_computation_times": False,  # its page loads DataTables from a CDN
    "min_reported_time": 0,
}

# Messages of the libraries the examples import, printed while Sphinx runs them.
warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"(tensorflow|keras).*")
warnings.filterwarnings(
    "ignore", message="Matplotlib is currently using agg", category=UserWarning
)
