"""Body size: a body over `server.max_body_bytes` gets 413 `request_too_large` without the gateway reading it into
memory (issue #5). Memory is read from the gateway process itself (/proc/PID/status), so it is the gateway's own."""
from __future__ import annotations

import json
import socket
from typing import Any

from e2e_support import Gateway, MockServer

MIB = 1 << 20
BODY_MIB = 100


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    sock.settimeout(30)
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(65536)
        assert piece, "connection closed before a response head"
        data += piece
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, v in (line.split(":", 1) for line in lines[1:])}
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        piece = sock.recv(65536)
        assert piece, "connection closed inside the response body"
        rest += piece
    return status, headers, rest[:length]


def send_oversized(gateway: Gateway, key: str, chunked: bool) -> tuple[int, dict[str, str], bytes, float]:
    """Sends a 100 MiB body; returns the answer and the largest RSS growth seen while it was being sent."""
    assert gateway.proc is not None
    pid = gateway.proc.popen.pid
    before = rss_mib(pid)
    peak = before
    sock = socket.create_connection(("127.0.0.1", gateway.port))
    framing = "transfer-encoding: chunked" if chunked else f"content-length: {BODY_MIB * MIB}"
    sock.sendall((f"POST /v1/messages HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\n"
                  f"x-api-key: {key}\r\nanthropic-version: 2023-06-01\r\n{framing}\r\n\r\n").encode())
    chunk = b"x" * MIB
    for index in range(BODY_MIB):
        sock.sendall(b"%x\r\n" % MIB + chunk + b"\r\n" if chunked else chunk)
        if index % 5 == 0:
            peak = max(peak, rss_mib(pid))
    if chunked:
        sock.sendall(b"0\r\n\r\n")
    status, headers, body = read_response(sock)
    peak = max(peak, rss_mib(pid))
    sock.close()
    return status, headers, body, peak - before


def check_413(status: int, headers: dict[str, str], body: bytes) -> None:
    assert status == 413
    parsed: Any = json.loads(body)
    assert parsed["type"] == "error"
    assert parsed["error"]["type"] == "request_too_large"
    assert headers["request-id"] == parsed["request_id"]


def test_a_100_mib_body_with_content_length_is_413_with_flat_memory(gateway: Gateway, client_key: dict[str, Any],
                                                                    mock: MockServer) -> None:
    mark = mock.mark()
    status, headers, body, growth = send_oversized(gateway, client_key["key"], chunked=False)
    check_413(status, headers, body)
    print(f"content-length body: RSS growth {growth:.1f} MiB")
    assert growth < 16, f"gateway RSS grew by {growth:.1f} MiB while a {BODY_MIB} MiB body was refused"
    assert mock.log(since=mark) == []


def test_a_100_mib_chunked_body_is_413_with_flat_memory(gateway: Gateway, client_key: dict[str, Any],
                                                        mock: MockServer) -> None:
    # Without a length the gateway reads up to its limit (32 MiB by default) before it knows: memory may grow by
    # that much, never by the whole body.
    mark = mock.mark()
    status, headers, body, growth = send_oversized(gateway, client_key["key"], chunked=True)
    check_413(status, headers, body)
    print(f"chunked body: RSS growth {growth:.1f} MiB")
    assert growth < 48, f"gateway RSS grew by {growth:.1f} MiB while a {BODY_MIB} MiB body was refused"
    assert mock.log(since=mark) == []
