"""Keep RTP header-extension ids and payload types stable when the server re-offers.

aiortc's createOffer resets every transceiver to its default extension ids and payload
types, while a browser that offered first has fixed both for the BUNDLE it shares across
m-lines. A re-offer that moves an extension id is refused ("RTP extension ID reassignment
not supported"); one that reuses a payload type for another codec breaks demultiplexing.
So the server's re-offers are rewritten to the ids and payload types of the participant's
own offer (matched by URI and by codec), dropping what it did not offer. aiortc then takes
the answer's numbers for its senders and receivers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_EXTMAP = re.compile(r"^a=extmap:(\d+)(/\w+)?\s+(\S+)(.*)$")
_RTPMAP = re.compile(r"^a=rtpmap:(\d+)\s+([^/\s]+)/(\d+)(?:/(\d+))?")
_FMTP = re.compile(r"^a=fmtp:(\d+)\s+(.*)$")
_PT_LINE = re.compile(r"^a=(rtpmap|fmtp|rtcp-fb):(\d+|\*)(.*)$")
# fmtp parameters that make two codecs of one name different codecs.
_DISTINGUISHING = ("profile-level-id", "packetization-mode", "profile-id")
# A codec's key: name, clock, channels, then its distinguishing fmtp pairs (or, for RTX, ("apt", primary's key)).
CodecKey = tuple[str, int, str, tuple[object, ...]]


@dataclass
class Numbers:
    """What a participant's own offer fixed: extension ids, and payload types per codec."""

    extensions: dict[str, int] = field(default_factory=dict)
    payload_types: dict[str, dict[CodecKey, int]] = field(default_factory=dict)  # kind → codec key → pt


def _codecs(lines: list[str]) -> dict[int, CodecKey]:
    """Payload type → codec key (name, clock, channels, distinguishing fmtp, rtx's primary pt)."""
    names: dict[int, tuple[str, int, str]] = {}
    fmtp: dict[int, dict[str, str]] = {}
    for line in lines:
        if m := _RTPMAP.match(line):
            names[int(m.group(1))] = (m.group(2).lower(), int(m.group(3)), m.group(4) or "")
        elif m := _FMTP.match(line):
            fmtp[int(m.group(1))] = dict(p.strip().split("=", 1) for p in m.group(2).split(";") if "=" in p)
    keys: dict[int, CodecKey] = {}
    for pt, (name, clock, channels) in names.items():
        params = fmtp.get(pt, {})
        distinct = tuple((k, params[k].lower()) for k in _DISTINGUISHING if k in params)
        keys[pt] = (name, clock, channels, distinct)
    # An RTX codec is identified by the codec it repairs.
    for pt, (name, clock, channels, _distinct) in list(keys.items()):
        if name == "rtx":
            apt = fmtp.get(pt, {}).get("apt")
            keys[pt] = (name, clock, channels, ("apt", keys.get(int(apt)) if apt and apt.isdigit() else None))
    return keys


def _sections(sdp: str) -> tuple[list[str], list[list[str]]]:
    lines = sdp.replace("\r\n", "\n").split("\n")
    head, sections = [], []
    for line in lines:
        if line.startswith("m="):
            sections.append([line])
        elif sections:
            sections[-1].append(line)
        else:
            head.append(line)
    return head, sections


def numbers_of(offer_sdp: str) -> Numbers:
    """The extension ids and payload types a participant's offer chose."""
    numbers = Numbers()
    _, sections = _sections(offer_sdp)
    for section in sections:
        kind = section[0][2:].split(" ", 1)[0]
        for line in section:
            if m := _EXTMAP.match(line):
                numbers.extensions.setdefault(m.group(3), int(m.group(1)))
        table = numbers.payload_types.setdefault(kind, {})
        for pt, key in _codecs(section).items():
            table.setdefault(key, pt)
    return numbers


def _rewrite_section(section: list[str], numbers: Numbers) -> list[str]:
    kind = section[0][2:].split(" ", 1)[0]
    wanted = numbers.payload_types.get(kind, {})
    mapping = {pt: wanted[key] for pt, key in _codecs(section).items() if key in wanted}
    out = []
    for line in section:
        if line.startswith("m="):
            parts = line.split(" ")
            pts = [str(mapping[int(p)]) for p in parts[3:] if p.isdigit() and int(p) in mapping]
            out.append(" ".join(parts[:3] + pts))
            continue
        if m := _EXTMAP.match(line):
            uri = m.group(3)
            if uri in numbers.extensions:
                out.append(f"a=extmap:{numbers.extensions[uri]}{m.group(2) or ''} {uri}{m.group(4)}")
            continue
        if m := _PT_LINE.match(line):
            attribute, pt, rest = m.groups()
            if pt == "*":
                out.append(line)
            elif int(pt) in mapping:
                if attribute == "fmtp":
                    rest = re.sub(r"apt=(\d+)", lambda a: f"apt={mapping.get(int(a.group(1)), a.group(1))}", rest)
                out.append(f"a={attribute}:{mapping[int(pt)]}{rest}")
            continue
        out.append(line)
    return out


def align(offer_sdp: str, numbers: Numbers) -> str:
    """The server's offer renumbered to the participant's own numbers."""
    head, sections = _sections(offer_sdp)
    lines = head + [line for section in sections for line in _rewrite_section(section, numbers)]
    return "\r\n".join(lines)
