"""An S3-compatible object store for evidence, for several nodes (MinIO, Ceph RGW, a cloud's OSS
with S3 compatibility): objects ``sha256/<digest>`` in one bucket, path-style requests signed with
AWS Signature Version 4 — the standard library only, no SDK.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
from urllib.parse import quote, urlsplit

from engine.clock import Clock, SystemClock, as_utc
from engine.errors import NotFound, StorageError
from engine.evidence.store import check_digest

_SERVICE = "s3"


class S3Store:
    def __init__(
        self,
        endpoint: str,
        bucket: str,
        access_key: str,
        secret_key: str,
        *,
        region: str = "us-east-1",
        timeout: float = 30.0,
        clock: Clock | None = None,
    ) -> None:
        parts = urlsplit(endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) endpoint: {endpoint!r}")
        self.scheme, self.netloc = parts.scheme, parts.netloc
        self.bucket, self.region = bucket, region
        self.access_key, self.secret_key = access_key, secret_key
        self.timeout = timeout
        self.clock = clock or SystemClock()

    # -- the store -----------------------------------------------------------------------------

    def put(self, digest: str, data: bytes) -> None:
        if self.exists(digest):
            return
        status, body = self._request("PUT", self._key(digest), data)
        if status >= 300:
            raise StorageError(f"the object store refused the file (HTTP {status}): {body[:200]!r}")

    def get(self, digest: str) -> bytes:
        status, body = self._request("GET", self._key(digest))
        if status == 404:
            raise NotFound(f"证据文件缺失 (the file {digest[:12]}… is missing from the store)")
        if status >= 300:
            raise StorageError(f"the object store answered HTTP {status}")
        return body

    def exists(self, digest: str) -> bool:
        status, _ = self._request("HEAD", self._key(digest))
        if status == 404:
            return False
        if status >= 300:
            raise StorageError(f"the object store answered HTTP {status}")
        return True

    def create_bucket(self) -> None:
        """Create the bucket (for a fresh store; an existing bucket of ours is fine)."""
        config = b""
        if self.region != "us-east-1":  # S3 wants other regions named in the request
            config = (
                b'<CreateBucketConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                b"<LocationConstraint>" + self.region.encode() + b"</LocationConstraint>"
                b"</CreateBucketConfiguration>"
            )
        status, body = self._request("PUT", f"/{quote(self.bucket)}", config)
        if status >= 300 and b"BucketAlreadyOwnedByYou" not in body:
            raise StorageError(f"could not create bucket {self.bucket} (HTTP {status})")

    # -- signing (AWS Signature Version 4) -----------------------------------------------------

    def _key(self, digest: str) -> str:
        return f"/{quote(self.bucket)}/sha256/{check_digest(digest)}"

    def signed_headers(self, method: str, path: str, body: bytes = b"") -> dict[str, str]:
        """The request's headers with its AWS Signature Version 4 ``authorization``."""
        now = as_utc(self.clock.now())
        amz_date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
        payload = hashlib.sha256(body).hexdigest()
        headers = {"host": self.netloc, "x-amz-content-sha256": payload, "x-amz-date": amz_date}
        signed = ";".join(sorted(headers))
        canonical = "\n".join(
            [method, path, "", *(f"{k}:{headers[k]}" for k in sorted(headers)), "", signed, payload]
        )
        scope = f"{day}/{self.region}/{_SERVICE}/aws4_request"
        to_sign = "\n".join(
            ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = ("AWS4" + self.secret_key).encode()
        for part in (day, self.region, _SERVICE, "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        headers["authorization"] = (
            f"AWS4-HMAC-SHA256 Credential={self.access_key}/{scope}, "
            f"SignedHeaders={signed}, Signature={signature}"
        )
        return headers

    def _request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        headers = self.signed_headers(method, path, body)
        cls = http.client.HTTPSConnection if self.scheme == "https" else http.client.HTTPConnection
        conn = cls(self.netloc, timeout=self.timeout)
        try:
            conn.request(method, path, body=body or None, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        except OSError as e:
            raise StorageError(f"the object store is unreachable: {e}") from None
        finally:
            conn.close()
