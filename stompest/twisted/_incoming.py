"""Incoming frames of :class:`~stompest.twisted.Stomp`: what the client does with each frame
the broker sends (part of the client, split out of ``client.py``)."""

from __future__ import annotations

import logging

from stompest.error import StompProtocolError
from stompest.protocol.frame import StompFrame, StompHeartBeat
from stompest.protocol.session import StompSession
from stompest.protocol.spec import StompSpec
from stompest.twisted._lifecycle import DISCONNECTING, ClientState

__all__ = ['Incoming']

log = logging.getLogger('stompest.twisted.client')


class Incoming(ClientState):
    """Frames from the broker, dispatched to the session and the listeners."""

    def _onFrame(self, frame: StompFrame | StompHeartBeat) -> None:
        if self._hooks['onFrame']:
            self._notifyEach('onFrame', (frame,))
        if isinstance(frame, StompHeartBeat):
            return
        if log.isEnabledFor(logging.DEBUG):
            log.debug('Received %s', frame.info())
        try:
            command = frame.command
            if command == StompSpec.MESSAGE:
                self._onMessage(frame)
            elif command == StompSpec.RECEIPT:
                self._onReceipt(frame)
            elif command == StompSpec.ERROR:
                self._notify('onError', frame)
            elif command == StompSpec.CONNECTED:
                self._onConnected(frame)
            else:
                raise StompProtocolError(f'Unexpected frame from the broker: {command!r}', frame=frame)
        except Exception as exc:
            log.error('Dropping the connection: %s', exc)
            if self._protocol is not None:
                self._drop(self._protocol, exc)

    def _onConnected(self, frame: StompFrame) -> None:
        self.session.connected(frame)
        if self._protocol is not None:
            self._protocol.parser.version = self.session.version
        self._notify('onConnected', frame)

    def _onMessage(self, frame: StompFrame) -> None:
        if self._phase == DISCONNECTING or self.session.state == StompSession.DISCONNECTING:
            log.info('Ignoring message (disconnecting): %s', frame.info())
            return
        try:
            token = self.session.message(frame)
            context = self.session.subscription(token)
        except StompProtocolError as exc:
            log.error('Dropping message: %s [%s]', exc, frame.info())
            return
        if token in self._clientAckTokens:
            self._unacked[id(frame)] = frame
        if context is None:
            log.warning('No handler for subscription %r: message left to the caller [%s]', token, frame.info())
        hooks = self._hooks
        for listener in hooks['onMessage']:  # the hottest loop: no getattr, no argument tuple
            if self._hooks is not hooks and listener not in self._listeners:
                continue
            listener.onMessage(self, frame, context)  # type: ignore[arg-type]  # self is the client

    def _onReceipt(self, frame: StompFrame) -> None:
        try:
            receiptId = self.session.receipt(frame)
        except StompProtocolError as exc:
            log.warning('Ignoring receipt: %s', exc)
            return
        self._notifyEach('onReceipt', (frame, receiptId))
