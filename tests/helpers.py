"""Helpers shared by the test suites."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

#: The repository root, first on ``sys.path`` of the fresh interpreters :func:`importedBy` starts.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def feed(parser: Any, data: bytes, chunk: int | None = None) -> list[Any]:
    """Feed ``data`` to ``parser`` whole (``chunk=None``) or in pieces of ``chunk`` bytes, calling
    ``get()`` after every piece, and return everything ``get()`` yielded, in order."""
    result: list[Any] = []
    pieces = [data] if chunk is None else [data[i : i + chunk] for i in range(0, len(data), chunk)]
    for piece in pieces:
        parser.add(piece)
        result.extend(iter(parser.get, parser.SENTINEL))
    return result


def importedBy(module: str) -> list[str]:
    """Every module name in ``sys.modules`` after ``import module`` in a fresh interpreter
    (``-I``, this checkout first on the path), so modules other tests loaded cannot hide what
    ``module`` pulls in."""
    code = f'import sys, json; import {module}; print(json.dumps(sorted(sys.modules)))'
    result = subprocess.run(
        [sys.executable, '-I', '-c', f'import sys; sys.path.insert(0, {ROOT!r}); {code}'],
        capture_output=True,
        text=True,
        check=True,
    )
    modules: list[str] = json.loads(result.stdout)
    return modules
