"""The local engine's one seam into moto. If this fails, moto moved: read lambda_dispatch.py."""

import importlib.metadata
import inspect
import json
from typing import Any

import boto3
import pytest
import requests
import requests.adapters
from moto import mock_aws
from moto.awslambda.models import LambdaFunction

from playment_local.engine import _placeholder_zip
from playment_local.invocation_memory import PeakMemory
from playment_local.lambda_dispatch import (
    MOTO_VERSION,
    SEAM,
    Invocation,
    LambdaDispatch,
    RegisteredFunction,
    stop_intercepting_requests,
)

MiB = 1024 * 1024


def test_moto_is_the_pinned_version() -> None:
    # Given the version the seam was written against / Then it is the one installed
    assert importlib.metadata.version("moto") == MOTO_VERSION


def test_the_seam_still_has_its_shape() -> None:
    # Given moto's Lambda function model / Then the hooked method takes (self, event)
    method = getattr(LambdaFunction, SEAM)
    assert list(inspect.signature(method).parameters) == ["self", "event"]


@pytest.fixture
def lambda_function(aws):
    iam = boto3.client("iam")
    role = iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    client = boto3.client("lambda")
    client.create_function(
        FunctionName="seam-check",
        Runtime="python3.12",
        Role=role,
        Handler="app.lambda_handler",
        Code={"ZipFile": _placeholder_zip()},
    )
    return client


def test_an_invocation_reaches_the_registered_handler(lambda_function) -> None:
    # Given a handler registered for a moto function, and the seam installed
    seen = []
    dispatch = LambdaDispatch(
        on_result=lambda name, event, result, seconds: seen.append((name, result))
    )
    dispatch.register(
        "seam-check",
        RegisteredFunction("SeamCheck", lambda event, context: {"echo": event["n"]}, 30, 128),
    )
    dispatch.install()
    try:
        # When moto's Lambda API invokes it
        answer = lambda_function.invoke(FunctionName="seam-check", Payload=json.dumps({"n": 7}))
    finally:
        dispatch.uninstall()
    # Then the handler ran in-process and its result is the payload
    assert json.loads(answer["Payload"].read()) == {"echo": 7}
    assert "FunctionError" not in answer
    assert seen == [("SeamCheck", {"echo": 7})]


def test_a_handler_error_comes_back_as_a_lambda_function_error(lambda_function) -> None:
    # Given a handler that raises
    class InvalidInput(Exception):
        pass

    def fail(event, context):
        raise InvalidInput("batch_ids[0]: bad")

    dispatch = LambdaDispatch()
    dispatch.register("seam-check", RegisteredFunction("SeamCheck", fail, 30, 128))
    dispatch.install()
    try:
        # When invoked
        answer = lambda_function.invoke(FunctionName="seam-check", Payload="{}")
    finally:
        dispatch.uninstall()
    # Then Lambda's error shape carries the exception's class name as errorType
    payload = json.loads(answer["Payload"].read())
    assert answer["FunctionError"] == "Handled"
    assert (payload["errorType"], payload["errorMessage"]) == ("InvalidInput", "batch_ids[0]: bad")


def test_requests_go_straight_to_the_network_once_interception_stops() -> None:
    # Given requests' real send, and moto mocking AWS
    real_send = requests.adapters.HTTPAdapter.send
    with mock_aws():
        assert requests.adapters.HTTPAdapter.send is not real_send  # moto's responses patch
        # When the engine stops moto from intercepting requests
        stop_intercepting_requests()
        # Then requests is unpatched while boto3 stays mocked
        assert requests.adapters.HTTPAdapter.send is real_send
        assert boto3.client("s3").list_buckets()["Buckets"] == []
    assert requests.adapters.HTTPAdapter.send is real_send


def test_each_invocation_is_recorded_with_what_it_allocated_at_its_peak(lambda_function) -> None:
    # Given 30 MiB the process holds before any invocation, a handler that holds 20 MiB while
    # it runs, one that raises, and the dispatch measuring memory
    held_before = bytearray(30 * MiB)
    handlers = iter([_holding(20 * MiB), _holding(1 * MiB), _raising])
    recorded: list[Invocation] = []
    dispatch = LambdaDispatch(
        recorder=recorded.append, memory=PeakMemory(), measured=("SeamCheck",)
    )

    def handler(event: Any, context: Any) -> Any:
        return next(handlers)(event, context)

    dispatch.register("seam-check", RegisteredFunction("SeamCheck", handler, 30, 256))
    dispatch.install()
    try:
        # When it is invoked three times, one after the other
        for n in range(3):
            lambda_function.invoke(FunctionName="seam-check", Payload=json.dumps({"n": n}))
    finally:
        dispatch.uninstall()
    # Then each invocation's peak is what it allocated itself, not what the process held
    # before it, nor what the one before it had freed; the one that raised is recorded too
    big, small, raised = recorded
    assert 20 * MiB <= (big.peak_bytes or 0) < 22 * MiB
    assert 1 * MiB <= (small.peak_bytes or 0) < 3 * MiB
    assert (raised.error_type, raised.result) == ("InvalidInput", None)
    assert (big.function, big.event, big.result, big.error_type) == ("SeamCheck", {"n": 0}, 0, None)
    assert (big.timeout_s, big.memory_mb, big.overlapped) == (30, 256, False)
    assert big.duration_s > 0
    assert len(held_before) == 30 * MiB


def test_a_function_not_measured_is_recorded_without_a_peak(lambda_function) -> None:
    # Given memory measured for another function only
    recorded: list[Invocation] = []
    dispatch = LambdaDispatch(recorder=recorded.append, memory=PeakMemory(), measured=("Other",))
    dispatch.register("seam-check", RegisteredFunction("SeamCheck", _holding(1 * MiB), 30, 256))
    dispatch.install()
    try:
        # When this one is invoked
        lambda_function.invoke(FunctionName="seam-check", Payload=json.dumps({"n": 1}))
    finally:
        dispatch.uninstall()
    # Then it is recorded, with no peak
    assert [(i.function, i.result, i.peak_bytes) for i in recorded] == [("SeamCheck", 1, None)]


def _holding(size: int) -> Any:
    def handler(event: Any, context: Any) -> int:
        block = bytearray(size)
        return int(event["n"]) + block[-1]

    return handler


def _raising(event: Any, context: Any) -> None:
    class InvalidInput(Exception):
        pass

    raise InvalidInput("bad")
