"""The Playment API as the exporter uses it: batch pages, job records, result downloads.

Rules that matter here and are easy to get wrong:
- The API key goes to the API host only. The attachment endpoint redirects to a signed URL on
  another host; ``requests`` would carry a custom ``x-api-key`` header across that redirect, so
  redirects are followed by hand and the signed URL is fetched with no credentials.
- The HTTP status alone does not say whether to retry: Playment reports server-side trouble as
  400s with codes like ``FS_0000``. ``_raise_for_error`` sorts every failure into transient
  (retried by ``retry_policy``), auth (stop everything) or permanent.
- Pagination ends on a missing, null or empty token or an empty page; a token seen twice is an
  error rather than an endless loop.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn
from urllib.parse import quote, urljoin, urlsplit

import requests
from pydantic import ValidationError
from requests.adapters import HTTPAdapter
from tenacity import Retrying
from urllib3.util.retry import Retry

from playment_exporter.api_models import ApiError, BatchPage, JobRecord, ProjectDetails
from playment_exporter.errors import (
    PlaymentApiError,
    PlaymentAuthError,
    TransientError,
)
from playment_exporter.result_body import VerifiedBody
from playment_exporter.retry_policy import RetrySettings, retrying

DEFAULT_API_URL = "https://api.playment.io/v1"
RETRY_STATUSES = frozenset({408, 429, 443, 444, 500, 502, 503, 504})
SERVER_SIDE_CODES = frozenset({"FS_0000", "FS_0008", "api_error"})
AUTH_CODES = frozenset({"auth-failure", "unauthorized", "unauthorized_request"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
_RETRY_AFTER = Retry()  # only for its Retry-After parser (seconds or an HTTP date)


class PlaymentClient:
    """One per container: a pooled session, timeouts on every call, the policy on every failure."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        pool_size: int = 10,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetrySettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise PlaymentAuthError("the Playment API key is empty: put the key into the secret")
        self._api_url = api_url.rstrip("/")
        self._api_key = api_key
        self._timeout = (connect_timeout, read_timeout)
        self._retry = retry or RetrySettings()
        self._sleep = sleep
        self._session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=max(pool_size, 1), max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        # No credentials from ~/.netrc: the key goes to the API host only, the signed URL gets
        # none; and requests would otherwise look for that file on every request.
        self._session.auth = _no_credentials

    def __repr__(self) -> str:  # never show the key
        return f"PlaymentClient(api_url={self._api_url!r})"

    def close(self) -> None:
        self._session.close()

    # -- the three endpoints -------------------------------------------------------------

    def list_batch_page(
        self, project_id: str, batch_id: str, token: str, *, deadline: float | None = None
    ) -> BatchPage:
        """One page of the batch's jobs: the first for an empty ``token``. The last page is
        the one with no jobs or no ``next_page_token``."""
        path = f"/projects/{quote(project_id)}/batch/{quote(batch_id)}"
        data = self._get_api_data(path, {"page_token": token}, deadline=deadline)
        return _parse(BatchPage, data, "batch page")

    def get_job(self, project_id: str, job_id: str, *, deadline: float | None = None) -> JobRecord:
        data = self._get_api_data(
            f"/projects/{quote(project_id)}/jobs/{quote(job_id)}", None, deadline=deadline
        )
        return _parse(JobRecord, data, "job")

    def get_project_details(
        self, project_id: str, *, deadline: float | None = None
    ) -> ProjectDetails:
        data = self._get_api_data(f"/projects/{quote(project_id)}/details", None, deadline=deadline)
        return _parse(ProjectDetails, data, "project details")

    def resolve_attachment(self, result_url: str, *, deadline: float | None = None) -> str:
        """The signed URL the attachment endpoint redirects to (302 or 307), not followed."""
        for attempt in self.retrying(deadline):
            with attempt:
                response = self._send(
                    self._api_url + "/attachments", {"url": result_url}, with_key=True
                )
                with response:
                    location = response.headers.get("Location")
                    if response.status_code in REDIRECTS and location:
                        return urljoin(response.url, location)
                    _raise_for_error(response)  # no redirect: an error, whatever the status
        raise AssertionError("unreachable: tenacity re-raises the last error")

    @contextmanager
    def open_result(
        self,
        result_url: str,
        *,
        deadline: float | None = None,
        expect_json: bool = True,
        collect_urls: bool = False,
    ) -> Iterator[VerifiedBody]:
        """Open a job's result file as a checked stream.

        Resolves the attachment, fetches the signed URL without credentials, and resolves again
        once if the signed URL has expired (403). Transient failures, a second 403 among them,
        raise ``TransientError`` for the caller to retry the whole transfer, within its budget.
        """
        response = self._open_signed(self.resolve_attachment(result_url, deadline=deadline))
        if response.status_code == 403:
            response.close()
            response = self._open_signed(self.resolve_attachment(result_url, deadline=deadline))
            if response.status_code == 403:
                response.close()
                raise TransientError(
                    "signed_url_forbidden", "a freshly signed URL was refused too (403)"
                )
        if response.status_code != 200:
            with response:
                _raise_for_storage_error(response)
        with VerifiedBody(response, expect_json=expect_json, collect_urls=collect_urls) as body:
            yield body

    def retrying(self, deadline: float | None) -> Retrying:
        """The client's retry policy; callers use it to retry a larger unit (a whole transfer)."""
        return retrying(self._retry, deadline=deadline, sleep=self._sleep)

    # -- plumbing ------------------------------------------------------------------------

    def _get_api_data(
        self, path: str, params: dict[str, str] | None, *, deadline: float | None
    ) -> Any:
        for attempt in self.retrying(deadline):
            with attempt:
                response = self._send(self._api_url + path, params, with_key=True)
                with response:
                    if response.status_code != 200:
                        _raise_for_error(response)
                    body = _json_or_none(response)
                    if not isinstance(body, dict) or body.get("success") is False:
                        _raise_for_error(response)
                    return body.get("data")
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _open_signed(self, signed_url: str) -> requests.Response:
        # No key, no session auth: the signed URL carries its own authorisation.
        try:
            return self._session.get(
                signed_url, stream=True, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            raise _connection_failure(error, signed_url) from None

    def _send(
        self, url: str, params: dict[str, str] | None, *, with_key: bool
    ) -> requests.Response:
        headers = {"x-api-key": self._api_key, "Accept": "application/json"} if with_key else {}
        try:
            return self._session.get(
                url, params=params, headers=headers, timeout=self._timeout, allow_redirects=False
            )
        except requests.RequestException as error:
            raise _connection_failure(error, url) from None


def _parse[M: (BatchPage, JobRecord, ProjectDetails)](model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise PlaymentApiError(
            "unexpected_response", f"the {what} response did not have the expected shape: {error}"
        ) from None


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return _RETRY_AFTER.parse_retry_after(value)
    except Exception:  # an unparseable header is ignored, as a browser would  # noqa: BLE001
        return None


def repeated_token(batch_id: str, token: str) -> PlaymentApiError:
    """A token that came back twice would page forever: stop the batch instead."""
    return PlaymentApiError(
        "repeated_page_token",
        f"batch {batch_id}: page token {token!r} came back twice; stopping rather than looping",
    )


def _raise_for_error(response: requests.Response) -> NoReturn:
    """Raise the exception this API failure calls for: auth, transient or permanent."""
    body = _json_or_none(response)
    error = ApiError()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = ApiError.model_validate(body["error"])
    status = response.status_code
    if status == 401 or error.code in AUTH_CODES:
        raise PlaymentAuthError(
            f"Playment rejected the API key (HTTP {status}, {error.code}): "
            "check the key stored in the secret"
        )
    if status in RETRY_STATUSES or error.code in SERVER_SIDE_CODES:
        raise TransientError(
            error.code if error.code != "unknown_error" else f"http_{status}",
            error.message or f"HTTP {status}",
            _retry_after(response),
        )
    if status == 200:
        raise PlaymentApiError("unexpected_response", "a 200 answer without a data envelope", 200)
    raise PlaymentApiError(error.code, error.message or f"HTTP {status}", status)


def _raise_for_storage_error(response: requests.Response) -> NoReturn:
    status = response.status_code
    if status in RETRY_STATUSES:
        raise TransientError(f"storage_http_{status}", f"HTTP {status}", _retry_after(response))
    raise PlaymentApiError(
        f"storage_http_{status}", f"the signed URL answered HTTP {status}", status
    )


def _connection_failure(error: requests.RequestException, url: str) -> TransientError:
    # Name the host, never the full URL: a signed URL's query is a credential.
    host = urlsplit(url).netloc
    return TransientError("connection_error", f"{type(error).__name__} talking to {host}")


def _no_credentials(request: requests.PreparedRequest) -> requests.PreparedRequest:
    """An auth that adds nothing: set on the session, it keeps ``.netrc``'s out."""
    return request
