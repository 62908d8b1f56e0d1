"""Ending the local stack's child processes."""

from __future__ import annotations

import signal
import subprocess


def end(
    process: subprocess.Popen[bytes] | None,
    sig: int = signal.SIGTERM,
    timeout: float = 10,
) -> None:
    """Ask `process` to stop with `sig`; SIGKILL it when it has not stopped after `timeout`."""
    if process is None or process.poll() is not None:
        return
    process.send_signal(sig)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        crash(process)


def crash(process: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL, as a crash would: nothing gets the chance to finish."""
    if process is not None and process.poll() is None:
        process.kill()
        process.wait()
