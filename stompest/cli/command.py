"""The command's entry point: parse, set up logging and the stop signals, run, report."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, TextIO

from stompest.cli.bench import cmdBench
from stompest.cli.context import MASK, Context, mask
from stompest.cli.demo import cmdDemo
from stompest.cli.errors import CliError, describeError
from stompest.cli.listen import cmdListen
from stompest.cli.options import buildParser, resolve
from stompest.cli.send import cmdSend
from stompest.cli.signals import StopSignals, exitStatus
from stompest.error import StompError

__all__ = ['EXIT_ERROR', 'EXIT_INTERRUPTED', 'EXIT_OK', 'EXIT_USAGE', 'main', 'run']

#: Exit statuses (a signal gives 128 plus its number: 130 for SIGINT, 143 for SIGTERM).
EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

COMMANDS = {'send': cmdSend, 'listen': cmdListen, 'bench': cmdBench, 'demo': cmdDemo}


class _MaskingFormatter(logging.Formatter):
    """Replaces the passcode's value wherever it appears in a log line (defence in depth:
    stompest's frame logs mask the ``passcode`` header already)."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__('%(asctime)s %(levelname)s %(name)s: %(message)s')
        self._secrets = [secret for secret in secrets if secret]

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        for secret in self._secrets:
            text = text.replace(secret, MASK)
        return text


@contextlib.contextmanager
def _logging(args: argparse.Namespace, stderr: TextIO) -> Iterator[None]:
    """Frame logs on stderr with ``-v``; otherwise stompest's loggers stay silent, since the
    command reports attempts and failures in its own lines (and log lines would break the
    progress bar). The ``stompest`` logger is put back as it was afterwards, so calling
    :func:`main` in a process (tests, an application embedding the command) leaves that
    process's logging alone."""
    logger = logging.getLogger('stompest')
    saved = (logger.level, logger.propagate)
    handler = logging.StreamHandler(stderr)
    handler.setFormatter(_MaskingFormatter([args.passcode or '']))
    level = logging.DEBUG if args.verbose else logging.CRITICAL + 1
    handler.setLevel(level)
    logger.setLevel(level)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()
        logger.setLevel(saved[0])
        logger.propagate = saved[1]


def run(args: argparse.Namespace, context: Context) -> int:
    """Run the parsed command; errors propagate (see :func:`main`)."""
    try:
        command = COMMANDS[args.command]
    except KeyError:  # pragma: no cover - argparse rejects it first
        raise CliError(f'unknown command {args.command!r}') from None
    return command(args, context)


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    stdin: Any = None,
    stdout: Any = None,
    stderr: TextIO | None = None,
) -> int:
    """Parse ``argv`` (default: ``sys.argv[1:]``), run the command, return the exit status.

    :param environ: where ``STOMP_URI``, ``STOMP_LOGIN``, ``STOMP_PASSCODE`` and ``STOMP_HOST``
        come from (default: :data:`os.environ`).
    :param stdin: a binary stream (default: ``sys.stdin.buffer``).
    :param stdout: a binary stream (default: ``sys.stdout.buffer``).
    :param stderr: a text stream (default: :data:`sys.stderr`).
    """
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    stderr = sys.stderr if stderr is None else stderr
    parser = buildParser()
    try:
        with contextlib.redirect_stderr(stderr), _redirectTextStdout(stdout):  # --help, --version, usage errors
            args = parser.parse_args(argv)
    except SystemExit as exc:  # --help or --version (0), or a usage error (2), already printed by argparse
        return int(exc.code or 0) if not isinstance(exc.code, str) else EXIT_USAGE
    args = resolve(args, os.environ if environ is None else environ)
    context = Context(stdin, stdout, stderr, StopSignals(), secret=args.passcode)
    with _logging(args, stderr), context.stop.installed():
        try:
            return run(args, context)
        except KeyboardInterrupt as exc:
            return exitStatus(exc)
        except (StompError, OSError, CliError) as exc:
            stderr.write(f'stompest: error: {mask(describeError(exc), args.passcode)}\n')
            return EXIT_ERROR


@contextlib.contextmanager
def _redirectTextStdout(stdout: Any) -> Iterator[None]:
    """argparse prints ``--help`` and ``--version`` to :data:`sys.stdout`; send that to the
    caller's binary ``stdout`` when it is not the process's own."""
    if stdout is getattr(sys.stdout, 'buffer', None):
        yield
        return
    import io

    text = io.StringIO()
    try:
        with contextlib.redirect_stdout(text):
            yield
    finally:
        if text.getvalue():
            stdout.write(text.getvalue().encode('utf-8'))
            stdout.flush()
