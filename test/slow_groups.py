"""The sizes of the slow groups.

The slow groups (falsification campaigns, laps, HIL) run at a size that proves their point
in `make test`; their full size is the same test under the `full` marker, run by
`make test-full` (`pytest -m full`)."""

import pytest


def sizes(ci: int | float, full: int | float) -> list:
    """Parameters for a slow group's size: `ci` in `make test`, `full` under the marker."""
    return [
        pytest.param(ci, id=f"ci{ci}"),
        pytest.param(full, id=f"full{full}", marks=pytest.mark.full),
    ]
