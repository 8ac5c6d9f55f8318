"""A Dask cluster for the executor tests; every server listens on 127.0.0.1."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))  # projects: the spec files these tests share


@pytest.fixture(scope="module")
def cluster():
    """A client of a 2-worker ``LocalCluster`` (processes, 127.0.0.1, no dashboard)."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as local:
        with distributed.Client(local, set_as_default=False) as client:
            yield client
