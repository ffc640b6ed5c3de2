"""Settings for mutation runs only: ``PYTEST_ADDOPTS="-p tests.mutmut_plugin" mutmut run``.

Nothing here changes which tests run or what they assert: a mutant meets the same tests with
the same number of examples as in a normal run; only time spent after a test has already
failed, or before the test that fails, is saved.

Hypothesis: fields a test leaves unset come from the "mutmut" profile (each test's own
``max_examples`` still applies):

* no shrinking (nor explaining): one failing example kills the mutant, and minimizing it
  costs more than finding it;
* no example database: otherwise a failure saved while one mutant ran is replayed against
  the next, and a mutant's fate would depend on the order they run in;
* no deadline: on a loaded machine a slow example would count as a kill.

Order: mutmut runs a mutant's tests with ``-x``, so the fastest tests (by the durations
mutmut recorded in ``mutmut-stats.json``) go first: a killed mutant is usually killed by a
quick unit test, found before the minute of fuzzing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import Phase, settings

settings.register_profile(
    "mutmut",
    phases=[Phase.explicit, Phase.generate, Phase.target],
    database=None,
    deadline=None,
)
settings.load_profile("mutmut")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    stats = Path("mutmut-stats.json")  # mutmut runs the tests from mutants/, where it is
    if not stats.exists():
        return
    durations: dict[str, float] = json.loads(stats.read_text("utf-8"))["duration_by_test"]
    items.sort(key=lambda item: durations.get(item.nodeid, 0.0))
