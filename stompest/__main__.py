"""``python -m stompest`` and the ``stompest`` console script: see :mod:`stompest.cli`."""

from __future__ import annotations

import sys

__all__ = ['main']


def main() -> int:
    """The console script's entry point: run :func:`stompest.cli.main` on ``sys.argv``."""
    from stompest import cli

    return cli.main()


if __name__ == '__main__':
    sys.exit(main())
