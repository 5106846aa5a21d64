"""Small helpers the entries share."""

from __future__ import annotations

#: Python 2's ``str(float)`` (and ``print``) shows 12 significant digits.
PY2_STR = ".12g"
PY2_WHY = "the source printed the number with Python 2's str(), 12 significant digits"
