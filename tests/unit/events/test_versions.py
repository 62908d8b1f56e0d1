from __future__ import annotations

import pytest
from entitle_events.versions import Version
from hypothesis import given
from hypothesis import strategies as st

parts = st.integers(0, 999)


@given(parts, parts, parts, parts, parts, parts)
def test_versions_order_like_their_number_tuples(
    a: int, b: int, c: int, x: int, y: int, z: int
) -> None:
    left, right = Version(a, b, c), Version(x, y, z)
    assert (left < right) == ((a, b, c) < (x, y, z))
    assert (left == right) == ((a, b, c) == (x, y, z))
    assert Version.parse(str(left)) == left


def test_short_forms_and_the_v_prefix_parse() -> None:
    assert Version.parse("6") == Version(6, 0, 0)
    assert Version.parse("v6.1") == Version(6, 1, 0)
    assert Version.parse("10.2.3") > Version.parse("9.99.99")


@pytest.mark.parametrize("text", ["", "six", "6.x", "6.1.2.3", "-1", "6..1"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a version"):
        Version.parse(text)
