"""What the cost model reads of the deployed stack (each function's memory and timeout in
``template.yaml``, the metrics the handlers publish) and the facts of the code it counts by."""

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from playment_exporter.defaults import LISTING_STEP_JOBS
from playment_local.cfn_template import load_template

# The repository's root, found from here wherever the tooling sits.
ROOT = next(p for p in Path(__file__).resolve().parents if (p / "template.yaml").is_file())
TEMPLATE_PATH = ROOT / "template.yaml"
DEFINITION_PATH = ROOT / "statemachine" / "export.asl.json"
FUNCTIONS_DIR = ROOT / "functions"

SECRET_CACHE_SECONDS = 300  # playment_exporter.api_key.CACHE_SECONDS
RESULT_WRITER_PUTS = 2  # per Map run, the ResultWriter: manifest.json and one SUCCEEDED_0.json
S3_LIST_PAGE = 1_000  # keys per ListObjectsV2 response
PLAYMENT_LIST_PAGE = 100  # jobs per page of Playment's batch listing (not ours to choose)
HISTORY_EVENTS_LIMIT = 25_000  # a STANDARD execution's event history, at most
# Events a state adds to the execution's history when it goes well: a Task entered, scheduled,
# started, succeeded and exited; a Choice, Pass or Succeed entered and exited; a distributed
# Map entered, its Map Run started and succeeded, exited (the children's events are in their
# own executions' histories). Plus ExecutionStarted and ExecutionSucceeded once.
HISTORY_EVENTS_PER_STATE = {"Task": 5, "Choice": 2, "Pass": 2, "Succeed": 2, "Map": 4}
HISTORY_EVENTS_PER_EXECUTION = 2
LAMBDA_DEFAULT_MEMORY_MB = 128
LAMBDA_DEFAULT_TIMEOUT_S = 3
GIB = 1024**3
NOTE_WIDTH = 100

ChildExecutionType = Literal["STANDARD", "EXPRESS"]


@dataclass(frozen=True)
class FunctionSize:
    memory_mb: int
    timeout_s: int

    @property
    def memory_gb(self) -> float:
        return self.memory_mb / 1024


@dataclass(frozen=True)
class DeployedSizes:
    """What template.yaml gives the functions and the Map; the cost scales with these."""

    fetch_result: FunctionSize
    list_pages: FunctionSize
    write_report: FunctionSize
    map_max_concurrency: int
    alarms: int
    listing_step_jobs: int = LISTING_STEP_JOBS  # jobs one ListPages step lists, at most

    def __post_init__(self) -> None:
        if self.listing_step_jobs < 1 or self.map_max_concurrency < 1:
            raise ValueError("ListingStepJobs and MapMaxConcurrency must be at least 1")


def deployed_sizes(template_path: Path = TEMPLATE_PATH) -> DeployedSizes:
    document = load_template(template_path)
    return DeployedSizes(
        fetch_result=_function_size(document, "FetchResultFunction"),
        list_pages=_function_size(document, "ListPagesFunction"),
        write_report=_function_size(document, "WriteReportFunction"),
        map_max_concurrency=int(document["Parameters"]["MapMaxConcurrency"]["Default"]),
        listing_step_jobs=int(
            document["Parameters"].get("ListingStepJobs", {}).get("Default", LISTING_STEP_JOBS)
        ),
        alarms=sum(
            1
            for resource in document["Resources"].values()
            if resource.get("Type") == "AWS::CloudWatch::Alarm"
        ),
    )


def _function_size(document: Mapping[str, Any], logical_id: str) -> FunctionSize:
    """The function's own MemorySize and Timeout, else the Globals', else Lambda's defaults."""
    own = document["Resources"][logical_id].get("Properties", {})
    shared = document.get("Globals", {}).get("Function", {})

    def setting(name: str, default: int) -> int:
        value = own.get(name, shared.get(name, default))
        if not isinstance(value, int):
            raise ValueError(f"{logical_id}.{name} is not a plain number in the template: {value}")
        return value

    return FunctionSize(
        memory_mb=setting("MemorySize", LAMBDA_DEFAULT_MEMORY_MB),
        timeout_s=setting("Timeout", LAMBDA_DEFAULT_TIMEOUT_S),
    )


def handler_metric_names(functions_dir: Path = FUNCTIONS_DIR) -> frozenset[str]:
    """The custom metrics the handlers publish (each one a metric-month on CloudWatch)."""
    pattern = re.compile(r"""add_metric\(\s*["']([A-Za-z0-9_]+)["']""")
    return frozenset(
        name
        for app in sorted(functions_dir.glob("*/app.py"))
        for name in pattern.findall(app.read_text())
    )
