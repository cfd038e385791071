"""Python 3 meanings of the names 2.3's tests import from ``stompest._backwards``.

stompest 2.3 ran on Python 2.7 and 3.3+, and its tests took four names from a private
2/3 shim module. That module is library code of 2.3, not part of its tests, so the harness
does not extract it; :data:`REWRITES` in ``run.py`` points those imports here instead.
Every name is what 2.3 meant on Python 3, written out for this harness.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

binaryType = bytes
textType = str
characterType = chr


def makeBytesFromSequence(sequence: Iterable[int]) -> bytes:
    """``bytes`` made of a sequence of byte values."""
    return bytes(sequence)


def nextMethod(iterator: Iterator[Any]) -> Callable[[], Any]:
    """The bound ``__next__`` of ``iterator``."""
    return iterator.__next__
