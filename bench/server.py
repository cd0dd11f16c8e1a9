"""Run `python app.py` on 127.0.0.1 as a child process: start, wait until it answers, measure its memory, stop.

Shared by the benchmarks and the app tests, so both exercise the app exactly as a user starts it.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of a process in MB (VmRSS now, or VmHWM for the peak), from /proc."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    raise ValueError(f"{field} not found for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class AppServer:
    """`python app.py --host 127.0.0.1 --port <free> [--model M]`; use as a context manager.

    `program` replaces `app.py` (e.g. ["-m", "bench.floor_app"]); it must take --host and --port. `args` go after them.
    """

    def __init__(self, model: str | Path | None = None, log: str | Path | None = None, startup_timeout: float = 180.0,
                 program: list[str] | None = None, args: list[str] | None = None):
        self.program = program or ["app.py"]
        self.args = list(args or [])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        self.model = model
        self.startup_timeout = startup_timeout
        self.log_path = Path(log) if log else Path(tempfile.mkstemp(prefix="app-", suffix=".log")[1])
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0  # time.monotonic() just before the process was started

    def start(self) -> AppServer:
        command = [sys.executable, *self.program, "--host", "127.0.0.1", "--port", str(self.port), *self.args]
        if self.model:
            command += ["--model", str(self.model)]
        env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False"}
        env.setdefault("GRADIO_TEMP_DIR", tempfile.mkdtemp(prefix="gradio-app-"))
        self.started_at = time.monotonic()
        with open(self.log_path, "w") as log:
            self.proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        return self

    def wait_ready(self) -> float:
        """Seconds from process start until the page answers; raises if the app dies or takes too long."""
        deadline = self.started_at + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{' '.join(self.program)} exited with {self.proc.returncode}; log: {self.log_path}\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.url, timeout=2) as response:
                    if response.status == 200:
                        return time.monotonic() - self.started_at
            except OSError:
                pass
            time.sleep(0.1)
        program = " ".join(self.program)
        raise TimeoutError(f"{program} did not answer within {self.startup_timeout:.0f} s; log: {self.log_path}\n{self.log_tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def rss_mb(self, field: str = "VmRSS") -> float:
        return rss_mb(self.proc.pid, field)

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.proc.pid)

    def log_tail(self, lines: int = 30) -> str:
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def stop(self) -> None:
        if self.alive():
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)

    def __enter__(self) -> AppServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
