"""The strict rules of the 2.3 compatibility run (``expectations.judge``) and the list's format.

These run in the ordinary test run; the 2.3 suites themselves run in ``make compat``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import expectations  # noqa: E402
from expectations import ExpectationsError, SuiteResult, judge, parse  # noqa: E402

sys.path.remove(str(HERE))

FRAME = 'stompest/tests/frame_test.py::StompFrameTest'
LIST = f"""
# a comment

xfail   {FRAME}::test_a  -- restore: dict(frame) is not supported
exclude {FRAME}::test_b  -- keep: hardcodes ports
xfail   stompest/tests/util_test.py  -- restore: no stompest.util
"""


def result(**outcomes: str) -> SuiteResult:
    return SuiteResult(
        'sync-unit',
        {f'{FRAME}::{name}': (outcome, 'why') for name, outcome in outcomes.items()},
        {'stompest/tests/util_test.py': 'ModuleNotFoundError'},
        [f'{FRAME}::test_b'],
    )


def test_theCommittedListParses() -> None:
    entries = expectations.load(HERE / 'expected.txt')
    assert entries, 'expected.txt lists nothing'
    assert all(entry.reason for entry in entries.values())


def test_aRunThatMatchesTheListIsOk() -> None:
    verdict = judge(result(test_a='failed', test_c='passed'), parse(LIST))
    assert verdict.ok, verdict.unexpected
    assert verdict.passed == [f'{FRAME}::test_c']
    assert verdict.expectedFail == [f'{FRAME}::test_a', 'stompest/tests/util_test.py']
    assert verdict.excluded == [f'{FRAME}::test_b']


def test_aListedTestThatPassesFailsTheRun() -> None:
    verdict = judge(result(test_a='passed'), parse(LIST))
    assert [test for test, _ in verdict.unexpected] == [f'{FRAME}::test_a']
    assert 'delete its line' in verdict.unexpected[0][1]


def test_anUnlistedFailureFailsTheRun() -> None:
    verdict = judge(result(test_a='failed', test_c='failed'), parse(LIST))
    assert [test for test, _ in verdict.unexpected] == [f'{FRAME}::test_c']


def test_aSkipIsNeitherAPassNorAnExpectedFailure() -> None:
    verdict = judge(result(test_a='skipped', test_c='skipped'), parse(LIST))
    assert sorted(test for test, _ in verdict.unexpected) == [f'{FRAME}::test_a', f'{FRAME}::test_c']


def test_aListedModuleThatImportsFailsTheRun() -> None:
    outcome = result(test_a='failed')
    outcome.collectionErrors.clear()
    verdict = judge(outcome, parse(LIST))
    assert [test for test, _ in verdict.unexpected] == ['stompest/tests/util_test.py']


def test_anUnlistedImportErrorFailsTheRun() -> None:
    outcome = result(test_a='failed')
    outcome.collectionErrors['stompest/tests/frame_test.py'] = 'ImportError'
    verdict = judge(outcome, parse(LIST))
    assert [test for test, _ in verdict.unexpected] == ['stompest/tests/frame_test.py']


def test_aStaleEntryFailsTheRunUnlessTheRunWasNarrowed() -> None:
    verdict = judge(result(test_c='passed'), parse(LIST))
    assert [test for test, _ in verdict.unexpected] == [f'{FRAME}::test_a']
    narrowed = result(test_c='passed')
    narrowed.filtered = True
    assert judge(narrowed, parse(LIST)).ok


def test_anExcludedTestThatRanFailsTheRun() -> None:
    verdict = judge(result(test_a='failed', test_b='passed'), parse(LIST))
    assert [test for test, _ in verdict.unexpected] == [f'{FRAME}::test_b']


def test_resultsSurviveTheirJsonForm() -> None:
    original = result(test_a='failed')
    assert SuiteResult.fromJson(original.toJson()) == original


@pytest.mark.parametrize(
    'line',
    [
        f'xfail {FRAME}::test_a restore: no separator',
        f'maybe {FRAME}::test_a  -- restore: unknown status',
        f'xfail {FRAME}::test_a  -- later: unknown tag',
        'xfail stompest/tests/nosuch_test.py::T::t  -- restore: in no suite',
        'exclude stompest/tests/util_test.py  -- restore: a module can only be xfail',
        f'xfail {FRAME}::test_a  -- restore: once\nxfail {FRAME}::test_a  -- restore: twice',
    ],
)
def test_malformedListsAreRefused(line: str) -> None:
    with pytest.raises(ExpectationsError):
        parse(line)
