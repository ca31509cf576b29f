"""The message catalog: one owner per key, both languages complete, placeholders matching."""

from __future__ import annotations

import json
import re
from pathlib import Path

import vreception.i18n as i18n

FOLDER = Path(i18n.__file__).parent


def _files(suffix):
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(FOLDER.glob(f"*.{suffix}.json"))}


def test_no_key_is_defined_by_two_domains():
    for suffix in ("zh_CN", "en"):
        owners = {}
        for name, messages in _files(suffix).items():
            for key in messages:
                assert key not in owners, f"{key} is defined in both {owners[key]} and {name}"
                owners[key] = name


def test_every_chinese_message_has_an_english_one_with_the_same_placeholders():
    zh = {k: v for m in _files("zh_CN").values() for k, v in m.items()}
    en = {k: v for m in _files("en").values() for k, v in m.items()}
    assert set(zh) <= set(en), sorted(set(zh) - set(en))
    for key, text in zh.items():
        assert set(re.findall(r"{(\w+)}", text)) == set(re.findall(r"{(\w+)}", en[key])), key


def test_negotiation_and_fallback():
    assert i18n.negotiate("en-US,en;q=0.9,zh;q=0.8") == "en"
    assert i18n.negotiate("fr-FR, zh-TW;q=0.5") == "zh-CN"
    assert i18n.negotiate(None) == "zh-CN"
    assert i18n.translate("no.such.key", "en") == "no.such.key"
