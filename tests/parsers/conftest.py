"""The fuzz record: one per session, printed in the terminal summary."""

from __future__ import annotations

import pytest

pytest.register_assert_rewrite("tests.parsers.fuzzing")

from tests.parsers.fuzzing import FuzzRecord  # noqa: E402  (after the rewrite hook, for its asserts)

FUZZ_RECORD = pytest.StashKey[FuzzRecord]()


@pytest.fixture(scope="session")
def fuzz_record(request: pytest.FixtureRequest) -> FuzzRecord:
    """The session's record of fuzzed pages."""
    return request.config.stash.setdefault(FUZZ_RECORD, FuzzRecord())


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    record = config.stash.get(FUZZ_RECORD, None)
    if record is not None and record.pages:
        terminalreporter.write_line(record.summary())
