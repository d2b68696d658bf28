"""How long each handler takes to import: the part of a Lambda cold start the code controls.

Each ``functions/<name>/app.py`` is imported by ``python -X importtime`` in a fresh process, as
Lambda does in a new container: the layer and the function folder on the path, the environment
the template gives the function (placeholder values), and ``LAMBDA_TASK_ROOT`` set so that
Powertools' tracer is enabled and patches boto3 as it does on Lambda (the X-Ray SDK then drops
its usual marker file, ``/tmp/.aws-xray/initialized``). The figure is the cumulative time of the
top-level ``app`` entry: its own module code (settings, clients) and everything it imports.

The import must not reach the network: an audit hook in the child makes any DNS lookup,
connection or datagram fail the measurement.
"""

import statistics
import subprocess
import sys
from pathlib import Path

from playment_local.cfn_template import CfnTemplate, FunctionSpec, load_template

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = ROOT / "template.yaml"
LAYER_DIR = ROOT / "layers" / "exporter"
RESULTS_BUCKET = "bench-bucket"
API_KEY_SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:bench"  # noqa: S105 - an ARN
REGION = "us-east-1"
IMPORT_TIMEOUT_S = 60

# The measured statement: the audit hook first (its own cost is not in the ``app`` entry).
_IMPORT_APP = """\
import sys
def _no_network(event, args):
    if event in ("socket.connect", "socket.sendto", "socket.sendmsg", "socket.getaddrinfo",
                 "socket.gethostbyname", "socket.gethostbyaddr"):
        raise RuntimeError(f"the import reached the network: {event} {args!r}")
sys.addaudithook(_no_network)
import app
"""


def handler_import_times(runs: int = 3) -> dict[str, float]:
    """Milliseconds to import each handler, median of ``runs`` fresh processes, by folder name."""
    if runs < 1:
        raise ValueError("runs must be at least 1")
    times: dict[str, float] = {}
    for spec in _handler_specs():
        folder = ROOT / spec.code_uri
        environment = _lambda_environment(spec, folder)
        samples = [_import_ms(folder, environment) for _ in range(runs)]
        times[folder.name] = statistics.median(samples)
    return times


def _handler_specs() -> list[FunctionSpec]:
    """The template's functions, with the Refs their environment needs given bench values."""
    template = CfnTemplate(
        load_template(TEMPLATE_PATH),
        physical_ids={
            "ResultsBucket": {"Ref": RESULTS_BUCKET},
            "ApiKeySecret": {"Ref": API_KEY_SECRET_ARN},
        },
        pseudo={"AWS::StackName": "playment-exporter"},  # the metrics' service dimension
    )
    specs = sorted(template.functions(), key=lambda spec: spec.code_uri)
    for spec in specs:
        if spec.handler != "app.lambda_handler":
            raise ValueError(f"{spec.logical_id}: expected handler app.lambda_handler")
    return specs


def _lambda_environment(spec: FunctionSpec, folder: Path) -> dict[str, str]:
    """Only what Lambda would set: nothing of this machine's AWS configuration leaks in."""
    return {
        **spec.environment,
        "RESULTS_BUCKET": RESULTS_BUCKET,
        "API_KEY_SECRET_ARN": API_KEY_SECRET_ARN,
        "PYTHONPATH": f"{LAYER_DIR}:{folder}",
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_SESSION_TOKEN": "bench",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        "LAMBDA_TASK_ROOT": str(folder),
        "AWS_LAMBDA_FUNCTION_NAME": spec.logical_id,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory_size),
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
    }


def _import_ms(folder: Path, environment: dict[str, str]) -> float:
    completed = subprocess.run(  # noqa: S603 - our own interpreter, a fixed statement
        [sys.executable, "-X", "importtime", "-c", _IMPORT_APP],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=IMPORT_TIMEOUT_S,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"importing {folder.name}/app.py failed:\n{_tail(completed.stderr)}")
    return app_import_ms(completed.stderr)


def app_import_ms(importtime_output: str) -> float:
    """The cumulative time of the top-level ``app`` line, in ms (``-X importtime`` prints µs:
    ``import time: self [us] | cumulative | imported package``, nesting shown by indentation)."""
    for line in importtime_output.splitlines():
        if not line.startswith("import time:"):
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|", 2)
        if name == " app":  # nesting level 0: one space, no indentation
            return int(cumulative) / 1000
    raise ValueError("no top-level 'app' entry in the -X importtime output")


def _tail(text: str, lines: int = 20) -> str:
    return "\n".join(text.splitlines()[-lines:])


def format_import_times(times: dict[str, float]) -> str:
    width = max((len(name) for name in times), default=0)
    rows = [f"{name.ljust(width)}  {ms:8.1f} ms" for name, ms in sorted(times.items())]
    return "\n".join(["Handler import time (median, -X importtime, cumulative `app`)", *rows])
