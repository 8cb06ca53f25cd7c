"""Keeping the translation catalogues in step with `bot/texts.py`.

    python -m bot.catalogues update   # after changing texts.py: refresh messages.pot and
                                      # merge it into each language's messages.po
    python -m bot.catalogues status   # what each catalogue still lacks

New or changed messages arrive in the `.po` files untranslated (or fuzzy, which counts as
untranslated); the test suite fails until every one is translated (tests/test_catalogues.py).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po, write_po

from bot import i18n

TEXTS = Path(__file__).with_name("texts.py")
TEMPLATE = i18n.LOCALES_DIR / f"{i18n.DOMAIN}.pot"
KEYWORDS = {"N_": None, "NP_": (1, 2)}
TRANSLATED = tuple(language for language in i18n.LANGUAGES if language != i18n.ENGLISH)


def po_path(language: str) -> Path:
    return i18n.LOCALES_DIR / language / "LC_MESSAGES" / f"{i18n.DOMAIN}.po"


def extract() -> Catalog:
    """Every message marked in texts.py, in order of appearance."""
    catalog = Catalog(project="Co-op News Bot", domain=i18n.DOMAIN, charset="utf-8")
    for lineno, message, comments, context in extract_from_file(
        "python", str(TEXTS), keywords=KEYWORDS, comment_tags=("TRANSLATORS:",)
    ):
        catalog.add(
            message,
            locations=[("bot/texts.py", lineno)],
            auto_comments=comments,
            context=context,
        )
    return catalog


def read(language: str) -> Catalog:
    with po_path(language).open("rb") as po:
        return read_po(po, locale=language)


def _write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        write_po(out, catalog, width=100, include_lineno=False, ignore_obsolete=True)


def update() -> None:
    template = extract()
    _write(template, TEMPLATE)
    for language in TRANSLATED:
        path = po_path(language)
        if path.exists():
            catalog = read(language)
            catalog.update(template, update_header_comment=False)
        else:
            catalog = Catalog(
                locale=language,
                project="Co-op News Bot",
                domain=i18n.DOMAIN,
                copyright_holder="Co-op News Bot contributors",
                last_translator="Co-op News Bot team",
                language_team=f"Co-op News Bot {language}",
            )
            catalog.update(template)
        # a fuzzy header would be left out of the compiled catalogue, and its plural rule too
        catalog.fuzzy = False
        _write(catalog, path)


def untranslated(catalog: Catalog, template: Catalog) -> Iterator[Message]:
    for wanted in template:
        if not wanted.id:
            continue
        found = catalog.get(wanted.id, wanted.context)
        strings = (
            (found.string if isinstance(found.string, tuple | list) else (found.string,))
            if found
            else ()
        )
        if found is None or found.fuzzy or not strings or not all(strings):
            yield wanted


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "update":
        update()
    elif command != "status":
        print(__doc__)
        return 2
    template = extract()
    missing = 0
    for language in TRANSLATED:
        lacking = list(untranslated(read(language), template))
        missing += len(lacking)
        print(f"{language}: {len(template) - len(lacking)} of {len(template)} translated")
        for message in lacking:
            first = message.id if isinstance(message.id, str) else message.id[0]
            print(f"  missing: {first[:70]!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
