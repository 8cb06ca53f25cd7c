"""The bot's languages: English, French and Spanish, from gettext catalogues in `bot/locales`.

Texts are written once, in English, in `bot/texts.py`, and marked there with `N_` (one
message) or `NP_` (a message with plural forms). They are translated when used, by a
`Translator` for one language: `tr(texts.WELCOME, name=…)`, `tr.plural(texts.ITEMS, n)`,
`tr.date(moment, tz)`.

Which language an update is answered in is a context variable, set once per update (by the
chat-remembering handler that runs before all others) and read with `current()`; concurrent
updates each run in their own context and never share it. Code that speaks to someone other
than the update's chat (deliveries, reports to admins) takes a `Translator` explicitly.

The `.po` files are read and compiled in memory at start-up (about 40 ms for both, against
about 1.8 s to import the bot), so the repository carries no build artefact and a fresh
checkout runs as it is.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import cache
from pathlib import Path
from typing import Any

from babel import Locale, localedata
from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

LOCALES_DIR = Path(__file__).with_name("locales")
DOMAIN = "messages"

ENGLISH = "en"
# the interface languages, in the order the /language keyboard shows them
LANGUAGES: tuple[str, ...] = ("en", "fr", "es")
# each language by its own name: a reader who does not understand the current one finds theirs
LANGUAGE_NAMES = {"en": "English", "fr": "Français", "es": "Español"}


# the choices of /language's "News in": the three languages, and every other one together
OTHER_LANGUAGES = "other"
NEWS_CHOICES: tuple[str, ...] = (*LANGUAGES, OTHER_LANGUAGES)


def news_choice(item_language: str) -> str:
    """The "News in" choice that lets an item in `item_language` through."""
    return item_language if item_language in LANGUAGES else OTHER_LANGUAGES


def encode_news_choices(choices: frozenset[str] | None) -> str | None:
    """As stored: ",en,es," (delimited, so a LIKE on ",en," matches one choice); None = all."""
    if choices is None or set(NEWS_CHOICES) <= choices:
        return None
    return "," + ",".join(c for c in NEWS_CHOICES if c in choices) + ","


def decode_news_choices(stored: str | None) -> frozenset[str] | None:
    if not stored:
        return None
    return frozenset(c for c in stored.split(",") if c in NEWS_CHOICES)


def N_(message: str) -> str:  # the gettext convention extractors look for
    """Marks a message for extraction; it is translated where it is used."""
    return message


@dataclass(frozen=True, slots=True)
class Plural:
    singular: str
    plural: str


def NP_(singular: str, plural: str) -> Plural:
    """Marks a message with plural forms; `Translator.plural` picks the form for a number."""
    return Plural(singular, plural)


def negotiate(language_code: str | None) -> str:
    """The interface language for a Telegram app's `language_code` ("fr-CA" → "fr")."""
    primary = (language_code or "").replace("_", "-").split("-", 1)[0].strip().lower()
    return primary if primary in LANGUAGES else ENGLISH


def supported(language: str) -> str:
    return language if language in LANGUAGES else ENGLISH


@cache
def _known_item_languages() -> frozenset[str]:
    return frozenset(
        code
        for code in translator(ENGLISH)._locale.languages
        if isinstance(code, str) and len(code) == 2
    )


# what of CLDR's data for a language the bot uses: month names (dates), number symbols and
# formats (numbers), language names; the rest of it (about 2 MB a language: territories,
# time zones, units, calendars…) is not kept
_LOCALE_KEYS = ("months", "number_symbols", "decimal_formats", "languages")


def _lean_locale(language: str) -> Locale:
    """`language`'s babel Locale holding only `_LOCALE_KEYS` of its data. Babel keeps every
    locale it has loaded, whole, for the process's life (`localedata` caches); it is read
    once here and those caches are emptied, so the full data is freed."""
    locale = Locale.parse(language)
    full = localedata.load(str(locale))
    lean: dict[str | int | None, Any] = {key: full[key] for key in _LOCALE_KEYS if key in full}
    locale._Locale__data = localedata.LocaleDataDict(lean)  # type: ignore[attr-defined]
    localedata.clear_caches()
    return locale


def is_language_code(code: str) -> bool:
    """An ISO 639-1 code (two letters) that CLDR knows: what an item's language may be."""
    return code in _known_item_languages()


class Translator:
    """Everything language-dependent for one language: messages, plurals, dates, numbers."""

    __slots__ = ("_catalogue", "_locale", "language")

    def __init__(self, language: str, catalogue: gettext.NullTranslations) -> None:
        self.language = language
        self._locale = _lean_locale(language)
        self._catalogue = catalogue

    def __repr__(self) -> str:
        return f"Translator({self.language!r})"

    def __call__(self, message: str, /, **values: object) -> str:
        text = self._catalogue.gettext(message)
        return text.format(**values) if values else text

    def plural(self, message: Plural, n: int, /, **values: object) -> str:
        """The form of `message` for `n`; `{n}` in it is the number written the local way."""
        text = self._catalogue.ngettext(message.singular, message.plural, n)
        return text.format(n=self.number(n), **values)

    def number(self, n: float) -> str:
        """12,345 / 12 345 / 12.345; 2.5 / 2,5."""
        if type(n) is int and 0 <= n < 1000:
            return str(n)  # no separator to place: the same in every language we speak
        return format_decimal(n, locale=self._locale)

    def date(self, moment: datetime, tz: tzinfo) -> str:
        """A day as readers of this language write it: 28 Nov 2017, 28 nov. 2017…"""
        return format_datetime(_aware(moment), "d MMM y", tzinfo=tz, locale=self._locale)

    def date_time(self, moment: datetime, tz: tzinfo) -> str:
        return format_datetime(_aware(moment), "d MMM y, HH:mm", tzinfo=tz, locale=self._locale)

    def language_name(self, code: str) -> str:
        """An item language's name in this language ("fr" → "French", "francés"…)."""
        name = self._locale.languages.get(code)
        return name if name else code


def _aware(moment: datetime) -> datetime:
    # A naive datetime would be read as the server's local time: refuse it instead.
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a naive datetime cannot be shown in a time zone: {moment!r}")
    return moment


def _load(language: str) -> gettext.NullTranslations:
    if language == ENGLISH:
        return gettext.NullTranslations()  # the messages are written in English
    path = LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    with path.open("rb") as po:
        catalogue = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # fuzzy entries are left out, as msgfmt would
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


@cache
def translator(language: str) -> Translator:
    """The translator for an interface language (anything else gets English)."""
    language = supported(language)
    return Translator(language, _load(language))


def load_all() -> None:
    """Read every catalogue now (at start-up), so a broken one stops the bot early."""
    for language in LANGUAGES:
        translator(language)


_current: ContextVar[Translator] = ContextVar("coopbot_translator")


def current() -> Translator:
    """The language of the update being handled (English outside of any update)."""
    found = _current.get(None)
    return found if found is not None else translator(ENGLISH)


def use(language: str) -> None:
    """Answer the rest of this update (this context) in `language`."""
    _current.set(translator(language))


@contextmanager
def speaking(language: str) -> Iterator[Translator]:
    """Within the block, `current()` is `language`: for jobs that write to one chat."""
    token = _current.set(translator(language))
    try:
        yield token.var.get()
    finally:
        _current.reset(token)


def _(message: str, /, **values: object) -> str:
    """`message` in the current update's language, with `values` filled in."""
    return current()(message, **values)
