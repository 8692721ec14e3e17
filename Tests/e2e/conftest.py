"""Fixtures for Switchyard's end-to-end tests.

Everything runs on 127.0.0.1 with ports the processes pick themselves, every wait is bounded,
and every process started here is stopped with SIGTERM (then SIGKILL) at the end.

- `switchyard_bin`: the gateway binary (env SWITCHYARD_BIN, default <repo>/.build/debug/switchyard;
  built once with `swift build --product switchyard` when missing if SWITCHYARD_BUILD=1).
- `mock`: Tests/e2e/mock_anthropic.py on a free port, demanding the provider key.
- `gateway`: `switchyard serve` with a config whose models map to the mock's scenarios.
- `client_key`: a key created with `switchyard keys create --json`.
- `tls_certs`, `tls_mock`, `tls_gateway`: the same over TLS with a self-signed CA (openssl CLI).
- `oai_mock`, `oai_gateway`, `oai_client_key`: Tests/e2e/mock_openai.py behind `kind: openai` providers (issue 3).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_support import (  # noqa: E402
    _LOGS, MODELS, ALIASES, PROVIDER_ID, REPO, Gateway, MockServer, openai_gateway, render_config, start_mock,
    start_openai_mock,
)


# ---------------------------------------------------------------------------------------------
# Fixtures


@pytest.fixture(scope="session")
def switchyard_bin() -> Path:
    """The gateway binary, resolved once per session; with SWITCHYARD_BUILD=1 it is built first if missing."""
    path = Path(os.environ.get("SWITCHYARD_BIN") or REPO / ".build" / "debug" / "switchyard")
    if not path.exists() and os.environ.get("SWITCHYARD_BUILD") == "1":
        r = subprocess.run(["swift", "build", "--product", "switchyard"], cwd=REPO, capture_output=True, text=True,
                           timeout=3600, stdin=subprocess.DEVNULL)
        if r.returncode != 0:
            pytest.fail(f"swift build --product switchyard failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    if not path.exists():
        pytest.fail(f"switchyard binary not found at {path}: run scripts/test, or `swift build` first, "
                    "or set SWITCHYARD_BIN (SWITCHYARD_BUILD=1 builds it when missing)")
    return path


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("switchyard-e2e")


@pytest.fixture(scope="session")
def mock(workdir: Path) -> Iterator[MockServer]:
    server = start_mock(workdir, "mock")
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def gateway(switchyard_bin: Path, workdir: Path, mock: MockServer) -> Iterator[Gateway]:
    config = render_config(
        workdir / "gateway.db",
        [{"id": PROVIDER_ID, "base_url": mock.url}],
        {mid: (PROVIDER_ID, up) for mid, up in MODELS.items()},
        ALIASES,
    )
    gw = Gateway(switchyard_bin, workdir, "gateway", config)
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def client_key(gateway: Gateway) -> dict[str, Any]:
    return gateway.create_key("e2e-session", credits=100.0)


@pytest.fixture(scope="session")
def tls_certs(workdir: Path) -> dict[str, Path]:
    """A self-signed CA and a server certificate for IP 127.0.0.1 signed by it (openssl CLI)."""
    d = workdir / "tls"
    d.mkdir()

    def run(*args: str) -> None:
        r = subprocess.run(["openssl", *args], cwd=d, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"openssl {' '.join(args)}: {r.stderr}"

    run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "ca.key", "-out", "ca.pem", "-days", "3", "-subj", "/CN=Switchyard E2E Test CA",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    (d / "server.ext").write_text(
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
        "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n")
    run("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
        "-out", "server.pem", "-days", "3", "-extfile", "server.ext")
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


@pytest.fixture(scope="session")
def tls_mock(workdir: Path, tls_certs: dict[str, Path]) -> Iterator[MockServer]:
    import ssl
    ctx = ssl.create_default_context(cafile=str(tls_certs["ca"]))
    server = start_mock(workdir, "mock-tls", ["--tls-cert", str(tls_certs["cert"]), "--tls-key", str(tls_certs["key"])],
                        ssl_context=ctx)
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def tls_gateway(switchyard_bin: Path, workdir: Path, tls_mock: MockServer, tls_certs: dict[str, Path]) -> Iterator[Gateway]:
    config = render_config(
        workdir / "gateway-tls.db",
        [
            {"id": "mock-tls", "base_url": tls_mock.url, "ca_file": tls_certs["ca"]},
            {"id": "mock-tls-noca", "base_url": tls_mock.url},
        ],
        {"e2e/tls": ("mock-tls", "mock-text"), "e2e/tls-noca": ("mock-tls-noca", "mock-text")},
    )
    gw = Gateway(switchyard_bin, workdir, "gateway-tls", config)
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def oai_mock(workdir: Path) -> Iterator[MockServer]:
    """Tests/e2e/mock_openai.py (OpenAI Chat Completions) on a free port, demanding its provider key."""
    server = start_openai_mock(workdir, "mock-openai")
    yield server
    server.proc.stop()


@pytest.fixture(scope="session")
def oai_gateway(switchyard_bin: Path, workdir: Path, oai_mock: MockServer) -> Iterator[Gateway]:
    """`switchyard serve` whose models are served by `kind: openai` providers on the OpenAI mock (issue 3)."""
    gw = openai_gateway(switchyard_bin, workdir, "gateway-openai", oai_mock.url)
    try:
        gw.start()
        yield gw
    finally:
        gw.stop()


@pytest.fixture(scope="session")
def oai_client_key(oai_gateway: Gateway) -> dict[str, Any]:
    return oai_gateway.create_key("e2e-openai-session", credits=100.0)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.failed and _LOGS:
        seen = set()
        for name, path in _LOGS:
            if path in seen:
                continue
            seen.add(path)
            try:
                lines = path.read_text(errors="replace").splitlines()[-30:]
            except OSError:
                continue
            if lines:
                report.sections.append((f"{name} log {path.name} (last 30 lines)", "\n".join(lines)))
