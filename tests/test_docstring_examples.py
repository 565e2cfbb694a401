"""Every docstring example of the package runs and prints what it shows (numpydoc ``Examples`` sections).

Examples marked ``# doctest: +SKIP`` (those needing files or a trained model from earlier cells) are skipped.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import matplotlib
import pytest

import muse_gnn

matplotlib.use("Agg")

MODULES = sorted(
    m.name for m in pkgutil.walk_packages(muse_gnn.__path__, "muse_gnn.") if m.name != "muse_gnn.__main__"
)


def _examples(name: str) -> list[doctest.DocTest]:
    return [t for t in doctest.DocTestFinder().find(importlib.import_module(name), name) if t.examples]


WITH_EXAMPLES = [name for name in MODULES if _examples(name)]


def test_examples_are_found() -> None:
    """The finder sees the examples of the public API's modules (a broken collection would find none)."""
    for name in ("muse_gnn.pp._cscore._api", "muse_gnn.pp._sparkx", "muse_gnn.model._model", "muse_gnn.tl._fit",
                 "muse_gnn.metrics._paper", "muse_gnn.pl._embedding"):
        assert name in WITH_EXAMPLES


@pytest.mark.parametrize("name", WITH_EXAMPLES)
def test_docstring_examples(name: str) -> None:
    tests = _examples(name)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    for test in tests:
        runner.run(test, out=report.append)
    failed, attempted = runner.summarize(verbose=False)
    assert failed == 0, "".join(report)
