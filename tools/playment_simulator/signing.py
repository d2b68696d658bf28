"""Signed, expiring storage URLs, as an S3 presigned URL behaves (but with a simpler scheme)."""

import hashlib
import hmac
import secrets


class UrlSigner:
    """HMAC-SHA256 over the URL path and its expiry time, with a secret per simulator."""

    def __init__(self, secret: bytes | None = None) -> None:
        self._secret = secret if secret is not None else secrets.token_bytes(32)

    def sign(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def verify(self, path: str, expires: int, signature: str) -> bool:
        return hmac.compare_digest(self.sign(path, expires), signature)
