"""The binary as an operator runs it: `config check`, and SIGTERM draining an in-flight stream."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import time
from pathlib import Path

import mock_anthropic as M
from e2e_support import (
    MODELS, PROVIDER_ID, Gateway, MockServer, gateway_env, parse_sse, render_config, wait_for,
)


def config_check(bin_path: Path, config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(bin_path), "config", "check", "--config", str(config)], capture_output=True,
                          text=True, timeout=60, env=gateway_env(), stdin=subprocess.DEVNULL)


def test_config_check_accepts_the_e2e_config(switchyard_bin: Path, gateway: Gateway) -> None:
    r = config_check(switchyard_bin, gateway.config)
    assert r.returncode == 0, r.stdout + r.stderr


def test_config_check_names_an_unknown_key_and_its_line(switchyard_bin: Path, tmp_path: Path, mock: MockServer) -> None:
    text = render_config(tmp_path / "x.db", [{"id": PROVIDER_ID, "base_url": mock.url}],
                         {"e2e/text": (PROVIDER_ID, "mock-text")})
    lines = text.splitlines()
    lines.insert(2, "  e2e_bogus_key: 1")  # inside `server:`, on line 3
    config = tmp_path / "bad.yaml"
    config.write_text("\n".join(lines) + "\n")
    r = config_check(switchyard_bin, config)
    said = r.stdout + r.stderr
    assert r.returncode != 0, said
    assert "e2e_bogus_key" in said and "3" in said, said


def test_config_check_names_an_unset_variable(switchyard_bin: Path, tmp_path: Path, mock: MockServer) -> None:
    text = render_config(tmp_path / "x.db", [{"id": PROVIDER_ID, "base_url": mock.url}],
                         {"e2e/text": (PROVIDER_ID, "mock-text")})
    config = tmp_path / "unset.yaml"
    config.write_text(text.replace("${E2E_PROVIDER_KEY}", "${E2E_SURELY_UNSET_VARIABLE}"))
    r = config_check(switchyard_bin, config)
    said = r.stdout + r.stderr
    assert r.returncode != 0, said
    assert "E2E_SURELY_UNSET_VARIABLE" in said, said


def test_sigterm_drains_an_in_flight_stream(switchyard_bin: Path, workdir: Path, mock: MockServer) -> None:
    config = render_config(workdir / "gateway-drain.db", [{"id": PROVIDER_ID, "base_url": mock.url}],
                           {mid: (PROVIDER_ID, up) for mid, up in MODELS.items()})
    gw = Gateway(switchyard_bin, workdir, "gateway-drain", config).start()
    try:
        key = gw.create_key(credits=10)
        conn = http.client.HTTPConnection("127.0.0.1", gw.port, timeout=20)
        body = json.dumps({"model": "e2e/slow", "max_tokens": 50, "messages": [{"role": "user", "content": "x"}],
                           "stream": True}).encode()
        conn.request("POST", "/v1/messages", body, {"x-api-key": key["key"], "anthropic-version": "2023-06-01",
                                                    "content-type": "application/json"})
        resp = conn.getresponse()
        assert resp.status == 200
        buf = b""
        while b'"text_delta"' not in buf:
            chunk = resp.read1(65536)
            assert chunk, buf
            buf += chunk
        assert gw.proc is not None
        gw.proc.popen.send_signal(signal.SIGTERM)
        time.sleep(0.5)
        assert gw.proc.alive(), "the gateway exited with a stream in flight"
        mock.release()
        buf += resp.read()
        conn.close()
        events = parse_sse(buf)
        assert events[-1][0] == "message_stop", events[-3:]
        text = "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta")
        assert text == M.SLOW_FIRST + "".join(M.SLOW_REST)
        wait_for(lambda: not gw.proc.alive(), 15, "the gateway to exit after draining")  # type: ignore[union-attr]
        assert gw.proc.popen.returncode == 0, gw.proc.tail()
    finally:
        mock.release()
        gw.stop()
