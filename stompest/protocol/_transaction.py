"""ACK/NACK inside a transaction, for both clients' ``ack(frame, transaction=...)``.

STOMP lets an ACK or NACK carry a ``transaction`` header: it then takes effect when that
transaction is committed (and not at all if it is aborted). 2.3's session only put a MESSAGE's
own ``transaction`` header back on its ACK; this names the transaction explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stompest.error import StompProtocolError
from stompest.protocol.frame import StompFrame
from stompest.protocol.spec import StompSpec

Build = Callable[[StompFrame, 'str | None'], StompFrame]


def inTransaction(session: Any, build: Build, transaction: str | None) -> Build:
    """``build`` (a session's ``ack`` or ``nack``) itself when ``transaction`` is ``None``; else a
    builder of the same frame with ``transaction`` in it. A checking session (``check=True``)
    refuses a transaction it has not begun (:class:`~stompest.error.StompProtocolError`)."""
    if transaction is None:
        return build

    def built(frame: StompFrame, receipt: str | None = None) -> StompFrame:
        if type(transaction) is not str or not transaction:
            raise StompProtocolError(f'Invalid transaction: {transaction!r} [a non-empty string]')
        if session.check and transaction not in session.transactions:
            raise StompProtocolError(f'No such transaction: {transaction!r}')
        result = build(frame, receipt)
        result.headers[StompSpec.TRANSACTION_HEADER] = transaction
        return result

    return built
