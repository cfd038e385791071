"""The pytest plugin of the 2.3 compatibility run (loaded by ``run.py`` with ``-p compat_plugin``).

* Before collection it makes sure ``stompest`` is this repository's package (the repository
  root first on ``sys.path``; the run stops if ``stompest`` comes from anywhere else), then adds
  the build folder's ``stompest/`` and ``stompest/twisted/`` to the packages' ``__path__``, so
  that 2.3's test packages import as ``stompest.tests`` and ``stompest.twisted.tests``. Nothing
  but those test packages lives in the build folder, so every library import resolves to ours.
* It deselects the tests ``expected.txt`` excludes, records every test's outcome with a
  one-line reason, writes them as JSON for ``run.py``, and prints the suite's verdict with the
  full report of every unexpected outcome.

Settings come from the environment (set by ``run.py``): ``COMPAT_REPO``, ``COMPAT_BUILD``,
``COMPAT_SUITE``, ``COMPAT_EXPECTED``, ``COMPAT_RESULTS``, ``COMPAT_TRIAL_TIMEOUT`` (trial's
default per-test timeout, in seconds).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import expectations
import pytest

_SUITE = os.environ.get('COMPAT_SUITE', '')
_result = expectations.SuiteResult(_SUITE)
_entries: dict[str, expectations.Entry] = {}
_longText: dict[str, str] = {}


def _oneLine(report: pytest.CollectReport | pytest.TestReport) -> str:
    """The exception of a failed report, in one line (the last ``E`` line, or the crash message)."""
    longrepr = report.longrepr
    crash = getattr(longrepr, 'reprcrash', None)
    text = ''
    if crash is not None and crash.message:
        text = crash.message.strip().splitlines()[0]
    if not text:
        lines = [line[1:].strip() for line in str(longrepr).splitlines() if line.startswith('E ')]
        text = lines[-1] if lines else str(longrepr).strip().splitlines()[-1] if str(longrepr).strip() else '?'
    if report.when not in (None, 'call', 'collect'):
        text = f'in {report.when}: {text}'
    return text if len(text) <= 400 else text[:397] + '...'


def pytest_configure(config: pytest.Config) -> None:
    repo = Path(os.environ['COMPAT_REPO']).resolve()
    build = Path(os.environ['COMPAT_BUILD']).resolve()
    if sys.path[0] != str(repo):
        sys.path.insert(0, str(repo))
    import stompest
    import stompest.twisted

    origin = Path(stompest.__file__).resolve().parent
    if origin != repo / 'stompest':
        raise pytest.UsageError(f'stompest was imported from {origin}, not from this tree ({repo / "stompest"})')
    stompest.__path__.append(str(build / 'stompest'))
    stompest.twisted.__path__.append(str(build / 'stompest' / 'twisted'))
    import twisted.trial.util

    timeout = os.environ.get('COMPAT_TRIAL_TIMEOUT')
    if timeout:
        twisted.trial.util.DEFAULT_TIMEOUT_DURATION = float(timeout)
    _entries.update(expectations.load(Path(os.environ['COMPAT_EXPECTED'])))
    _result.filtered = bool(
        config.getoption('keyword') or config.getoption('markexpr') or any('::' in arg for arg in config.args)
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        entry = _entries.get(item.nodeid)
        (drop if entry is not None and entry.status == 'exclude' else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
        _result.deselected.extend(item.nodeid for item in drop)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        _result.collectionErrors[report.nodeid] = _oneLine(report)
        _longText[report.nodeid] = report.longreprtext


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    previous = _result.outcomes.get(report.nodeid)
    if previous is not None and previous[0] != 'passed':
        return  # the first failure (or skip) of a test is its outcome
    if report.failed:
        _result.outcomes[report.nodeid] = ('failed', _oneLine(report))
        _longText[report.nodeid] = report.longreprtext
    elif report.skipped:
        _result.outcomes[report.nodeid] = ('skipped', _oneLine(report))
    elif report.when == 'call':
        _result.outcomes[report.nodeid] = ('passed', '')


def pytest_sessionfinish(session: pytest.Session) -> None:
    path = os.environ.get('COMPAT_RESULTS')
    if path:
        Path(path).write_text(json.dumps(_result.toJson(), indent=1), encoding='utf-8')


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    verdict = expectations.judge(_result, _entries)
    write = terminalreporter.write_line
    for test, what in verdict.unexpected:
        terminalreporter.section(f'UNEXPECTED: {test}', sep='-', red=True)
        write(what)
        if test in _longText:
            write(_longText[test])
    terminalreporter.section(f'2.3 suite: {verdict.line()}', sep='=', red=not verdict.ok, green=verdict.ok)
