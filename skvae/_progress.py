"""The one place the library writes progress (``verbose >= 1``): a line on stdout."""

import sys


def progress(line):
    """Write ``line`` on stdout at once (a long fit's progress must show while it runs)."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
