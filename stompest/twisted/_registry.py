"""The listener registry of :class:`~stompest.twisted.Stomp`: which listeners the client holds,
which of them do something on each hook, and how the client calls them (part of the client,
split out of ``client.py``)."""

from __future__ import annotations

from typing import Any

from twisted.internet import defer
from twisted.python.failure import Failure

from stompest.twisted._lifecycle import ClientState
from stompest.twisted.listener import Listener, ReceiptListener

__all__ = ['ListenerRegistry', 'HOOKS', 'gather']


def _firstError(failure: Failure) -> Failure:
    """The failure of the first Deferred that failed in a ``gatherResults``."""
    first: Failure = failure.value.subFailure  # type: ignore[union-attr]
    return first


def gather(waits: list[defer.Deferred[Any]]) -> defer.Deferred[Any]:
    """One Deferred for the listeners' Deferreds: the only one, or all of them (first failure wins)."""
    if len(waits) == 1:
        return waits[0]
    return defer.gatherResults(waits, consumeErrors=True).addErrback(_firstError)


#: the listener hooks (see :mod:`stompest.twisted.listener`)
HOOKS = tuple(name for name in vars(Listener) if name.startswith('on'))


def _overrides(listener: Any, name: str) -> bool:
    """Whether ``listener`` does something on hook ``name`` (the base class's hooks are no-ops)."""
    if isinstance(listener, Listener):
        return getattr(type(listener), name) is not getattr(Listener, name) or name in getattr(listener, '__dict__', ())
    return hasattr(listener, name)


def _ignoresPlainFrames(listener: Any) -> bool:
    """Whether ``listener.onSend`` is :class:`ReceiptListener`'s own, which does nothing with a
    frame that asks for no receipt (so such a frame need not be built for it)."""
    return getattr(type(listener), 'onSend', None) is ReceiptListener.onSend and 'onSend' not in getattr(
        listener, '__dict__', ()
    )


class ListenerRegistry(ClientState):
    """The client's listeners, per hook only those that override it."""

    def add(self, listener: Listener) -> None:
        """Add a listener (once). A :class:`~stompest.twisted.listener.ReceiptListener` added by
        the caller replaces the default one (as in 2.3, where the defaults had none)."""
        if isinstance(listener, ReceiptListener) and not any(listener is each for each in self._factoryListeners):
            for each in list(self._listeners):
                if isinstance(each, ReceiptListener) and any(each is own for own in self._factoryListeners):
                    self.remove(each)
        if listener not in self._listeners:
            self._listeners.append(listener)
            self._rebuildHooks()
            listener.onAdd(self)  # type: ignore[arg-type]  # self is the client

    def remove(self, listener: Listener) -> None:
        """Remove a listener (no error if it is not there)."""
        if listener in self._listeners:
            self._listeners.remove(listener)
            self._rebuildHooks()

    def _rebuildHooks(self) -> None:
        # Per hook, only the listeners that override it: the base class's no-ops are never called
        # (most frames concern one or two of the default listeners). A new dict on every change,
        # so a notification loop holding the old lists can tell that listeners changed under it.
        self._hooks = {name: [each for each in self._listeners if _overrides(each, name)] for name in HOOKS}
        self._plainFrames = all(_ignoresPlainFrames(each) for each in self._hooks['onSend'])

    def _notify(self, name: str, *args: Any, listeners: list[Listener] | None = None) -> defer.Deferred[Any]:
        """Call hook ``name`` with ``(self, *args)`` on the listeners overriding it; a Deferred for
        the Deferreds they returned (the first failure wins)."""
        waits = self._notifyEach(name, args, listeners)
        if waits is None:
            return defer.succeed(None)
        return gather(waits)

    def _notifyEach(
        self, name: str, args: tuple[Any, ...], listeners: list[Listener] | None = None
    ) -> list[Any] | None:
        if listeners is not None:
            hooks = [each for each in listeners if _overrides(each, name)]
        else:
            hooks = self._hooks[name]
        waits = None
        current = self._hooks
        for listener in hooks:
            if listeners is None and self._hooks is not current and listener not in self._listeners:
                continue  # removed by an earlier listener's reaction
            result = getattr(listener, name)(self, *args)
            if result is not None and isinstance(result, defer.Deferred):  # (None first: Deferred is an ABC)
                if waits is None:
                    waits = [result]
                else:
                    waits.append(result)
        return waits
