"""A real single-node Slurm cluster for the tests (single_node.py), for this session.

`SLURM_CONF` points Slurm's tools at it while the session runs, and every daemon it started is
stopped at the end. Where it cannot start (not root, or the packages missing) the tests that
need it are skipped with the reason, unless `COURSE_REQUIRE_SLURM=1` (as `.ci/run` sets), where
that is a failure.
"""

from __future__ import annotations

import os

import pytest

from tests.cluster.single_node import ClusterUnavailable, start


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory):
    """The slurm.conf of a running single-node cluster."""
    try:
        cluster = start(tmp_path_factory.mktemp("slurm"))
    except ClusterUnavailable as exc:
        if os.environ.get("COURSE_REQUIRE_SLURM") == "1":
            pytest.fail(f"COURSE_REQUIRE_SLURM=1 but no Slurm cluster can start here: {exc}")
        pytest.skip(f"no Slurm cluster can start here: {exc}")
    previous = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = str(cluster.conf)
    try:
        yield cluster.conf
    finally:
        if previous is None:
            os.environ.pop("SLURM_CONF", None)
        else:
            os.environ["SLURM_CONF"] = previous
        cluster.stop()
