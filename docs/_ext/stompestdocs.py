"""Sphinx helpers that keep the docs honest about what the code does.

* ``.. stompest-session-states::`` prints the session's state table, generated from
  ``stompest.protocol.session.COMMAND_STATES`` (the one mapping the session checks commands
  against), so the docs cannot drift from the code.
* ``.. stompest-listener-hooks::`` turns ``hook: when`` lines into a table of the listener hooks
  with their signatures taken from ``stompest.twisted.listener.Listener``; a hook the class has
  and the list lacks (or the other way round) is a warning.
* ``.. stompest-cli-help:: [SUBCOMMAND]`` prints ``stompest [SUBCOMMAND] --help`` as argparse
  formats it from ``stompest.cli.buildParser()``, at a fixed width.
* On every build, the failover options table in ``stompest.protocol.failover``'s docstring (which
  the docs show through ``automodule``) is compared with the option parser's own table
  (``_OPTIONS``): a missing, extra or differently defaulted option is a warning, and ``make docs``
  turns warnings into errors.
"""

from __future__ import annotations

import re
from typing import Any

from docutils import nodes
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

log = logging.getLogger(__name__)

_RULE = re.compile(r'^=+(\s+=+)+\s*$')


def _docstringTable(doc: str) -> dict[str, str]:
    """The rows of the first reST simple table in ``doc`` whose header starts with ``Name``:
    option name -> the text of its Default column."""
    lines = doc.splitlines()
    rows: dict[str, str] = {}
    rules = [index for (index, line) in enumerate(lines) if _RULE.match(line)]
    for first, header, last in zip(rules, rules[1:], rules[2:], strict=False):
        if not lines[first + 1].split()[:1] == ['Name']:
            continue
        columns = [match.span() for match in re.finditer('=+', lines[first])]
        names = lines[first + 1].split()
        defaultColumn = columns[names.index('Default')]
        for line in lines[header + 1 : last]:
            name = line[columns[0][0] : columns[0][1]].strip()
            if not name:
                continue  # a continuation line of the Meaning column
            rows[name] = line[defaultColumn[0] : defaultColumn[1]].strip()
        return rows
    return rows


def _spell(value: Any) -> str:
    """How the docstring spells a default value."""
    if value is None:
        return '(none)'
    if isinstance(value, bool):
        return 'true' if value else 'false'
    return str(value)


def checkFailoverOptions(app: Sphinx) -> None:
    from stompest.protocol import failover

    documented = _docstringTable(failover.__doc__ or '')
    actual = {name: _spell(default) for (name, (_, default)) in failover._OPTIONS.items()}
    actual[failover._PRIORITY_URIS] = _spell(None)
    if not documented:
        log.warning('stompestdocs: no options table found in stompest.protocol.failover')
        return
    for name in sorted(set(actual) - set(documented)):
        log.warning('stompestdocs: failover option %r is not in the options table of stompest.protocol.failover', name)
    for name in sorted(set(documented) - set(actual)):
        log.warning('stompestdocs: the failover options table lists %r, which the parser does not know', name)
    for name in sorted(set(documented) & set(actual)):
        if documented[name] != actual[name]:
            log.warning(
                'stompestdocs: failover option %r: the table says default %r, the parser uses %r',
                name,
                documented[name],
                actual[name],
            )


def _table(header: list[str], rows: list[list[str]], widths: list[int]) -> nodes.table:
    table = nodes.table()
    group = nodes.tgroup(cols=len(header))
    table += group
    for width in widths:
        group += nodes.colspec(colwidth=width)

    def row(cells: list[str], literal: bool) -> nodes.row:
        line = nodes.row()
        for index, text in enumerate(cells):
            entry = nodes.entry()
            paragraph = nodes.paragraph()
            paragraph += nodes.literal(text, text) if (literal and index == 0) else nodes.Text(text)
            entry += paragraph
            line += entry
        return line

    head = nodes.thead()
    head += row(header, literal=False)
    group += head
    body = nodes.tbody()
    for cells in rows:
        body += row(cells, literal=True)
    group += body
    return table


class SessionStates(SphinxDirective):
    """A command-by-state table of where each :class:`StompSession` command is legal."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from stompest.protocol import session

        states = [session.DISCONNECTED, session.CONNECTING, session.CONNECTED, session.DISCONNECTING]
        rows = [
            [command] + ['yes' if state in legal else '' for state in states]
            for (command, legal) in session.COMMAND_STATES.items()
        ]
        self.env.note_dependency(session.__file__)
        return [_table(['command'] + states, rows, [3] + [2] * len(states))]


class ListenerHooks(SphinxDirective):
    """The listener hooks: signature (from the code) and when each is called (from the content)."""

    has_content = True

    def run(self) -> list[nodes.Node]:
        import inspect

        from stompest.twisted.listener import Listener

        hooks = {name for name in vars(Listener) if name.startswith('on') and callable(getattr(Listener, name))}
        rows = []
        described = set()
        for line in self.content:
            name, _, when = line.partition(':')
            name = name.strip()
            described.add(name)
            if name not in hooks:
                log.warning(
                    'stompestdocs: listener hook %r is not a method of Listener', name, location=self.get_location()
                )
                continue
            parameters = list(inspect.signature(getattr(Listener, name)).parameters)[1:]
            rows.append([f'{name}({", ".join(parameters)})', when.strip()])
        for name in sorted(hooks - described):
            log.warning('stompestdocs: listener hook %r is not described', name, location=self.get_location())
        self.env.note_dependency(inspect.getfile(Listener))
        return [_table(['hook', 'when'], rows, [4, 6])]


class CliHelp(SphinxDirective):
    """The ``--help`` text of the ``stompest`` command or one of its subcommands."""

    optional_arguments = 1
    has_content = False

    def run(self) -> list[nodes.Node]:
        import argparse
        import os

        from stompest import cli

        parser = cli.buildParser()
        if self.arguments:
            subparsers = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
            parser = subparsers.choices[self.arguments[0]]
        columns = os.environ.get('COLUMNS')
        os.environ['COLUMNS'] = '100'  # argparse wraps at the terminal width; make the docs stable
        try:
            text = parser.format_help()
        finally:
            if columns is None:
                del os.environ['COLUMNS']
            else:
                os.environ['COLUMNS'] = columns
        self.env.note_dependency(cli.__file__)
        block = nodes.literal_block(text, text)
        block['language'] = 'text'
        return [block]


def checkSessionStates(app: Sphinx) -> None:
    """The session module's docstring repeats the table; warn when it disagrees with the code."""
    from stompest.protocol import session

    documented: dict[str, set[str]] = {}
    lines = (session.__doc__ or '').splitlines()
    rules = [index for (index, line) in enumerate(lines) if _RULE.match(line)]
    for first, header, last in zip(rules, rules[1:], rules[2:], strict=False):
        if lines[first + 1].split()[:1] != ['command']:
            continue
        split = re.search('=+', lines[first]).end()  # type: ignore[union-attr]
        for line in lines[header + 1 : last]:
            commands, states = line[:split].strip(), line[split:].strip()
            for command in commands.split(', '):
                documented[command] = {state.strip() for state in states.split(',')}
        break
    actual = {command: set(states) for (command, states) in session.COMMAND_STATES.items()}
    if documented and documented != actual:
        for command in sorted(set(documented) | set(actual)):
            if documented.get(command) != actual.get(command):
                log.warning(
                    'stompestdocs: stompest.protocol.session docstring says %r is legal in %s, COMMAND_STATES says %s',
                    command,
                    sorted(documented.get(command, ())),
                    sorted(actual.get(command, ())),
                )


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive('stompest-session-states', SessionStates)
    app.add_directive('stompest-cli-help', CliHelp)
    app.add_directive('stompest-listener-hooks', ListenerHooks)
    app.connect('builder-inited', checkFailoverOptions)
    app.connect('builder-inited', checkSessionStates)
    return {'version': '1', 'parallel_read_safe': True, 'parallel_write_safe': True}
