"""Score impactlab's jump counting on a folder of labelled trials (the held-out set's format).

A folder holds recordings (CSV ``time,x,y,z`` in g) and an ``expect.txt`` with one line per file::

    sisfall_D19_SA06_R01.csv|-y|jumps:2      # file | vertical axis | expected answer
    sisfall_D03_SA06_R01.csv|-y|nojumps

A ``jumps:N`` trial passes when impactlab counts N ± 15 % jumps, a ``nojumps`` trial when it counts 0
(the acceptance rule of issue #12). Run it on the development set that ships beside the project::

    python bench/validate_jumps.py ../shared/data/waist-trials

or on any other folder in that format. Prints one line per failing trial and a pass count per kind
(jumping, jogging, walking); exit 1 when any trial fails.
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections import defaultdict
from pathlib import Path


def score(folder: Path, *, preset: str = "hannam2017") -> dict[str, list[tuple[str, str, int, bool]]]:
    """Analyse every labelled trial in ``folder``; returns kind -> [(file, expected, jumps found, ok)]."""
    from impactlab import analyze
    from impactlab.io import open_recording
    from impactlab.presets import analysis_config

    out: dict[str, list[tuple[str, str, int, bool]]] = defaultdict(list)
    for line in (folder / "expect.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, axis, want = (s.strip() for s in line.split("|")[:3])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = analyze(open_recording(folder / name, vertical_axis=axis), config=analysis_config(preset))
        n = int(res.daily["n_jumps"].sum()) if len(res.daily) else 0
        if want.startswith("jumps:"):
            expected = int(want.split(":")[1])
            kind, ok = "jumping", abs(n - expected) <= 0.15 * expected
        else:
            jog = any(k in name.lower() for k in ("_d03_", "_d04_", "jog", "run"))
            kind, ok = ("jogging" if jog else "walking"), n == 0
        out[kind].append((name, want, n, ok))
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("folder", type=Path, help="folder with expect.txt and the trials")
    p.add_argument("--preset", default="hannam2017")
    a = p.parse_args(argv)
    res = score(a.folder, preset=a.preset)
    bad = 0
    for kind, rows in sorted(res.items()):
        for name, want, n, ok in rows:
            if not ok:
                bad += 1
                print(f"FAIL {kind:8s} {name}: expected {want}, found {n} jumps")
    for kind, rows in sorted(res.items()):
        print(f"{kind:8s} {sum(ok for *_, ok in rows)}/{len(rows)} pass")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
