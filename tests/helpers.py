"""Helpers shared by the test suites."""

from __future__ import annotations

from typing import Any


def feed(parser: Any, data: bytes, chunk: int | None = None) -> list[Any]:
    """Feed ``data`` to ``parser`` whole (``chunk=None``) or in pieces of ``chunk`` bytes, calling
    ``get()`` after every piece, and return everything ``get()`` yielded, in order."""
    result: list[Any] = []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        parser.add(piece)
        result.extend(iter(parser.get, parser.SENTINEL))
    return result
