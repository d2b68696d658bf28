"""Which requests fail, and how: a plan (data) and the thread-safe decider that follows it."""

import random
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

ENDPOINTS = ("list", "job", "attachment", "storage", "details")
"""Endpoint names a fault can target. The key is the batch id for "list", the project id
for "details" and the job id for the others. A "list" request with a page token is also
looked up as ``<batch id>@<token>``, so that one token can be refused (``token_refused``)."""

ALL_TRANSIENT_KINDS: tuple[str, ...] = (
    "429",
    "429_retry_after",
    "500",
    "503",
    "400_FS_0000",
    "reset",
    "truncated",
    "expired",
)
"""Faults a well-behaved client should retry."""

PERMANENT_ONLY_KINDS: tuple[str, ...] = ("not_json", "job_not_found")
"""Faults that only make sense as a permanently broken job."""

TOKEN_KINDS: tuple[str, ...] = ("token_refused",)
"""A page token Playment no longer accepts (400 invalid_request_error); never drawn at random."""

_API_ENDPOINTS = frozenset({"list", "job", "attachment", "details"})
_API_KINDS = frozenset({"429", "429_retry_after", "500", "503", "400_FS_0000", "reset"})
_STORAGE_KINDS = frozenset(
    {"429", "429_retry_after", "500", "503", "reset", "truncated", "expired", "not_json"}
)
_KNOWN_KINDS = (
    frozenset(ALL_TRANSIENT_KINDS) | frozenset(PERMANENT_ONLY_KINDS) | frozenset(TOKEN_KINDS)
)


def applicable_kinds(endpoint: str) -> frozenset[str]:
    """The fault kinds that can be rendered on ``endpoint``."""
    if endpoint == "storage":
        return _STORAGE_KINDS
    if endpoint == "job":
        return _API_KINDS | {"job_not_found"}
    if endpoint == "list":
        return _API_KINDS | frozenset(TOKEN_KINDS)
    if endpoint in _API_ENDPOINTS:
        return _API_KINDS
    raise ValueError(f"unknown endpoint {endpoint!r}; expected one of {ENDPOINTS}")


def _check_targeted(name: str, endpoint: str, kind: str) -> None:
    if kind not in applicable_kinds(endpoint):
        raise ValueError(f"{name}: fault {kind!r} cannot happen on endpoint {endpoint!r}")


@dataclass(frozen=True)
class FaultPlan:
    """Faults to inject: permanent ones first, then scripted ones, then random ones.

    ``scripted[(endpoint, key)]`` lists the faults for that key's successive requests on that
    endpoint, after which it answers normally; ``permanent[(endpoint, key)]`` breaks every
    request. Random faults hit a ``rate`` share of requests, drawn from a generator seeded with
    ``seed`` so that a run can be replayed, among the ``kinds`` the endpoint can render.
    """

    rate: float = 0.0
    kinds: tuple[str, ...] = ALL_TRANSIENT_KINDS
    seed: int = 0
    scripted: Mapping[tuple[str, str], Sequence[str]] = field(default_factory=dict)
    permanent: Mapping[tuple[str, str], str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not 0.0 <= self.rate <= 1.0:
            raise ValueError(f"fault rate must be within [0, 1], got {self.rate}")
        unknown = set(self.kinds) - _KNOWN_KINDS
        if unknown:
            raise ValueError(f"unknown fault kinds: {sorted(unknown)}")
        for (endpoint, _key), kinds in self.scripted.items():
            for kind in kinds:
                _check_targeted("scripted", endpoint, kind)
        for (endpoint, _key), kind in self.permanent.items():
            _check_targeted("permanent", endpoint, kind)


class FaultDecider:
    """Applies a ``FaultPlan`` request by request; safe to call from many threads."""

    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self._lock = threading.Lock()
        self._random = random.Random(plan.seed)
        self._scripted_used: dict[tuple[str, str], int] = {}
        self._random_kinds = {
            endpoint: tuple(k for k in plan.kinds if k in applicable_kinds(endpoint))
            for endpoint in ENDPOINTS
        }

    def decide(self, endpoint: str, key: str, *, targeted_only: bool = False) -> str | None:
        """The fault kind for this request, or None to answer normally; with
        ``targeted_only``, only a permanent or scripted one (no random draw)."""
        target = (endpoint, key)
        permanent = self.plan.permanent.get(target)
        if permanent is not None:
            return permanent
        with self._lock:
            script = self.plan.scripted.get(target, ())
            used = self._scripted_used.get(target, 0)
            if used < len(script):
                self._scripted_used[target] = used + 1
                return script[used]
            candidates = () if targeted_only else self._random_kinds[endpoint]
            if self.plan.rate > 0.0 and candidates and self._random.random() < self.plan.rate:
                return self._random.choice(candidates)
        return None
