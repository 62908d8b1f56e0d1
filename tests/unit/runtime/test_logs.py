from __future__ import annotations

import json
import logging

from services.runtime.logs import JsonFormatter, correlation_id, trace_id, trace_of


def test_a_log_line_is_json_with_the_correlation_and_trace_of_the_work_at_hand() -> None:
    record = logging.LogRecord("x", logging.WARNING, __file__, 1, "seat %s taken", ("3",), None)
    token_c = correlation_id.set("A-1001")
    token_t = trace_id.set("4bf92f3577b34da6a3ce929d0e0e4736")
    try:
        line = json.loads(JsonFormatter("licensing").format(record))
    finally:
        correlation_id.reset(token_c)
        trace_id.reset(token_t)
    assert line["message"] == "seat 3 taken" and line["level"] == "warning"
    assert (line["service"], line["correlation_id"]) == ("licensing", "A-1001")
    assert line["trace_id"] == "4bf92f3577b34da6a3ce929d0e0e4736"
    plain = json.loads(JsonFormatter("licensing").format(record))
    assert "correlation_id" not in plain


def test_the_trace_id_is_read_from_a_w3c_traceparent() -> None:
    assert trace_of("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == (
        "4bf92f3577b34da6a3ce929d0e0e4736"
    )
    assert trace_of(None) is None and trace_of("garbage") is None
