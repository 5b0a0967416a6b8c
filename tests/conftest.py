"""Options every test directory shares: `--update-golden` rewrites the golden files on purpose (`make golden`)."""

from __future__ import annotations

from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        help="write what the code produces into tests/golden/ instead of comparing (review the diff, then commit)",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest):
    """compare(path, text): text must equal tests/golden/<path>; with --update-golden it is written there."""
    update = request.config.getoption("--update-golden")

    def compare(relative: str, text: str) -> None:
        path = GOLDEN / relative
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        assert path.exists(), f"no golden file {path}: run 'make golden' and review what it writes"
        expected = path.read_text()
        assert text == expected, f"{relative} differs from its golden file (intended? 'make golden', review, commit)"

    return compare
