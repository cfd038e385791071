"""stompest: a STOMP 1.0/1.1/1.2 client framework for Python.

The protocol layer (:mod:`stompest.protocol`) is free of I/O; :mod:`stompest.sync` and
:mod:`stompest.twisted` are clients on top of it.

>>> FULL_VERSION == __version__ and FULL_VERSION.startswith(VERSION + '.')
True
"""

__version__ = '3.0.0.dev0'

#: The full version, as stompest 2.3 named it (``'2.3.0'`` there).
FULL_VERSION = __version__
#: The major and minor version, as stompest 2.3 named it (``'2.3'`` there).
VERSION = '.'.join(__version__.split('.')[:2])
