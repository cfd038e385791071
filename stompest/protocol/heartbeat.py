"""Heart-beat deadlines: when the client owes the broker a beat, and when the broker is overdue.

Both clients ask the same two questions of the intervals a session negotiated
(:attr:`~stompest.protocol.session.StompSession.clientHeartBeat` and
:attr:`~stompest.protocol.session.StompSession.serverHeartBeat`, in ms) and of the last time
something was sent or received; each answers them with its own clock and timers. The answers are
pure functions here, in seconds on whatever clock the times were read from.

>>> interval(2000), interval(2000, 2.5), interval(0)
(2.0, 5.0, 0.0)
>>> sendDeadline(100.0, 2000)  # a beat is owed 2 s after the last frame sent
102.0
>>> receiveDeadline(100.0, 2000)  # silent beyond 3 (the default tolerance) intervals: overdue
106.0
>>> sendDeadline(None, 2000) is None, receiveDeadline(100.0, 0) is None
(True, True)
"""

from __future__ import annotations

from stompest.protocol.spec import StompSpec

__all__ = ['interval', 'receiveDeadline', 'sendDeadline']


def interval(milliseconds: int, factor: float = 1.0) -> float:
    """A negotiated heart-beat interval in seconds, times ``factor`` (a client's threshold or
    tolerance); 0.0 when the interval is 0 (no heart-beating in that direction)."""
    return milliseconds / 1000.0 * factor


def sendDeadline(lastSent: float | None, clientHeartBeat: int, factor: float = 1.0) -> float | None:
    """When the client must send a heart-beat: ``clientHeartBeat`` ms (times ``factor``) after
    ``lastSent``; ``None`` when it owes none (the interval is 0, or nothing was sent yet)."""
    if not clientHeartBeat or lastSent is None:
        return None
    return lastSent + interval(clientHeartBeat, factor)


def receiveDeadline(
    lastReceived: float | None,
    serverHeartBeat: int,
    tolerance: float = StompSpec.DEFAULT_HEART_BEAT_TOLERANCE,
) -> float | None:
    """When a silent broker is overdue (the client should drop the connection): ``tolerance``
    times ``serverHeartBeat`` ms after ``lastReceived``; ``None`` when the broker promised no
    heart-beats or nothing was received yet."""
    if not serverHeartBeat or lastReceived is None:
        return None
    return lastReceived + interval(serverHeartBeat, tolerance)
