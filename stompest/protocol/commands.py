"""Stateless builders of the frames a client sends, and readers of the frames a broker sends.

Every builder checks the rules of the STOMP version it is asked for and raises
:class:`~stompest.error.StompProtocolError` *before* it builds anything when a call breaks them;
every reader checks the frame it is given and returns the few values a client needs from it.
Nothing here remembers anything between calls: :class:`~stompest.protocol.session.StompSession`
keeps the state (subscriptions, transactions, receipts) and calls these functions.

>>> from stompest.protocol import commands
>>> frame = commands.connect('guest', 'secret', versions=['1.0', '1.1', '1.2'], host='localhost', heartBeats=(1000, 0))
>>> frame.command, frame.headers['accept-version'], frame.headers['heart-beat']
('CONNECT', '1.0,1.1,1.2', '1000,0')
>>> headers = {'version': '1.2', 'server': 'ActiveMQ/5.17.2', 'session': 's1', 'heart-beat': '0,2000'}
>>> reply = StompFrame('CONNECTED', headers)
>>> commands.connected(reply, versions=['1.0', '1.1', '1.2'])
('1.2', 'ActiveMQ/5.17.2', 's1', (0, 2000))
>>> commands.negotiateHeartBeat(1000, 2000)
2000
>>> commands.negotiateHeartBeat((1000, 0), (0, 2000))
(2000, 0)
>>> frame, token = commands.subscribe('/queue/a', {'ack': 'client-individual'}, version='1.2')
>>> frame.headers, token
({'ack': 'client-individual', 'destination': '/queue/a', 'id': '/queue/a'}, ('id', '/queue/a'))
>>> message = StompFrame('MESSAGE', {'destination': '/queue/a', 'subscription': '/queue/a',
...                                  'message-id': 'ID:host-1:1', 'ack': 'ID:host-1:2'}, b'hi', version='1.2')
>>> commands.message(message)
('id', '/queue/a')
>>> ack = commands.ack(message)
>>> ack.headers
{'id': 'ID:host-1:2'}
>>> bytes(ack)
b'ACK\\nid:ID\\\\chost-1\\\\c2\\n\\n\\x00'
>>> commands.nack(StompFrame('MESSAGE', {'message-id': '1'}, version='1.0'))
Traceback (most recent call last):
...
stompest.error.StompProtocolError: Invalid command (version 1.0): 'NACK'

A subscription *token* names a subscription the way the broker names it in the MESSAGE frames
it delivers: ``('id', <subscription id>)`` whenever the SUBSCRIBE carried an ``id`` (always in
STOMP 1.1 and 1.2), else ``('destination', <destination>)`` (STOMP 1.0 only).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import overload

from stompest.error import StompProtocolError
from stompest.protocol._checks import (
    _checkCommand,
    _checkTransactionHeader,
    _command,
    _heartBeat,
    _heartBeats,
    _nonEmpty,
    _receipt,
    _string,
    _withReceipt,
    offeredVersions,
    parseHeartBeats,
)
from stompest.protocol.frame import Headers, StompFrame, StompHeartBeat
from stompest.protocol.spec import StompSpec

__all__ = [
    'Token',
    'abort',
    'ack',
    'acknowledgeBytes',
    'beat',
    'begin',
    'commit',
    'connect',
    'connected',
    'disconnect',
    'error',
    'errorText',
    'message',
    'nack',
    'negotiateHeartBeat',
    'parseHeartBeats',
    'receipt',
    'send',
    'stomp',
    'subscribe',
    'unsubscribe',
    'version',
    'versions',
]

#: A subscription token: ``(StompSpec.ID_HEADER, id)`` or ``(StompSpec.DESTINATION_HEADER, destination)``.
Token = tuple[str, str]

_TOKEN_NAMES = frozenset({StompSpec.ID_HEADER, StompSpec.DESTINATION_HEADER})
_SEND = StompSpec.SEND
_MESSAGE = StompSpec.MESSAGE
_ESCAPED_COLON = StompSpec.ESCAPE_CHARACTERS[StompSpec.VERSION_1_2][':']
_DESTINATION = StompSpec.DESTINATION_HEADER
_TRANSACTION = StompSpec.TRANSACTION_HEADER
_RECEIPT = StompSpec.RECEIPT_HEADER
_SEND_VERSIONS = frozenset(v for v in StompSpec.VERSIONS if StompSpec.SEND in StompSpec.COMMANDS[v])

#: Per version, the headers an ACK or NACK carries: (name in the ACK, name in the MESSAGE it takes
#: the value from, whether the MESSAGE must have it). A 1.0 ACK repeats the MESSAGE's
#: ``subscription`` when there is one (as stompest 2.3 did; ActiveMQ sends one in 1.0 too).
_ACK_HEADERS = {
    StompSpec.VERSION_1_0: [
        (StompSpec.MESSAGE_ID_HEADER, StompSpec.MESSAGE_ID_HEADER, True),
        (StompSpec.SUBSCRIPTION_HEADER, StompSpec.SUBSCRIPTION_HEADER, False),
    ],
    StompSpec.VERSION_1_1: [
        (StompSpec.MESSAGE_ID_HEADER, StompSpec.MESSAGE_ID_HEADER, True),
        (StompSpec.SUBSCRIPTION_HEADER, StompSpec.SUBSCRIPTION_HEADER, True),
    ],
    StompSpec.VERSION_1_2: [(StompSpec.ID_HEADER, StompSpec.ACK_HEADER, True)],
}


# --- client frames -------------------------------------------------------------------------------


def connect(
    login: str | None = None,
    passcode: str | None = None,
    headers: Headers | None = None,
    versions: Iterable[str] | None = None,
    host: str | None = None,
    heartBeats: tuple[int, int] | None = None,
) -> StompFrame:
    """Build a CONNECT frame.

    :param login: the ``login`` header, if not ``None``.
    :param passcode: the ``passcode`` header, if not ``None`` (it is masked in ``repr`` and logs).
    :param headers: further headers (a mapping or pairs); ``login``/``passcode`` above win.
    :param versions: the STOMP versions offered (default: ``['1.0']``). When they go beyond 1.0 the
        frame carries ``accept-version`` (the versions, oldest first, comma-separated); a pure 1.0
        CONNECT carries no ``accept-version``, as in stompest 2.3, so 1.0 brokers are not confused.
    :param host: the ``host`` header (the virtual host; STOMP 1.1 and 1.2 require it). It is
        written whenever it is given, in any version. This function does not invent one: when it
        is ``None`` the frame has no ``host`` header (stompest 2.3 wrote an empty one, which a
        broker that maps ``host`` to a virtual host may reject). Supplying the broker's host name
        is the job of the client (or of the caller).
    :param heartBeats: ``(cx, cy)`` in milliseconds: the client can send a heart-beat every ``cx``
        ms and wants one from the server every ``cy`` ms (0 means never; at most
        :attr:`StompSpec.MAX_HEART_BEAT`). Written as the ``heart-beat`` header only when versions
        beyond 1.0 are offered; non-zero heart-beats with a pure 1.0 CONNECT are refused, since a
        1.0 broker cannot honour them.

    The headers of a CONNECT are never escaped, in any version (the spec exempts them).
    """
    return _connect(StompSpec.CONNECT, login, passcode, headers, versions, host, heartBeats)


def stomp(
    login: str | None = None,
    passcode: str | None = None,
    headers: Headers | None = None,
    versions: Iterable[str] | None = None,
    host: str | None = None,
    heartBeats: tuple[int, int] | None = None,
) -> StompFrame:
    """Build a STOMP frame: a CONNECT under the name STOMP 1.1 introduced (so that a broker can tell
    a STOMP connection from an HTTP request). The parameters are those of :func:`connect`; offering
    only version 1.0 raises :class:`~stompest.error.StompProtocolError`, as 1.0 has no STOMP command.
    """
    return _connect(StompSpec.STOMP, login, passcode, headers, versions, host, heartBeats)


def _connect(
    command: str,
    login: str | None,
    passcode: str | None,
    headers: Headers | None,
    versions: Iterable[str] | None,
    host: str | None,
    heartBeats: tuple[int, int] | None,
) -> StompFrame:
    offered = offeredVersions(versions)
    highest = offered[-1]
    _checkCommand(command, highest)
    if heartBeats is not None:
        heartBeats = _heartBeats(heartBeats)
        if offered == [StompSpec.VERSION_1_0] and heartBeats != (0, 0):
            raise StompProtocolError(f'Heart-beating is not supported (version 1.0): {heartBeats!r}')
    frame = StompFrame._build(command, headers, b'', highest)
    frameHeaders = frame.headers
    if login is not None:
        frameHeaders[StompSpec.LOGIN_HEADER] = login
    if passcode is not None:
        frameHeaders[StompSpec.PASSCODE_HEADER] = passcode
    if offered != [StompSpec.VERSION_1_0]:
        frameHeaders[StompSpec.ACCEPT_VERSION_HEADER] = StompSpec.VERSION_SEPARATOR.join(offered)
        if heartBeats is not None:
            frameHeaders[StompSpec.HEART_BEAT_HEADER] = StompSpec.HEART_BEAT_SEPARATOR.join(map(str, heartBeats))
    if host is not None:
        frameHeaders[StompSpec.HOST_HEADER] = host
    return frame


def disconnect(receipt: str | None = None, version: str | None = None) -> StompFrame:
    """Build a DISCONNECT frame; with a ``receipt`` the broker confirms it has processed every
    earlier frame before it closes the connection (the graceful way to leave)."""
    version = _command(StompSpec.DISCONNECT, version)
    return _withReceipt(StompFrame(StompSpec.DISCONNECT, version=version), receipt)


def send(
    destination: str,
    body: bytes | str = b'',
    headers: Headers | None = None,
    receipt: str | None = None,
    version: str | None = None,
) -> StompFrame:
    """Build a SEND frame.

    :param destination: where the message goes, e.g. ``'/queue/orders'`` (a string; an empty one is
        passed on, as stompest 2.3 did, and the broker will refuse it).
    :param body: the body; ``str`` is encoded as UTF-8.
    :param headers: further headers (``destination`` above wins).
    :param receipt: asks the broker for a RECEIPT with this ``receipt-id``.

    ``content-length`` is *not* added for you, except when the body contains a NUL byte (then the
    frame adds it while serialising, because without it the receiver would cut the body at the
    NUL). The reason is a broker difference with consequences: ActiveMQ turns a SEND with a
    ``content-length`` header into a JMS ``BytesMessage`` and one without into a ``TextMessage``,
    which matters to JMS consumers on the other side. Callers who want the header pass it in
    ``headers`` or call :meth:`StompFrame.setContentLength` on the returned frame.
    """
    # The checks of _command, _nonEmpty, _checkTransactionHeader and _withReceipt, in the same
    # order, with the common case (valid arguments) inlined: this is the hot path of a producer.
    if type(version) is not str or version not in _SEND_VERSIONS:
        version = _command(_SEND, version)
    frame = StompFrame._build(_SEND, headers, body, version)
    frameHeaders = frame.headers
    if type(destination) is not str:
        destination = _string(_DESTINATION, destination, _SEND)
    frameHeaders[_DESTINATION] = destination
    if _TRANSACTION in frameHeaders:
        _checkTransactionHeader(frame)
    if receipt is not None:
        if type(receipt) is not str or not receipt:
            receipt = _receipt(receipt, _SEND)
        frameHeaders[_RECEIPT] = receipt
    elif _RECEIPT in frameHeaders:
        _withReceipt(frame, receipt)
    return frame


def subscribe(
    destination: str,
    headers: Headers | None,
    receipt: str | None = None,
    version: str | None = None,
) -> tuple[StompFrame, Token]:
    """Build a SUBSCRIBE frame and return it with the token naming the subscription.

    :param destination: what to subscribe to.
    :param headers: further headers, e.g. ``ack`` (``auto``, ``client``, ``client-individual``),
        ``id``, or broker extensions such as ``activemq.prefetchSize``.
    :param receipt: asks the broker for a RECEIPT with this ``receipt-id``.

    The ``ack`` mode is passed on as given, in every version: STOMP 1.0 defines only ``auto`` and
    ``client``, but brokers honour ``client-individual`` there too (ActiveMQ does), and stompest
    2.3 sent it unchecked. :attr:`StompSpec.ACK_MODES` lists what each spec defines.

    STOMP 1.1 and 1.2 require an ``id``: when ``headers`` has none, the destination is used as the
    id, which is deterministic, so re-subscribing after a reconnect gives the same token. (stompest
    2.3 raised :class:`~stompest.error.StompProtocolError` instead; code written for it always
    passes an ``id`` and is unaffected.) In 1.0 the ``id`` is optional and kept only if given;
    without it the token is ``('destination', destination)``.
    """
    version = _command(StompSpec.SUBSCRIBE, version)
    frame = StompFrame._build(StompSpec.SUBSCRIBE, headers, b'', version)
    frameHeaders = frame.headers
    destination = _nonEmpty(StompSpec.DESTINATION_HEADER, destination, StompSpec.SUBSCRIBE)
    frameHeaders[StompSpec.DESTINATION_HEADER] = destination
    if StompSpec.ID_HEADER in frameHeaders:
        subscriptionId = _nonEmpty(StompSpec.ID_HEADER, frameHeaders[StompSpec.ID_HEADER], StompSpec.SUBSCRIBE)
        token = (StompSpec.ID_HEADER, subscriptionId)
    elif version == StompSpec.VERSION_1_0:
        token = (StompSpec.DESTINATION_HEADER, destination)
    else:
        frameHeaders[StompSpec.ID_HEADER] = destination
        token = (StompSpec.ID_HEADER, destination)
    return _withReceipt(frame, receipt), token


def unsubscribe(token: Token, receipt: str | None = None, version: str | None = None) -> StompFrame:
    """Build an UNSUBSCRIBE frame for the subscription ``token`` (as :func:`subscribe` returned it).

    In 1.0 the token may name the subscription by ``id`` or by ``destination``; 1.1 and 1.2 only
    know ids.
    """
    version = _command(StompSpec.UNSUBSCRIBE, version)
    try:
        name, value = token
    except (TypeError, ValueError):
        raise StompProtocolError(f'Invalid subscription token: {token!r} [expected (name, value)]') from None
    if name not in _TOKEN_NAMES or (name != StompSpec.ID_HEADER and version != StompSpec.VERSION_1_0):
        raise StompProtocolError(f'Invalid subscription token (version {version}): {token!r}')
    frame = StompFrame(StompSpec.UNSUBSCRIBE, {name: _nonEmpty(name, value, StompSpec.UNSUBSCRIBE)}, version=version)
    return _withReceipt(frame, receipt)


def ack(
    frame: StompFrame,
    transactions: Collection[str] | None = None,
    receipt: str | None = None,
    *,
    version: str | None = None,
) -> StompFrame:
    """Build the ACK of a received MESSAGE ``frame``.

    The headers that name the message depend on the version the MESSAGE arrived in
    (``frame.version``): 1.0 ``message-id`` (and ``subscription`` when the MESSAGE has one); 1.1
    ``message-id`` and ``subscription``; 1.2 ``id``, whose value is the MESSAGE's ``ack`` header.

    :param transactions: the ids of the open transactions. When the MESSAGE's ``transaction``
        header names one of them, the ACK joins that transaction (stompest 2.3 semantics: a message
        received in a transaction is acknowledged in it).
    :param receipt: asks the broker for a RECEIPT with this ``receipt-id``.
    :param version: the version to assume when ``frame.version`` is ``None`` (a frame built by hand).
    """
    return _acknowledge(StompSpec.ACK, frame, transactions, receipt, version)


def nack(
    frame: StompFrame,
    transactions: Collection[str] | None = None,
    receipt: str | None = None,
    *,
    version: str | None = None,
) -> StompFrame:
    """Build the NACK of a received MESSAGE ``frame`` (STOMP 1.1 and 1.2 only); the parameters
    and header rules are those of :func:`ack`."""
    return _acknowledge(StompSpec.NACK, frame, transactions, receipt, version)


def _acknowledge(
    command: str,
    frame: StompFrame,
    transactions: Collection[str] | None,
    receipt: str | None,
    version: str | None,
) -> StompFrame:
    version = _command(command, frame.version or version)
    _checkReceived(frame, StompSpec.MESSAGE)
    names = _ACK_HEADERS[version]
    headers = {}
    for name, source, required in names:
        value = frame.headers.get(source)
        if not value:
            if not required:
                continue
            raise StompProtocolError(
                f'Cannot {command} a MESSAGE without header {source!r} (version {version})', frame=frame
            )
        headers[name] = value
    transaction = frame.headers.get(StompSpec.TRANSACTION_HEADER)
    if transaction and transactions and transaction in transactions:
        headers[StompSpec.TRANSACTION_HEADER] = transaction
    return _withReceipt(StompFrame(command, headers, version=version), receipt)


#: (command, the version asked for) -> (the version resolved, the ACK/NACK header names with the
#: MESSAGE headers they come from, whether values are escaped, the codec); filled as first seen.
_ACK_WIRE: dict[tuple[str, str | None], tuple[str, tuple[tuple[str, str, bool], ...], bool, str]] = {}


def acknowledgeBytes(
    command: str,
    frame: StompFrame,
    transactions: Collection[str] | None = None,
    receipt: str | None = None,
    version: str | None = None,
) -> bytes | StompFrame:
    """The ACK or NACK (``command``) of a received MESSAGE ``frame`` as bytes, for a client's hot
    path: what ``bytes(ack(...))`` (or ``nack``) gives, after the same checks, with the same
    errors; or, off the fast path, the frame :func:`ack` builds (unserialised, so that an error in
    serialising it is raised where it always was: by ``bytes()``). The parameters are those of
    :func:`ack`.

    The fast path writes the bytes without building a frame: no receipt, no open transaction,
    and header values that are plain text (no backslash, no line break, so that a colon is the
    one character an escape may stand for). For a consumer that acknowledges each message this
    is most of the per-message cost of the ACK (measured: docs/benchmarks-e2e.rst, "ACKs without frames")."""
    key = (command, frame.version or version)
    try:
        resolved, names, escaped, codec = _ACK_WIRE[key]
    except KeyError:
        resolved = _command(command, key[1])  # raises for an unknown version or command
        _ACK_WIRE[key] = (
            resolved,
            tuple(_ACK_HEADERS[resolved]),
            resolved != StompSpec.VERSION_1_0,
            StompSpec.CODECS[resolved],
        )
        return _acknowledge(command, frame, transactions, receipt, version)
    if receipt is None and not transactions and isinstance(frame, StompFrame) and frame.command == _MESSAGE:
        headers = frame.headers
        text = command
        for name, source, required in names:
            value = headers.get(source)
            if value is None and not required:
                continue
            if type(value) is not str or not value or '\\' in value or '\n' in value or '\r' in value:
                break
            text = f'{text}\n{name}:{value.replace(":", _ESCAPED_COLON) if escaped else value}'
        else:
            try:
                return f'{text}\n\n\x00'.encode(codec)
            except UnicodeEncodeError:
                pass
    return _acknowledge(command, frame, transactions, receipt, version)


def begin(transaction: str, receipt: str | None = None, version: str | None = None) -> StompFrame:
    """Build a BEGIN frame that opens ``transaction``."""
    return _transaction(StompSpec.BEGIN, transaction, receipt, version)


def abort(transaction: str, receipt: str | None = None, version: str | None = None) -> StompFrame:
    """Build an ABORT frame that rolls ``transaction`` back."""
    return _transaction(StompSpec.ABORT, transaction, receipt, version)


def commit(transaction: str, receipt: str | None = None, version: str | None = None) -> StompFrame:
    """Build a COMMIT frame that commits ``transaction``."""
    return _transaction(StompSpec.COMMIT, transaction, receipt, version)


def _transaction(command: str, transaction: str, receipt: str | None, version: str | None) -> StompFrame:
    version = _command(command, version)
    transaction = _nonEmpty(StompSpec.TRANSACTION_HEADER, transaction, command)
    return _withReceipt(StompFrame(command, {StompSpec.TRANSACTION_HEADER: transaction}, version=version), receipt)


def beat(version: str | None = None) -> StompHeartBeat:
    """A heart-beat to send (STOMP 1.1 and 1.2; version 1.0 has no heart-beating)."""
    version = StompSpec.version(version)
    if version == StompSpec.VERSION_1_0:
        raise StompProtocolError('Heart-beating is not supported (version 1.0)')
    return StompHeartBeat(version)


# --- server frames -------------------------------------------------------------------------------


def connected(
    frame: StompFrame, versions: Iterable[str] | None = None
) -> tuple[str, str | None, str | None, tuple[int, int]]:
    """Read the broker's CONNECTED frame.

    :param versions: the versions the CONNECT offered (default ``['1.0']``, as :func:`connect`).
    :returns: ``(version, server, session id, (sx, sy))``: the version the broker chose (its
        ``version`` header, 1.0 when absent), its ``server`` and ``session`` headers (``None`` when
        absent) and its heart-beats from the ``heart-beat`` header: it can send one every ``sx``
        ms and wants one every ``sy`` ms. In 1.0 the heart-beats are ``(0, 0)`` whatever the
        broker says (ActiveMQ sends ``heart-beat:0,0`` even then).

    An ERROR instead of CONNECTED, a version that was not offered, or a ``heart-beat`` header that
    is not two non-negative integers of at most :attr:`StompSpec.MAX_HEART_BEAT` raises
    :class:`~stompest.error.StompProtocolError` (as stompest 2.3 did, huge values aside).
    """
    offered = offeredVersions(versions)
    _checkReceived(frame, StompSpec.CONNECTED)
    headers = frame.headers
    version = headers.get(StompSpec.VERSION_HEADER, StompSpec.VERSION_1_0)
    if version not in offered:
        raise StompProtocolError(
            f'Server version not among the versions offered: {version!r} [offered: {", ".join(offered)}]', frame=frame
        )
    heartBeats = (0, 0)
    if version != StompSpec.VERSION_1_0 and StompSpec.HEART_BEAT_HEADER in headers:
        heartBeats = parseHeartBeats(headers[StompSpec.HEART_BEAT_HEADER], frame)
    return version, headers.get(StompSpec.SERVER_HEADER), headers.get(StompSpec.SESSION_HEADER), heartBeats


def message(frame: StompFrame) -> Token:
    """The token of the subscription a received MESSAGE belongs to.

    1.1 and 1.2 name it by the ``subscription`` header (required); 1.0 by ``subscription`` when the
    broker sent one, else by ``destination``. A MESSAGE without ``message-id`` is refused in every
    version (it could never be acknowledged).
    """
    _checkReceived(frame, StompSpec.MESSAGE)
    version = StompSpec.version(frame.version)
    headers = frame.headers
    if StompSpec.MESSAGE_ID_HEADER not in headers:  # every version requires it (2.3 checked it too)
        name = StompSpec.MESSAGE_ID_HEADER
        raise StompProtocolError(f'MESSAGE without header {name!r} (version {version})', frame=frame)
    subscription = headers.get(StompSpec.SUBSCRIPTION_HEADER)
    if subscription is not None:
        return (StompSpec.ID_HEADER, subscription)
    if version != StompSpec.VERSION_1_0:
        name = StompSpec.SUBSCRIPTION_HEADER
        raise StompProtocolError(f'MESSAGE without header {name!r} (version {version})', frame=frame)
    destination = headers.get(StompSpec.DESTINATION_HEADER)
    if destination is None:
        name = StompSpec.DESTINATION_HEADER
        raise StompProtocolError(f'MESSAGE without header {name!r} (version {version})', frame=frame)
    return (StompSpec.DESTINATION_HEADER, destination)


def receipt(frame: StompFrame) -> str:
    """The ``receipt-id`` of a received RECEIPT frame."""
    _checkReceived(frame, StompSpec.RECEIPT)
    try:
        return frame.headers[StompSpec.RECEIPT_ID_HEADER]
    except KeyError:
        raise StompProtocolError(f'RECEIPT without header {StompSpec.RECEIPT_ID_HEADER!r}', frame=frame) from None


def error(frame: StompFrame) -> str:
    """What a received ERROR frame says: its ``message`` header, or else its body as text (undecodable
    bytes replaced). It never raises because of an odd body: it is read while handling a failure."""
    _checkReceived(frame, StompSpec.ERROR)
    text = frame.headers.get(StompSpec.MESSAGE_HEADER)
    if text is not None:
        return text
    return frame.body.decode(StompSpec.codec(StompSpec.VERSION_1_2), 'replace')


def errorText(frame: StompFrame, limit: int = 200) -> str:
    """A received ERROR frame in one line for an exception or a log: its ``message`` header and
    the first line of its body (when that says more), cut to ``limit`` characters and ``...``."""
    message = error(frame)
    detail = frame.body.decode('utf-8', 'replace').strip().split('\n', 1)[0].strip()
    if detail and detail != message:
        message = f'{message}: {detail}' if message else detail
    return message if len(message) <= limit else message[:limit] + '...'


# --- helpers -------------------------------------------------------------------------------------


def version(version: str | None = None) -> str:
    """``version`` if stompest speaks it (``None``: :attr:`StompSpec.DEFAULT_VERSION`), else
    :class:`~stompest.error.StompProtocolError` (:meth:`StompSpec.version`, as in stompest 2.3).

    >>> version('1.1')
    '1.1'
    """
    return StompSpec.version(version)


def versions(version: str | None = None) -> list[str]:
    """The versions a client whose highest version is ``version`` offers, oldest first.

    >>> versions('1.1')
    ['1.0', '1.1']
    """
    return StompSpec.versions(version)


@overload
def negotiateHeartBeat(client: int, server: int) -> int: ...
@overload
def negotiateHeartBeat(client: tuple[int, int], server: tuple[int, int]) -> tuple[int, int]: ...
def negotiateHeartBeat(client: int | tuple[int, int], server: int | tuple[int, int]) -> int | tuple[int, int]:
    """Agree on heart-beat intervals as the STOMP 1.1 spec says.

    With two intervals in ms (stompest 2.3's form), one direction: ``client`` is what one side
    offers (``cx`` to send, or ``cy`` to receive), ``server`` what the other side offers for the
    same direction (``sy``, or ``sx``). The result is the slower of the two, or 0 (never) when
    either is 0.

    With two pairs (an addition), both directions at once: ``(cx, cy)`` of the CONNECT and
    ``(sx, sy)`` of the CONNECTED give ``(client, server)``: the client must send a heart-beat
    every ``client`` ms (0: never), and may expect one from the server every ``server`` ms.

    >>> negotiateHeartBeat(1000, 2000), negotiateHeartBeat(1000, 0)
    (2000, 0)
    >>> negotiateHeartBeat((1000, 500), (2000, 0))
    (0, 2000)
    """
    if isinstance(client, tuple) or isinstance(server, tuple):
        cx, cy = _heartBeats(client)
        sx, sy = _heartBeats(server)
        return (_negotiate(cx, sy), _negotiate(sx, cy))
    return _negotiate(_heartBeat(client), _heartBeat(server))


def _negotiate(offered: int, wanted: int) -> int:
    return max(offered, wanted) if offered and wanted else 0


def _checkReceived(frame: StompFrame, command: str) -> None:
    if not isinstance(frame, StompFrame) or frame.command != command:
        got = getattr(frame, 'command', None)
        detail = ''
        if got == StompSpec.ERROR:
            detail = f' [message: {error(frame)!r}]'
        raise StompProtocolError(f'Expected a {command} frame, got: {got!r}{detail}', frame=frame)
