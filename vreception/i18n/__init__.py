"""The message catalog: zh-CN by default, English available; keys are stable dotted names."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

LANGUAGES = ("zh-CN", "en")
DEFAULT_LANGUAGE = "zh-CN"
# Each domain keeps its own catalog file, DOMAIN.zh_CN.json and DOMAIN.en.json.
_SUFFIX = {"zh-CN": ".zh_CN.json", "en": ".en.json"}


@lru_cache
def catalog(language: str) -> dict[str, str]:
    """The messages of LANGUAGE from every domain's file, loaded once."""
    messages: dict[str, str] = {}
    for path in sorted(Path(__file__).parent.glob(f"*{_SUFFIX[language]}")):
        messages.update(json.loads(path.read_text(encoding="utf-8")))
    return messages


class Msg(str):
    """A parameter that is itself a catalog key, translated along with the message."""


def translate(key: str, language: str = DEFAULT_LANGUAGE, **params: Any) -> str:
    """The message KEY in LANGUAGE with PARAMS filled in; falls back to zh-CN, then to the key."""
    language = language if language in _SUFFIX else DEFAULT_LANGUAGE
    text = catalog(language).get(key) or catalog(DEFAULT_LANGUAGE).get(key) or key
    params = {k: translate(v, language) if isinstance(v, Msg) else v for k, v in params.items()}
    try:
        return text.format(**params)
    except (KeyError, IndexError):
        return text


def negotiate(accept_language: str | None, default: str = DEFAULT_LANGUAGE) -> str:
    """The best of our languages for an Accept-Language header."""
    if not accept_language:
        return default
    ranked = []
    for i, part in enumerate(accept_language.split(",")):
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            weight = 0.0
        ranked.append((-weight, i, tag.strip().lower()))
    for _w, _i, tag in sorted(ranked):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default
