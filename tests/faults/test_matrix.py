"""The fault matrix of issue 8: the real pipeline through every fault, measured against the fault-free run."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.conftest import make_world
from tests.faults.harness import Baseline, HarnessError, Result, general_checks, pipeline_invariants, score
from tests.faults.scenarios import SCENARIOS, Scenario

pytestmark = pytest.mark.integration
SLOW_STEP = 20.0  # seconds: a step this slow is named in the scenario's line


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_fault(
    scenario: Scenario,
    baseline: Baseline,
    fault_results: list[Result],
    pg_server: str,
    pg_template: str,
    snapshots: dict[str, str],
    tmp_path: Path,
) -> None:
    started = time.monotonic()
    result = Result(scenario.name)
    error: Exception | None = None
    with make_world(
        scenario.name,
        tmp_path,
        pg_server=pg_server,
        pg_template=pg_template,
        bounced=scenario.bounced,
        embedded_postgres=scenario.embedded_postgres,
        snapshot=snapshots.get(scenario.starts_after or "", pg_template),
    ) as world:
        failures: list[str] = []
        try:
            if scenario.starts_after and scenario.starts_after not in snapshots:
                raise HarnessError(f"no copy of the baseline after night 1's {scenario.starts_after!r}")
            failures += scenario.run(world, baseline)
        except HarnessError as exc:
            failures.append(f"harness: {exc}")
        except Exception as exc:  # recorded in the matrix, then raised with its traceback
            failures.append(f"harness error {type(exc).__name__}: {exc}")
            error = exc
        try:
            result = score(world, baseline, excusable=scenario.permanent(world), bounced=scenario.bounced)
            result.failures += failures + general_checks(world) + pipeline_invariants(world)
        except Exception as exc:
            result.failures += [*failures, f"harness error {type(exc).__name__}: {exc}"]
            error = error or exc
        result.notes += world.notes
        result.notes += [f"{s.label} took {s.seconds:.0f} s" for s in world.steps if s.seconds > SLOW_STEP]
    if baseline.problems:
        result.failures.insert(0, "baseline " + "; ".join(baseline.problems))
    result.seconds = time.monotonic() - started
    fault_results.append(result)
    if error is not None:
        raise error
    assert result.ok, result.line()
