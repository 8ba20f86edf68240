"""Suite files: the `limit` and `crop` keys, and command-line options winning over them."""

from __future__ import annotations

import pytest

from restore_core.bench.plan import BenchPlan
from restore_core.bench.suites import load_suite
from restore_core.errors import UsageError


def test_limit_and_crop_come_from_the_suite_unless_given(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "s"\nrestorers = ["identity"]\ndegradations = ["jpeg30"]\n'
                    'datasets = ["set12"]\nlimit = 3\ncrop = 96\n')
    assert (load_suite(path).limit, load_suite(path).crop) == (3, 96)
    plan = BenchPlan.from_suite(path)
    assert (plan.limit, plan.crop) == (3, 96)
    assert BenchPlan.from_suite(path, limit=1).limit == 1


@pytest.mark.parametrize("line", ["limit = 0", 'limit = "4"', "crop = true"])
def test_a_bad_limit_or_crop_is_a_usage_error(tmp_path, line):
    path = tmp_path / "s.toml"
    path.write_text(f'restorers = ["identity"]\ndegradations = ["jpeg30"]\ndatasets = ["set12"]\n{line}\n')
    with pytest.raises(UsageError, match="must be a positive integer"):
        load_suite(path)


@pytest.mark.parametrize("name", ["tasks-gray", "tasks-color"])
def test_every_spec_of_the_task_suites_builds(host, name):
    from pathlib import Path

    from restore_core.plugins.specs import split_specs

    suite = load_suite(Path(__file__).resolve().parents[2] / "benchmarks" / f"{name}.toml")
    assert suite.limit == 4
    for spec in split_specs(suite.degradations):
        host.registry("degradation").build(spec)
    for spec in split_specs(suite.restorers):
        host.registry("restorer").build(spec)
