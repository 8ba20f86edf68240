"""Run one `restore bench` command through the Python API and record its result under benchmarks/results/.

    python benchmarks/record.py NAME -- bench -r dncnn,nlm,identity -d gaussian25 --dataset fashion-mnist-sample

parses the bench options exactly as `restore bench` does, runs the plan with
`restore_core.bench.runner.run_plan` in this process, and writes `benchmarks/results/NAME.json` (the
rows `--format json` prints, with the command, the machine and the versions) and `NAME.md` (the same
as a Markdown table, rendered by `restore_core.bench.tables`), both atomically, so every figure
quoted in the README or docs names the command that produced it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shlex
from pathlib import Path

from restore_core.system import settings
from restore_core.system.atomic_files import atomic_write_text
from restore_core.system.hardware import cpu_model

RESULTS = Path(__file__).resolve().parent / "results"


def run_bench(args: list[str]) -> list[dict]:
    """Run the `restore bench` arguments `args` (after `bench`) through the API; return its JSON rows."""
    import click

    from restore_core.bench.plan import BenchPlan
    from restore_core.bench.runner import run_plan
    from restore_core.cli.bench import bench
    from restore_core.errors import RestoreError
    from restore_core.plugins.specs import parse_tile

    if args[:1] != ["bench"]:
        raise SystemExit("record: the arguments must be a `bench` command: record.py NAME -- bench ...")
    try:
        with bench.make_context("bench", list(args[1:]), resilient_parsing=False) as ctx:
            p = ctx.params

            def given(name: str) -> object:
                return p[name] if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE else None

            plan = BenchPlan.from_options(p["suite"], restorers=p["restorers"], degradations=p["degradations"],
                                          datasets=given("datasets"), metrics=given("metrics"),
                                          backends=given("backends"), seed=given("seed"), limit=p["limit"],
                                          crop=p["crop"], crop_at=p["crop_at"], tile=parse_tile(p["tile"]))
            return run_plan(plan, p["out"], resume=p["resume"], jobs=p["jobs"]).rows()
    except (RestoreError, click.ClickException) as exc:
        message = exc.format_message() if isinstance(exc, click.ClickException) else str(exc)
        raise SystemExit(f"record: the command failed: {message}") from None


def markdown(rows: list[dict], metrics: list[str]) -> str:
    """Render result rows as a Markdown table (input, output and gain per metric), skipped cells below."""
    from restore_core.bench.tables import markdown as render
    from restore_core.bench.tables import summary_table

    # a record's rows carry the gains in each metric's direction already; best values are not marked here
    table = summary_table(rows, metrics, dict.fromkeys(metrics, True), style="record")
    skipped = [f"- skipped {r['restorer']} x {r['degradation']}: {r['skipped']}" for r in rows if r.get("skipped")]
    return "\n".join([render(table)] + (["", *skipped] if skipped else []))


def main() -> None:
    """Parse NAME -- ARGS, run, write the two result files."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("name", help="result file stem under benchmarks/results/")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the restore arguments (bench ...)")
    ns = parser.parse_args()
    args = ns.args[1:] if ns.args[:1] == ["--"] else ns.args
    rows = run_bench(args)
    metrics = [k for k in rows[0] if f"{k}_input" in rows[0]] if rows else []
    import torch

    import restore_core

    record = {
        "command": "restore " + shlex.join(args),
        "date": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "machine": cpu_model(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "restore": restore_core.__version__,
        "torch": torch.__version__,
        "restore_data": str(settings.data_root()) if settings.data_root() else None,
        "rows": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    atomic_write_text(RESULTS / f"{ns.name}.json", json.dumps(record, indent=1) + "\n")
    text = (f"# {ns.name}\n\nCommand: `{record['command']}`"
            f"{' with RESTORE_DATA set' if record['restore_data'] else ''}\n\n"
            f"Recorded {record['date']} on {record['machine']} ({record['cpu_count']} CPUs, "
            f"{record['torch_threads']} torch threads), restore {record['restore']}, torch {record['torch']}.\n\n"
            f"{markdown(rows, metrics)}\n")
    atomic_write_text(RESULTS / f"{ns.name}.md", text)
    print(text)


if __name__ == "__main__":
    main()
