"""Print pip constraints that pin every dependency of pyproject.toml to the release series of its floor.

``anndata>=0.10`` becomes ``anndata==0.10.*`` (the newest patch release of the lowest supported minor
release), so the "minimum versions" CI job tests the floors the package declares. Used by
``.github/workflows/tests-min-versions.yml``::

    python .github/scripts/min_constraints.py > min-constraints.txt
    pip install -e ".[test]" -c min-constraints.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_FLOOR = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*>=\s*([0-9][0-9.]*)\s*$")


def main() -> int:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    for req in project["dependencies"]:
        m = _FLOOR.match(req.split(";")[0])
        if m is None:
            print(f"min_constraints: {req!r} has no plain `>=` floor", file=sys.stderr)
            return 1
        name, floor = m.groups()
        # a minor-release floor (0.10) pins its series (0.10.*); a patch-release floor (1.1.1) pins itself
        pin = f"{floor}.*" if floor.count(".") <= 1 else floor
        print(f"{name}=={pin}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
