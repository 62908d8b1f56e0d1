"""CPU time spent by each part of the stack during a phase: each service (its copies and
worker processes together), PostgreSQL (the server and every backend), the broker, the SMTP
capture (a thread of this process) and the load generator (the rest of this process)."""

from __future__ import annotations

import os
from collections import Counter

import psutil
from entitle_dev.stack import Stack, service_of


def _tree(pid: int) -> float:
    """CPU seconds of a process and its children that are still running."""
    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def snapshot(stack: Stack) -> Counter[str]:
    """CPU seconds used so far, by part."""
    used: Counter[str] = Counter()
    for name, process in stack.processes.items():
        used[service_of(name)] += _tree(process.pid)
    if stack.postgres is not None:
        used["postgresql"] = _tree(stack.postgres.pid)
    if stack.broker is not None:
        used["broker"] = _tree(stack.broker.pid)
    own = psutil.Process(os.getpid())
    threads = {t.id: t.user_time + t.system_time for t in own.threads()}
    smtp = threads.get(stack.mail.thread_id or -1, 0.0) if stack.mail is not None else 0.0
    used["smtp capture"] = smtp
    own_times = own.cpu_times()
    used["load generator"] = own_times.user + own_times.system - smtp
    return used


def per_unit(before: Counter[str], after: Counter[str], units: int) -> dict[str, float]:
    """Milliseconds of CPU per unit (order, request) for each part, and for all the parts
    of the system (the load generator apart)."""
    spent = {part: max(0.0, after[part] - before[part]) for part in after}
    result = {part: round(seconds * 1000 / units, 3) for part, seconds in sorted(spent.items())}
    system = sum(seconds for part, seconds in spent.items() if part != "load generator")
    result["all processes"] = round(system * 1000 / units, 3)
    return result
