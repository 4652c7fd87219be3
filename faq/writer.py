"""Knowledge base → YAML text in the documented format, answers as readable literal blocks."""

from __future__ import annotations

from typing import Any

import yaml

from faq.model import Category, Entry, KnowledgeBase


class _Dumper(yaml.SafeDumper):
    """Multi-line texts as `|` blocks, so administrators can edit answers by hand."""


def _represent_text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_text)


def category_data(category: Category) -> dict[str, Any]:
    data: dict[str, Any] = {"id": category.id, "title": category.title}
    if category.queue:
        data["queue"] = category.queue
    return data


def entry_data(entry: Entry) -> dict[str, Any]:
    data: dict[str, Any] = {"id": entry.id, "category": entry.category, "question": entry.question}
    if entry.variants:
        data["variants"] = list(entry.variants)
    if entry.keywords:
        data["keywords"] = list(entry.keywords)
    data["answer"] = entry.answer + "\n" if "\n" in entry.answer else entry.answer
    if entry.links:
        data["links"] = [{"title": link.title, "url": link.url} for link in entry.links]
    return data


def dump_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=4096)


def to_yaml(kb: KnowledgeBase) -> str:
    data: dict[str, Any] = {}
    if kb.institution:
        data["institution"] = kb.institution
    data["categories"] = [category_data(c) for c in kb.categories]
    data["entries"] = [entry_data(e) for e in kb.entries]
    return dump_yaml(data)
