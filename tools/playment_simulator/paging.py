"""Keyset-style pages over a batch's jobs, with opaque tokens that look like nanosecond times."""

from collections.abc import Sequence
from dataclasses import dataclass

from playment_simulator.catalog import SimBatch, SimJob

TOKEN_BASE = 1575822103313046000
"""Tokens are this plus the offset of the page's first job: opaque, and timestamp-like."""


class InvalidPageToken(ValueError):
    """The token was not one this simulator hands out for that batch."""


@dataclass(frozen=True)
class Page:
    jobs: Sequence[SimJob]
    next_page_token: str | None
    token_present: bool
    """False when ``next_page_token`` is to be left out of the answer altogether."""


def batch_page(batch: SimBatch, token: str, page_size: int) -> Page:
    """The page that ``token`` points at (an empty token: the first page).

    The last page ends as the batch's ``last_page_token`` style says: the key left out,
    ``null``, ``""``, or ("repeat", a misbehaving server) the token that asked for it.
    """
    listing = batch.listing
    offset = _offset(token, len(listing))
    end = offset + page_size
    jobs = listing[offset:end]
    if end < len(listing):
        return Page(jobs, str(TOKEN_BASE + end), token_present=True)
    match batch.last_page_token:
        case "absent":
            return Page(jobs, None, token_present=False)
        case "null":
            return Page(jobs, None, token_present=True)
        case "empty":
            return Page(jobs, "", token_present=True)
        case "repeat":
            return Page(jobs, token or str(TOKEN_BASE + offset), token_present=True)


def _offset(token: str, job_count: int) -> int:
    """The offset a token stands for; the first page's own token (offset 0) is valid too."""
    if token == "":
        return 0
    if not (token.isascii() and token.isdigit()):
        raise InvalidPageToken(token)
    offset = int(token) - TOKEN_BASE
    if offset != 0 and not 0 < offset < job_count:
        raise InvalidPageToken(token)
    return offset
