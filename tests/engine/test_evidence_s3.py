"""The S3-compatible evidence store against a real S3 server on this machine (moto's standalone
server, over HTTP), and its request signing against botocore's own AWS Signature Version 4."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from engine.clock import ManualClock
from engine.errors import NotFound, StorageError
from engine.evidence import S3Store

moto_server = pytest.importorskip("moto.server", reason="moto[s3] (a dev dependency) is needed")


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def store(endpoint: str, bucket: str = "evidence") -> S3Store:
    clock = ManualClock(datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    s3 = S3Store(endpoint, bucket, "AKIDEXAMPLE", "secret", region="cn-north-1", clock=clock)
    s3.create_bucket()
    return s3


def test_files_go_in_and_come_out_by_digest(endpoint: str) -> None:
    s3 = store(endpoint)
    data = b"%PDF-1.7 \xe8\xb0\x83\xe8\xa7\xa3\xe5\x8d\x8f\xe8\xae\xae" * 1000
    digest = hashlib.sha256(data).hexdigest()
    assert s3.exists(digest) is False
    s3.put(digest, data)
    s3.put(digest, data)  # stored once: a second put is a no-op
    assert s3.exists(digest) is True
    assert s3.get(digest) == data
    with pytest.raises(NotFound):
        s3.get("0" * 64)
    s3.create_bucket()  # an existing bucket of ours is fine


def test_a_bad_digest_is_never_a_key(endpoint: str) -> None:
    s3 = store(endpoint)
    with pytest.raises(ValueError):
        s3.get("../../other-bucket/x")


def test_an_unreachable_store_is_a_storage_error() -> None:
    s3 = S3Store("http://127.0.0.1:9", "evidence", "a", "b", timeout=2.0)
    with pytest.raises(StorageError):
        s3.exists("0" * 64)


def test_requests_are_signed_as_aws_signs_them(monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    at = datetime(2026, 12, 3, 8, 0, tzinfo=UTC)
    s3 = S3Store("http://s3.intranet:9000", "evidence", "AKIDEXAMPLE", "secret",
                 region="cn-north-1", clock=ManualClock(at))  # fmt: skip
    # botocore signs at "now": give it the same instant as our clock
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: at.replace(tzinfo=None))
    for method, body in [("PUT", b"%PDF-1.7 data"), ("GET", b""), ("HEAD", b"")]:
        path = f"/evidence/sha256/{'a' * 64}"
        ours = s3.signed_headers(method, path, body)
        theirs = AWSRequest(
            method=method, url=f"http://s3.intranet:9000{path}", data=body,
            headers={"x-amz-content-sha256": ours["x-amz-content-sha256"]},
        )  # fmt: skip
        auth = SigV4Auth(Credentials("AKIDEXAMPLE", "secret"), "s3", "cn-north-1")
        auth.add_auth(theirs)
        assert ours["authorization"] == theirs.headers["Authorization"], method
