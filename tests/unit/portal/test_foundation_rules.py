"""The web foundation's pure rules: where sign-in may send you, links' states, limits,
times with their zone, pagination, readable brand colours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from services.portal.domain import brand, display
from services.portal.domain import sign_in as rules
from services.portal.domain.principals import Membership, WebPrincipal

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)


@given(st.text())
def test_after_sign_in_one_only_ever_lands_on_this_site(path: str) -> None:
    landed = rules.safe_next(path)
    assert landed.startswith("/") and not landed.startswith("//")
    assert "\\" not in landed and all(ord(c) >= 32 for c in landed)


def test_safe_next_keeps_a_local_path_and_refuses_other_sites() -> None:
    assert rules.safe_next("/tickets/T-1?x=1") == "/tickets/T-1?x=1"
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil", "", None):
        assert rules.safe_next(elsewhere, "/licenses") == "/licenses"


def test_a_link_is_valid_once_and_until_it_expires() -> None:
    later = NOW + timedelta(minutes=15)
    assert rules.link_state(later, None, NOW) == "valid"
    assert rules.link_state(later, NOW, NOW) == "used"
    assert rules.link_state(NOW, None, NOW) == "expired"
    assert rules.link_state(None, None, NOW) == "unknown"


def test_only_the_hash_of_a_token_is_kept_and_tokens_differ() -> None:
    a, b = rules.new_token(), rules.new_token()
    assert a != b and len(a) >= 40
    assert rules.token_hash(a) != a and len(rules.token_hash(a)) == 64


def test_the_rate_limit_counts_inside_its_window() -> None:
    limit = rules.RateLimit(5)
    assert limit.allows(4) and not limit.allows(5)
    assert limit.since(NOW) == NOW - timedelta(minutes=15)
    assert rules.address_bucket(" It@Acme.example ") == rules.address_bucket("it@acme.example")


def test_times_are_shown_in_the_viewers_zone_with_its_name() -> None:
    berlin = display.zone_or_default("Europe/Berlin", "UTC")
    assert display.local_time(NOW, berlin) == "21 Nov 2026, 11:00 (Europe/Berlin)"
    assert display.local_date(NOW.replace(hour=23, minute=30), berlin) == "22 Nov 2026"
    assert display.zone_or_default("Mars/Olympus", "UTC").key == "UTC"
    assert display.zone_or_default("../../etc/passwd", "UTC").key == "UTC"


@given(st.lists(st.integers(), max_size=60), st.integers(1, 10), st.integers(1, 10))
def test_pages_cover_the_list_once(items: list[int], size: int, number: int) -> None:
    page = display.paginate(items, number, size)
    assert page.items == items[(number - 1) * size : number * size]
    assert page.has_next == (len(items) > number * size)
    assert page.has_previous == (number > 1)


@given(st.from_regex(r"#[0-9a-f]{6}", fullmatch=True))
def test_header_text_and_links_stay_readable_on_any_brand_colour(colour: str) -> None:
    assert brand.contrast(colour, brand.text_on(colour)) >= 4.5 or brand.contrast(
        colour, brand.text_on(colour)
    ) >= max(brand.contrast(colour, "#ffffff"), brand.contrast(colour, "#111111"))
    assert brand.contrast(brand.link_colour(colour), "#ffffff") >= 4.5


def test_a_customer_session_never_enters_the_desk_and_an_agent_never_the_portal() -> None:
    customer = WebPrincipal(
        "s", "portal", "customer", "it@acme.example", Membership("a", "A", False)
    )
    agent = WebPrincipal("s", "desk", "agent", "agent@vendor.example", None)
    assert customer.may_enter("portal") and not customer.may_enter("desk")
    assert agent.may_enter("desk") and not agent.may_enter("portal")
    assert not agent.may_enter("desk", frozenset({"admin"}))
