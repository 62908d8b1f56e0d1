"""HTTP load with wrk (Debian's `wrk`): a C load generator, so that the measurement is not
limited by a client sharing the cores with what it measures. Requests are prepared beforehand
(signed webhooks with unique ids) and replayed by a small Lua script; a given rate is kept
with wrk's `delay()` hook.

A run also reports the generator's own CPU: a figure is refused when the generator, not the
server, was the limit.
"""

from __future__ import annotations

import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from .load import Rate

THREADS = 2

_SCRIPT = """
local requests = {}
local i = 0
local pause = tonumber(os.getenv("WRK_DELAY_MS") or "0")
init = function(args)
  local f = io.open(args[1], "r")
  while true do
    local headers = f:read("*l")
    if not headers then break end
    local body = f:read("*l")
    local method = "POST"
    if body == "" then method = "GET"; body = nil end
    local h = {}
    if body then h["Content-Type"] = "application/json" end
    for name, value in string.gmatch(headers, "([^\\t]+)\\t([^\\t]+)\\t") do h[name] = value end
    requests[#requests + 1] = wrk.format(method, nil, h, body)
  end
  f:close()
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
delay = function()
  return pause
end
"""


def ensure() -> str | None:
    """The path of wrk, installing Debian's package when it is missing and this machine can
    (root and apt-get); None when no compiled generator can be had."""
    if shutil.which("wrk") or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return shutil.which("wrk")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-qq", "wrk"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-qq"], env=env, capture_output=True)
        subprocess.run(install, env=env, capture_output=True)
    return shutil.which("wrk")


@dataclass(frozen=True)
class Load:
    """One wrk run: what the server answered and what the generator spent."""

    rate: Rate
    generator_cpu_seconds: float

    @property
    def generator_busy(self) -> float:
        """Share of its threads' time the generator was on a CPU."""
        return self.generator_cpu_seconds / (self.rate.seconds * THREADS)


def run(
    url: str,
    requests: list[tuple[dict[str, str], str]],
    seconds: float,
    connections: int,
    rate: float | None = None,
) -> Load:
    """Send the prepared (headers, body) requests in turn (an empty body is a GET), as fast
    as the server answers, or at about `rate` requests per second."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "requests.txt"
        with data.open("w") as out:
            for headers, body in requests:
                out.write("".join(f"{k}\t{v}\t" for k, v in headers.items()) + "\n")
                out.write(body + "\n")
        script = Path(tmp) / "replay.lua"
        script.write_text(_SCRIPT)
        delay_ms = 0 if rate is None else max(1, round(connections * 1000 / rate))
        before = _children_cpu()
        started = time.monotonic()
        result = subprocess.run(
            ["wrk", f"-t{THREADS}", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
             "-s", str(script), url, "--", str(data)],
            capture_output=True, text=True, check=True,
            env={**os.environ, "WRK_DELAY_MS": str(delay_ms)},
        )  # fmt: skip
        wall = time.monotonic() - started
    parsed = _parse(result.stdout)
    return Load(parsed, min(_children_cpu() - before, wall * THREADS))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _parse(text: str) -> Rate:
    def ms(label: str) -> float:
        match = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", text)
        if not match:
            return float("nan")
        value, unit = float(match.group(1)), match.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    match = re.search(r"(\d+) requests in ([\d.]+)(ms|s|m)", text)
    assert match, text
    total, value, unit = int(match.group(1)), float(match.group(2)), match.group(3)
    seconds = value / 1000 if unit == "ms" else value * 60 if unit == "m" else value
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    if errors:
        raise RuntimeError(f"{errors.group(1)} requests failed:\n{text}")
    # wrk reports percentiles, not every latency: keep them as the distribution's points.
    return Rate(total, seconds, [], points={50: ms("50"), 75: ms("75"), 90: ms("90"), 99: ms("99")})
