"""Small helpers stompest 2.3 had in :mod:`stompest.util`, for code that forwards messages.

>>> from stompest.protocol import StompFrame
>>> message = StompFrame('MESSAGE', {'destination': '/queue/in', 'message-id': 'ID:1', 'timestamp': '0',
...                                  'x-order': '7'}, b'body', version='1.2')
>>> filterReservedHeaders(message.headers)
{'x-order': '7'}
>>> clone = cloneFrame(message, persistent=True)
>>> clone.headers, clone.body, clone is message
({'x-order': '7', 'persistent': 'true'}, b'body', False)
"""

from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec

__all__ = ['checkattr', 'cloneFrame', 'filterReservedHeaders']

#: Headers a broker sets on a MESSAGE and that a copy sent on must not carry over.
_RESERVED_HEADERS = frozenset(
    {StompSpec.MESSAGE_ID_HEADER, StompSpec.DESTINATION_HEADER, 'timestamp', 'expires', 'priority'}
)

_F = TypeVar('_F', bound=Callable[..., Any])


def filterReservedHeaders(headers: Mapping[str, Any]) -> dict[str, Any]:
    """A new dict of ``headers`` without those the broker sets on a MESSAGE (``message-id``,
    ``destination``, ``timestamp``, ``expires``, ``priority``); ``headers`` is not changed."""
    return {name: value for (name, value) in headers.items() if name not in _RESERVED_HEADERS}


def checkattr(attribute: str) -> Callable[[_F], _F]:
    """A method decorator that reads ``self.<attribute>`` before each call, so that a property
    which raises (e.g. "not connected") stops the call first, as in stompest 2.3."""

    def decorate(method: _F) -> _F:
        @functools.wraps(method)
        def checked(self: Any, *args: Any, **kwargs: Any) -> Any:
            getattr(self, attribute)
            return method(self, *args, **kwargs)

        return checked  # type: ignore[return-value]

    return decorate


def cloneFrame(frame: StompFrame, persistent: bool | None = None) -> StompFrame:
    """A deep copy of ``frame`` to send on: repeated headers dropped (:meth:`StompFrame.unraw`),
    the broker's headers removed (:func:`filterReservedHeaders`), and, unless ``persistent`` is
    ``None``, a ``persistent`` header of ``'true'`` or ``'false'``."""
    clone = copy.deepcopy(frame)
    clone.unraw()
    headers = filterReservedHeaders(clone.headers)
    if persistent is not None:
        headers[StompSpec.PERSISTENT_HEADER] = str(bool(persistent)).lower()
    clone.headers = headers
    return clone
