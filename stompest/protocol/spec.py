"""Names and rules of the STOMP protocol, versions 1.0, 1.1 and 1.2.

Every command name, header name and ack mode stompest uses is spelled here once, as an
UPPER_CASE attribute of :class:`StompSpec` (the names are stompest 2.3's).

>>> StompSpec.version('1.2')
'1.2'
>>> StompSpec.versions('1.1')
['1.0', '1.1']
>>> StompSpec.codec('1.0'), StompSpec.codec('1.2')
('ascii', 'utf-8')
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

from stompest.error import StompProtocolError

__all__ = ['StompSpec']


class _CommandsByVersion(frozenset[str]):
    """A set of commands per STOMP version, in both of the shapes code reads it in.

    Indexed by a version (``table['1.1']``, and ``keys()``, ``items()``, ``values()``, ``get()``),
    it is stompest 2.3's dict of one set per version. Used as a set itself (``command in table``,
    iteration), it is the set of STOMP 1.1 and 1.2, where the restriction it describes exists.
    """

    __slots__ = ('_byVersion',)
    _byVersion: dict[str, frozenset[str]]

    def __new__(cls, byVersion: Mapping[str, Iterable[str]]) -> _CommandsByVersion:
        table = {version: frozenset(commands) for version, commands in byVersion.items()}
        self = super().__new__(cls, table['1.2'])
        self._byVersion = table
        return self

    def __getitem__(self, version: str) -> frozenset[str]:
        return self._byVersion[version]

    def get(self, version: str, default: frozenset[str] | None = None) -> frozenset[str] | None:
        return self._byVersion.get(version, default)

    def keys(self) -> Iterator[str]:
        return iter(self._byVersion)

    def values(self) -> Iterator[frozenset[str]]:
        return iter(self._byVersion.values())

    def items(self) -> Iterator[tuple[str, frozenset[str]]]:
        return iter(self._byVersion.items())

    def __repr__(self) -> str:
        return f'{self._byVersion!r}'


class StompSpec:
    """The STOMP specification as constants and a few class methods."""

    # versions
    VERSION_1_0 = '1.0'
    VERSION_1_1 = '1.1'
    VERSION_1_2 = '1.2'
    VERSIONS = (VERSION_1_0, VERSION_1_1, VERSION_1_2)
    DEFAULT_VERSION = VERSION_1_0

    # client commands
    ABORT = 'ABORT'
    ACK = 'ACK'
    BEGIN = 'BEGIN'
    COMMIT = 'COMMIT'
    CONNECT = 'CONNECT'
    DISCONNECT = 'DISCONNECT'
    NACK = 'NACK'
    SEND = 'SEND'
    STOMP = 'STOMP'
    SUBSCRIBE = 'SUBSCRIBE'
    UNSUBSCRIBE = 'UNSUBSCRIBE'

    # server commands
    CONNECTED = 'CONNECTED'
    ERROR = 'ERROR'
    MESSAGE = 'MESSAGE'
    RECEIPT = 'RECEIPT'

    _CLIENT_COMMANDS_1_0 = frozenset({ABORT, ACK, BEGIN, COMMIT, CONNECT, DISCONNECT, SEND, SUBSCRIBE, UNSUBSCRIBE})
    # STOMP 1.1 and 1.2 add NACK, and a client may open with STOMP instead of CONNECT.
    _CLIENT_COMMANDS_1_1 = _CLIENT_COMMANDS_1_0 | {NACK, STOMP}
    CLIENT_COMMANDS = {
        VERSION_1_0: _CLIENT_COMMANDS_1_0,
        VERSION_1_1: _CLIENT_COMMANDS_1_1,
        VERSION_1_2: _CLIENT_COMMANDS_1_1,
    }
    _SERVER_COMMANDS = frozenset({CONNECTED, ERROR, MESSAGE, RECEIPT})
    SERVER_COMMANDS = {VERSION_1_0: _SERVER_COMMANDS, VERSION_1_1: _SERVER_COMMANDS, VERSION_1_2: _SERVER_COMMANDS}
    COMMANDS = {
        VERSION_1_0: _CLIENT_COMMANDS_1_0 | _SERVER_COMMANDS,
        VERSION_1_1: _CLIENT_COMMANDS_1_1 | _SERVER_COMMANDS,
        VERSION_1_2: _CLIENT_COMMANDS_1_1 | _SERVER_COMMANDS,
    }
    #: Per version, the frames that may carry a body: any in 1.0, SEND, MESSAGE and ERROR in 1.1
    #: and 1.2 (``COMMANDS_BODY_ALLOWED[version]``, as in stompest 2.3; used as a set itself, it is
    #: the 1.1/1.2 set).
    COMMANDS_BODY_ALLOWED = _CommandsByVersion(
        {
            VERSION_1_0: COMMANDS[VERSION_1_0],
            VERSION_1_1: {SEND, MESSAGE, ERROR},
            VERSION_1_2: {SEND, MESSAGE, ERROR},
        }
    )
    #: Per version, the frames whose headers are not escaped: every frame in 1.0 (which has no
    #: escapes), CONNECT, STOMP and CONNECTED in 1.1 and 1.2 (their "Value Encoding" rule; stompest
    #: 2.3 listed CONNECT and CONNECTED only, but STOMP is CONNECT under another name). Indexed by
    #: version as in 2.3; used as a set itself, it is the 1.1/1.2 set.
    COMMANDS_ESCAPE_EXCLUDED = _CommandsByVersion(
        {
            VERSION_1_0: COMMANDS[VERSION_1_0],
            VERSION_1_1: {CONNECT, CONNECTED, STOMP},
            VERSION_1_2: {CONNECT, CONNECTED, STOMP},
        }
    )

    # headers
    ACCEPT_VERSION_HEADER = 'accept-version'
    ACK_HEADER = 'ack'
    CONTENT_LENGTH_HEADER = 'content-length'
    CONTENT_TYPE_HEADER = 'content-type'
    DESTINATION_HEADER = 'destination'
    HEART_BEAT_HEADER = 'heart-beat'
    HOST_HEADER = 'host'
    ID_HEADER = 'id'
    LOGIN_HEADER = 'login'
    MESSAGE_HEADER = 'message'
    MESSAGE_ID_HEADER = 'message-id'
    PASSCODE_HEADER = 'passcode'
    #: What a passcode is shown as wherever it would appear (frame ``repr``/``info``, config ``repr``, CLI).
    PASSCODE_MASK = '********'
    RECEIPT_HEADER = 'receipt'
    RECEIPT_ID_HEADER = 'receipt-id'
    SELECTOR_HEADER = 'selector'
    SESSION_HEADER = 'session'
    SERVER_HEADER = 'server'
    SUBSCRIPTION_HEADER = 'subscription'
    TRANSACTION_HEADER = 'transaction'
    VERSION_HEADER = 'version'
    REDELIVERED_HEADER = 'redelivered'
    PERSISTENT_HEADER = 'persistent'
    REPLY_TO_HEADER = 'reply-to'
    # headers stompest adds to a message it forwards to an error destination
    ORIGINAL_DESTINATION_HEADER = 'original-destination'
    ERROR_DESTINATION_FAILURE_HEADER = 'stompest-failure'
    # broker-specific prefetch headers (documented, passed through as they are)
    ACTIVEMQ_PREFETCH_SIZE_HEADER = 'activemq.prefetchSize'
    RABBITMQ_PREFETCH_COUNT_HEADER = 'prefetch-count'

    # ack modes (not checked when subscribing: brokers honour ``client-individual`` in 1.0 too,
    # ActiveMQ among them, and stompest 2.3 sent it; ACK_MODES says what each spec defines)
    ACK_AUTO = 'auto'
    ACK_CLIENT = 'client'
    ACK_CLIENT_INDIVIDUAL = 'client-individual'
    ACK_MODES = {
        VERSION_1_0: frozenset({ACK_AUTO, ACK_CLIENT}),
        VERSION_1_1: frozenset({ACK_AUTO, ACK_CLIENT, ACK_CLIENT_INDIVIDUAL}),
        VERSION_1_2: frozenset({ACK_AUTO, ACK_CLIENT, ACK_CLIENT_INDIVIDUAL}),
    }
    CLIENT_ACK_MODES = frozenset({ACK_CLIENT, ACK_CLIENT_INDIVIDUAL})

    # wire syntax
    LINE_DELIMITER = '\n'
    #: per version, the character a line may end in before ``LINE_DELIMITER`` (1.2: CRLF lines)
    STRIP_LINE_DELIMITER = {VERSION_1_2: '\r'}
    ESCAPE_CHARACTER = '\\'
    #: per version, what each escape sequence (the character after ``ESCAPE_CHARACTER``) stands for
    ESCAPED_CHARACTERS = {
        VERSION_1_0: {},
        VERSION_1_1: {'\\': '\\', 'c': ':', 'n': '\n'},
        VERSION_1_2: {'\\': '\\', 'c': ':', 'n': '\n', 'r': '\r'},
    }
    FRAME_DELIMITER = '\x00'
    HEADER_SEPARATOR = ':'
    HEART_BEAT_SEPARATOR = ','
    VERSION_SEPARATOR = ','
    #: ``(client, server)`` heart-beats a CONNECT carries when the caller asks for none
    DEFAULT_HEART_BEATS = (0, 0)
    CODECS = {VERSION_1_0: 'ascii', VERSION_1_1: 'utf-8', VERSION_1_2: 'utf-8'}

    #: Escapes in header names and values, per version (what stands for which character).
    ESCAPE_CHARACTERS = {
        VERSION_1_0: {},
        VERSION_1_1: {'\\': '\\\\', '\n': '\\n', ':': '\\c'},
        VERSION_1_2: {'\\': '\\\\', '\n': '\\n', ':': '\\c', '\r': '\\r'},
    }

    #: How many negotiated server heart-beat intervals of silence a client tolerates before it
    #: declares the broker dead. Measured: ActiveMQ 5.17 sends its first heart-beat two intervals
    #: after CONNECTED (then one per interval), so 2.0 drops healthy connections; both ActiveMQ and
    #: RabbitMQ themselves give a silent client three intervals.
    DEFAULT_HEART_BEAT_TOLERANCE = 3.0

    #: The longest heart-beat interval stompest accepts, in ms: 2**31 - 1 (about 24.8 days, the
    #: largest a Java int holds, hence the largest ActiveMQ and RabbitMQ can mean). A larger value
    #: in a CONNECT's ``heartBeats`` or a broker's CONNECTED is refused with
    #: :class:`~stompest.error.StompProtocolError`, so no absurd number ever reaches a client's
    #: ``select()`` or ``callLater()``.
    MAX_HEART_BEAT = 2**31 - 1

    # limits of the parser (safe defaults; each is a StompParser constructor argument)
    #: the largest whole frame (headers and body) the parser accepts, in bytes
    DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024
    #: the longest command or header line, in bytes
    DEFAULT_MAX_HEADER_SIZE = 64 * 1024
    #: the most header lines in one frame
    DEFAULT_MAX_HEADERS = 1000

    @classmethod
    def version(cls, version: str | None = None) -> str:
        """Return ``version`` if it is a STOMP version stompest speaks (``None`` means
        :attr:`DEFAULT_VERSION`); raise :class:`~stompest.error.StompProtocolError` otherwise.
        """
        if version is None:
            return cls.DEFAULT_VERSION
        if version not in cls.VERSIONS:
            raise StompProtocolError(f'Version is not supported: {version!r} [supported: {", ".join(cls.VERSIONS)}]')
        return version

    @classmethod
    def versions(cls, version: str | None = None) -> list[str]:
        """All versions up to and including ``version`` (the versions a client offering
        ``version`` accepts), oldest first."""
        version = cls.version(version)
        return list(cls.VERSIONS[: cls.VERSIONS.index(version) + 1])

    @classmethod
    def codec(cls, version: str | None = None) -> str:
        """The text encoding of headers in ``version``: ASCII for 1.0, UTF-8 after that."""
        return cls.CODECS[cls.version(version)]
