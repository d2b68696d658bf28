"""How the client reads answers the simulator does not give: every kind of error envelope,
odd statuses, ``Retry-After`` as an HTTP date (the simulator only sends seconds), a dropped
connection. The tests hand the client crafted urllib3 responses in place of its pools' answers.
"""

import io
import json
import socket
import ssl
import time
from email.utils import formatdate
from typing import Any

import pytest
import urllib3
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    MaxRetryError,
    NameResolutionError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
    SSLError,
)

from playment_exporter.api_models import ProjectBatch, ProjectDetails
from playment_exporter.errors import (
    BATCH_NOT_FOUND,
    PROJECT_NOT_FOUND,
    PlaymentApiError,
    PlaymentAuthError,
    TransientError,
)
from playment_exporter.playment_client import ConnectionFailure, PlaymentClient
from playment_exporter.retry_policy import RetrySettings

JOB = {"success": True, "data": {"job_id": "j1", "status": "completed", "result": "u"}}
THROTTLED = {"success": False, "error": {"code": "rate_limit_exceeded", "message": "slow down"}}


def answer(status: int, body: Any, headers: dict[str, str] | None = None) -> urllib3.HTTPResponse:
    """An API answer as the client gets it: read whole (``preload_content``)."""
    return urllib3.HTTPResponse(
        body=json.dumps(body).encode(), headers=headers or {}, status=status, preload_content=True
    )


def waits_before_success(monkeypatch: pytest.MonkeyPatch, retry_after: str) -> list[float]:
    """Fetch a job the API throttles once with this ``Retry-After``; the waits the client made."""
    waits: list[float] = []
    settings = RetrySettings(window=120, initial_wait=0.01, max_wait=0.05)
    client = PlaymentClient("https://api.invalid", "key", retry=settings, sleep=waits.append)
    answers = [answer(429, THROTTLED, {"Retry-After": retry_after}), answer(200, JOB)]
    monkeypatch.setattr(client._api_pool, "urlopen", lambda *_, **__: answers.pop(0))
    assert client.get_job("p1", "j1").is_completed
    assert answers == []
    return waits


def test_an_http_date_retry_after_is_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 429 whose Retry-After is an HTTP date 30 seconds from now
    in_30_s = formatdate(time.time() + 30, usegmt=True)
    # When the job is fetched
    waits = waits_before_success(monkeypatch, in_30_s)
    # Then the client waited until that date (to the second), not its own backoff
    assert len(waits) == 1
    assert 28 < waits[0] <= 30


def test_a_retry_after_in_seconds_is_the_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a 429 with Retry-After: 7 / When fetched / Then the client waited 7 seconds
    assert waits_before_success(monkeypatch, "7") == [7.0]


@pytest.mark.parametrize("value", ["soon", formatdate(time.time() - 3600, usegmt=True)])
def test_an_unusable_or_past_retry_after_falls_back(
    monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    # Given a Retry-After that does not parse, or a date already past
    # When fetched / Then the client made one short wait of its own (backoff, or zero)
    waits = waits_before_success(monkeypatch, value)
    assert len(waits) == 1
    assert 0 <= waits[0] < 0.1


NO_RETRIES = RetrySettings(window=0, initial_wait=0.01, max_wait=0.01)


def client_answering(
    monkeypatch: pytest.MonkeyPatch,
    *answers: Any,
    asked: list[Any] | None = None,
    settings: RetrySettings = NO_RETRIES,
) -> PlaymentClient:
    """A client whose pools answer these, in order (an exception is raised instead); each
    request's URL (the API's: its path and query) and keyword arguments go to ``asked``."""
    client = PlaymentClient("https://api.invalid", "key", retry=settings, sleep=lambda _: None)
    queue = list(answers)

    def urlopen(method: str, url: str, **kwargs: Any) -> Any:
        assert method == "GET"
        if asked is not None:
            asked.append((url, kwargs))
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(client._api_pool, "urlopen", urlopen)  # the API's host
    monkeypatch.setattr(client._http, "urlopen", urlopen)  # the signed URLs' hosts
    return client


def envelope(code: str, message: str = "") -> dict[str, Any]:
    return {"success": False, "error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (401, {"unexpected": "shape"}),
        (401, "not json at all"),
        (400, envelope("unauthorized", "bad key")),
        (403, envelope("auth-failure")),
        (200, envelope("unauthorized_request")),
    ],
)
def test_a_refused_key_is_an_auth_error_whatever_the_envelope(
    monkeypatch: pytest.MonkeyPatch, status: int, body: Any
) -> None:
    # Given a 401, or an envelope whose code says the key was refused, at any status
    client = client_answering(monkeypatch, answer(status, body))
    # When a job is fetched / Then it is an auth error naming the status and what to check
    with pytest.raises(PlaymentAuthError) as raised:
        client.get_job("p1", "j1")
    assert str(raised.value).startswith(f"Playment rejected the API key (HTTP {status}, ")
    assert str(raised.value).endswith("): check the key stored in the secret")
    # And it carries Playment's answer alone, which the command shows in its own words
    assert raised.value.answer is not None
    assert raised.value.answer.startswith(f"HTTP {status}, ")
    assert f"({raised.value.answer})" in str(raised.value)


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (503, envelope("unknown_error"), "http_503", "HTTP 503"),
        (502, "bad gateway", "http_502", "HTTP 502"),
        (429, envelope("rate_limit_exceeded", "slow down"), "rate_limit_exceeded", "slow down"),
        (400, envelope("FS_0000", "Internal error"), "FS_0000", "Internal error"),
        (400, envelope("FS_0008"), "FS_0008", "HTTP 400"),
        (200, envelope("api_error", "try later"), "api_error", "try later"),
    ],
)
def test_server_side_trouble_is_transient_with_its_code(
    monkeypatch: pytest.MonkeyPatch, status: int, body: Any, code: str, message: str
) -> None:
    # Given a retryable status, or a 400/200 envelope with a server-side code
    client = client_answering(monkeypatch, answer(status, body))
    # When a job is fetched / Then it is transient, with the API's code (or the status)
    with pytest.raises(TransientError) as raised:
        client.get_job("p1", "j1")
    assert (raised.value.code, raised.value.message) == (code, message)
    assert raised.value.retry_after is None


@pytest.mark.parametrize(
    ("status", "body", "code", "message"),
    [
        (400, envelope("FS_0004", "Job not found"), "FS_0004", "Job not found"),
        (404, {}, "unknown_error", "HTTP 404"),
        (200, {"data": None, "success": False}, "unexpected_response", "a 200 answer"),
        (200, ["a", "list"], "unexpected_response", "a 200 answer"),
    ],
)
def test_a_request_error_is_permanent_with_its_code_and_status(
    monkeypatch: pytest.MonkeyPatch, status: int, body: Any, code: str, message: str
) -> None:
    # Given an error the server will give again, or a 200 that is no data envelope
    client = client_answering(monkeypatch, answer(status, body))
    # When a job is fetched / Then it is permanent, with its code, message and status
    with pytest.raises(PlaymentApiError) as raised:
        client.get_job("p1", "j1")
    assert (raised.value.code, raised.value.status) == (code, status)
    assert raised.value.message.startswith(message)
    assert str(raised.value) == f"{code}: {raised.value.message}"


def test_a_dropped_connection_is_transient_and_names_the_host_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given a connection reset on the way to the API
    client = client_answering(monkeypatch, ProtocolError("Connection aborted.", "reset by peer"))
    # When a job is fetched / Then it is transient, naming the error type and the host only
    with pytest.raises(TransientError) as raised:
        client.get_job("p1", "j1")
    assert raised.value.code == "connection_error"
    assert raised.value.message == "ProtocolError talking to api.invalid"


def signed(
    status: int, headers: dict[str, str] | None = None, body: bytes = b""
) -> urllib3.HTTPResponse:
    """A storage answer as the client gets it: its body not read yet."""
    return urllib3.HTTPResponse(
        body=io.BytesIO(body), headers=headers or {}, status=status, preload_content=False
    )


@pytest.mark.parametrize(
    ("status", "headers", "expected"),
    [
        (503, {"Retry-After": "4"}, TransientError("storage_http_503", "HTTP 503", 4.0)),
        (500, {}, TransientError("storage_http_500", "HTTP 500")),
        (404, {}, PlaymentApiError("storage_http_404", "the signed URL answered HTTP 404", 404)),
    ],
)
def test_a_storage_failure_says_whether_to_retry(
    monkeypatch: pytest.MonkeyPatch, status: int, headers: dict[str, str], expected: Exception
) -> None:
    # Given an attachment that redirects, and storage answering this status at the signed URL
    redirect = answer(302, {}, {"Location": "https://storage.invalid/x?sig=1"})
    client = client_answering(monkeypatch, redirect, signed(status, headers))
    # When the result is opened / Then the error says transient or permanent, with its code,
    # message, and the wait asked for (transient) or the status (permanent)
    with pytest.raises(type(expected)) as raised, client.open_result("private://x"):
        pass
    assert vars(raised.value) == vars(expected)
    assert str(raised.value) == str(expected)


@pytest.mark.parametrize("status", [302, 200])
def test_an_attachment_answer_without_location_is_permanent(
    monkeypatch: pytest.MonkeyPatch, status: int
) -> None:
    # Given an attachment endpoint that answers without a Location to follow
    client = client_answering(monkeypatch, answer(status, {"success": True}))
    # When resolved / Then it is a permanent error, with the status
    with pytest.raises(PlaymentApiError) as raised:
        client.resolve_attachment("private://x")
    assert raised.value.status == status


def test_a_relative_location_is_resolved_and_fetched_as_it_should_be(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an attachment endpoint that redirects to a path on its own host
    redirect = answer(307, {}, {"Location": "/signed/r.json?sig=1"})
    body = signed(200, {"Content-Length": "2"}, b"{}")
    asked: list[Any] = []
    client = client_answering(monkeypatch, redirect, body, asked=asked)
    # When the result is opened and read
    with client.open_result("private://r") as opened:
        assert opened.read() == b"{}"
    # Then the signed URL was the Location joined to the endpoint's URL, fetched with
    # timeouts, without credentials, streaming, and following no further redirect
    (api_url, api_kwargs), (signed_url, signed_kwargs) = asked
    assert signed_url == "https://api.invalid/signed/r.json?sig=1"
    assert signed_kwargs.pop("headers") == {"Accept-Encoding": "gzip, deflate"}
    assert _timeouts(signed_kwargs.pop("timeout")) == (5.0, 30.0)
    assert signed_kwargs == {"redirect": False, "preload_content": False}
    assert api_url == "/attachments?url=private%3A%2F%2Fr"
    assert api_kwargs.pop("headers") == {
        "x-api-key": "key",
        "Accept": "application/json",
        "Accept-Encoding": "gzip, deflate",
    }
    assert _timeouts(api_kwargs.pop("timeout")) == (5.0, 30.0)
    assert api_kwargs == {"redirect": False, "preload_content": True, "retries": False}


def _timeouts(timeout: urllib3.Timeout) -> tuple[float | None, float | None]:
    return timeout.connect_timeout, timeout.read_timeout  # type: ignore[return-value]


@pytest.mark.parametrize(
    ("call", "data", "what"),
    [
        (lambda c: c.get_job("p1", "j1"), {"status": ["not", "text"]}, "job"),
        (lambda c: c.get_project_details("p1"), {"batches": "none"}, "project details"),
        (lambda c: c.first_contact("p1"), {"batches": "none"}, "project details"),
        (lambda c: c.list_batch_page("p1", "b1", ""), {"jobs": [{"no": "id"}]}, "batch page"),
    ],
)
def test_an_answer_of_the_wrong_shape_is_permanent_and_says_which(
    monkeypatch: pytest.MonkeyPatch, call: Any, data: Any, what: str
) -> None:
    # Given a 200 envelope whose data does not have the shape this endpoint promises
    client = client_answering(monkeypatch, answer(200, {"success": True, "data": data}))
    # When called / Then it is a permanent error naming the kind of answer
    with pytest.raises(PlaymentApiError) as raised:
        call(client)
    assert raised.value.code == "unexpected_response"
    assert raised.value.message.startswith(f"the {what} response did not have the expected shape: ")


def test_a_dropped_download_is_transient_and_names_the_storage_host_only(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given an attachment that redirects, and a signed URL whose connection is reset
    redirect = answer(302, {}, {"Location": "https://storage.invalid/r.json?signature=secret"})
    client = client_answering(monkeypatch, redirect, ProtocolError("Connection aborted."))
    # When the result is opened / Then it is transient, naming the host, never the signature
    with pytest.raises(TransientError) as raised, client.open_result("private://r"):
        pass
    assert (raised.value.code, raised.value.message) == (
        "connection_error",
        "ProtocolError talking to storage.invalid",
    )


def _caused(error: Exception, cause: BaseException) -> Exception:
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    ("error", "reason", "established"),
    [
        (
            NameResolutionError("api.invalid", None, socket.gaierror(-2, "not known")),  # type: ignore[arg-type]
            "the host name does not resolve",
            False,
        ),
        (
            SSLError(ssl.SSLCertVerificationError(1, "certificate verify failed")),
            "its TLS certificate does not verify",
            False,
        ),
        (
            SSLError(ssl.SSLError(1, "wrong version number")),
            "the TLS handshake failed (an https:// URL to a plain-HTTP server?)",
            False,
        ),
        (
            _caused(NewConnectionError(None, "refused"), ConnectionRefusedError(111, "refused")),  # type: ignore[arg-type]
            "the connection was refused",
            False,
        ),
        (
            NewConnectionError(None, "Failed to establish a new connection: unreachable"),  # type: ignore[arg-type]
            "no connection could be made",
            False,
        ),
        (
            ConnectTimeoutError(None, "Connection to api.invalid timed out"),
            "the connection timed out",
            False,
        ),
        (
            ReadTimeoutError(None, "/v1/jobs", "Read timed out."),  # type: ignore[arg-type]
            "it did not answer in time",
            True,
        ),
        (
            ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
            "the connection was dropped before any answer (an http:// URL to a TLS server?)",
            True,
        ),
        (  # the reason only as an attribute, not as the cause (urllib3 1.x raises it so)
            MaxRetryError(None, "/v1/jobs", reason=NewConnectionError(None, "unreachable")),  # type: ignore[arg-type]
            "no connection could be made",
            False,
        ),
        (  # a cause, and another error among the arguments: both are looked into
            _caused(
                ProtocolError("Connection aborted.", ConnectionResetError(104, "reset")),
                NameResolutionError("api.invalid", None, socket.gaierror(-2, "not known")),  # type: ignore[arg-type]
            ),
            "the host name does not resolve",
            False,
        ),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else None,
)
def test_urllib3_errors_are_sorted_by_whether_a_connection_was_made(
    error: HTTPError, reason: str, established: bool
) -> None:
    # Given a request that got no answer, for this reason as urllib3 raises it
    # When the client sorts it
    failure = ConnectionFailure("api.invalid", error)
    # Then it says why in a few words, and whether a connection was made (only one that was
    # not made fails a run's first request at once), naming the host and the error's kind only
    assert (failure.reason, failure.established) == (reason, established)
    assert failure.message == f"{type(error).__name__} talking to api.invalid"
    assert failure.code == "connection_error"


def test_the_client_keeps_no_credentials_but_the_key_for_the_api(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    # Given a ~/.netrc naming the storage host, and a result whose signed URL is on it
    (tmp_path / ".netrc").write_text("machine storage.invalid login user password secret\n")
    monkeypatch.setenv("HOME", str(tmp_path))
    redirect = answer(302, {}, {"Location": "https://storage.invalid/r.json?sig=1"})
    asked: list[Any] = []
    client = client_answering(monkeypatch, redirect, signed(200, {}, b"{}"), asked=asked)
    # When the result is opened and read
    with client.open_result("private://r") as opened:
        opened.read()
    # Then the signed URL was fetched with no header but the encodings it accepts: no key,
    # no Authorization from ~/.netrc or anywhere
    (_, _), (_, signed_kwargs) = asked
    assert signed_kwargs["headers"] == {"Accept-Encoding": "gzip, deflate"}


DETAILS = {"success": True, "data": {"name": "P", "batches": [{"id": "b1", "total_jobs": 3}]}}
NOT_FOUND = {"success": False, "error": {"code": "FS_0004", "message": "Not found"}}
UNAVAILABLE = {"success": False, "error": {"code": "api_error", "message": "unavailable"}}
RETRIES = RetrySettings(window=60, initial_wait=0.01, max_wait=0.01)


def test_details_handed_in_serve_the_next_call_without_a_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given the project's details as the run's first request answered them, handed in
    asked: list[Any] = []
    client = client_answering(monkeypatch, answer(200, DETAILS), asked=asked)
    remembered = ProjectDetails(batches=[ProjectBatch(id="b1", total_jobs=3)])
    client.remember_details("p1", remembered)
    # When the details are asked for, twice
    first = client.get_project_details("p1")
    second = client.get_project_details("p1")
    # Then the first call returns them as handed in, and only the second asks Playment
    assert first is remembered
    assert second.batches[0].id == "b1"
    assert len(asked) == 1


@pytest.mark.parametrize("known_by", ["first_contact", "remember_details"])
def test_a_batch_not_found_in_a_project_known_already_asks_nothing_more(
    monkeypatch: pytest.MonkeyPatch, known_by: str
) -> None:
    # Given a project known to Playment, by the run's first request or its details handed in
    asked: list[Any] = []
    first = [answer(200, DETAILS)] if known_by == "first_contact" else []
    client = client_answering(monkeypatch, *first, answer(400, NOT_FOUND), asked=asked)
    if known_by == "first_contact":
        client.first_contact("p1")
    else:  # and taken back, as the listing's batch plan does
        client.remember_details("p1", ProjectDetails())
        client.get_project_details("p1")
    listed_before = len(asked)
    # When a batch of it is not found
    with pytest.raises(PlaymentApiError) as raised:
        client.list_batch_page("p1", "b9", "")
    # Then it is the batch that is not found, told without asking for the project again
    assert raised.value.code == BATCH_NOT_FOUND
    assert len(asked) == listed_before + 1


def test_a_project_not_found_keeps_playments_status(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given Playment answering the project's details with a 400 "not found"
    client = client_answering(monkeypatch, answer(400, NOT_FOUND))
    # When the details are asked for / Then the project is not found, with Playment's status
    with pytest.raises(PlaymentApiError) as raised:
        client.get_project_details("p1")
    assert (raised.value.code, raised.value.status) == (PROJECT_NOT_FOUND, 400)


@pytest.mark.parametrize(
    ("call", "answers"),
    [
        pytest.param(
            lambda c, deadline: c.first_contact("p1", deadline=deadline),
            [answer(503, UNAVAILABLE), answer(200, DETAILS)],
            id="first-contact",
        ),
        pytest.param(  # a batch not found asks whether the project is known
            lambda c, deadline: c.list_batch_page("p1", "b9", "", deadline=deadline),
            [answer(400, NOT_FOUND), answer(503, UNAVAILABLE), answer(200, DETAILS)],
            id="project-check-of-a-batch-not-found",
        ),
    ],
)
def test_project_details_are_not_retried_past_the_deadline(
    monkeypatch: pytest.MonkeyPatch, call: Any, answers: list[Any]
) -> None:
    # Given Playment unavailable for the project's details, then answering, and a call
    # whose deadline has passed (its retry window would still allow another try)
    asked: list[Any] = []
    client = client_answering(monkeypatch, *answers, asked=asked, settings=RETRIES)
    # When the call is made / Then it gives up with the transient error, trying no more
    with pytest.raises(TransientError):
        call(client, time.monotonic() - 1)
    assert len(asked) == len(answers) - 1
