"""The whole state machine on the local engine, against the simulator on loopback; and the
installed command, run as a user's shell runs it."""

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from playment_local.engine import LocalEngine
from playment_simulator import Catalog, SimBatch, SimJob, SimProject, Simulator
from tests.conftest import API_KEY

COMMAND = str(Path(sys.executable).with_name("playment-export"))  # the venv's console script


def user_shell(home: Path, **extra: str) -> dict[str, str]:
    """What a newcomer's shell holds: a PATH, a HOME with nothing in it, the key; no AWS_*."""
    return {"PATH": "/usr/bin:/bin", "HOME": str(home), "PLAYMENT_API_KEY": API_KEY, **extra}


def run_command(
    args: list[str], env: dict[str, str], timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    """The installed ``playment-export`` with ``args``, in a process of its own with only
    ``env`` as its environment; its exit status and output."""
    return subprocess.run(
        [COMMAND, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@pytest.fixture
def scrubbed_aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory) -> None:
    """The environment of a user with no AWS configuration at all, whatever the root conftest
    or the Makefile set: no AWS_* variable, and config and credentials files that do not exist."""
    for name in [name for name in os.environ if name.startswith("AWS_")]:
        monkeypatch.delenv(name)
    nowhere = tmp_path_factory.mktemp("no-aws") / "missing"
    monkeypatch.setenv("AWS_CONFIG_FILE", str(nowhere))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(nowhere))
    monkeypatch.setenv("HOME", str(nowhere.parent))


@pytest.fixture
def local_engine(translated_template: dict[str, Any]) -> Iterator[Callable[..., LocalEngine]]:
    """Start the local engine against a simulator, each function under its role in the
    translated template, enforced (``iam_enforcement``); stopped after the test."""
    engines: list[LocalEngine] = []

    def start(
        simulator: Simulator,
        key: str = API_KEY,
        template: dict[str, Any] | None = None,
        **parameters: str,
    ) -> LocalEngine:
        engine = LocalEngine(
            api_url=simulator.api_url,
            api_key=key,
            parameters=parameters,
            translated_template=translated_template if template is None else template,
        )
        engines.append(engine.__enter__())
        return engine

    yield start
    for engine in engines:
        engine.close()


def stored_sha256(engine: LocalEngine, key: str) -> str:
    body = engine.s3.get_object(Bucket=engine.bucket, Key=key)["Body"].read()
    return hashlib.sha256(body).hexdigest()


def report_jobs(engine: LocalEngine, execution: str, kind: str) -> list[dict[str, Any]]:
    """The jobs an execution's report names under ``kind`` (failed, skipped), from the JSON
    Lines files beside ``report.json``."""
    entries = []
    for key in engine.keys(f"_exports/{execution}/report/{kind}/"):
        body = engine.s3.get_object(Bucket=engine.bucket, Key=key)["Body"].read()
        entries += [json.loads(line) for line in body.splitlines()]
    return entries


def result_keys(engine: LocalEngine, batch_id: str) -> set[str]:
    return set(engine.keys(f"{batch_id}/"))


def completed(catalog: Catalog, project_id: str, batch_id: str) -> list[str]:
    batch = catalog.batch(project_id, batch_id)
    assert batch is not None
    return [job.id for job in batch.jobs if job.status == "completed"]


def assert_byte_identical(
    engine: LocalEngine, catalog: Catalog, project_id: str, batch_id: str
) -> None:
    for job_id in completed(catalog, project_id, batch_id):
        key = f"{batch_id}/{job_id}.json"
        assert stored_sha256(engine, key) == catalog.body_sha256(project_id, job_id), key


def segmentation_catalog(project_id: str = "demo-project") -> Catalog:
    """One batch ``seg`` of 12 jobs, each result pointing at a mask, a point cloud, a frame."""
    jobs = tuple(
        SimJob(f"seg-{n:03d}", referenced=("mask.png", f"cloud-{n}.pcd", "frame-1.png"))
        for n in range(12)
    )
    return Catalog([SimProject(project_id, (SimBatch("seg", jobs),))])
