from __future__ import annotations

from pathlib import Path

from entitle_events import DATA_BY_TYPE
from entitle_events.topics_doc import render

PAGE = Path(__file__).parents[3] / "docs" / "topics.md"


def test_the_committed_topic_page_is_the_generated_one() -> None:
    assert PAGE.read_text() == render(), "run `make schemas` to regenerate docs/topics.md"


def test_the_page_lists_every_event_type_and_links_its_schema() -> None:
    page = render()
    for event_type in DATA_BY_TYPE:
        assert f"`{event_type}`" in page
        assert f"schemas/{event_type}.json" in page
        assert (
            PAGE.parent / ".." / "shared/entitle_events/schemas" / f"{event_type}.json"
        ).exists()
