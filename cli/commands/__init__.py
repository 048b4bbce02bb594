"""One module per subcommand, each with ``add_parser(subparsers)`` and ``run(args) -> int``.

:data:`COMMANDS` lists them in the order of ``impactlab --help``, grouped by who uses them, with
the one-line help and an example the top-level help shows. Only the module of the command being
run is imported, so ``impactlab --help`` and usage errors start at once.
"""

from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    """A subcommand: its name, module (under ``impactlab.cli.commands``), audience, help and an example."""

    name: str
    module: str
    group: str
    help: str
    example: str


COMMANDS: tuple[Command, ...] = (
    # everyone, first: the files every example below names (a checkout has them; a wheel copies them)
    Command("sample-data", "sample_data", "start here", "copy the sample recordings and plans the examples use into ./sample_data",
            "impactlab sample-data"),
    # clients: their sensor, their store, their day
    Command("sync", "sync", "clients", "download a sensor's stored data (lossless, resumable) and add it to a client's store",
            "impactlab sync --simulate sample_data/sim-day.parquet --client c01"),
    Command("today", "today", "clients", "the client's answer for the last day with data: each target, achieved / needed",
            "impactlab today --client c01"),
    Command("import", "import_", "clients", "analyse a recording and add it to a client's store",
            "impactlab import sample_data/sim-day.parquet --client c01 --plan sample_data/plan.toml"),
    Command("mark", "mark", "clients", "record a labelled period (vest, jumps, vibration, walk) in a markers file",
            "impactlab mark vest --start 2026-03-02T17:00 --end 2026-03-02T17:30 --tz Europe/London --file markers.csv"),
    Command("scan", "scan", "clients", "list Bluetooth LE sensors in range", "impactlab scan --simulate sample_data/sim-day.parquet"),
    Command("stream", "stream", "clients", "stream live impacts from a sensor (terminal view)",
            "impactlab stream --simulate sample_data/sim-day.parquet --duration 60"),
    # therapists: plans, reports, the caseload
    Command("plan", "plan", "therapists", "validate and show an exercise plan; store a new version for a client",
            "impactlab plan check sample_data/plan.toml"),
    Command("report", "report", "therapists", "weekly therapist report for one client (HTML, PDF, JSON) or the caseload",
            "impactlab report --client c01 --week 2026-W10 --html week.html"),
    Command("history", "history", "therapists", "a client's weeks: impacts per week, targets met, trend",
            "impactlab history --client c01"),
    Command("clients", "clients", "therapists", "list the clients in the store", "impactlab clients --format json"),
    Command("device", "device", "therapists", "manage sensors: give one to another client",
            "impactlab device assign F0:1A:B2:00:00:01 --client c02"),
    # researchers: files in, numbers and tables out
    Command("analyze", "analyze", "researchers", "count impacts per g-band per day in one recording",
            "impactlab analyze sample_data/sim-day.parquet --plan sample_data/plan.toml"),
    Command("convert", "convert", "researchers", "write a recording (.gt3x, .cwa, .bin, CSV...) as normalised Parquet",
            "impactlab convert sample_data/actigraph-hip-5min.csv --tz Europe/Lisbon --output hip.parquet"),
    Command("batch", "batch", "researchers", "analyse many recordings in parallel (locally or on Dask) into tidy tables",
            "impactlab batch sample_data/ -o results/ --jobs 2"),
    Command("collate", "collate", "researchers", "rebuild the collated tables of a batch output folder",
            "impactlab collate results/ --table-format csv"),
)

BY_NAME = {c.name: c for c in COMMANDS}
