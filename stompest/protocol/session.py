"""The state of one STOMP session, without any I/O: :class:`StompSession`.

The session builds the frames a client sends (with :mod:`stompest.protocol.commands`), reads the
frames it receives, and remembers what a client must know in between: the connection state, the
negotiated version and heart-beats, the subscriptions (so they can be replayed after a
reconnect), the open transactions and the receipts still awaited. It never touches a socket, and
it reads the time only from the ``clock`` it is given.

>>> ticks = iter(range(100))
>>> session = StompSession('1.2', clock=lambda: next(ticks))
>>> session.connect('guest', 'guest', host='localhost', heartBeats=(0, 1000)).headers['accept-version']
'1.0,1.1,1.2'
>>> session.state
'connecting'
>>> session.connected(StompFrame('CONNECTED', {'version': '1.1', 'session': 's1', 'heart-beat': '2000,0'}))
>>> session.state, session.version, session.id, session.clientHeartBeat, session.serverHeartBeat
('connected', '1.1', 's1', 0, 2000)
>>> frame, token = session.subscribe('/queue/a', {'ack': 'client-individual'}, receipt='r1', context='orders')
>>> frame.headers
{'ack': 'client-individual', 'destination': '/queue/a', 'id': '/queue/a', 'receipt': 'r1'}
>>> session.receipts
frozenset({'r1'})
>>> session.receipt(StompFrame('RECEIPT', {'receipt-id': 'r1'}))
'r1'
>>> headers = {'subscription': '/queue/a', 'message-id': 'm1', 'destination': '/queue/a'}
>>> message = StompFrame('MESSAGE', headers, version='1.1')
>>> token = session.message(message)
>>> token, session.subscription(token)
(('id', '/queue/a'), 'orders')
>>> session.ack(message).headers
{'message-id': 'm1', 'subscription': '/queue/a'}
>>> session.sent(); session.lastSent
0
>>> session.close(flush=False)
>>> session.send('/queue/b', b'hi')
Traceback (most recent call last):
...
stompest.error.StompProtocolError: Cannot handle command 'send' in state 'disconnected' (only in states 'connected')
>>> frame = session.connect(host='localhost')
>>> session.connected(StompFrame('CONNECTED', {'version': '1.2', 'session': 's2'}))
>>> session.replay()
[('/queue/a', {'ack': 'client-individual', 'id': '/queue/a'}, 'r1', 'orders')]

:data:`COMMAND_STATES` lists, for every command of the session, the states it is legal in:

=============  =================================================
command        legal in states
=============  =================================================
connect        disconnected
connected      connecting
disconnect     connected
close          disconnected, connecting, connected, disconnecting
send           connected
subscribe      connected
unsubscribe    connected
message        connected, disconnecting
ack, nack      connected
begin          connected
abort, commit  connected
receipt        connected, disconnecting
beat           connected, disconnecting
=============  =================================================

MESSAGE and RECEIPT frames may still arrive after DISCONNECT was sent (the broker processes
every earlier frame first), and heart-beats keep flowing while the client waits for the
DISCONNECT receipt, or a broker that checks heart-beats would drop a client that is leaving
gracefully. A client must not send other frames after DISCONNECT. :meth:`StompSession.replay`
and :meth:`StompSession.subscription` work in every state (as in stompest 2.3): a client replays
after a reconnect, and may look a subscription up whenever it likes.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable
from typing import Any

from stompest.error import StompProtocolError
from stompest.protocol import commands
from stompest.protocol._checks import offeredVersions
from stompest.protocol.commands import Token
from stompest.protocol.frame import Headers, StompFrame, StompHeartBeat, copyHeaders
from stompest.protocol.spec import StompSpec

__all__ = ['COMMAND_STATES', 'StompSession', 'inTransaction']

DISCONNECTED = 'disconnected'
CONNECTING = 'connecting'
CONNECTED = 'connected'
DISCONNECTING = 'disconnecting'
_ALL_STATES = (DISCONNECTED, CONNECTING, CONNECTED, DISCONNECTING)

#: The one table of which session command is legal in which state (printed in the docs).
COMMAND_STATES: dict[str, tuple[str, ...]] = {
    'connect': (DISCONNECTED,),
    'connected': (CONNECTING,),
    'disconnect': (CONNECTED,),
    'close': _ALL_STATES,
    'send': (CONNECTED,),
    'subscribe': (CONNECTED,),
    'unsubscribe': (CONNECTED,),
    'message': (CONNECTED, DISCONNECTING),
    'ack': (CONNECTED,),
    'nack': (CONNECTED,),
    'begin': (CONNECTED,),
    'abort': (CONNECTED,),
    'commit': (CONNECTED,),
    'receipt': (CONNECTED, DISCONNECTING),
    'beat': (CONNECTED, DISCONNECTING),
}

#: What :meth:`StompSession.replay` returns per subscription: ``(destination, headers, receipt, context)``.
Subscription = tuple[str, dict[str, Any], str | None, Any]


class StompSession:
    """The client side of one STOMP session, as a state machine that builds and reads frames.

    :param version: the highest STOMP version to offer (default 1.0). :meth:`connect` offers every
        version up to it, and :meth:`connected` adopts the one the broker picks.
    :param check: when ``True`` (the default) a command issued in the wrong state (see
        :data:`COMMAND_STATES`) raises :class:`~stompest.error.StompProtocolError`; ``False`` turns
        this state check off, and only it (as in stompest 2.3). Whatever ``check`` says, the
        session refuses a MESSAGE or UNSUBSCRIBE for an unknown subscription, a duplicate
        subscription, transaction or pending receipt, a RECEIPT nobody asked for and a COMMIT or
        ABORT of a transaction that is not open, and the version rules of
        :mod:`~stompest.protocol.commands` apply.
    :param clock: returns the current time; :meth:`sent` and :meth:`received` record its readings
        in :attr:`lastSent` and :attr:`lastReceived`. The default is :func:`time.time`, as in
        stompest 2.3 (so ``time.time() - session.lastReceived`` is the idle time); the blocking
        client passes its ``wallClock``, the Twisted client its reactor's ``seconds``, so that one
        clock drives its timers and the session.
    """

    DISCONNECTED = DISCONNECTED
    CONNECTING = CONNECTING
    CONNECTED = CONNECTED
    DISCONNECTING = DISCONNECTING

    def __init__(
        self, version: str | None = None, check: bool = True, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._highestVersion = StompSpec.version(version)
        self._check = check
        self._clock = clock
        self._state = DISCONNECTED
        self._subscriptions: dict[Token, Subscription] = {}
        self._transactions: set[str] = set()
        self._receipts: set[str] = set()
        self._lastSent: float | None = None
        self._lastReceived: float | None = None
        self._reset()

    def _reset(self) -> None:
        """Forget everything that belongs to one connection."""
        self._version = self._highestVersion
        self._versions = StompSpec.versions(self._highestVersion)
        self._id: str | None = None
        self._server: str | None = None
        self._clientHeartBeats: tuple[int, int] = StompSpec.DEFAULT_HEART_BEATS
        self._clientHeartBeat = 0
        self._serverHeartBeat = 0

    # --- what the session knows ------------------------------------------------------------------

    @property
    def state(self) -> str:
        """One of :attr:`DISCONNECTED`, :attr:`CONNECTING`, :attr:`CONNECTED`, :attr:`DISCONNECTING`."""
        return self._state

    @property
    def check(self) -> bool:
        """Whether illegal commands raise (see the class documentation)."""
        return self._check

    @property
    def version(self) -> str:
        """The version the broker chose; before :meth:`connected` (and after :meth:`close`) the
        highest version the session was created with.

        Settable, as in stompest 2.3: while disconnected, setting it changes that highest version
        (what the next :meth:`connect` offers); while connecting or connected, it changes the
        version the session builds frames in until :meth:`close`. A version stompest does not
        speak raises :class:`~stompest.error.StompProtocolError`.
        """
        return self._version

    @version.setter
    def version(self, version: str | None) -> None:
        version = StompSpec.version(version)
        if self._state == DISCONNECTED:
            self._highestVersion = version
            self._versions = StompSpec.versions(version)
        self._version = version

    @property
    def id(self) -> str | None:
        """The session id from the CONNECTED frame (``None`` when not connected or not sent)."""
        return self._id

    @property
    def server(self) -> str | None:
        """The ``server`` header from the CONNECTED frame (``None`` when not connected or not sent)."""
        return self._server

    @property
    def clientHeartBeat(self) -> int:
        """How often the client must send a heart-beat, in ms (0: never), as negotiated."""
        return self._clientHeartBeat

    # stompest 2.3's private name for it (its own Twisted tests set it to stop the heart-beats)
    @property
    def _clientSendHeartBeat(self) -> int:
        return self._clientHeartBeat

    @_clientSendHeartBeat.setter
    def _clientSendHeartBeat(self, value: int) -> None:
        self._clientHeartBeat = value

    @property
    def serverHeartBeat(self) -> int:
        """How often the broker will send a heart-beat, in ms (0: never), as negotiated."""
        return self._serverHeartBeat

    @property
    def lastSent(self) -> float | None:
        """The clock's reading at the last :meth:`sent` (``None`` before the first)."""
        return self._lastSent

    @property
    def lastReceived(self) -> float | None:
        """The clock's reading at the last :meth:`received` (``None`` before the first)."""
        return self._lastReceived

    @property
    def receipts(self) -> frozenset[str]:
        """The receipt ids asked for and not yet received (a copy)."""
        return frozenset(self._receipts)

    @property
    def transactions(self) -> frozenset[str]:
        """The ids of the open transactions (a copy)."""
        return frozenset(self._transactions)

    # --- connection ------------------------------------------------------------------------------

    def connect(
        self,
        login: str | None = None,
        passcode: str | None = None,
        headers: Headers | None = None,
        versions: Iterable[str] | None = None,
        host: str | None = None,
        heartBeats: tuple[int, int] | None = None,
    ) -> StompFrame:
        """Build the CONNECT frame (see :func:`stompest.protocol.commands.connect`); state CONNECTING.

        :param versions: the versions to offer; by default every version up to the session's. None
            may be higher than the session's version.
        :param host: the ``host`` header; the clients pass the broker's host name.
        :param heartBeats: ``(cx, cy)`` in ms; ``None`` counts as ``(0, 0)`` in the negotiation.
        """
        self._checkState('connect')
        offered = self._offered(versions)
        frame = commands.connect(login, passcode, headers, offered, host, heartBeats)
        self._reset()
        self._versions = offered
        if heartBeats is not None:
            self._clientHeartBeats = (heartBeats[0], heartBeats[1])
        self._state = CONNECTING
        return frame

    def defaultHost(self, brokerHost: str, versions: Iterable[str] | None = None) -> str | None:
        """The ``host`` header a client puts in CONNECT when its caller names none: the broker's host
        name when versions beyond 1.0 are offered (1.1 and 1.2 require the header and recommend that
        name), else ``None`` (a 1.0 CONNECT carries no ``host``; RabbitMQ would read one as its
        virtual host). Both clients use this, so they agree.

        >>> StompSession('1.2').defaultHost('broker.example')
        'broker.example'
        >>> StompSession('1.0').defaultHost('broker.example') is None
        True
        >>> StompSession('1.2').defaultHost('broker.example', versions=['1.0']) is None
        True
        """
        offered = self._offered(versions)
        return brokerHost if any(version != StompSpec.VERSION_1_0 for version in offered) else None

    def _offered(self, versions: Iterable[str] | None) -> list[str]:
        if versions is None:
            return StompSpec.versions(self._highestVersion)
        offered = offeredVersions(versions)
        allowed = StompSpec.versions(self._highestVersion)
        for version in offered:
            if version not in allowed:
                raise StompProtocolError(
                    f'Version is higher than the session allows: {version!r} [session version {self._highestVersion}]'
                )
        return offered

    def connected(self, frame: StompFrame) -> None:
        """Read the broker's CONNECTED frame: adopt its version (one that was offered, else
        :class:`~stompest.error.StompProtocolError`), session id and server, negotiate the
        heart-beats; state CONNECTED. An ERROR frame raises with :attr:`StompProtocolError.frame` set.
        """
        self._checkState('connected')
        version, server, sessionId, serverHeartBeats = commands.connected(frame, self._versions)
        self._version = version
        self._versions = StompSpec.versions(version)
        self._server = server
        self._id = sessionId
        negotiated = commands.negotiateHeartBeat(self._clientHeartBeats, serverHeartBeats)
        self._clientHeartBeat, self._serverHeartBeat = negotiated
        self._state = CONNECTED

    def disconnect(self, receipt: str | None = None) -> StompFrame:
        """Build the DISCONNECT frame; state DISCONNECTING. With a ``receipt``, wait for it
        (:meth:`receipt`) before closing: then the broker has processed every earlier frame."""
        self._checkState('disconnect')
        frame = commands.disconnect(receipt, self._version)
        self._addReceipt(self._newReceipt(frame))
        self._state = DISCONNECTING
        return frame

    def close(self, flush: bool = True) -> None:
        """The connection is gone (closed on purpose or lost); state DISCONNECTED.

        Open transactions and pending receipts are forgotten either way: they died with the
        connection. The negotiated version, session id, server and heart-beats are reset.

        :param flush: ``True`` forgets the subscriptions too; ``False`` keeps them, so that after
            an unexpected loss :meth:`replay` can hand them over for re-subscribing.
        """
        self._checkState('close')
        self._state = DISCONNECTED
        self._reset()
        self._transactions.clear()
        self._receipts.clear()
        if flush:
            self._subscriptions.clear()

    # --- messages and subscriptions --------------------------------------------------------------

    def send(
        self,
        destination: str,
        body: bytes | str = b'',
        headers: Headers | None = None,
        receipt: str | None = None,
    ) -> StompFrame:
        """Build a SEND frame (see :func:`stompest.protocol.commands.send`; no ``content-length``
        is added unless the body contains NUL)."""
        self._checkState('send')
        frame = commands.send(destination, body, headers, receipt, self._version)
        self._addReceipt(self._newReceipt(frame))
        return frame

    def subscribe(
        self,
        destination: str,
        headers: Headers | None = None,
        receipt: str | None = None,
        context: Any = None,
    ) -> tuple[StompFrame, Token]:
        """Build a SUBSCRIBE frame and remember the subscription under its token.

        :param context: anything the client wants back from :meth:`subscription` for this
            subscription's messages (the clients keep their handlers here).

        The remembered headers are a copy of the ones given (values as given, as in 2.3) plus the
        ``id`` the frame carries, so that a replayed subscription keeps its token even if the next
        connection negotiates 1.0.
        """
        self._checkState('subscribe')
        frame, token = commands.subscribe(destination, headers, receipt, self._version)
        if token in self._subscriptions:
            raise StompProtocolError(f'Already subscribed: {token!r}')
        newReceipt = self._newReceipt(frame)
        remembered = copyHeaders(headers)
        if token[0] == StompSpec.ID_HEADER:
            remembered.setdefault(StompSpec.ID_HEADER, token[1])
        remembered.pop(StompSpec.RECEIPT_HEADER, None)
        self._subscriptions[token] = (destination, remembered, receipt, context)
        self._addReceipt(newReceipt)
        return frame, token

    def unsubscribe(self, token: Token, receipt: str | None = None) -> StompFrame:
        """Build an UNSUBSCRIBE frame for ``token`` and forget that subscription."""
        self._checkState('unsubscribe')
        frame = commands.unsubscribe(token, receipt, self._version)
        if token not in self._subscriptions:
            raise StompProtocolError(f'No such subscription: {token!r}')
        newReceipt = self._newReceipt(frame)
        self._subscriptions.pop(token, None)
        self._addReceipt(newReceipt)
        return frame

    def replay(self) -> list[Subscription]:
        """Hand over every remembered subscription, in subscription order, as
        ``(destination, headers, receipt, context)``, and forget them: the client subscribes to
        each again, which registers it again. Legal in every state."""
        subscriptions = list(self._subscriptions.values())
        self._subscriptions.clear()
        return subscriptions

    def message(self, frame: StompFrame) -> Token:
        """The token of the subscription a received MESSAGE belongs to (an unknown one raises
        :class:`~stompest.error.StompProtocolError` when checking)."""
        self._checkState('message')
        token = commands.message(frame)
        if token not in self._subscriptions:
            raise StompProtocolError(f'No such subscription: {token!r}', frame=frame)
        return token

    def subscription(self, token: Token) -> Any:
        """The ``context`` given to :meth:`subscribe` for ``token``, in any state; an unknown token
        raises :class:`~stompest.error.StompProtocolError`."""
        try:
            return self._subscriptions[token][3]
        except KeyError:
            raise StompProtocolError(f'No such subscription: {token!r}') from None

    def ack(self, frame: StompFrame, receipt: str | None = None) -> StompFrame:
        """Build the ACK of a received MESSAGE (in its transaction, when that is open here)."""
        self._checkState('ack')
        return self._acknowledge(commands.ack, frame, receipt)

    def nack(self, frame: StompFrame, receipt: str | None = None) -> StompFrame:
        """Build the NACK of a received MESSAGE (STOMP 1.1 and 1.2 only)."""
        self._checkState('nack')
        return self._acknowledge(commands.nack, frame, receipt)

    def ackBytes(self, frame: StompFrame) -> bytes | StompFrame:
        """:meth:`ack` without a receipt, for a client's hot path: the same checks and errors; the
        ACK's bytes when they could be written without building a frame, else the frame itself
        (``bytes()`` of it may still raise, as for :meth:`ack`'s). See
        :func:`~stompest.protocol.commands.acknowledgeBytes`."""
        self._checkState('ack')
        return commands.acknowledgeBytes(StompSpec.ACK, frame, self._transactions, None, self._version)

    def _acknowledge(self, build: Callable[..., StompFrame], frame: StompFrame, receipt: str | None) -> StompFrame:
        result = build(frame, self._transactions, receipt, version=self._version)
        self._addReceipt(self._newReceipt(result))
        return result

    # --- transactions ----------------------------------------------------------------------------

    def transaction(self, transaction: object = None) -> str:
        """``str(transaction)``, or a fresh uuid4 string when it is ``None``. (This is the one
        random draw of the session; pass explicit ids where you need reproducible frames.)"""
        return str(uuid.uuid4()) if transaction is None else str(transaction)

    def begin(self, transaction: str | None = None, receipt: str | None = None) -> StompFrame:
        """Build a BEGIN frame and register the transaction as open (its id is in the frame's
        ``transaction`` header; a uuid4 when ``transaction`` is ``None``)."""
        self._checkState('begin')
        transaction = self.transaction(transaction)
        frame = commands.begin(transaction, receipt, self._version)
        if transaction in self._transactions:
            raise StompProtocolError(f'Transaction already open: {transaction!r}')
        newReceipt = self._newReceipt(frame)
        self._transactions.add(transaction)
        self._addReceipt(newReceipt)
        return frame

    def abort(self, transaction: str, receipt: str | None = None) -> StompFrame:
        """Build an ABORT frame and forget the transaction."""
        self._checkState('abort')
        return self._endTransaction(commands.abort, transaction, receipt)

    def commit(self, transaction: str, receipt: str | None = None) -> StompFrame:
        """Build a COMMIT frame and forget the transaction."""
        self._checkState('commit')
        return self._endTransaction(commands.commit, transaction, receipt)

    def _endTransaction(
        self, build: Callable[[str, str | None, str | None], StompFrame], transaction: str, receipt: str | None
    ) -> StompFrame:
        frame = build(transaction, receipt, self._version)
        if transaction not in self._transactions:
            raise StompProtocolError(f'No such transaction: {transaction!r}')
        newReceipt = self._newReceipt(frame)
        self._transactions.discard(transaction)
        self._addReceipt(newReceipt)
        return frame

    # --- receipts, heart-beats, clock ------------------------------------------------------------

    def receipt(self, frame: StompFrame) -> str:
        """Read a received RECEIPT frame: return its receipt id and stop waiting for it (one that
        was not asked for raises :class:`~stompest.error.StompProtocolError` when checking)."""
        self._checkState('receipt')
        receiptId = commands.receipt(frame)
        if receiptId in self._receipts:
            self._receipts.remove(receiptId)
        else:
            raise StompProtocolError(f'Unexpected receipt: {receiptId!r}', frame=frame)
        return receiptId

    def beat(self) -> StompHeartBeat:
        """A heart-beat to send (1.1 and 1.2)."""
        self._checkState('beat')
        return commands.beat(self._version)

    def sent(self) -> None:
        """Record that something (a frame or a heart-beat) was just sent."""
        self._lastSent = self._clock()

    def received(self) -> None:
        """Record that something (a frame or a heart-beat) was just received."""
        self._lastReceived = self._clock()

    # --- internals -------------------------------------------------------------------------------

    def _checkState(self, command: str) -> None:
        states = COMMAND_STATES[command]
        if self._check and self._state not in states:
            allowed = ', '.join(repr(s) for s in states)
            exc = StompProtocolError(
                f'Cannot handle command {command!r} in state {self._state!r} (only in states {allowed})'
            )
            exc.state = self._state  # type: ignore[attr-defined]
            exc.command = command  # type: ignore[attr-defined]
            raise exc

    def _newReceipt(self, frame: StompFrame) -> str | None:
        """The receipt ``frame`` asks for (from the ``receipt`` argument or the caller's headers);
        refuse one that is still pending. Nothing is registered yet."""
        receiptId = frame.headers.get(StompSpec.RECEIPT_HEADER)
        if receiptId is not None and receiptId in self._receipts:
            raise StompProtocolError(f'Duplicate receipt: {receiptId!r} [still pending]')
        return receiptId

    def _addReceipt(self, receiptId: str | None) -> None:
        if receiptId is not None:
            self._receipts.add(receiptId)


#: A session's ``ack`` or ``nack``: builds the frame for a MESSAGE, with an optional receipt.
Acknowledge = Callable[[StompFrame, 'str | None'], StompFrame]


def inTransaction(session: StompSession, build: Acknowledge, transaction: str | None) -> Acknowledge:
    """``build`` (``session.ack`` or ``session.nack``) itself when ``transaction`` is ``None``;
    else a builder of the same frame with ``transaction`` in it, for both clients'
    ``ack(frame, transaction=...)``. STOMP lets an ACK or NACK carry a ``transaction`` header: it
    then takes effect when that transaction is committed (and not at all if it is aborted); 2.3's
    session only put a MESSAGE's own ``transaction`` header back on its ACK. A checking session
    (``check=True``) refuses a transaction it has not begun (:class:`~stompest.error.StompProtocolError`)."""
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
