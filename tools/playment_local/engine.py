"""The local engine: the real state machine, run on moto's Step Functions engine.

It reads ``template.yaml``, creates in moto what the functions and the state machine need
(the results bucket, the API-key secret, the functions, the state machine with the
template's ``DefinitionSubstitutions`` applied), loads each function's real handler with the
environment the template gives it, and hooks moto's Lambda invocation (``LambdaDispatch``) so
that the Map's children run those handlers in-process. No step of the workflow is
re-implemented here: moto's engine runs ``statemachine/export.asl.json`` as written.

It runs in a sandboxed AWS environment of its own (``aws_sandbox``), whatever the user's
shell holds. The bucket lives in moto's memory: the engine is the proof that the deployed
definition works (the e2e suite, ``make scale``, ``run --engine state-machine``), not the way a
user's export runs (``playment_cli.local_driver``). Given a log file, moto's and the handlers'
logs, each failed task's full error and the libraries' warnings go there rather than to the
terminal (at ``INFO``, the handlers' logs go to stderr instead: ``--verbose``). A log that
cannot be written (a full disk) is dropped quietly: it is never worth stopping a run for.
"""

import contextlib
import gc
import io
import json
import logging
import os
import sys
import threading
import time
import warnings
import zipfile
from collections.abc import Collection, Iterator, Mapping
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import boto3
from moto import mock_aws

from playment_execution import (
    FINAL_STATUSES,
    ExecutionResult,
    new_execution_name,
    report_summary,
)
from playment_local.aws_sandbox import ACCOUNT_ID, REGION, aws_sandbox
from playment_local.cfn_template import CfnTemplate, load_template
from playment_local.iam_enforcement import (
    STEP_FUNCTIONS_ENGINE_KEY,
    IamEnforcement,
    RoleCredentials,
    function_role_policies,
)
from playment_local.invocation_memory import PeakMemory
from playment_local.lambda_dispatch import (
    InvocationRecorder,
    LambdaDispatch,
    RegisteredFunction,
    stop_intercepting_requests,
)
from playment_local.lambda_loader import load_handler, temporary_environment
from playment_local.malloc_tuning import give_large_blocks_back
from playment_local.map_iteration import IterativeMapWorkers
from playment_local.moto_tuning import EmulatorTuning

REPO_ROOT = Path(__file__).resolve().parents[2]
STACK_NAME = "playment-exporter-local"
BUCKET = "playment-exporter-local-results"
SECRET_NAME = f"{STACK_NAME}/playment-api-key"
# Locally the handlers share one process and one terminal: no EMF metrics on stdout, no
# X-Ray daemon to talk to, and only warnings from the logger unless asked.
LOCAL_OVERRIDES = {"POWERTOOLS_METRICS_DISABLED": "true", "POWERTOOLS_TRACE_DISABLED": "true"}
# How often a waiting caller asks moto whether the execution ended: rarely while the pages
# run, often once the last step has returned (or a step outside the Map raised).
QUIET_POLL_S = 0.5
SETTLING_POLL_S = 0.02
LAST_STEPS = frozenset({"ListPagesFunction", "WriteReportFunction"})  # raising ends the run
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


@dataclass
class Progress:
    """What the running execution has done so far, from the functions' own results."""

    pages_total: int | None = None
    pages_done: int = 0
    exported: int = 0
    skipped: int = 0
    failed: int = 0
    durations: dict[str, list[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, function: str, _event: Any, result: Any, duration_s: float) -> None:
        if not isinstance(result, dict):
            return
        with self._lock:
            self.durations.setdefault(function, []).append(duration_s)
            if function == "ListPagesFunction":  # one per listing step: the total grows
                self.pages_total = (self.pages_total or 0) + int(result.get("pages", 0))
            elif function == "FetchResultFunction":
                self.pages_done += 1
                self.exported += int(result.get("exported", 0))
                self.skipped += int(result.get("skipped", 0))
                self.failed += int(result.get("failed", 0))

    def reset(self) -> None:
        with self._lock:
            self.pages_total, self.pages_done = None, 0
            self.exported = self.skipped = self.failed = 0
            self.durations = {}


class LocalEngine:
    """The stack in moto, the handlers in-process. Use as a context manager."""

    def __init__(  # noqa: PLR0913 - keyword-only, each with a default but the API's
        self,
        *,
        api_url: str,
        api_key: str,
        parameters: Mapping[str, str] | None = None,
        log_level: str = "WARNING",
        log_file: Path | None = None,
        repo_root: Path = REPO_ROOT,
        translated_template: Mapping[str, Any] | None = None,
        recorder: InvocationRecorder | None = None,
        measure_memory_of: Collection[str] = (),
    ) -> None:
        """``log_file``: send moto's and the handlers' logs there, not to the terminal;
        ``translated_template``: ``template.yaml`` as SAM translates it, whose function roles
        are then created in moto and enforced (``iam_enforcement``); ``recorder``: told of
        every invocation, with its peak memory if its function's logical id is in
        ``measure_memory_of`` (``invocation_memory``)."""
        self.repo_root = repo_root
        self.progress = Progress()
        self._api_key = api_key
        self._log_level = log_level
        self._log_file = log_file
        self._parameters = {**(parameters or {}), "PlaymentApiUrl": api_url}
        self._mock = mock_aws(config={"stepfunctions": {"execute_state_machine": True}})
        self._dispatch = LambdaDispatch(
            on_result=self._on_result,
            on_error=self._on_error,
            recorder=recorder,
            memory=PeakMemory() if measure_memory_of else None,
            measured=measure_memory_of,
        )
        self.state_machine_arn = ""
        self.bucket = BUCKET
        self._last_step_done = threading.Event()
        self._resources = ExitStack()
        self._translated = translated_template

    # -- lifecycle -----------------------------------------------------------------------

    def __enter__(self) -> Self:
        give_large_blocks_back()
        with ExitStack() as stack:
            stack.enter_context(aws_sandbox())
            # Process-wide, because Powertools reads these when it flushes, not when it is made.
            stack.enter_context(temporary_environment(LOCAL_OVERRIDES))
            if self._log_file is not None:
                stack.enter_context(_logs_to(self._log_file))
            stack.enter_context(self._mock)
            stop_intercepting_requests()
            tuning = EmulatorTuning()
            tuning.install()
            stack.callback(tuning.uninstall)
            map_workers = IterativeMapWorkers()
            map_workers.install()
            stack.callback(map_workers.uninstall)
            self._dispatch.install()
            stack.callback(self._dispatch.uninstall)
            self._create_stack(stack)
            gc.freeze()
            gc.set_threshold(20_000, 50, 100)
            self._resources = stack.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._resources.close()

    # -- running exports -----------------------------------------------------------------

    def start_export(self, execution_input: Mapping[str, Any], name: str | None = None) -> str:
        """Start an execution (always named: moto collides on unnamed ones); its name."""
        name = name or new_execution_name()
        self.progress.reset()
        self._last_step_done.clear()
        self._sfn.start_execution(
            stateMachineArn=self.state_machine_arn, name=name, input=json.dumps(execution_input)
        )
        return name

    def poll(self, name: str, *, pause_s: float = 0.0) -> bool:
        """Whether the execution has ended, asked after up to ``pause_s`` (cut short once its
        last step has returned). Each ``DescribeExecution`` costs moto real work, so a caller
        should not ask in a tight loop while the pages run."""
        if pause_s > 0:
            if self._last_step_done.is_set():
                time.sleep(min(pause_s, SETTLING_POLL_S))
            else:
                self._last_step_done.wait(pause_s)
        status = self._sfn.describe_execution(executionArn=self._execution_arn(name))["status"]
        return status in FINAL_STATUSES

    def wait(
        self, name: str, *, timeout_s: float = 3600, whole_report: bool = True
    ) -> ExecutionResult:
        """How the execution ended, with its report: whole, or (``whole_report`` False) its
        summary only, read as a stream: a report naming a million jobs is not held."""
        limit = time.monotonic() + timeout_s
        while not self.poll(name, pause_s=QUIET_POLL_S):
            if time.monotonic() > limit:
                raise TimeoutError(f"execution {name} still running after {timeout_s} s")
        key = f"_exports/{name}/report.json"
        report = self.read_json(key) if whole_report else self._report_summary(key)
        return ExecutionResult.from_description(name, self.describe(name), report)

    def describe(self, name: str) -> dict[str, Any]:
        """The execution as ``DescribeExecution`` answers."""
        described: dict[str, Any] = self._sfn.describe_execution(
            executionArn=self._execution_arn(name)
        )
        return described

    def run(self, execution_input: Mapping[str, Any], name: str | None = None) -> ExecutionResult:
        return self.wait(self.start_export(execution_input, name))

    def history(self, name: str) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = self._sfn.get_execution_history(
            executionArn=self._execution_arn(name), maxResults=1000
        )["events"]
        return events

    # -- the bucket ----------------------------------------------------------------------

    def read_json(self, key: str) -> Any:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        return json.loads(body)

    def _report_summary(self, key: str) -> dict[str, Any] | None:
        try:
            body = self.s3.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.s3.exceptions.NoSuchKey:
            return None
        with contextlib.closing(body):
            return report_summary(body)

    def keys(self, prefix: str = "") -> list[str]:
        paginator = self.s3.get_paginator("list_objects_v2")
        return [
            item["Key"]
            for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix)
            for item in page.get("Contents", [])
        ]

    def copy_to(self, directory: Path, prefix: str) -> int:
        """Copy the objects under ``prefix`` (the run's records) into ``directory``, each
        whole or not at all."""
        root = directory.resolve()
        count = 0
        for key in self.keys(prefix):
            target = (root / key).resolve()
            if not target.is_relative_to(root):
                raise ValueError(f"refusing to write {key!r} outside {root}")
            target.parent.mkdir(parents=True, exist_ok=True)
            partial = target.with_name(f".{target.name}.part")
            try:
                self.s3.download_file(self.bucket, key, str(partial))
                partial.replace(target)
            except BaseException:  # a full disk, an interruption: no half file left behind
                partial.unlink(missing_ok=True)
                raise
            count += 1
        return count

    # -- what the functions report -------------------------------------------------------

    def _on_result(self, function: str, event: Any, result: Any, duration_s: float) -> None:
        self.progress.record(function, event, result, duration_s)
        if function == "WriteReportFunction" and result.get("progress") is None:
            self._last_step_done.set()

    def _on_error(self, function: str, payload: Mapping[str, Any]) -> None:
        """A task that raised: its whole error, trace included, to the log (if there is one)."""
        _log.error("%s raised: %s", function, json.dumps(payload, indent=1))
        if function in LAST_STEPS:
            self._last_step_done.set()

    # -- building the stack --------------------------------------------------------------

    def _create_stack(self, resources: ExitStack) -> None:
        self.s3 = boto3.client("s3", region_name=REGION)
        self._sfn = boto3.client("stepfunctions", region_name=REGION)
        self.s3.create_bucket(Bucket=self.bucket)
        secret_arn = boto3.client("secretsmanager", region_name=REGION).create_secret(
            Name=SECRET_NAME, SecretString=self._api_key
        )["ARN"]
        role_arn = self._create_role()
        template = CfnTemplate(
            load_template(self.repo_root / "template.yaml"),
            parameters=self._parameters,
            pseudo={
                "AWS::Region": REGION,
                "AWS::AccountId": ACCOUNT_ID,
                "AWS::StackName": STACK_NAME,
                "AWS::Partition": "aws",
                "AWS::URLSuffix": "amazonaws.com",
            },
        )
        template.set_physical("ResultsBucket", Ref=self.bucket, Arn=f"arn:aws:s3:::{self.bucket}")
        template.set_physical("ApiKeySecret", Ref=secret_arn, Arn=secret_arn)
        enforcement = IamEnforcement(ACCOUNT_ID, REGION) if self._translated else None
        credentials = self._create_function_roles(template, enforcement)
        self._create_functions(template, role_arn, resources, credentials)
        machine = template.state_machine()
        definition = (self.repo_root / machine.definition_uri).read_text()
        for name, value in machine.substitutions.items():
            definition = definition.replace("${" + name + "}", value)
        self.state_machine_arn = self._sfn.create_state_machine(
            name=f"{STACK_NAME}-export", definition=definition, roleArn=role_arn
        )["stateMachineArn"]
        if enforcement is not None:
            resources.enter_context(enforcement.enforced())

    def _create_function_roles(
        self, template: CfnTemplate, enforcement: IamEnforcement | None
    ) -> dict[str, RoleCredentials]:
        """Each function's role from the translated template, assumed; the engine and moto's
        Step Functions engine made unrestricted users (see ``iam_enforcement``)."""
        if enforcement is None or self._translated is None:
            return {}
        # The key the engine's own clients sign with: what moto's mock put in the environment.
        own_key = (os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
        enforcement.add_unrestricted_user("local-engine", *own_key)
        enforcement.add_unrestricted_user("step-functions-engine", *STEP_FUNCTIONS_ENGINE_KEY)
        translated = CfnTemplate(
            dict(self._translated),
            parameters=self._parameters,
            physical_ids=template.physical_ids,
            pseudo=template.pseudo,
        )
        return {
            function: enforcement.assume_new_role(f"{STACK_NAME}-{function}Role", policies)
            for function, policies in function_role_policies(translated).items()
        }

    def _create_functions(
        self,
        template: CfnTemplate,
        role_arn: str,
        resources: ExitStack,
        credentials: Mapping[str, RoleCredentials],
    ) -> None:
        lambdas = boto3.client("lambda", region_name=REGION)
        for spec in template.functions():
            name = f"{STACK_NAME}-{spec.logical_id}"
            arn = lambdas.create_function(
                FunctionName=name,
                Runtime="python3.12",
                Role=role_arn,
                Handler=spec.handler,
                Code={"ZipFile": _placeholder_zip()},
                Timeout=spec.timeout,
                MemorySize=spec.memory_size,
            )["FunctionArn"]
            template.set_physical(spec.logical_id, Ref=name, Arn=arn)
            environment = {
                **spec.environment,
                **LOCAL_OVERRIDES,
                "POWERTOOLS_LOG_LEVEL": self._log_level,
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            }
            if spec.logical_id in credentials:
                environment.update(credentials[spec.logical_id].environment())
            handler = load_handler(self.repo_root / spec.code_uri, spec.handler, environment)
            self._dispatch.register(
                name, RegisteredFunction(spec.logical_id, handler, spec.timeout, spec.memory_size)
            )
        # No CloudWatch here, so metrics are disabled; but Powertools keeps disabled metrics
        # until a flush that never comes. Drop them after each invocation, or a long local
        # run grows without bound.
        observability = sys.modules.get("exporter_runtime.observability")
        if observability is not None:
            self._dispatch.after_each = observability.metrics.clear_metrics
            # The handlers' JSON logs go to the log file too, or to stderr when they are asked
            # for (INFO: --verbose), never to stdout, where a command prints its results.
            stream: Any = sys.stderr
            if self._log_file is not None and self._log_level != "INFO":
                stream = resources.enter_context(_QuietFile(self._log_file))
            handler = observability.logger.registered_handler
            previous, handler.stream = handler.stream, stream
            resources.callback(setattr, handler, "stream", previous)

    def _create_role(self) -> str:
        iam = boto3.client("iam", region_name=REGION)
        trust = {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["lambda.amazonaws.com", "states.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                }
            ],
        }
        role: str = iam.create_role(
            RoleName=f"{STACK_NAME}-role", AssumeRolePolicyDocument=json.dumps(trust)
        )["Role"]["Arn"]
        return role

    def _execution_arn(self, name: str) -> str:
        machine = self.state_machine_arn.split(":")[-1]
        return f"arn:aws:states:{REGION}:{ACCOUNT_ID}:execution:{machine}:{name}"


def _placeholder_zip() -> bytes:
    """moto wants a code package; the code that runs is the repository's, in-process."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "# run in-process by playment_local.lambda_dispatch\n")
    return buffer.getvalue()


_log = logging.getLogger("playment_local.engine")


class _QuietFileHandler(logging.FileHandler):
    """A log file that drops what it cannot write (a full disk) instead of printing logging's
    "--- Logging error ---" and a trace to stderr for every record."""

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 (logging's name)
        del record


class _QuietFile(io.TextIOWrapper):
    """The log file as a stream for the handlers' logger: writes that fail are dropped."""

    def __init__(self, path: Path) -> None:
        super().__init__(path.open("ab"), encoding="utf-8", line_buffering=True)

    def write(self, text: str) -> int:
        try:
            return super().write(text)
        except OSError:
            return 0

    def flush(self) -> None:
        with suppress(OSError):
            super().flush()

    def close(self) -> None:
        with suppress(OSError):
            super().close()


@contextmanager
def _logs_to(path: Path) -> Iterator[None]:
    """moto's and the engine's loggers, and Python's warnings, write to ``path`` only, for the
    block's duration."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = _QuietFileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    loggers = [logging.getLogger(name) for name in ("moto", "playment_local", "py.warnings")]
    saved = [(logger.propagate, logger.level) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
        logger.setLevel(logging.INFO)
    capturing = getattr(warnings.showwarning, "__module__", "") == "logging"  # by a caller
    logging.captureWarnings(True)
    try:
        yield
    finally:
        logging.captureWarnings(capturing)
        for logger, (propagate, level) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.propagate = propagate
            logger.setLevel(level)
        with suppress(OSError):
            handler.close()
