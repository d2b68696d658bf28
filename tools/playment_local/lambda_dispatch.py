"""The one seam between moto and the real handlers: moto's Lambda invocation.

moto's Step Functions engine invokes Lambda tasks through the Lambda API, and moto's Lambda
runs function code in Docker, which is not available everywhere. ``LambdaDispatch`` replaces
exactly one method, ``moto.awslambda.models.LambdaFunction._invoke_lambda(event)``, which
returns ``(payload, errored, logs)``, so that the functions this engine registered are run
in-process by their real handlers. Everything around it (the Lambda API, error headers, the
engine's error mapping from ``errorType``) stays moto's. The method is private: moto's version
is pinned (``MOTO_VERSION``) and ``tests/integration/test_lambda_dispatch.py`` fails loudly if
the seam moves.

Why no public API serves: moto's only public way to run a function is Docker (or its
``MOTO_LAMBDA_STUB`` passthrough, which runs no code), and the roles are enforced only if the
handler runs in this process with its own credentials.
"""

import json
import threading
import time
import traceback
from collections.abc import Callable, Collection
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from moto.awslambda.models import LambdaFunction
from moto.core.models import responses_mock

from playment_local.invocation_memory import PeakMemory
from playment_local.lambda_context import LocalLambdaContext
from playment_local.lambda_loader import Handler

MOTO_VERSION = "5.2.5"
SEAM = "_invoke_lambda"

# Told of every successful invocation: (logical id, event, result, duration in seconds).
InvocationListener = Callable[[str, Any, Any, float], None]
# Told of every invocation that raised: (logical id, the error payload with its whole trace).
ErrorListener = Callable[[str, dict[str, Any]], None]


@dataclass(frozen=True)
class Invocation:
    """One invocation, ended, with what was measured of it."""

    function: str  # the template's logical id
    event: Any
    result: Any  # what the handler returned; None if it raised
    error_type: str | None  # the exception's type name if it raised
    duration_s: float
    peak_bytes: int | None  # see ``invocation_memory``; None unless memory is measured
    overlapped: bool  # another invocation ran meanwhile: its allocations are in peak_bytes
    timeout_s: int  # the function's, as the template sets them
    memory_mb: int


# Told of every invocation, whatever its end, with its measurements.
InvocationRecorder = Callable[[Invocation], None]


@dataclass(frozen=True)
class RegisteredFunction:
    logical_id: str
    handler: Handler
    timeout_s: int
    memory_mb: int


class LambdaDispatch:
    """Runs registered functions in-process when moto invokes them; others go to moto."""

    def __init__(
        self,
        on_result: InvocationListener | None = None,
        on_error: ErrorListener | None = None,
        *,
        recorder: InvocationRecorder | None = None,
        memory: PeakMemory | None = None,
        measured: Collection[str] = (),
    ) -> None:
        """``recorder`` is told of every invocation; with ``memory``, the peak memory of each
        invocation of the ``measured`` functions (logical ids) is measured (and recorded)."""
        self._functions: dict[str, RegisteredFunction] = {}
        self._on_result = on_result
        self._on_error = on_error
        self._recorder = recorder
        self._memory = memory
        self._measured = frozenset(measured)
        self.after_each: Callable[[], None] | None = None
        self._original: Any = None
        self._lock = threading.Lock()

    def register(self, function_name: str, function: RegisteredFunction) -> None:
        with self._lock:
            self._functions[function_name] = function

    def install(self) -> None:
        original = getattr(LambdaFunction, SEAM, None)
        if original is None:
            raise RuntimeError(
                f"moto's LambdaFunction.{SEAM} is gone: the local engine's seam moved; "
                f"pin moto=={MOTO_VERSION} or update tools/playment_local/lambda_dispatch.py"
            )
        self._original = original
        dispatch = self

        def invoke(function: Any, event: Any = None) -> tuple[str, bool, str]:
            registered = dispatch._functions.get(function.function_name)
            if registered is None:
                result: tuple[str, bool, str] = dispatch._original(function, event)
                return result
            return dispatch._run(registered, function.function_name, event)

        setattr(LambdaFunction, SEAM, invoke)

    def uninstall(self) -> None:
        if self._original is not None:
            setattr(LambdaFunction, SEAM, self._original)
            self._original = None

    def _run(self, function: RegisteredFunction, name: str, event: Any) -> tuple[str, bool, str]:
        context = LocalLambdaContext(
            function_name=name, timeout_s=function.timeout_s, memory_limit_in_mb=function.memory_mb
        )
        memory = self._memory if function.logical_id in self._measured else None
        measuring = memory.measuring() if memory is not None else nullcontext(None)
        started = time.monotonic()
        result: Any = None
        error: Exception | None = None
        with measuring as reading:
            try:
                result = function.handler(event, context)
            except Exception as raised:  # noqa: BLE001 - reported to the engine as Lambda would
                error = raised
            finally:
                if self.after_each is not None:
                    self.after_each()
        duration = time.monotonic() - started
        if self._recorder is not None:
            self._recorder(
                Invocation(
                    function=function.logical_id,
                    event=event,
                    result=result,
                    error_type=type(error).__name__ if error is not None else None,
                    duration_s=duration,
                    peak_bytes=reading.peak_bytes if reading is not None else None,
                    overlapped=reading.overlapped if reading is not None else False,
                    timeout_s=function.timeout_s,
                    memory_mb=function.memory_mb,
                )
            )
        if error is not None:
            return self._failed(function, error), True, ""
        if self._on_result is not None:
            self._on_result(function.logical_id, event, result, duration)
        return json.dumps(result), False, ""

    def _failed(self, function: RegisteredFunction, error: Exception) -> str:
        """The error as Lambda answers it: type, message and the last frames of the trace."""
        payload = {
            "errorType": type(error).__name__,
            "errorMessage": str(error),
            "stackTrace": traceback.format_tb(error.__traceback__)[-3:],
        }
        if self._on_error is not None:
            self._on_error(
                function.logical_id, {**payload, "stackTrace": traceback.format_exception(error)}
            )
        return json.dumps(payload)


def stop_intercepting_requests() -> None:
    """Let ``requests`` reach the network while moto mocks AWS.

    Besides botocore, ``mock_aws`` patches ``requests`` (through the ``responses`` library) so
    that plain HTTP calls to AWS URLs are answered too; every other call is matched against
    thousands of URL patterns before it is let through. The exporter reaches AWS through
    boto3 only, and its Playment calls are real HTTP to the simulator or the API: matching
    them cost more CPU than everything else in a local run. Stopping moto's ``responses``
    patcher (``moto.core.models.responses_mock``, same pinned version) leaves botocore mocked;
    moto's own ``stop`` is a no-op on it afterwards.
    """
    responses_mock.stop()
