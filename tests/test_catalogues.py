"""The translations against texts.py and against Telegram: the check CI runs on the catalogues.

It fails when
- a message of texts.py is missing from a language's `.po` (absent, empty, fuzzy, a plural form
  left blank), a `.po` still holds a message texts.py no longer has, or `messages.pot` was not
  regenerated (`python -m bot.catalogues update`);
- a translation's `{placeholders}` differ from the English ones, or it cannot be formatted with
  the English fields;
- a translation breaks Telegram's HTML (as the emulator parses it for `parse_mode=HTML`), or its
  tags differ from the English ones, or a text shown as plain text (buttons, alerts, command
  menu, descriptions) holds markup that would show literally;
- a text in any language exceeds a Telegram limit for where it is used;
- a French text breaks French typography: an ordinary space (or none) where a no-break one
  belongs, before `: ; ? !` and `»`, after `«`, between a number and its unit; or a typewriter
  apostrophe `'` for `’` (code, addresses and placeholders aside: they are typed, not read);
- a translation words an idea otherwise than the glossary says (WORDINGS): a digest is a
  "récapitulatif" or a "boletín" and a summary a "résumé" or a "resumen", an item number is
  "#12", date hints are "AAAA-MM-JJ" / "AAAA-MM-DD", the Spanish bot says "Lo siento" and
  never "administrador/a".

The checks take a template catalogue, a translated catalogue and the uses of each message (which
variable of texts.py holds it, and where it is shown), and return a list of problems; the tests
at the end feed them small in-memory catalogues to show each problem is caught.
"""

from __future__ import annotations

import ast
import html
import re
import string
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot import catalogues, texts
from bot.db.models.news import CATEGORY_NAME_MAX
from bot.i18n import ENGLISH, LANGUAGES, Plural
from bot.texts import Command
from emulator.html import HtmlParseError, parse_html, utf16_len

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Role:
    """Where a text is shown, and what Telegram allows there (lengths in UTF-16 code units)."""

    what: str
    html: bool  # sent with parse_mode HTML; otherwise shown exactly as written
    limit: int | None
    minimum: int = 0
    fill: int = 0  # length of the worst-case value put in each placeholder when measuring


MESSAGE = Role("message", html=True, limit=4096)
COMMAND_DESCRIPTION = Role("command description", html=False, limit=256, minimum=1)
# shown in /help inside <code>, escaped; Telegram sets no limit, but a usage line should fit a
# phone's line or two
COMMAND_USAGE = Role("command usage", html=False, limit=64)
BOT_DESCRIPTION = Role("bot description", html=False, limit=512)
BOT_SHORT_DESCRIPTION = Role("bot short description", html=False, limit=120)
# answerCallbackQuery: 0-200 characters; every placeholder in an alert holds a name (a category's
# or a language's), so each is measured at the longest category name
ALERT = Role("callback answer", html=False, limit=200, fill=CATEGORY_NAME_MAX)
ALERT_NAME = Role("name put into a callback answer", html=False, limit=CATEGORY_NAME_MAX)
BUTTON = Role("button label", html=False, limit=64)
TERMINAL = Role("sandbox line", html=False, limit=None)

# The texts answered to a button press: `query.answer(_(texts.X))` in handlers (kept in step by
# test_alerts_are_the_texts_handlers_answer), and the error reply of handlers.common.on_error,
# which answers through a variable.
ALERTS = frozenset(
    {
        "BUTTON_EXPIRED",
        "NOT_ADMIN",
        "NO_MORE_ITEMS",
        "SEARCH_NO_MORE",
        "SUBSCRIBE_ADMINS_ONLY_ALERT",
        "DIGEST_ADMINS_ONLY_ALERT",
        "TIMEZONE_ADMINS_ONLY_ALERT",
        "SUBSCRIBE_TOGGLED_ON",
        "SUBSCRIBE_TOGGLED_OFF",
        "LANGUAGE_ADMINS_ONLY_ALERT",
        "LANGUAGE_SWITCHED",
        "NEWS_IN_ON",
        "NEWS_IN_OFF",
        "NEWS_IN_OTHERS_ON",
        "NEWS_IN_OTHERS_OFF",
        "NEWS_IN_LAST",
        "INTERNAL_ERROR",
        "STORE_UNAVAILABLE",
        "FILTER_ADMINS_ONLY_ALERT",
        "FILTER_BUTTON_STALE",
        "FILTER_CLEARED_ALERT",
        "FILTER_REMOVED_ALERT",
        "FORGET_ADMINS_ONLY_ALERT",
        "FORGET_STALE",
        # the review queue's buttons: `handlers.review.outcome_text` answers with these
        "REVIEW_EDITORS_ONLY",
        "EDITORS_ONLY_ALERT",  # handlers.admins.button_refusal
        "REVIEW_APPROVED_BY",
        "REVIEW_REJECTED_BY",
        "REVIEW_CHANGES_BY",
        "REVIEW_STALE",
        "REVIEW_UNKNOWN",
        "REVIEW_OWN_DRAFT",
        "REVIEW_NOTE_EMPTY",
        "REVIEW_NOTE_TOO_LONG",
        "REVIEW_LINK_TAKEN",
        "REVIEW_NOT_YOURS",
        "REVIEW_NOT_EDITABLE",
        "SUGGESTION_DISMISSED",
        "SUGGESTION_DRAFT_PRIVATE",
        "SUGGESTION_UNKNOWN",
    }
)
ALERT_NAMES = frozenset({"SUBSCRIBE_ALL_NAME"})  # the {name} of SUBSCRIBE_TOGGLED_ON/OFF
BUTTON_PIECES = frozenset({"SUBSCRIBE_CHECK"})  # the mark before a subscription button's label
ROLES_BY_NAME = {
    "BOT_DESCRIPTION": BOT_DESCRIPTION,
    "BOT_SHORT_DESCRIPTION": BOT_SHORT_DESCRIPTION,
}
# plain English for operators, never marked nor translated
OPERATOR_PREFIXES = ("CLI_", "STARTUP_", "IMPORT_")
OPERATOR_NAMES = frozenset({"WHEN_FORMAT_SHOWN", "NEWS_IN_CHECK"})


@dataclass(frozen=True)
class Use:
    name: str  # the variable of texts.py, e.g. WELCOME, PROBLEMS['bad_url']
    role: Role


Uses = Mapping[str, Sequence[Use]]  # by msgid (a plural's singular)


def role_of(name: str) -> Role:
    # before buttons: BUTTON_EXPIRED is an alert about a button, SANDBOX_NO_BUTTON a terminal line
    if name in ALERTS:
        return ALERT
    if name.startswith("SANDBOX_"):
        return TERMINAL
    if name.startswith("BUTTON_") or name.endswith("_BUTTON") or name in BUTTON_PIECES:
        return BUTTON
    if name in ALERT_NAMES:
        return ALERT_NAME
    return ROLES_BY_NAME.get(name, MESSAGE)


def is_operator_text(name: str) -> bool:
    return name.startswith(OPERATOR_PREFIXES) or name in OPERATOR_NAMES


def key(message_id: str | Sequence[str]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def text_uses() -> dict[str, list[Use]]:
    """Every text of texts.py by msgid, with the variable(s) holding it and where it is shown."""
    uses: dict[str, list[Use]] = defaultdict(list)

    def add(name: str, value: str | Plural, role: Role) -> None:
        uses[value.singular if isinstance(value, Plural) else value].append(Use(name, role))

    for name, value in vars(texts).items():
        if name.startswith("_") or not name.isupper() or is_operator_text(name):
            continue
        if isinstance(value, str | Plural):
            add(name, value, role_of(name))
        elif isinstance(value, dict):
            for field, text in value.items():
                if isinstance(text, str | Plural):
                    role = BUTTON if name == "FIELD_NAMES" else role_of(name)
                    add(f"{name}[{field!r}]", text, role)
        elif isinstance(value, tuple):
            for command in value:
                if isinstance(command, Command):
                    where = f"{name}[/{command.name}]"
                    add(f"{where}.description", command.description, COMMAND_DESCRIPTION)
                    if command.usage:
                        add(f"{where}.usage", command.usage, COMMAND_USAGE)
    return dict(uses)


# --- reading catalogues -------------------------------------------------------------------------


def forms_of(message: Message) -> tuple[str, ...]:
    string_ = message.string
    if isinstance(string_, tuple | list):
        return tuple(s or "" for s in string_)
    return (string_ or "",)


def english(template: Catalog) -> Catalog:
    """The source language as a catalogue, so English goes through the same checks."""
    catalog = Catalog(locale=ENGLISH)
    for message in template:
        if message.id:
            catalog.add(
                message.id, message.id if isinstance(message.id, str) else tuple(message.id)
            )
    return catalog


def label(message_id: str | Sequence[str], uses: Uses) -> str:
    names = ", ".join(use.name for use in uses.get(key(message_id), ())) or "(no variable)"
    short = key(message_id)
    short = short if len(short) <= 60 else short[:57] + "..."
    return f"{names} {short!r}"


def translated(template: Catalog, catalog: Catalog) -> Iterator[tuple[Message, tuple[str, ...]]]:
    """Each template message with its translated forms, if it is translated (else see
    check_complete)."""
    for wanted in template:
        if not wanted.id:
            continue
        found = catalog.get(wanted.id)
        if found is None or found.fuzzy or found.id != wanted.id:
            continue
        forms = forms_of(found)
        if all(forms):
            yield wanted, forms


def language_of(catalog: Catalog) -> str:
    return str(catalog.locale) if catalog.locale else "?"


# --- the checks ---------------------------------------------------------------------------------


def check_template(on_disk: Catalog, extracted: Catalog) -> list[str]:
    """messages.pot must hold exactly the messages of texts.py."""

    def ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
        return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}

    hint = "run `python -m bot.catalogues update`"
    problems = [
        f"messages.pot lacks {m!r}: {hint}" for m in sorted(ids(extracted) - ids(on_disk), key=str)
    ]
    problems += [
        f"messages.pot still has {m!r}, which texts.py no longer has: {hint}"
        for m in sorted(ids(on_disk) - ids(extracted), key=str)
    ]
    return problems


def check_complete(template: Catalog, catalog: Catalog, uses: Uses) -> list[str]:
    """Every message translated (no empty form, not fuzzy), and nothing else in the catalogue."""
    language = language_of(catalog)
    problems = []
    if catalog.locale is not None:
        cldr = len(catalog.locale.plural_form.tags) + 1  # "other" is implicit
        if catalog.num_plurals != cldr:
            problems.append(
                f"{language}: the header's Plural-Forms has {catalog.num_plurals} forms, "
                f"CLDR has {cldr}"
            )
    for wanted in template:
        if not wanted.id:
            continue
        where = f"{language} {label(wanted.id, uses)}"
        found = catalog.get(wanted.id)
        if found is None:
            problems.append(f"{where}: missing")
            continue
        if found.id != wanted.id:
            problems.append(f"{where}: the catalogue has it as {found.id!r}, not {wanted.id!r}")
            continue
        if found.fuzzy:
            problems.append(f"{where}: fuzzy (counts as untranslated)")
            continue
        forms = forms_of(found)
        if wanted.pluralizable and len(forms) != catalog.num_plurals:
            problems.append(f"{where}: {len(forms)} plural forms, needs {catalog.num_plurals}")
        empty = [i for i, form in enumerate(forms) if not form]
        if empty and wanted.pluralizable:
            problems.append(f"{where}: plural form(s) {empty} untranslated")
        elif empty:
            problems.append(f"{where}: untranslated (empty)")
    for found in catalog:
        if found.id and template.get(found.id) is None:
            problems.append(f"{language} {found.id!r}: not in texts.py (any more); remove it")
    for obsolete in catalog.obsolete.values():
        problems.append(f"{language} {obsolete.id!r}: obsolete entry left in the catalogue")
    return problems


_FORMATTER = string.Formatter()


def fields(text: str) -> set[str]:
    """The `{name}` fields of a format string (ValueError if it is not one)."""
    return {name for _, name, _, _ in _FORMATTER.parse(text) if name is not None}


def fill(text: str, value: Callable[[str], str]) -> str:
    """`text` with each placeholder replaced by `value(name)` (unchanged if not a format)."""
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError:
        return text
    return "".join(
        literal + (value(name) if name is not None else "") for literal, name, *_ in parts
    )


def check_placeholders(template: Catalog, catalog: Catalog, uses: Uses) -> list[str]:
    """Each translation (each plural form) has exactly the English fields, and formats."""
    language = language_of(catalog)
    problems = []
    for wanted, forms in translated(template, catalog):
        sources = (wanted.id,) if isinstance(wanted.id, str) else tuple(wanted.id)
        wanted_fields = set().union(*(fields(source) for source in sources))
        dummies = {name: "x" for name in wanted_fields}
        for i, form in enumerate(forms):
            where = f"{language} {label(wanted.id, uses)}"
            where += f" plural form {i}" if wanted.pluralizable else ""
            try:
                found_fields = fields(form)
            except ValueError as error:
                problems.append(f"{where}: not a valid format string ({error}): {form!r}")
                continue
            if found_fields != wanted_fields:
                lacking = ", ".join(f"{{{f}}}" for f in sorted(wanted_fields - found_fields))
                unknown = ", ".join(f"{{{f}}}" for f in sorted(found_fields - wanted_fields))
                said = "; ".join(
                    part
                    for part in (
                        f"lacks {lacking}" if lacking else "",
                        f"has {unknown}, which English does not" if unknown else "",
                    )
                    if part
                )
                problems.append(f"{where}: {said}: {form!r}")
            try:
                form.format(**dummies)
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as error:
                problems.append(
                    f"{where}: cannot be formatted with the English fields "
                    f"({type(error).__name__}: {error}): {form!r}"
                )
    return problems


# a start or end tag as Telegram reads it; only run on text that parsed
_TAG = re.compile(r"""<(/?)([^\s/>]*)(?:[^>"']|"[^"]*"|'[^']*')*>""")
# markup that a plain-text field would show as typed
_MARKUP = re.compile(r"</?[a-zA-Z][^>]*>|&(?:#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);")


def tags(html: str) -> list[str]:
    """The tag names in order, end tags as "/name" (of the tag they close: Telegram accepts
    "</>")."""
    sequence: list[str] = []
    open_tags: list[str] = []
    for match in _TAG.finditer(html):
        if match.group(1):
            sequence.append("/" + (open_tags.pop() if open_tags else match.group(2).lower()))
        else:
            open_tags.append(match.group(2).lower())
            sequence.append(open_tags[-1])
    return sequence


def check_html(template: Catalog, catalog: Catalog, uses: Uses) -> list[str]:
    """HTML texts parse as Telegram parses them and keep the English tags; plain texts hold no
    markup."""
    language = language_of(catalog)
    problems = []
    for wanted, forms in translated(template, catalog):
        roles = [use.role for use in uses.get(key(wanted.id), ())] or [MESSAGE]
        source = key(wanted.id)
        try:
            parse_html(fill(source, lambda _: "x"))
            english_tags: list[str] | None = tags(fill(source, lambda _: "x"))
        except HtmlParseError:
            english_tags = None  # reported when English itself is checked
        for i, form in enumerate(forms):
            where = f"{language} {label(wanted.id, uses)}"
            where += f" plural form {i}" if wanted.pluralizable else ""
            filled = fill(form, lambda _: "x")
            if any(role.html for role in roles):
                try:
                    parse_html(filled)
                except HtmlParseError as error:
                    problems.append(f"{where}: Telegram would reject the HTML ({error}): {form!r}")
                else:
                    found_tags = tags(filled)
                    if english_tags is not None and found_tags != english_tags:
                        problems.append(
                            f"{where}: tags {found_tags} differ from English {english_tags}: "
                            f"{form!r}"
                        )
            if not all(role.html for role in roles) and (markup := _MARKUP.search(form)):
                problems.append(
                    f"{where}: shown as plain text, so {markup.group()!r} would show as typed: "
                    f"{form!r}"
                )
    return problems


def check_limits(template: Catalog, catalog: Catalog, uses: Uses) -> list[str]:
    """Each text fits where it is shown, with placeholders removed (or, where a role says so,
    holding a worst-case value)."""
    language = language_of(catalog)
    problems = []
    for wanted, forms in translated(template, catalog):
        for use in uses.get(key(wanted.id), ()) or [Use("(no variable)", MESSAGE)]:
            role = use.role
            if role.limit is None and not role.minimum:
                continue
            for i, form in enumerate(forms):
                text = fill(form, lambda _, role=role: "W" * role.fill)
                if role.html:
                    try:
                        text, _ = parse_html(text)
                    except HtmlParseError:
                        continue  # check_html reports it
                length = utf16_len(text.strip())
                where = f"{language} {use.name} {key(wanted.id)[:60]!r}"
                where += f" plural form {i}" if wanted.pluralizable else ""
                worst = f" with each placeholder {role.fill} characters long" if role.fill else ""
                if role.limit is not None and length > role.limit:
                    problems.append(
                        f"{where}: as a {role.what} it is {length} characters{worst}; "
                        f"Telegram allows {role.limit}: {form!r}"
                    )
                if length < role.minimum:
                    problems.append(
                        f"{where}: as a {role.what} it needs at least {role.minimum} character"
                    )
    return problems


# French: a no-break space before the high marks and », after «, between a number and its unit;
# either width will do (U+202F, the narrow one, or U+00A0)
NO_BREAK = "\u202f\u00a0"
_VERBATIM = re.compile(r"<code>.*?</code>|\{[^{}]*\}|https?://[^\s<]*", re.S)
_OBJECT = "\ufffc"  # where something typed (code, an address, a placeholder) stood
_HIGH_MARK = re.compile(r"[:;?!»«]")
_UNIT = re.compile(
    rf"(?:\d|{_OBJECT})( )(?:s|min|h|ms|[kKMGT]o|%|heures?|minutes?|secondes?|jours?|semaines?)"
    r"(?![\w’'])"  # "{name} s’appelle" is an elision, not seconds
)


def prose(text: str) -> str:
    """What a reader reads as running text: code, addresses and placeholders each become one
    object character, tags go, entities are read."""
    return html.unescape(_TAG.sub("", _VERBATIM.sub(_OBJECT, text)))


def french_typography(text: str) -> list[str]:
    """What French typography finds wrong in a text, each said once per kind."""
    read = prose(text)
    found: dict[str, None] = {}
    for match in _HIGH_MARK.finditer(read):
        mark, at = match.group(), match.start()
        before, after = read[at - 1 : at], read[at + 1 : at + 2]
        if before.isalnum() and after.isalnum():
            continue  # a time or a form: 08:00, HH:MM
        space = after if mark == "«" else before
        if space and space in NO_BREAK:
            continue
        if mark in "?!" and before and before in "?!":
            continue  # "?!" takes one space, before the first
        side = "after" if mark == "«" else "before"
        kind = "an ordinary space" if space == " " else "no space"
        found[f"{kind} {side} '{mark}' (a no-break one belongs there)"] = None
    if _UNIT.search(read):
        found["an ordinary space between a number and its unit"] = None
    if "'" in read:
        found["a typewriter apostrophe ' (French writes ’)"] = None
    return list(found)


TYPOGRAPHY: dict[str, Callable[[str], list[str]]] = {"fr": french_typography}


def check_typography(template: Catalog, catalog: Catalog, uses: Uses) -> list[str]:
    """Each translation follows its language's typography (French so far)."""
    language = language_of(catalog)
    rules = TYPOGRAPHY.get(language)
    if rules is None:
        return []
    problems = []
    for wanted, forms in translated(template, catalog):
        for i, form in enumerate(forms):
            where = f"{language} {label(wanted.id, uses)}"
            where += f" plural form {i}" if wanted.pluralizable else ""
            problems += [f"{where}: {found}: {form!r}" for found in rules(form)]
    return problems


@dataclass(frozen=True)
class Wording:
    """Where the English says `english` (None: in every message), the `language` ("*": every
    translation) says `wanted` and never `unwanted`. Words are looked for in the prose (code,
    commands, addresses and placeholders aside); with `in_code`, in the whole text."""

    language: str
    english: str | None
    wanted: str | None
    unwanted: str | None
    why: str
    in_code: bool = False


WORDINGS = (
    Wording("fr", r"\bdigests?\b", "récapitulatif", "résumé", "a digest is a récapitulatif"),
    Wording("fr", r"\bsummary\b", "résumé", "récapitulatif", "a résumé is an item's summary"),
    Wording("es", r"\bdigests?\b", "bolet[ií]n", "res[uú]men", "a digest is a boletín"),
    Wording("es", r"\bsummary\b", "res[uú]men", "bolet[ií]n", "a resumen is an item's summary"),
    Wording("*", r"#\{id\}", r"#\{id\}", r"\bn\.?\s?[°º]", "item numbers read #12", True),
    Wording("fr", "YYYY-MM-DD", "AAAA-MM-JJ", "YYYY", "French dates read AAAA-MM-JJ", True),
    Wording("es", "YYYY-MM-DD", "AAAA-MM-DD", "YYYY", "Spanish dates read AAAA-MM-DD", True),
    Wording("es", None, None, r"\bLo sentimos\b", "the bot speaks as I: Lo siento"),
    Wording("es", None, None, r"\w/as?\b", "no o/a: permisos de administración, cuentas…"),
)
_COMMAND = re.compile(r"(?<!\w)/[a-z_]+")


def check_wording(template: Catalog, catalog: Catalog, uses: Uses) -> list[str]:
    """One word per idea, as WORDINGS has it."""
    language = language_of(catalog)
    wordings = [w for w in WORDINGS if w.language in ("*", language)]
    problems = []
    for wanted, forms in translated(template, catalog):
        source = key(wanted.id)
        for wording in wordings:
            english = source if wording.in_code else _COMMAND.sub(_OBJECT, prose(source))
            if wording.english and not re.search(wording.english, english, re.IGNORECASE):
                continue
            for i, form in enumerate(forms):
                text = form if wording.in_code else _COMMAND.sub(_OBJECT, prose(form))
                where = f"{language} {label(wanted.id, uses)}"
                where += f" plural form {i}" if wanted.pluralizable else ""
                if wording.unwanted and (bad := re.search(wording.unwanted, text, re.I)):
                    problems.append(f"{where}: {bad.group()!r} ({wording.why}): {form!r}")
                elif wording.wanted and not re.search(wording.wanted, text, re.IGNORECASE):
                    problems.append(f"{where}: lacks {wording.wanted!r} ({wording.why}): {form!r}")
    return problems


def report(problems: list[str]) -> str:
    return f"{len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)


# --- the real catalogues ------------------------------------------------------------------------


@cache
def template() -> Catalog:
    return catalogues.extract()


@cache
def uses() -> dict[str, list[Use]]:
    return text_uses()


def catalogue(language: str) -> Catalog:
    return english(template()) if language == ENGLISH else catalogues.read(language)


def test_messages_pot_is_up_to_date():
    with catalogues.TEMPLATE.open("rb") as pot:
        on_disk = read_po(pot)
    problems = check_template(on_disk, template())
    assert not problems, report(problems)


def test_every_marked_message_is_a_variable_of_texts():
    marked = {key(m.id) for m in template() if m.id}
    named = set(uses())
    problems = [f"marked in texts.py but held by no variable: {m!r}" for m in marked - named]
    problems += [
        f"{', '.join(u.name for u in uses()[m])}: not marked with N_/NP_ (or, if it is for "
        f"operators, list it in OPERATOR_NAMES): {m!r}"
        for m in named - marked
    ]
    assert not problems, report(sorted(problems))


def test_alerts_are_the_texts_handlers_answer():
    """ALERTS lists every text handlers pass to `query.answer(...)`."""
    answered = set()
    for path in sorted((ROOT / "handlers").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "answer":
                for argument in (*node.args, *(k.value for k in node.keywords)):
                    for inner in ast.walk(argument):
                        if (
                            isinstance(inner, ast.Attribute)
                            and isinstance(inner.value, ast.Name)
                            and inner.value.id == "texts"
                        ):
                            answered.add(inner.attr)
    assert answered, "no query.answer(texts.…) found: has the handlers' code moved?"
    assert answered <= ALERTS, f"add to ALERTS: {sorted(answered - ALERTS)}"
    assert all(hasattr(texts, name) for name in ALERTS | ALERT_NAMES | BUTTON_PIECES)


@pytest.mark.parametrize("language", catalogues.TRANSLATED)
def test_catalogue_is_complete(language: str):
    problems = check_complete(template(), catalogue(language), uses())
    assert not problems, report(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_english(language: str):
    problems = check_placeholders(template(), catalogue(language), uses())
    assert not problems, report(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_html_is_valid_and_keeps_the_english_tags(language: str):
    problems = check_html(template(), catalogue(language), uses())
    assert not problems, report(problems)


@pytest.mark.parametrize("language", LANGUAGES)
def test_texts_fit_telegram_limits(language: str):
    problems = check_limits(template(), catalogue(language), uses())
    assert not problems, report(problems)


@pytest.mark.parametrize("language", catalogues.TRANSLATED)
def test_typography_of_each_language(language: str):
    problems = check_typography(template(), catalogue(language), uses())
    assert not problems, report(problems)


@pytest.mark.parametrize("language", catalogues.TRANSLATED)
def test_one_word_per_idea(language: str):
    problems = check_wording(template(), catalogue(language), uses())
    assert not problems, report(problems)


# --- each check can fail ------------------------------------------------------------------------

SMALL_USES: dict[str, list[Use]] = {
    "Hello {name}": [Use("HELLO", MESSAGE)],
    "<b>Welcome</b>, {name}": [Use("WELCOME", MESSAGE)],
    "Send <code>/add</code> to publish.": [Use("ADD_HINT", MESSAGE)],
    "Following {name}": [Use("TOGGLED_ON", ALERT)],
    "{n} item": [Use("ITEMS", MESSAGE)],
    "Bye": [Use("BYE", MESSAGE)],
    "Done": [Use("DONE_BUTTON", BUTTON)],
}


def small_template() -> Catalog:
    catalog = Catalog()
    for message in SMALL_USES:
        catalog.add(("{n} item", "{n} items") if message == "{n} item" else message)
    return catalog


def small_french(**strings: str | tuple[str, ...]) -> Catalog:
    """A French catalogue, correct unless a message is overridden (by variable name)."""
    correct = {
        "HELLO": ("Hello {name}", "Bonjour {name}"),
        "WELCOME": ("<b>Welcome</b>, {name}", "<b>Bienvenue</b>, {name}"),
        "ADD_HINT": (
            "Send <code>/add</code> to publish.",
            "Envoyez <code>/add</code> pour publier.",
        ),
        "TOGGLED_ON": ("Following {name}", "Vous suivez {name}"),
        "ITEMS": (("{n} item", "{n} items"), ("{n} article", "{n} d’articles", "{n} articles")),
        "BYE": ("Bye", "Au revoir"),
        "DONE_BUTTON": ("Done", "Terminé"),
    }
    catalog = Catalog(locale="fr")
    for name, (message_id, text) in correct.items():
        catalog.add(message_id, strings.get(name, text))
    return catalog


def test_correct_small_catalogue_has_no_problems():
    # so that the problems found below come from what each test broke
    checks = (
        check_complete,
        check_placeholders,
        check_html,
        check_limits,
        check_typography,
        check_wording,
    )
    for check in checks:
        assert check(small_template(), small_french(), SMALL_USES) == [], check.__name__
    assert check_template(small_template(), small_template()) == []


def test_missing_fuzzy_empty_and_extra_messages_are_reported():
    french = small_french(ITEMS=("{n} article", "", "{n} articles"))
    del french["Bye"]
    french.add("Done", "Terminé", flags=["fuzzy"])
    french.add("Gone from texts.py", "Disparu")
    problems = check_complete(small_template(), french, SMALL_USES)
    assert any("fr BYE" in p and "missing" in p for p in problems), problems
    assert any("fr DONE_BUTTON" in p and "fuzzy" in p for p in problems), problems
    assert any("fr ITEMS" in p and "[1] untranslated" in p for p in problems), problems
    assert any("Gone from texts.py" in p and "not in texts.py" in p for p in problems), problems
    assert len(problems) == 4, problems


def test_a_stale_template_is_reported():
    old = small_template()
    old.add("Removed long ago")
    del old["Bye"]
    problems = check_template(old, small_template())
    assert any("lacks 'Bye'" in p for p in problems), problems
    assert any("still has 'Removed long ago'" in p for p in problems), problems


def test_a_renamed_or_dropped_placeholder_is_reported():
    french = small_french(
        HELLO="Bonjour {nom}", ITEMS=("{n} article", "un article", "{n} articles")
    )
    problems = check_placeholders(small_template(), french, SMALL_USES)
    assert any("fr HELLO" in p and "lacks {name}" in p and "has {nom}" in p for p in problems), (
        problems
    )
    assert any("fr HELLO" in p and "cannot be formatted" in p for p in problems), problems
    assert any("ITEMS" in p and "plural form 1" in p and "lacks {n}" in p for p in problems)
    assert len(problems) == 3, problems


def test_a_broken_format_string_is_reported():
    problems = check_placeholders(small_template(), small_french(HELLO="Bonjour {name"), SMALL_USES)
    assert any("fr HELLO" in p and "not a valid format string" in p for p in problems), problems


def test_broken_or_changed_html_is_reported():
    french = small_french(
        WELCOME="<b>Bienvenue, {name}",  # never closed
        ADD_HINT="Envoyez /add pour publier.",  # <code> dropped
        HELLO="Bonjour <i>{name}</i>",  # <i> added
    )
    problems = check_html(small_template(), french, SMALL_USES)
    assert any("fr WELCOME" in p and "reject" in p and '"b"' in p for p in problems), problems
    assert any("fr ADD_HINT" in p and "tags [] differ" in p for p in problems), problems
    assert any("fr HELLO" in p and "'i', '/i'" in p for p in problems), problems
    assert len(problems) == 3, problems


@pytest.mark.parametrize(
    ("translation", "reason"),
    [
        ("Bonjour {name} <3", "Unsupported start tag"),
        ("Bonjour {name} & co", 'Character "&" must be escaped'),
        ("Bonjour {name} &nbsp;", 'Character "&" must be escaped'),  # Telegram knows 4 names
        ("<b>Bonjour</i> {name}", "Unmatched end tag"),
    ],
)
def test_unescaped_less_than_and_ampersand_are_reported(translation: str, reason: str):
    problems = check_html(small_template(), small_french(HELLO=translation), SMALL_USES)
    assert len(problems) == 1 and reason in problems[0], problems


def test_escaped_characters_pass():
    french = small_french(HELLO="Bonjour {name} &lt;3 &amp; co &#x1F600;")
    assert check_html(small_template(), french, SMALL_USES) == []


def test_markup_in_plain_text_is_reported():
    french = small_french(TOGGLED_ON="Vous suivez <b>{name}</b>", DONE_BUTTON="Fini &amp; fermé")
    problems = check_html(small_template(), french, SMALL_USES)
    assert any("fr TOGGLED_ON" in p and "'<b>'" in p for p in problems), problems
    assert any("fr DONE_BUTTON" in p and "'&amp;'" in p for p in problems), problems
    assert len(problems) == 2, problems


def test_texts_over_telegram_limits_are_reported():
    # 150 characters fit an alert, but not once {name} holds a 64-character category name
    long_alert = "Vous suivez maintenant, dans cette discussion, " + "é" * 102 + " {name}"
    assert len(fill(long_alert, lambda _: "")) == 150
    french = small_french(
        TOGGLED_ON=long_alert,
        DONE_BUTTON="T" * 65,
        HELLO="<b>" + "😀" * 2049 + "</b> {name}",  # 4098 UTF-16 code units once parsed
    )
    problems = check_limits(small_template(), french, SMALL_USES)
    assert any(
        "fr TOGGLED_ON" in p and "callback answer" in p and "allows 200" in p for p in problems
    ), problems
    assert any("fr DONE_BUTTON" in p and "65 characters" in p for p in problems), problems
    assert any("fr HELLO" in p and "4098 characters" in p for p in problems), problems
    assert len(problems) == 3, problems


@pytest.mark.parametrize(
    ("translation", "found"),
    [
        ("Bonjour {name} !", "an ordinary space before '!'"),
        ("Bonjour, {name}\u00a0! Ça va ?", "an ordinary space before '?'"),
        ("Bonjour {name}; à bientôt", "no space before ';'"),
        ("Bonjour : {name}", "an ordinary space before ':'"),
        ("Bonjour «\u00a0{name} »", "an ordinary space before '»'"),
        ("Bonjour « {name}\u202f»", "an ordinary space after '«'"),
        ("<b>Bonjour</b> : {name}", "an ordinary space before ':'"),  # the tag is not a space
        ("Bonjour {name}, vous avez 5 Mo", "an ordinary space between a number and its unit"),
        ("Bonjour {name}, envoyé en {name} min", "between a number and its unit"),
        ("Bonjour {name}, c'est parti", "a typewriter apostrophe"),
        ("? Bonjour {name}", "no space before '?'"),
    ],
)
def test_french_typography_is_checked(translation: str, found: str):
    problems = check_typography(small_template(), small_french(HELLO=translation), SMALL_USES)
    assert len(problems) == 1 and "fr HELLO" in problems[0] and found in problems[0], problems


def test_typed_text_keeps_its_own_spacing():
    french = small_french(
        HELLO="Bonjour {name}\u202f! À 08:00, au format HH:MM\u00a0: https://coop.example/a?b",
        ADD_HINT="Envoyez <code>/digest weekly lun 08:00 ; l'heure ?</code> pour publier.",
        ITEMS=("{n}\u202farticle", "{n} d’articles", "{n} articles"),
    )
    assert check_typography(small_template(), french, SMALL_USES) == []
    # English and Spanish have no such rules (yet)
    spanish = Catalog(locale="es")
    spanish.add("Hello {name}", "¡Hola {name}!")
    assert check_typography(small_template(), spanish, SMALL_USES) == []


def _wording_catalogues(language: str, strings: dict[str, str]) -> tuple[Catalog, Catalog]:
    template_, catalog = Catalog(), Catalog(locale=language)
    for english, translation in strings.items():
        template_.add(english)
        catalog.add(english, translation)
    return template_, catalog


def test_a_word_off_the_glossary_is_reported():
    template_, french = _wording_catalogues(
        "fr",
        {
            "📬 Your digest": "📬 Votre résumé",
            "Send a short summary.": "Envoyez un court récapitulatif.",
            "Published as #{id}.": "Publié sous le n° {id}.",
            "Write <code>YYYY-MM-DD</code>.": "Écrivez <code>YYYY-MM-DD</code>.",
            "Change it with /digest.": "Modifiez-le avec /digest.",  # the command is no word
        },
    )
    problems = check_wording(template_, french, {})
    assert any("'résumé' (a digest is a récapitulatif)" in p for p in problems), problems
    assert any("'récapitulatif' (a résumé is an item" in p for p in problems), problems
    assert any("'n°' (item numbers read #12)" in p for p in problems), problems
    assert any("'YYYY' (French dates read AAAA-MM-JJ)" in p for p in problems), problems
    assert len(problems) == 4, problems
    template_, spanish = _wording_catalogues(
        "es",
        {
            "Sorry, this item is gone.": "Lo sentimos, esta noticia ya no existe.",
            "{user_id} is now an admin.": "{user_id} ahora es administrador/a.",
            "📬 Your digest": "📬 Su boletín",
        },
    )
    problems = check_wording(template_, spanish, {})
    assert any("'Lo sentimos'" in p for p in problems), problems
    assert any("'r/a'" in p for p in problems), problems
    assert len(problems) == 2, problems


def test_the_glossary_words_pass():
    template_, french = _wording_catalogues(
        "fr",
        {
            "📬 Your digest": "📬 Votre récapitulatif",
            "Send a short summary.": "Envoyez un court résumé.",
            "Published as #{id}.": "Publié comme article #{id}.",
            "Write <code>YYYY-MM-DD</code>.": "Écrivez <code>AAAA-MM-JJ</code>.",
        },
    )
    assert check_wording(template_, french, {}) == []


def test_an_empty_command_description_is_reported():
    template_ = Catalog()
    template_.add("Newest co-op news")
    french = Catalog(locale="fr")
    french.add("Newest co-op news", " ")
    description = {"Newest co-op news": [Use("COMMANDS[/latest].description", COMMAND_DESCRIPTION)]}
    problems = check_limits(template_, french, description)
    assert len(problems) == 1 and "at least 1" in problems[0], problems


def test_the_roles_of_real_texts():
    # the limits above only help if each text is measured where it is shown
    roles = {use.name: use.role for found in uses().values() for use in found}
    assert roles["BUTTON_EXPIRED"] is ALERT
    assert roles["BUTTON_PUBLISH"] is BUTTON
    assert roles["SANDBOX_NO_BUTTON"] is TERMINAL
    assert roles["SUBSCRIBE_CHECK"] is BUTTON
    assert roles["MORE_BUTTON"] is BUTTON
    assert roles["FIELD_NAMES['title']"] is BUTTON
    assert roles["COMMANDS[/latest].description"] is COMMAND_DESCRIPTION
    assert roles["COMMANDS[/latest].usage"] is COMMAND_USAGE
    assert roles["BOT_SHORT_DESCRIPTION"] is BOT_SHORT_DESCRIPTION
    assert roles["WELCOME"] is MESSAGE
    assert roles["PROBLEMS['bad_url']"] is MESSAGE
    assert not any(name.startswith(OPERATOR_PREFIXES) for name in roles)
