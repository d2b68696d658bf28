"""Clients made once per container and reused by every invocation it serves."""

import threading
from typing import Any

import boto3
from aws_lambda_powertools.utilities.parameters import SecretsProvider
from botocore.config import Config

from playment_exporter.playment_client import PlaymentClient


def aws_session() -> boto3.session.Session:
    """The container's own session: its credentials are read from the container's environment
    when a client is made (on Lambda, the function's role), not shared with other functions
    through boto3's process-wide default session."""
    return boto3.session.Session()


def s3_client(session: boto3.session.Session, max_connections: int) -> Any:
    return session.client(
        "s3", config=Config(max_pool_connections=max_connections, retries={"mode": "standard"})
    )


def secrets_provider(session: boto3.session.Session) -> SecretsProvider:
    """Powertools' provider with its own client and cache, instead of the process-wide one."""
    return SecretsProvider(boto3_session=session)


class PlaymentClientCache:
    """The container's pooled Playment client, made anew only when the key changes (rotation)."""

    def __init__(self, api_url: str, pool_size: int) -> None:
        self._api_url = api_url
        self._pool_size = pool_size
        self._lock = threading.Lock()
        self._key: str | None = None
        self._client: PlaymentClient | None = None

    def for_key(self, api_key: str) -> PlaymentClient:
        with self._lock:
            if self._client is None or api_key != self._key:
                if self._client is not None:
                    self._client.close()
                self._client = PlaymentClient(self._api_url, api_key, pool_size=self._pool_size)
                self._key = api_key
            return self._client
