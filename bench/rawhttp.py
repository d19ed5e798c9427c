"""A small HTTP/1.1 keep-alive client over asyncio streams, for load generation.

The benchmark's clients share two cores with the server; a full-featured client library spends
more CPU per request than the API does on some requests, which makes the load generator the
bottleneck. This client does only what the benchmark needs: one persistent connection, a
request with a JSON body or none, a response with ``Content-Length`` or chunked encoding.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Response:
    status_code: int
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)


class Client:
    """One keep-alive connection to ``host:port``; requests are sent one after another."""

    def __init__(self, host: str, port: int, *, timeout: float = 30.0) -> None:
        self.host, self.port, self.timeout = host, port, timeout
        self.headers: dict[str, str] = {}
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(OSError):
                await self._writer.wait_closed()
            self._reader = self._writer = None

    async def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> Response:
        return await asyncio.wait_for(self._request(method, path, json_body, headers or {}),
                                      self.timeout)  # fmt: skip

    async def _request(
        self, method: str, path: str, json_body: Any, headers: dict[str, str]
    ) -> Response:
        body = b"" if json_body is None else json.dumps(json_body).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        for k, v in {**self.headers, **headers}.items():
            lines.append(f"{k}: {v}")
        if json_body is not None:
            lines.append("Content-Type: application/json")
        lines.append(f"Content-Length: {len(body)}")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body
        reused = self._writer is not None
        try:
            head = await self._send(data)
        except (asyncio.IncompleteReadError, ConnectionError):
            if not reused:
                raise
            # the server closed the idle keep-alive connection before reading the request
            # (uvicorn does after 5 s): nothing was processed, send it on a new connection
            await self.close()
            head = await self._send(data)
        assert self._reader is not None
        status_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        fields: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
        if "content-length" in fields:
            content = await self._reader.readexactly(int(fields["content-length"]))
        elif fields.get("transfer-encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            while True:
                size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
                if size == 0:
                    await self._reader.readuntil(b"\r\n")
                    break
                parts.append(await self._reader.readexactly(size))
                await self._reader.readexactly(2)
            content = b"".join(parts)
        else:
            content = await self._reader.read()
            await self.close()
        if fields.get("connection", "").lower() == "close":
            await self.close()
        return Response(status, content)

    async def _send(self, data: bytes) -> bytes:
        """Write the request; the response's head (status line and headers)."""
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None and self._writer is not None
        self._writer.write(data)
        return await self._reader.readuntil(b"\r\n\r\n")
