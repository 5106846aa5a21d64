"""Argument checks that several nn modules share."""

from __future__ import annotations

from typing import Any

import numpy as np


def is_whole(n: Any, minimum: int) -> bool:
    """True if ``n`` is an int or a NumPy integer (a bool is not) and at least ``minimum``."""
    return not isinstance(n, bool) and isinstance(n, (int, np.integer)) and n >= minimum
