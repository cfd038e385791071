"""The blocking STOMP client: :class:`Stomp`, and :class:`StompPublisher` for threads that only publish.

>>> from stompest.sync import Stomp, StompPublisher
"""

from stompest.sync.client import Stomp
from stompest.sync.publisher import StompPublisher

__all__ = ['Stomp', 'StompPublisher']
