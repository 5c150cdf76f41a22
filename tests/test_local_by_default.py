"""SPEC §10: without configuration the app listens on localhost only. A real `python -m ui` (the README's command)
and a real `streamlit run app.py`, each from the repository (so .streamlit/config.toml applies), answer on 127.0.0.1
and refuse a TCP connection on this machine's non-loopback address, and the kernel's table of listening sockets
shows them bound to loopback only (so the test holds on a machine whose only address is loopback too)."""
from __future__ import annotations

import ipaddress
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def non_loopback_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback: the interface a route out would use, and the host name's."""
    found = set()
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        probe.connect(("192.0.2.1", 9))  # UDP connect sends nothing: it only picks the outgoing interface
        found.add(probe.getsockname()[0])
    except OSError:
        pass
    finally:
        probe.close()
    try:
        found.update(info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET))
    except OSError:
        pass
    return sorted(a for a in found if not ipaddress.ip_address(a).is_loopback and a != "0.0.0.0")


def listening_addresses(port: int) -> set[str]:
    """The local addresses the kernel lists as LISTEN on this TCP port (Linux /proc/net/tcp and tcp6)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            host, hex_port = local.split(":")
            if state != "0A" or int(hex_port, 16) != port:
                continue
            raw = bytes.fromhex(host)
            # The kernel prints each 32-bit word in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            found.add(str(ipaddress.ip_address(raw)))
    return found


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def connects(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except ConnectionRefusedError:
        return False


@pytest.mark.parametrize("launch", [["-m", "ui"], ["-m", "streamlit", "run", "app.py"]], ids=" ".join)
def test_the_app_refuses_connections_on_a_non_loopback_address_by_default(tmp_path, launch):
    addresses = non_loopback_addresses()  # may be none: then the socket table below is the whole check
    port = free_port()
    env = {**os.environ, "SEGMENTER_DATABASE_URL": f"sqlite:///{tmp_path / 'app.db'}"}
    for name in [k for k in env if k.startswith("STREAMLIT_SERVER_")]:  # nothing may override config.toml here
        del env[name]
    app = subprocess.Popen([sys.executable, *launch, "--server.port", str(port)],
                           cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        while not connects("127.0.0.1", port):
            assert app.poll() is None, app.stdout.read().decode(errors="replace") if app.stdout else ""
            assert time.monotonic() < deadline, "the app did not start listening on 127.0.0.1"
            time.sleep(0.3)
        bound = listening_addresses(port)
        assert bound, f"no listening socket on port {port} in /proc/net/tcp*"
        assert all(ipaddress.ip_address(a).is_loopback for a in bound), f"the app listens on {sorted(bound)}"
        for address in addresses:
            assert not connects(address, port), f"the app accepted a connection on {address}:{port}"
    finally:
        app.terminate()
        try:
            app.wait(20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            app.kill()
            app.wait(5)
