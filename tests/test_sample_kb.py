"""The sample knowledge base in kb/sample is well-formed and its evaluation cases refer to it."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

SAMPLE = Path(__file__).resolve().parents[1] / "kb" / "sample"
ENTRY_KEYS = ("id", "category", "question", "variants", "answer")
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")
ALLOWED_LINK_HOSTS = ("www.gosuslugi.ru", "sfr.gov.ru", "msp.midural.ru", "mfc66.ru")


@pytest.fixture(scope="module")
def kb() -> dict[str, Any]:
    data = yaml.safe_load((SAMPLE / "social_protection.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def cases() -> list[dict[str, Any]]:
    lines = (SAMPLE / "cases.jsonl").read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def test_entry_ids_are_unique_and_enough(kb: dict[str, Any]) -> None:
    ids = [e["id"] for e in kb["entries"]]
    assert len(ids) >= 40
    assert len(ids) == len(set(ids))


def test_every_category_has_a_snake_case_queue(kb: dict[str, Any]) -> None:
    categories = kb["categories"]
    assert 8 <= len(categories) <= 10
    assert len({c["id"] for c in categories}) == len(categories)
    for category in categories:
        assert category["title"]
        assert SNAKE.match(category["queue"]), category


def test_entries_have_required_keys_and_known_categories(kb: dict[str, Any]) -> None:
    known = {c["id"] for c in kb["categories"]}
    for entry in kb["entries"]:
        assert all(entry.get(key) for key in ENTRY_KEYS), entry["id"]
        assert entry["category"] in known, entry["id"]
        assert entry["id"].startswith(entry["category"] + "."), entry["id"]
        assert 2 <= len(entry["variants"]) <= 5, entry["id"]
        assert 300 <= len(entry["answer"].strip()) <= 900, entry["id"]


def test_links_point_only_to_well_known_sites(kb: dict[str, Any]) -> None:
    for entry in kb["entries"]:
        for link in entry.get("links", []):
            assert link["title"], entry["id"]
            assert link["url"].startswith(tuple(f"https://{h}/" for h in ALLOWED_LINK_HOSTS))


def test_cases_are_enough_and_refer_to_existing_entries(
    kb: dict[str, Any], cases: list[dict[str, Any]]
) -> None:
    ids = {e["id"] for e in kb["entries"]}
    assert len(cases) >= 150
    for case in cases:
        assert set(case) == {"text", "expected"}
        assert isinstance(case["text"], str) and case["text"].strip()
        assert case["expected"] is None or case["expected"] in ids, case


def test_cases_cover_every_entry_and_out_of_scope(
    kb: dict[str, Any], cases: list[dict[str, Any]]
) -> None:
    counts = Counter(case["expected"] for case in cases)
    assert counts[None] >= 20
    assert all(counts[e["id"]] >= 2 for e in kb["entries"])


def test_the_readme_counts_the_entries_and_exports_with_the_cli(kb: dict[str, Any]) -> None:
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    counted = re.search(r"`social_protection\.yaml` — (\d+) "
                        r"(?:вопрос-ответ|вопроса-ответа|вопросов-ответов) в (\d+) категори",
                        readme)
    assert counted is not None
    assert counted.groups() == (str(len(kb["entries"])), str(len(kb["categories"])))
    # The file `faq export` writes is the one `faq import` takes back.
    assert "priemnaya faq export --kb kb/sample" in readme


def _spoken(hours: str) -> str:
    """«08:30-16:15» as the answer writes it: «8:30–16:15»; a day with a lunch break
    («08:30-12:30,13:15-17:30») from its first start to its last end."""
    parts = hours.replace(",", "-").split("-")
    return "–".join(part.lstrip("0") for part in (parts[0], parts[-1]))


def _lunch(hours: str) -> str | None:
    """The break of a day «08:30-12:30,13:15-17:30» as the answer writes it: «12:30–13:15»."""
    spans = hours.split(",")
    if len(spans) < 2:
        return None
    return _spoken(f"{spans[0].split('-')[1]}-{spans[1].split('-')[0]}")


def test_the_centres_hours_are_the_calendars(kb: dict[str, Any]) -> None:
    """The bot promises reply times from settings.yaml's calendar: the hours the sample
    answer gives clients must be the same."""
    settings = yaml.safe_load((SAMPLE.parents[1] / "settings.yaml").read_text(encoding="utf-8"))
    hours = settings["calendar"]["hours"]
    answer = next(e["answer"] for e in kb["entries"] if e["id"] == "centre.hours")
    assert len({hours[day] for day in ("mon", "tue", "wed", "thu")}) == 1
    assert f"понедельник–четверг: {_spoken(hours['mon'])};" in answer
    assert f"пятница: {_spoken(hours['fri'])};" in answer
    lunch = {_lunch(hours[day]) for day in ("mon", "tue", "wed", "thu", "fri")}
    assert len(lunch) == 1, "the answer names one lunch break for every day"
    if lunch == {None}:
        assert "без перерыва на обед" in answer and "обед:" not in answer
    else:
        assert f"обед: {lunch.pop()};" in answer


# What a client types in the chat goes to the matcher unless they asked for a specialist first:
# an answer that says "write your name and phone here" sends those details to no one.
_DETAILS_IN_CHAT = re.compile(r"(чат|сюда)[^.\n]*(ФИО|телефон|контакт|адрес)", re.IGNORECASE)
_BUTTON = re.compile(r"кнопк\w+ «([^»]+)»")


def test_answers_send_clients_to_the_specialist_button(kb: dict[str, Any]) -> None:
    label = (SAMPLE.parents[1] / "templates" / "messages" / "button_specialist.j2").read_text(
        encoding="utf-8").strip()
    for entry in kb["entries"]:
        answer = entry["answer"]
        assert not _DETAILS_IN_CHAT.search(answer), entry["id"]
        assert not re.search(r"напишите (сюда|нам|в чат)", answer), entry["id"]
        assert set(_BUTTON.findall(answer)) <= {label}, entry["id"]
    assert sum(label in e["answer"] for e in kb["entries"]) >= 10
