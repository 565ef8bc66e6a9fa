from pathlib import Path

import pytest

from routing.bench.instances import default_root


@pytest.fixture(scope="session")
def bench_root() -> Path:
    root = default_root()
    assert (root / "BKS.csv").is_file(), f"benchmark data missing under {root}"
    return root
