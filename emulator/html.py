"""Telegram-compatible HTML parse_mode parser (modelled on TDLib's ``parse_html``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

__all__ = ["HtmlParseError", "parse_html", "strip_message_text", "utf16_len"]

_SUPPORTED_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    }
)
_ENTITY_TYPES = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "span": "spoiler",
    "tg-spoiler": "spoiler",
    "tg-emoji": "custom_emoji",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "a": "text_link",
}
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY_RE = re.compile(r"&(?:#([0-9]{1,8})|#[xX]([0-9a-fA-F]{1,8})|([a-zA-Z]{1,8}));")
_SPECIAL_RE = re.compile(r"[<&]")
_SPACES = " \t\r\n\f\v"


class HtmlParseError(ValueError):
    """HTML that Telegram would reject; ``str(err)`` is Telegram's reason text."""


def utf16_len(text: str) -> int:
    """Length of ``text`` in UTF-16 code units, the unit Telegram uses for offsets."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le")) // 2


@dataclass(slots=True)
class _OpenTag:
    name: str
    argument: str
    utf16_offset: int
    byte_offset: int
    language: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


class _Parser:
    def __init__(self, source: str, *, strict_ampersand: bool) -> None:
        self.src = source
        self.n = len(source)
        self.strict_ampersand = strict_ampersand
        self.out: list[str] = []
        self.utf16 = 0
        self.stack: list[_OpenTag] = []
        self.entities: list[dict[str, Any]] = []

    def byte_offset(self, index: int) -> int:
        return len(self.src[:index].encode("utf-8"))

    def char(self, index: int) -> str:
        return self.src[index] if index < self.n else "\0"

    def emit(self, chunk: str) -> None:
        if chunk:
            self.out.append(chunk)
            self.utf16 += utf16_len(chunk)

    def decode_entity(self, index: int) -> tuple[str, int] | None:
        """Decode ``&...;`` at ``index``; return (character, end index) or None."""
        match = _ENTITY_RE.match(self.src, index)
        if match is None:
            return None
        dec, hexa, name = match.groups()
        if name is not None:
            char = _NAMED_ENTITIES.get(name)
            return (char, match.end()) if char is not None else None
        code = int(dec) if dec is not None else int(hexa, 16)
        if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
            return None
        return chr(code), match.end()

    def error(self, reason: str) -> HtmlParseError:
        return HtmlParseError(reason)

    def parse(self) -> tuple[str, list[dict[str, Any]]]:
        i = 0
        while i < self.n:
            match = _SPECIAL_RE.search(self.src, i)
            if match is None:
                self.emit(self.src[i:])
                break
            pos = match.start()
            self.emit(self.src[i:pos])
            if self.src[pos] == "&":
                decoded = self.decode_entity(pos)
                if decoded is not None:
                    self.emit(decoded[0])
                    i = decoded[1]
                elif self.strict_ampersand:
                    raise self.error(
                        f'Character "&" must be escaped as "&amp;" at byte offset '
                        f"{self.byte_offset(pos)}"
                    )
                else:
                    self.emit("&")
                    i = pos + 1
            elif self.char(pos + 1) == "/":
                i = self.end_tag(pos)
            else:
                i = self.start_tag(pos)
        if self.stack:
            raise self.error(
                f'Can\'t find end tag corresponding to start tag "{self.stack[-1].name}"'
            )
        self.entities.sort(key=lambda e: (e["offset"], -e["length"]))
        return "".join(self.out), self.entities

    def start_tag(self, begin: int) -> int:
        i = begin + 1
        end = i
        while end < self.n and self.src[end] not in _SPACES and self.src[end] != ">":
            end += 1
        tag = self.src[i:end].lower()
        begin_bytes = self.byte_offset(begin)
        if tag not in _SUPPORTED_TAGS:
            raise self.error(f'Unsupported start tag "{tag}" at byte offset {begin_bytes}')
        i = end
        argument = ""
        extra: dict[str, Any] = {}
        while self.char(i) != ">":
            while self.char(i) in _SPACES and i < self.n:
                i += 1
            if i >= self.n:
                raise self.error(f"Unclosed start tag at byte offset {begin_bytes}")
            if self.src[i] == ">":
                break
            attr_begin = i
            while i < self.n and self.src[i] not in _SPACES and self.src[i] not in "=>/":
                i += 1
            attr = self.src[attr_begin:i].lower()
            if not attr:
                if self.src[i] == "/":  # self-closing slash, e.g. <b/>; Telegram ignores it
                    i += 1
                    continue
                raise self.error(
                    f'Empty attribute name in the tag "{tag}" at byte offset {begin_bytes}'
                )
            while i < self.n and self.src[i] in _SPACES:
                i += 1
            if self.char(i) != "=":
                if tag == "blockquote" and attr == "expandable":
                    extra["expandable"] = True
                continue
            i += 1
            while i < self.n and self.src[i] in _SPACES:
                i += 1
            if i >= self.n:
                raise self.error(f"Unclosed start tag at byte offset {begin_bytes}")
            value, i = self.attribute_value(i)
            if i >= self.n:
                raise self.error(f"Unclosed start tag at byte offset {begin_bytes}")
            if tag == "a" and attr == "href":
                argument = value
            elif tag == "code" and attr == "class" and value.startswith("language-"):
                argument = value[len("language-") :]
            elif tag == "span" and attr == "class" and value.startswith("tg-"):
                argument = value[len("tg-") :]
            elif tag == "tg-emoji" and attr == "emoji-id":
                argument = value
        if tag == "span" and argument != "spoiler":
            raise self.error(
                f'Tag "span" must have class "tg-spoiler" at byte offset {begin_bytes}'
            )
        self.stack.append(_OpenTag(tag, argument, self.utf16, begin_bytes, extra=extra))
        return i + 1

    def attribute_value(self, i: int) -> tuple[str, int]:
        quote = self.src[i]
        if quote not in "'\"":
            start = i
            while i < self.n and (self.src[i].isalnum() or self.src[i] in ".-"):
                i += 1
            if self.char(i) not in _SPACES + ">" or i >= self.n:
                raise self.error(
                    f"Unexpected end of name token at byte offset {self.byte_offset(start)}"
                )
            return self.src[start:i].lower(), i
        i += 1
        chars: list[str] = []
        while i < self.n and self.src[i] != quote:
            if self.src[i] == "&":
                decoded = self.decode_entity(i)
                if decoded is not None:
                    chars.append(decoded[0])
                    i = decoded[1]
                    continue
            chars.append(self.src[i])
            i += 1
        if i < self.n:
            i += 1
        return "".join(chars), i

    def end_tag(self, begin: int) -> int:
        begin_bytes = self.byte_offset(begin)
        if not self.stack:
            raise self.error(f"Unexpected end tag at byte offset {begin_bytes}")
        end = begin + 2
        while end < self.n and self.src[end] not in _SPACES and self.src[end] != ">":
            end += 1
        name = self.src[begin + 2 : end].lower()
        i = end
        while i < self.n and self.src[i] in _SPACES:
            i += 1
        if self.char(i) != ">" or i >= self.n:
            raise self.error(f"Unclosed end tag at byte offset {begin_bytes}")
        open_tag = self.stack.pop()
        if name and name != open_tag.name:
            raise self.error(
                f'Unmatched end tag at byte offset {begin_bytes}, expected "</{open_tag.name}>", '
                f'found "</{name}>"'
            )
        self.close(open_tag)
        return i + 1

    def close(self, tag: _OpenTag) -> None:
        length = self.utf16 - tag.utf16_offset
        parent = self.stack[-1] if self.stack else None
        if tag.name == "code" and tag.argument and parent is not None and parent.name == "pre":
            # <pre><code class="language-x"> is a single pre entity with a language.
            parent.language = tag.argument
            return
        if length <= 0:
            return
        entity: dict[str, Any] = {
            "type": _ENTITY_TYPES[tag.name],
            "offset": tag.utf16_offset,
            "length": length,
        }
        if tag.name == "a":
            if not tag.argument:
                return
            if tag.argument.startswith("tg://user?id="):
                entity["type"] = "text_mention"
                entity["user"] = {"id": int(tag.argument.split("=", 1)[1] or 0)}
            else:
                entity["url"] = tag.argument
        elif tag.name == "pre" and tag.language:
            entity["language"] = tag.language
        elif tag.name == "tg-emoji":
            entity["custom_emoji_id"] = tag.argument
        elif tag.name == "blockquote" and tag.extra.get("expandable"):
            entity["type"] = "expandable_blockquote"
        self.entities.append(entity)


def parse_html(source: str, *, strict_ampersand: bool = True) -> tuple[str, list[dict[str, Any]]]:
    """Parse Telegram HTML into ``(plain_text, entities)``; raise :class:`HtmlParseError`.

    Real Telegram tolerates a bare ``&``; ``strict_ampersand`` (default) rejects it so the bot
    is forced to escape user content properly.
    """
    if "<" not in source and "&" not in source:
        return source, []
    return _Parser(source, strict_ampersand=strict_ampersand).parse()


def strip_message_text(
    text: str, entities: list[dict[str, Any]]
) -> tuple[str, list[dict[str, Any]]]:
    """Trim surrounding whitespace like Telegram does and shift entities accordingly."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    total = utf16_len(stripped)
    result = []
    for entity in entities:
        start = max(entity["offset"] - shift, 0)
        end = min(entity["offset"] + entity["length"] - shift, total)
        if end > start:
            result.append({**entity, "offset": start, "length": end - start})
    return stripped, result
