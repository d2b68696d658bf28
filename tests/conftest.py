"""Fixtures every tier shares: fake AWS credentials, moto, the Playment simulator."""

import fcntl
import importlib.util
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from playment_local.moto_server import moto_server as run_moto_server
from playment_simulator import Catalog, Simulator, sample_catalog

ROOT = Path(__file__).resolve().parents[1]
TEMPLATE_CHECKS = ROOT / "tools" / "template_checks"
REGION = "us-east-1"
BUCKET = "exports-bucket"
API_KEY = "sim-key-0123456789abcdef"
SECRET_NAME = "playment-api-key"


@pytest.fixture(autouse=True)
def _aws_sandbox(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test may reach real AWS: fake credentials, a fixed region, no shared config."""
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "PlaymentExporterTests",
        "POWERTOOLS_SERVICE_NAME": "playment-exporter",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    parameters.clear_caches()  # type: ignore[no-untyped-call]
    yield
    parameters.clear_caches()  # type: ignore[no-untyped-call]


def _sam_python() -> Path:
    """.venv-sam's interpreter, installed first (by make, in seconds from uv's cache) when absent:
    plain `pytest` needs it as much as `make test-e2e` does."""
    sam_python = ROOT / ".venv-sam" / "bin" / "python"
    stamp = ROOT / ".venv-sam" / ".installed"
    if not stamp.exists():
        with open(ROOT / ".venv-sam.lock", "w") as lock:  # concurrent runs take turns
            fcntl.flock(lock, fcntl.LOCK_EX)
            made = subprocess.run(
                ["make", "--no-print-directory", str(stamp.relative_to(ROOT))],
                capture_output=True,
                text=True,
                check=False,
                timeout=600,
                cwd=ROOT,
            )
        if made.returncode != 0 or not sam_python.exists():
            pytest.fail(
                "could not install .venv-sam to translate template.yaml with (`make test-e2e` "
                f"installs it and every other tool the tiers need): {made.stdout}{made.stderr}"
            )
    return sam_python


@pytest.fixture(scope="session")
def translated_template() -> dict[str, Any]:
    """template.yaml as SAM's own translator makes it (translate_template.py of
    tools/template_checks, run in the pinned SAM CLI's .venv-sam): the roles and policies AWS
    would be given."""
    sam_python = _sam_python()
    done = subprocess.run(
        [str(sam_python), str(TEMPLATE_CHECKS / "translate_template.py"), "template.yaml"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    document: dict[str, Any] = json.loads(done.stdout)
    return document


@pytest.fixture
def aws() -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def s3(aws: None) -> Any:
    client = boto3.client("s3", region_name=REGION)
    client.create_bucket(Bucket=BUCKET)
    return client


@pytest.fixture
def secrets(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def api_key_secret(secrets: Any) -> str:
    return str(secrets.create_secret(Name=SECRET_NAME, SecretString=API_KEY)["ARN"])


@pytest.fixture
def start_simulator() -> Iterator[Callable[..., Simulator]]:
    """Start simulators on port 0 with any settings; all are stopped after the test."""
    started: list[Simulator] = []

    def start(catalog: Catalog | None = None, **settings: Any) -> Simulator:
        simulator = Simulator(catalog or sample_catalog(), API_KEY, **settings).start()
        started.append(simulator)
        return simulator

    yield start
    for simulator in started:
        simulator.stop()


@pytest.fixture
def simulator(start_simulator: Callable[..., Simulator]) -> Simulator:
    return start_simulator()


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """S3 and Secrets Manager served by ``moto_server`` in a process of its own."""
    with run_moto_server() as url:
        yield url


EVENTS = Path(__file__).resolve().parent.parent / "events"
FUNCTIONS = Path(__file__).resolve().parent.parent / "functions"


def load_event(name: str) -> Any:
    return json.loads((EVENTS / name).read_text())


@pytest.fixture
def lambda_env(s3: Any, api_key_secret: str, simulator: Simulator) -> dict[str, str]:
    """The environment the template gives the functions, pointed at moto and the simulator."""
    return {
        "RESULTS_BUCKET": BUCKET,
        "RESULTS_PREFIX": "",
        "API_KEY_SECRET_ARN": api_key_secret,
        "PLAYMENT_API_URL": simulator.api_url,
        "PAGE_WORKERS": "4",
    }


@pytest.fixture
def invoke(lambda_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """Call a function's real handler in-process, loaded with its own environment."""
    from playment_local.lambda_context import LocalLambdaContext
    from playment_local.lambda_loader import load_handler

    if "MUTANT_UNDER_TEST" in os.environ:
        _name_handler_modules_by_path(monkeypatch)

    def call(function: str, event: Any, timeout_s: int = 300, **env: str) -> Any:
        handler = load_handler(FUNCTIONS / function, "app.lambda_handler", {**lambda_env, **env})
        return handler(event, LocalLambdaContext(function_name=function, timeout_s=timeout_s))

    return call


def _name_handler_modules_by_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under mutmut (``make mutation``) only: load ``functions/<name>/app.py`` as the module
    ``functions.<name>.app``. mutmut finds a function's mutants by that dotted path; the
    loader otherwise gives each load a unique name, and no mutant of a handler would run."""
    original = importlib.util.spec_from_file_location

    def by_path(name: str, location: Any = None, *args: Any, **kwargs: Any) -> Any:
        path = Path(location)
        if path.parent.parent == FUNCTIONS:
            name = f"functions.{path.parent.name}.{path.stem}"
        return original(name, location, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "spec_from_file_location", by_path)
