"""HTTP load with wrk (Debian's `wrk`): a C load generator, so the measurement is not limited
by a Python client sharing the cores. Requests are prepared beforehand (signed webhooks with
unique ids) and replayed by a small Lua script."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .load import Rate

_SCRIPT = """
local requests = {}
local i = 0
init = function(args)
  local f = io.open(args[1], "r")
  while true do
    local headers = f:read("*l")
    if not headers then break end
    local body = f:read("*l")
    local h = {["Content-Type"] = "application/json"}
    for name, value in string.gmatch(headers, "([^\\t]+)\\t([^\\t]+)\\t") do h[name] = value end
    requests[#requests + 1] = wrk.format("POST", nil, h, body)
  end
  f:close()
end
request = function()
  i = i % #requests + 1
  return requests[i]
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def run(
    url: str, requests: list[tuple[dict[str, str], str]], seconds: float, connections: int
) -> Rate:
    """POST the prepared (headers, body) requests in turn; each is used once if there are
    enough of them."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "requests.txt"
        with data.open("w") as out:
            for headers, body in requests:
                out.write("".join(f"{k}\t{v}\t" for k, v in headers.items()) + "\n")
                out.write(body + "\n")
        script = Path(tmp) / "replay.lua"
        script.write_text(_SCRIPT)
        result = subprocess.run(
            ["wrk", "-t2", f"-c{connections}", f"-d{seconds:.0f}s", "--latency",
             "-s", str(script), url, "--", str(data)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    return _parse(result.stdout)


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
    return Rate(total, seconds, [], points={50: ms("50"), 90: ms("90"), 99: ms("99")})
