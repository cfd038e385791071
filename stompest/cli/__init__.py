"""The ``stompest`` command: send, listen, demo and bench against a STOMP broker.

Run it as ``stompest`` (the console script) or ``python -m stompest``::

    stompest --version                                     # stompest 3.0.0
    stompest send /queue/test 'hello'                       # one message
    printf 'a\\nb\\n' | stompest send /queue/test            # one message per line of stdin
    stompest send --file picture.png /queue/test           # a binary body
    stompest listen --count 2 --json /queue/test           # print messages as JSON lines
    stompest demo                                          # the Twisted pipeline, with a report
    stompest bench --count 10000                           # throughput, producing and consuming at once

Every subcommand takes the connection options (``--uri``, ``--login``, ``--passcode``,
``--stomp-version``, ``--heart-beat``, ``--host``, the TLS options and ``-v``), before or after the
subcommand's name. ``--uri``, ``--login``, ``--passcode`` and ``--host`` default to the environment
variables ``STOMP_URI``, ``STOMP_LOGIN``, ``STOMP_PASSCODE`` and ``STOMP_HOST`` (as in the
examples); prefer the variable for the passcode, since command lines are visible to every user of
the machine. The passcode is never printed: stompest's frame logs mask it, and the log handler of
this command masks its value once more, wherever it might show up.

Errors end the command with one line on stderr, ``stompest: error: <cause> (<what was tried>)``
and, where one helps, ``; hint: ...`` (see :mod:`stompest.cli.errors`), and exit status 1; bad
arguments exit with status 2 (argparse's convention). A failed connection attempt that is
followed by another one prints one line ``stompest: attempt N failed: ...``. SIGINT (Ctrl-C) and
SIGTERM stop the command gracefully (it disconnects) with exit status 130 and 143; a second one
stops it at once.

The modules, one idea each:

* :mod:`~stompest.cli.options`: the argument parser, its types and defaults;
* :mod:`~stompest.cli.connect`: configuration, the walk over the failover URI, receipts;
* :mod:`~stompest.cli.errors`: the one-line error messages and their hints;
* :mod:`~stompest.cli.output`: message formats, the progress bar, tables;
* :mod:`~stompest.cli.signals`: SIGINT/SIGTERM as a graceful stop;
* :mod:`~stompest.cli.send`, :mod:`~stompest.cli.listen`, :mod:`~stompest.cli.bench`,
  :mod:`~stompest.cli.demo`: the subcommands;
* :mod:`~stompest.cli.command`: :func:`main`, logging, dispatch.

Only ``demo`` imports Twisted; the other subcommands use the blocking client.
"""

from __future__ import annotations

from stompest.cli.command import main
from stompest.cli.errors import CliError, describeError
from stompest.cli.options import buildParser
from stompest.cli.output import ProgressBar, formatMessage, formatTable

__all__ = ['CliError', 'ProgressBar', 'buildParser', 'describeError', 'formatMessage', 'formatTable', 'main']
