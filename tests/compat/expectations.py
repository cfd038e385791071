"""The suites of the 2.3 compatibility run, the list of expected failures, and the verdict.

Pure logic, shared by ``run.py`` (the driver) and ``compat_plugin.py`` (inside pytest), and
tested by ``test_expectations.py`` in the ordinary test run.

``expected.txt`` has one entry per line::

    STATUS  TEST-ID  -- TAG: reason

``STATUS``
    ``xfail``: the test runs and must fail (if it passes, the run fails: delete its line).
    A TEST-ID without ``::`` names a module that must fail to import.
    ``exclude``: the test is never run (deselected).
``TEST-ID``
    A pytest node id relative to the build folder, e.g.
    ``stompest/tests/frame_test.py::StompFrameTest::test_frame`` (2.3's ``stompest/async/tests``
    are ``stompest/twisted/tests`` after the import rewrite).
``TAG``
    ``keep``: a deviation from 2.3 kept on purpose (issue 8, item 5; documented in
    ``docs/migrating.rst``). ``restore``: 2.3 behaviour not yet restored. ``private``: the test
    pokes at 2.3 internals (private attributes or modules), not the public API.

Blank lines and lines starting with ``#`` are comments.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

#: Suite name -> (title, the modules it runs, needs the broker). Module paths are relative
#: to the build folder.
SUITES: dict[str, tuple[str, tuple[str, ...], bool]] = {
    'sync-unit': (
        'sync core unit',
        (
            'stompest/tests/commands_test.py',
            'stompest/tests/failover_test.py',
            'stompest/tests/frame_test.py',
            'stompest/tests/parser_test.py',
            'stompest/tests/session_test.py',
            'stompest/tests/sync_client_test.py',
            'stompest/tests/transport_test.py',
            'stompest/tests/util_test.py',
        ),
        False,
    ),
    'twisted-unit': (
        'Twisted unit',
        (
            'stompest/twisted/tests/async_client_test.py',
            'stompest/twisted/tests/async_util_test.py',
        ),
        False,
    ),
    'sync-integration': ('sync integration (ActiveMQ)', ('stompest/tests/sync_client_integration_test.py',), True),
    'twisted-integration': (
        'Twisted integration (ActiveMQ)',
        ('stompest/twisted/tests/async_client_integration_test.py',),
        True,
    ),
}

STATUSES = ('xfail', 'exclude')
TAGS = ('keep', 'restore', 'private')
_LINE = re.compile(r'^(?P<status>\S+)\s+(?P<test>\S+)\s+--\s+(?P<tag>[a-z]+):\s*(?P<reason>\S.*)$')


class ExpectationsError(ValueError):
    """``expected.txt`` is malformed."""


@dataclass(frozen=True)
class Entry:
    status: str
    test: str
    tag: str
    reason: str
    line: int

    @property
    def module(self) -> str:
        return self.test.split('::', 1)[0]

    @property
    def isModule(self) -> bool:
        return '::' not in self.test


def suiteOf(test: str) -> str | None:
    """The suite a node id belongs to, or ``None``."""
    module = test.split('::', 1)[0]
    for name, (_, modules, _) in SUITES.items():
        if module in modules:
            return name
    return None


def parse(text: str) -> dict[str, Entry]:
    """The entries of an ``expected.txt`` text, by test id. Raises :class:`ExpectationsError`."""
    entries: dict[str, Entry] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith('#'):
            continue
        match = _LINE.match(line)
        if not match:
            raise ExpectationsError(f'line {number}: expected "STATUS TEST-ID -- TAG: reason", got {raw!r}')
        entry = Entry(match['status'], match['test'], match['tag'], match['reason'], number)
        if entry.status not in STATUSES:
            raise ExpectationsError(f'line {number}: status {entry.status!r} is none of {", ".join(STATUSES)}')
        if entry.tag not in TAGS:
            raise ExpectationsError(f'line {number}: tag {entry.tag!r} is none of {", ".join(TAGS)}')
        if suiteOf(entry.test) is None:
            raise ExpectationsError(f'line {number}: {entry.test} is in no suite (modules: see SUITES)')
        if entry.isModule and entry.status != 'xfail':
            raise ExpectationsError(f'line {number}: a whole module can only be listed as xfail (import fails)')
        if entry.test in entries:
            first = entries[entry.test].line
            raise ExpectationsError(f'line {number}: {entry.test} is listed twice (first on line {first})')
        entries[entry.test] = entry
    return entries


def load(path: Path) -> dict[str, Entry]:
    return parse(path.read_text(encoding='utf-8'))


@dataclass
class SuiteResult:
    """What one pytest run of one suite reported (the plugin writes it as JSON)."""

    suite: str
    #: node id -> ('passed' | 'failed' | 'skipped', one-line reason or '')
    outcomes: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: module node id -> one-line reason, for modules that failed to import
    collectionErrors: dict[str, str] = field(default_factory=dict)
    #: node ids not run because ``expected.txt`` excludes them
    deselected: list[str] = field(default_factory=list)
    #: True when the run was narrowed (-k, a node id...): stale entries are not checked then
    filtered: bool = False

    def toJson(self) -> dict[str, object]:
        return {
            'suite': self.suite,
            'outcomes': {k: list(v) for k, v in self.outcomes.items()},
            'collectionErrors': self.collectionErrors,
            'deselected': self.deselected,
            'filtered': self.filtered,
        }

    @classmethod
    def fromJson(cls, data: Mapping[str, object]) -> SuiteResult:
        outcomes = data['outcomes']
        assert isinstance(outcomes, dict)
        errors = data['collectionErrors']
        assert isinstance(errors, dict)
        deselected = data['deselected']
        assert isinstance(deselected, list)
        return cls(
            str(data['suite']),
            {k: (v[0], v[1]) for k, v in outcomes.items()},
            dict(errors),
            list(deselected),
            bool(data.get('filtered')),
        )


@dataclass
class Verdict:
    suite: str
    passed: list[str] = field(default_factory=list)
    expectedFail: list[str] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    #: (test id, what is wrong)
    unexpected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.unexpected

    def line(self) -> str:
        title = SUITES[self.suite][0]
        return (
            f'{title:32} passed {len(self.passed):3}  expected-fail {len(self.expectedFail):3}  '
            f'excluded {len(self.excluded):2}  unexpected {len(self.unexpected):2}'
        )


def judge(result: SuiteResult, entries: Mapping[str, Entry]) -> Verdict:
    """Hold one suite's outcomes against the list: strict both ways."""
    verdict = Verdict(result.suite)
    mine = {test: entry for test, entry in entries.items() if suiteOf(test) == result.suite}
    for test, (outcome, reason) in sorted(result.outcomes.items()):
        entry = mine.get(test)
        if entry is not None and entry.status == 'exclude':
            verdict.unexpected.append((test, 'listed as excluded but it ran'))
        elif outcome == 'passed':
            if entry is None:
                verdict.passed.append(test)
            else:
                verdict.unexpected.append((test, f'listed as failing (line {entry.line}) but passes: delete its line'))
        elif entry is None:
            verdict.unexpected.append((test, f'{outcome}, not listed: {reason}'))
        elif outcome == 'failed':
            verdict.expectedFail.append(test)
        else:
            verdict.unexpected.append((test, f'{outcome} (a listed test must fail, not skip): {reason}'))
    for module, reason in sorted(result.collectionErrors.items()):
        entry = mine.get(module)
        if entry is None:
            verdict.unexpected.append((module, f'module does not import, not listed: {reason}'))
        else:
            verdict.expectedFail.append(module)
    verdict.excluded.extend(sorted(result.deselected))
    if not result.filtered:
        seen = set(result.outcomes) | set(result.collectionErrors) | set(result.deselected)
        for test, entry in sorted(mine.items()):
            if test in seen or entry.module in result.collectionErrors:
                continue
            if entry.isModule:
                verdict.unexpected.append(
                    (
                        test,
                        f'listed (line {entry.line}) as failing to import, but it imports: '
                        'delete its line and list its failing tests',
                    )
                )
            else:
                verdict.unexpected.append((test, f'listed (line {entry.line}) but no such test ran: a stale entry'))
    return verdict


def summary(verdicts: Iterable[Verdict]) -> list[str]:
    return [verdict.line() for verdict in verdicts]
