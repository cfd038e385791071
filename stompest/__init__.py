"""stompest: a STOMP 1.0/1.1/1.2 client framework for Python.

The protocol layer (:mod:`stompest.protocol`) is free of I/O; :mod:`stompest.sync` and
:mod:`stompest.twisted` are clients on top of it.
"""

__version__ = '3.0.0.dev0'
