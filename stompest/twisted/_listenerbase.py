"""The :class:`Listener` base class (importable from :mod:`stompest.twisted.listener`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.protocol.frame import StompFrame, StompHeartBeat

if TYPE_CHECKING:
    from stompest.twisted.client import Stomp

__all__ = ['Listener']


class Listener:
    """The base class: every hook does nothing and returns ``None``."""

    def onAdd(self, connection: Stomp) -> None:
        pass

    def onCleanup(self, connection: Stomp) -> None:
        pass

    def onConnect(
        self, connection: Stomp, frame: StompFrame, connectedTimeout: float | None
    ) -> defer.Deferred[Any] | None:
        return None

    def onConnected(self, connection: Stomp, frame: StompFrame) -> None:
        pass

    def onConnectionLost(self, connection: Stomp, reason: Failure | None) -> None:
        pass

    def onDisconnect(
        self, connection: Stomp, failure: BaseException | None, timeout: float | None
    ) -> defer.Deferred[Any] | None:
        return None

    def onError(self, connection: Stomp, frame: StompFrame) -> None:
        pass

    def onFrame(self, connection: Stomp, frame: StompFrame | StompHeartBeat) -> None:
        pass

    def onMessage(self, connection: Stomp, frame: StompFrame, context: Any) -> None:
        pass

    def onReceipt(self, connection: Stomp, frame: StompFrame, receiptId: str) -> None:
        pass

    def onReconnecting(self, connection: Stomp, broker: dict[str, Any], delay: float, attempt: int) -> None:
        pass

    def onReconnected(self, connection: Stomp, broker: dict[str, Any]) -> None:
        pass

    def onSend(self, connection: Stomp, frame: StompFrame) -> defer.Deferred[Any] | None:
        return None

    def onSubscribe(self, connection: Stomp, frame: StompFrame, context: Any) -> defer.Deferred[Any] | None:
        return None

    def onUnsubscribe(self, connection: Stomp, frame: StompFrame, context: Any) -> defer.Deferred[Any] | None:
        return None
