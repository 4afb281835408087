"""One local Ray for every test here, started once; skipped with the reason if Ray is absent."""

from __future__ import annotations

import pytest

# 2 scoring actors of 1 CPU each plus the decoding tasks: more logical CPUs than actors, or the
# pipeline waits forever for a CPU (ray.init(num_cpus=2) with two 1-CPU actors hangs).
LOCAL_CPUS = 4


@pytest.fixture(scope="session")
def local_ray():
    ray = pytest.importorskip("ray", reason='Ray is not installed: pip install "artimuse[ray]"')
    pytest.importorskip("ray.data", reason='Ray Data is not installed: pip install "artimuse[ray]"')
    ray.init(num_cpus=LOCAL_CPUS, include_dashboard=False, logging_level="WARNING")
    yield ray
    ray.shutdown()
