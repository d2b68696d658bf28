"""The Playment API as the exporter uses it: batch pages, job records, result downloads.

Rules that matter here and are easy to get wrong:
- The API key goes to the API host only. The attachment endpoint redirects to a signed URL on
  another host; an HTTP library following redirects would carry a custom ``x-api-key`` header
  across, so redirects are followed by hand and the signed URL is fetched with no credentials.
- urllib3 directly, not ``requests``: per request, requests' session machinery (preparing,
  hooks, cookies, merging environment settings, looking for ``~/.netrc`` and proxies) cost
  more CPU than the request itself, under one GIL. urllib3 reads no environment, no
  ``~/.netrc`` and no proxy settings: a request carries what this module gives it, no more.
  Certificates are checked against certifi's bundle, as requests did.
- The HTTP status alone does not say whether to retry: Playment reports server-side trouble as
  400s with codes like ``FS_0000``. ``_raise_for_error`` sorts every failure into transient
  (retried by ``retry_policy``), auth (stop everything) or permanent.
- Pagination ends on a missing, null or empty token or an empty page; a token seen twice is an
  error rather than an endless loop.
- A run's first request (``first_contact``) tells a wrong base URL from a passing fault: a
  connection that cannot be made (refused, a name that does not resolve, TLS failing) raises
  ``PlaymentUnreachable`` at once, where later in a run it is retried like any dropped one.
- Playment says "not found" for a wrong project and a wrong batch alike; the client asks the
  project's details to tell the two apart, and names the ID.
"""

import json
import re
import ssl
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn, TypeVar
from urllib.parse import quote, urlencode, urljoin, urlsplit

import certifi
from pydantic import ValidationError
from tenacity import Retrying
from urllib3 import BaseHTTPResponse, PoolManager, Timeout, connection_from_url
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
    SSLError,
)
from urllib3.util.retry import Retry

from playment_exporter.api_models import ApiError, BatchPage, JobRecord, ProjectDetails
from playment_exporter.errors import (
    BATCH_NOT_FOUND,
    PROJECT_NOT_FOUND,
    PlaymentApiError,
    PlaymentAuthError,
    PlaymentUnreachable,
    TransientError,
)
from playment_exporter.result_body import VerifiedBody
from playment_exporter.retry_policy import RetrySettings, retrying

RETRY_STATUSES = frozenset({408, 429, 443, 444, 500, 502, 503, 504})
SERVER_SIDE_CODES = frozenset({"FS_0000", "FS_0008", "api_error"})
AUTH_CODES = frozenset({"auth-failure", "unauthorized", "unauthorized_request"})
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What requests asked for: a body stored compressed is decoded as it is read (result_body).
ACCEPT_ENCODING = "gzip, deflate"
HOST_POOLS = 4  # hosts whose connections are kept: the API's and the storage's
_RETRY_AFTER = Retry()  # only for its Retry-After parser (seconds or an HTTP date)
# A connection made and then dropped on a run's first request (a reset, a close before any
# answer) is retried this long before the base URL is called unreachable: an http:// URL to a
# TLS server looks like that, and so does a passing fault.
FIRST_CONTACT_S = 5.0
_VERSIONED_PATH = re.compile(r"/v\d+$")


class ConnectionFailure(TransientError):
    """No answer came: retried, except on a run's first request when the connection could not
    even be made (``established`` is False: refused, unresolved, TLS failed, timed out)."""

    def __init__(self, host: str, error: HTTPError) -> None:
        super().__init__("connection_error", f"{type(error).__name__} talking to {host}")
        self.reason, self.established = _why_unanswered(error)


class PlaymentClient:
    """One per container: pooled connections, timeouts on every call, the policy on every
    failure."""

    def __init__(
        self,
        api_url: str,
        api_key: str,
        *,
        pool_size: int = 10,  # pragma: no mutate - connections kept, not made: block=False
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
        retry: RetrySettings | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not api_key:
            raise PlaymentAuthError("the Playment API key is empty: put the key into the secret")
        self._api_url = api_url.rstrip("/")
        self._known_projects: set[str] = set()  # whose details answered: batch misses are batches
        self._answered: dict[str, ProjectDetails] = {}  # details given, not yet asked for again
        self._timeout = Timeout(connect=connect_timeout, read=read_timeout)
        self._retry = retry or RetrySettings()
        self._sleep = sleep
        self._api_headers = {
            "x-api-key": api_key,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,
        }
        self._storage_headers = {"Accept-Encoding": ACCEPT_ENCODING}  # no credentials
        # Up to pool_size kept-alive connections per host; retries are ours (retry_policy),
        # redirects too (never followed here). The API's pool is held directly, so that its
        # requests (two of a job's three) skip the manager's parsing of the whole URL. Every
        # request gives its own timeout, and the API's its own retries=False, so the pools
        # are given neither. The pools never block: a pool's size is how many idle
        # connections it keeps, which no answer shows (0 would keep every one, hence max).
        api = urlsplit(self._api_url)
        self._api_host, self._api_path = api.netloc, api.path
        size = max(pool_size, 1)  # pragma: no mutate - 1 or 2 idle connections kept
        # Certificates: certifi's bundle, not the system's store (an http:// pool takes no
        # ca_certs). Both hold the public CAs that sign Playment's and its storage's
        # certificates: no answer of theirs tells the two apart.
        ca_certs = certifi.where()  # pragma: no mutate - certifi vs the system store
        tls = {"ca_certs": ca_certs} if api.scheme == "https" else {}  # pragma: no mutate - same
        self._api_pool = connection_from_url(
            self._api_url,
            maxsize=size,  # pragma: no mutate - idle connections kept
            **tls,  # pragma: no mutate - certifi vs the system store
        )
        self._http = PoolManager(  # the signed URLs' hosts
            num_pools=HOST_POOLS,  # pragma: no mutate - hosts whose idle connections are kept
            maxsize=size,  # pragma: no mutate - idle connections kept
            retries=False,  # or urllib3 would retry a dropped download itself
            ca_certs=ca_certs,  # pragma: no mutate - certifi vs the system store
        )

    def __repr__(self) -> str:  # never show the key
        return f"PlaymentClient(api_url={self._api_url!r})"

    def close(self) -> None:
        self._api_pool.close()
        self._http.clear()

    # -- the three endpoints -------------------------------------------------------------

    def list_batch_page(
        self, project_id: str, batch_id: str, token: str, *, deadline: float | None = None
    ) -> BatchPage:
        """One page of the batch's jobs: the first for an empty ``token``. The last page is
        the one with no jobs or no ``next_page_token``. A batch Playment does not know raises
        ``PlaymentApiError`` with code ``batch_not_found``, or ``project_not_found`` when it is
        the project it does not know."""
        path = f"/projects/{quote(project_id)}/batch/{quote(batch_id)}"
        try:
            data = self._get_api_data(path, {"page_token": token}, deadline=deadline)
        except PlaymentApiError as error:
            if not _says_not_found(error):
                raise
            self._require_project(project_id, deadline)  # raises project_not_found
            raise PlaymentApiError(
                BATCH_NOT_FOUND,
                f"batch {batch_id!r} not found in project {project_id!r} "
                f"(Playment: {error.message})",
                error.status,
            ) from None
        return _parse(BatchPage, data, "batch page")

    def get_job(self, project_id: str, job_id: str, *, deadline: float | None = None) -> JobRecord:
        data = self._get_api_data(
            f"/projects/{quote(project_id)}/jobs/{quote(job_id)}", None, deadline=deadline
        )
        return _parse(JobRecord, data, "job")

    def get_project_details(
        self, project_id: str, *, deadline: float | None = None
    ) -> ProjectDetails:
        """The project's details; a project Playment does not know raises ``PlaymentApiError``
        with code ``project_not_found``. Details handed in by ``remember_details`` (the
        answer to the run's first request) serve the first call, without a request."""
        if (answered := self._answered.pop(project_id, None)) is not None:
            return answered
        path = f"/projects/{quote(project_id)}/details"
        try:
            data = self._get_api_data(path, None, deadline=deadline)
        except PlaymentApiError as error:
            raise _project_error(error, project_id) from None
        details = _parse(ProjectDetails, data, "project details")
        self._known_projects.add(project_id)
        return details

    def remember_details(self, project_id: str, details: ProjectDetails) -> None:
        """The project's details as a request made just now answered them (``first_contact``):
        the next ``get_project_details`` of it returns them instead of asking again."""
        self._answered[project_id] = details
        self._known_projects.add(project_id)

    def first_contact(self, project_id: str, *, deadline: float | None = None) -> ProjectDetails:
        """The project's details, asked as a run's first request, which checks the base URL,
        the key and the project before anything else happens.

        A connection that cannot be made raises ``PlaymentUnreachable`` at once; one made and
        dropped is retried for ``FIRST_CONTACT_S``, then raises it too. Answers (an error
        envelope, a 429 or 5xx) are handled as on any request: ``PlaymentAuthError``, a
        ``project_not_found``, or retries. A 404 says the URL is not the API's (with a hint
        when it has no ``/v1``)."""
        give_up = time.monotonic() + FIRST_CONTACT_S
        path = f"/projects/{quote(project_id)}/details"
        for attempt in self.retrying(deadline):
            with attempt:
                try:
                    data = self._api_data_once(path, None)
                except ConnectionFailure as failure:
                    if not failure.established or (
                        time.monotonic() >= give_up  # pragma: no mutate - `>` differs at 1 instant
                    ):
                        raise PlaymentUnreachable(self._api_url, failure.reason) from None
                    raise
                except PlaymentApiError as error:
                    raise _project_error(error, project_id) from None
                details = _parse(ProjectDetails, data, "project details")
                self._known_projects.add(project_id)
                return details
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def resolve_attachment(self, result_url: str, *, deadline: float | None = None) -> str:
        """The signed URL the attachment endpoint redirects to (302 or 307), not followed."""
        for attempt in self.retrying(deadline):
            with attempt:
                target = _with_query("/attachments", {"url": result_url})
                response = self._api_get(target)
                location = response.headers.get("Location")
                if response.status in REDIRECTS and location:
                    return urljoin(self._api_url + target, location)
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
        if response.status == 403:
            _discard(response)
            response = self._open_signed(self.resolve_attachment(result_url, deadline=deadline))
            if response.status == 403:
                _discard(response)
                raise TransientError(
                    "signed_url_forbidden", "a freshly signed URL was refused too (403)"
                )
        if response.status != 200:
            _discard(response)
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
                return self._api_data_once(path, params)
        raise AssertionError("unreachable: tenacity re-raises the last error")

    def _api_data_once(self, path: str, params: dict[str, str] | None) -> Any:
        response = self._api_get(_with_query(path, params))
        if response.status == 404:
            raise self._no_such_route(response, path)
        if response.status != 200:
            _raise_for_error(response)
        body = _json_or_none(response)
        if not isinstance(body, dict) or body.get("success") is False:
            _raise_for_error(response)
        return body.get("data")

    def _no_such_route(self, response: BaseHTTPResponse, path: str) -> PlaymentApiError:
        """A 404: Playment reports its errors as 400s, so this is a URL the API does not
        serve; most often a base URL without its version (``/v1``)."""
        error = ApiError()
        body = _json_or_none(response)
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            error = ApiError.model_validate(body["error"])
        message = error.message or f"HTTP 404 for GET {path}"
        if not _VERSIONED_PATH.search(urlsplit(self._api_url).path):
            message += f"; the base URL {self._api_url} has no version: try {self._api_url}/v1"
        return PlaymentApiError(error.code, message, 404)

    def _require_project(self, project_id: str, deadline: float | None) -> None:
        """Raise ``project_not_found`` unless Playment knows the project (asked once)."""
        if project_id not in self._known_projects:
            try:
                self.get_project_details(project_id, deadline=deadline)
            except PlaymentApiError as error:
                if error.code == PROJECT_NOT_FOUND:
                    raise

    def _open_signed(self, signed_url: str) -> BaseHTTPResponse:
        """The signed URL's answer, its body not read yet: no key, no credentials of any
        kind (the URL carries its own authorisation), no redirect followed."""
        try:
            return self._http.urlopen(
                "GET",
                signed_url,
                headers=self._storage_headers,
                redirect=False,
                preload_content=False,
                timeout=self._timeout,
            )
        except HTTPError as error:
            raise ConnectionFailure(urlsplit(signed_url).netloc, error) from None

    def _api_get(self, target: str) -> BaseHTTPResponse:
        """The API's answer for ``target`` (a path under the base URL, with its query), read
        whole (it is small) so that its connection is back in the pool."""
        try:
            return self._api_pool.urlopen(
                "GET",
                self._api_path + target,
                headers=self._api_headers,
                redirect=False,
                preload_content=True,
                timeout=self._timeout,
                retries=False,
            )
        except HTTPError as error:
            raise ConnectionFailure(self._api_host, error) from None


# A TypeVar, not def _parse[M: ...]: the domain also runs on Python 3.11 (playment-export run).
M = TypeVar("M", BatchPage, JobRecord, ProjectDetails)


def _parse(model: type[M], data: Any, what: str) -> M:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise PlaymentApiError(
            "unexpected_response", f"the {what} response did not have the expected shape: {error}"
        ) from None


def _with_query(url: str, params: dict[str, str] | None) -> str:
    """``url`` with ``params`` as its query, encoded as a form (the API's URLs have none)."""
    return f"{url}?{urlencode(params)}" if params else url


def _json_or_none(response: BaseHTTPResponse) -> Any:
    try:
        return json.loads(response.data)
    except ValueError:  # not JSON, or not text
        return None


def _discard(response: BaseHTTPResponse) -> None:
    """Give up on an answer whose body is not wanted: its connection is closed (the unread
    body would otherwise be read as the next answer) and its place in the pool freed."""
    response.close()
    response.release_conn()


def _retry_after(response: BaseHTTPResponse) -> float | None:
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


def _raise_for_error(response: BaseHTTPResponse) -> NoReturn:
    """Raise the exception this API failure calls for: auth, transient or permanent."""
    body = _json_or_none(response)
    error = ApiError()
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        error = ApiError.model_validate(body["error"])
    status = response.status
    if status == 401 or error.code in AUTH_CODES:
        answer = f"HTTP {status}, {error.code}"
        raise PlaymentAuthError(
            f"Playment rejected the API key ({answer}): check the key stored in the secret",
            answer,
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


def _raise_for_storage_error(response: BaseHTTPResponse) -> NoReturn:
    status = response.status
    if status in RETRY_STATUSES:
        raise TransientError(f"storage_http_{status}", f"HTTP {status}", _retry_after(response))
    raise PlaymentApiError(
        f"storage_http_{status}", f"the signed URL answered HTTP {status}", status
    )


def _says_not_found(error: PlaymentApiError) -> bool:
    """Playment's answer for an ID it does not know: a 400 envelope saying "... not found"
    (the code, ``FS_0004`` for now, is not documented)."""
    return error.status == 400 and "not found" in error.message.lower()


def _project_error(error: PlaymentApiError, project_id: str) -> PlaymentApiError:
    if not _says_not_found(error):
        return error
    return PlaymentApiError(
        PROJECT_NOT_FOUND,
        f"project {project_id!r} not found (Playment: {error.message})",
        error.status,
    )


def _why_unanswered(error: HTTPError) -> tuple[str, bool]:
    """Why a request got no answer, in a few words, and whether a connection was made at all.
    Only the kinds of the errors in its chain are used: their text may hold a URL, and a
    signed URL's query is a credential. (urllib3 makes ``NewConnectionError`` a kind of
    ``ConnectTimeoutError``: a refusal is not a timeout, so the refusals are sorted first.)"""
    kinds = tuple(type(each) for each in _error_chain(error))
    if any(issubclass(kind, NameResolutionError) for kind in kinds):
        return "the host name does not resolve", False
    if any(issubclass(kind, ssl.SSLCertVerificationError) for kind in kinds):
        return "its TLS certificate does not verify", False
    if any(issubclass(kind, SSLError | ssl.SSLError) for kind in kinds):
        return "the TLS handshake failed (an https:// URL to a plain-HTTP server?)", False
    if any(issubclass(kind, ConnectionRefusedError) for kind in kinds):
        return "the connection was refused", False
    if any(issubclass(kind, NewConnectionError) for kind in kinds):
        return "no connection could be made", False
    if any(issubclass(kind, ConnectTimeoutError) for kind in kinds):
        return "the connection timed out", False
    if any(issubclass(kind, ReadTimeoutError) for kind in kinds):
        return "it did not answer in time", True
    return "the connection was dropped before any answer (an http:// URL to a TLS server?)", True


def _error_chain(error: BaseException) -> list[BaseException]:
    """The error and what caused it, as urllib3 nests them (causes, contexts, a ``reason``
    attribute, errors among the arguments)."""
    found: list[BaseException] = []
    pending: list[object] = [error]
    while pending and len(found) < 16:  # pragma: no mutate - no urllib3 error nests 16 deep
        each = pending.pop()
        if not isinstance(each, BaseException) or any(each is seen for seen in found):
            continue
        found.append(each)
        pending += [each.__cause__, each.__context__, getattr(each, "reason", None), *each.args]
    return found
