"""Sphinx helpers of skvae's documentation build (a local extension, loaded by conf.py).

* Docstring checks, reported as Sphinx warnings so that ``-W`` fails the build on them:
  numpydoc's own complaints about a docstring (an unknown section, say), which numpydoc
  only prints as Python warnings, and a ``default=...`` in a Parameters entry that differs
  from the default in the signature.
* scikit-learn's inherited docstrings (``set_output``, ``get_metadata_routing``) link to
  labels of scikit-learn's own site; without intersphinx (the build is offline) those
  ``:ref:`` roles are shown as plain text instead of failing as broken references.
* ``.. skvae-defaults::`` renders the estimators' parameters and defaults from their
  signatures, so the user guide's table cannot drift from the code (``—``: the estimator
  has no such parameter).
* ``reset_keras``: run before each gallery example (see ``sphinx_gallery_conf``).
"""

import inspect
import re
import sys
import warnings

from docutils import nodes
from docutils.parsers.rst import Directive
from sphinx.util import logging

logger = logging.getLogger(__name__)

_REF_WITH_TEXT = re.compile(r":ref:`([^`<]+?)\s*<[^`>]+>`")
_REF_BARE = re.compile(r":ref:`([^`]+)`")
_DEFAULT = re.compile(r"default\s*=\s*(.+)$")


def reset_keras(gallery_conf, fname, when):
    """Before each gallery example: close the previous one's figures and Keras graphs."""
    import matplotlib.pyplot as plt

    plt.close("all")
    if "keras" in sys.modules:
        sys.modules["keras"].backend.clear_session()


def _is_skvae(obj):
    return (getattr(obj, "__module__", None) or "").split(".")[0] == "skvae"


def _location(app, name):
    docname = getattr(app.env, "docname", None)
    return f"{docname}: {name}" if docname else name


_checked = set()


def check_docstring(app, what, name, obj, options, lines):
    """Report numpydoc's parse problems and default mismatches of skvae's docstrings
    (once per object: autosummary tables and the object's own page both read it)."""
    if not lines or not _is_skvae(obj) or what not in ("class", "function", "method"):
        return
    if name in _checked:
        return
    _checked.add(name)
    from numpydoc.docscrape import NumpyDocString

    text = "\n".join(lines)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            doc = NumpyDocString(text)
        except Exception as exc:  # numpydoc raises ValueError on some malformed sections
            logger.warning(
                f"numpydoc cannot parse the docstring of {name}: {exc}",
                type="numpydoc", location=_location(app, name),
            )
            return
    for warning in caught:
        logger.warning(
            f"numpydoc: {warning.message}", type="numpydoc", location=_location(app, name)
        )
    _check_defaults(app, what, name, obj, doc)


def _check_defaults(app, what, name, obj, doc):
    target = obj.__init__ if what == "class" else obj
    try:
        signature = inspect.signature(target)
    except (TypeError, ValueError):
        return
    for param in doc["Parameters"]:
        match = _DEFAULT.search(param.type)
        if not match:
            continue
        for pname in (p.strip() for p in param.name.split(",")):
            sig = signature.parameters.get(pname)
            if sig is None or sig.default is inspect.Parameter.empty:
                continue
            documented = match.group(1).strip()
            if documented != repr(sig.default) and documented != str(sig.default):
                if _same_value(documented, sig.default):
                    continue
                logger.warning(
                    f"the docstring of {name} says {pname} has default={documented}, but "
                    f"its signature's default is {sig.default!r}",
                    type="skvae", subtype="defaults", location=_location(app, name),
                )


def _same_value(text, value):
    try:
        import ast

        return ast.literal_eval(text) == value and type(ast.literal_eval(text)) is type(value)
    except (ValueError, SyntaxError):
        return False


def plain_external_refs(app, what, name, obj, options, lines):
    """Show the ``:ref:`` roles of other libraries' docstrings as text (no intersphinx)."""
    if _is_skvae(obj) or not any(":ref:`" in line for line in lines):
        return
    for i, line in enumerate(lines):
        line = _REF_WITH_TEXT.sub(r"\1", line)
        lines[i] = _REF_BARE.sub(r"``\1``", line)


class DefaultsTable(Directive):
    """``.. skvae-defaults::`` a table of every estimator parameter and its default."""

    has_content = False

    def run(self):
        from skvae import VAEImputer, VAEOutlierDetector, VAETransformer

        estimators = (VAETransformer, VAEImputer, VAEOutlierDetector)
        signatures = [inspect.signature(est) for est in estimators]
        names = []
        for signature in signatures:
            names += [n for n in signature.parameters if n not in names]

        table = nodes.table(classes=["skvae-defaults"])
        group = nodes.tgroup(cols=len(estimators) + 1)
        table += group
        for width in (28, 24, 24, 24):
            group += nodes.colspec(colwidth=width)
        head = nodes.thead()
        group += head
        head += self._row(["parameter", *(est.__name__ for est in estimators)], literal=())
        body = nodes.tbody()
        group += body
        for pname in names:
            cells = [pname]
            for signature in signatures:
                param = signature.parameters.get(pname)
                cells.append("—" if param is None else repr(param.default))
            body += self._row(cells, literal=range(len(estimators) + 1))
        return [table]

    @staticmethod
    def _row(cells, literal):
        row = nodes.row()
        for i, text in enumerate(cells):
            entry = nodes.entry()
            para = nodes.paragraph()
            para += nodes.literal(text=text) if i in literal and text != "—" else nodes.Text(text)
            entry += para
            row += entry
        return row


def setup(app):
    # Before numpydoc (priority 500) rewrites the docstring.
    app.connect("autodoc-process-docstring", check_docstring, priority=400)
    app.connect("autodoc-process-docstring", plain_external_refs, priority=400)
    app.add_directive("skvae-defaults", DefaultsTable)
    # numpydoc's own copy of what check_docstring reports (as a Sphinx warning, with -W).
    warnings.filterwarnings("ignore", category=UserWarning, module=r"numpydoc\.docscrape")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
