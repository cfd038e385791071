"""The Twisted STOMP client (stompest 2.3's ``stompest.async``, renamed ``stompest.twisted``).

>>> from stompest.twisted import Stomp
>>> from stompest.twisted.listener import SubscriptionListener

Import it as ``stompest.twisted``; inside this package ``from twisted.internet import ...``
still means the Twisted framework (absolute imports).
"""

from stompest.twisted.client import Stomp

__all__ = ['Stomp']
