"""The one-line /add format and the field checks every way of adding an item shares."""

from __future__ import annotations

import pytest

from bot.services.validation import Problem, ValidationFailed, clean_url, parse_add_line


def test_full_line() -> None:
    draft = parse_add_line(" News | ICA  elects board | https://ica.coop/n | Delegates | met ")
    assert draft.category == "News"
    assert draft.title == "ICA elects board"
    assert draft.url == "https://ica.coop/n"
    assert draft.summary == "Delegates | met"


def test_summary_is_optional() -> None:
    assert parse_add_line("News | Title | http://a.org").summary is None
    assert parse_add_line("News | Title | http://a.org |   ").summary is None


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("News | Title", Problem.MISSING_PARTS),
        ("just words", Problem.MISSING_PARTS),
        ("News | Title | ", Problem.BAD_URL),
        (" | Title | https://a.org", Problem.EMPTY_CATEGORY),
        ("News |   | https://a.org", Problem.EMPTY_TITLE),
        ("News | " + "t" * 257 + " | https://a.org", Problem.TITLE_TOO_LONG),
        ("c" * 65 + " | Title | https://a.org", Problem.CATEGORY_TOO_LONG),
        ("News | Title | https://a.org | " + "s" * 1001, Problem.SUMMARY_TOO_LONG),
        ("News | Title | ftp://a.org/x", Problem.BAD_URL),
        ("News | Title | javascript:alert(1)", Problem.BAD_URL),
        ("News | Title | www.ica.coop", Problem.BAD_URL),
        ("News | Title | https://", Problem.BAD_URL),
        ("News | Title | https://exa mple.org", Problem.BAD_URL),
    ],
)
def test_bad_lines_name_the_problem(line: str, problem: Problem) -> None:
    with pytest.raises(ValidationFailed) as failure:
        parse_add_line(line)
    assert failure.value.problem is problem


def test_limits_are_inclusive() -> None:
    draft = parse_add_line("c" * 64 + " | " + "t" * 256 + " | https://a.org | " + "s" * 1000)
    assert (len(draft.category), len(draft.title), len(draft.summary)) == (64, 256, 1000)


def test_url_forms() -> None:
    assert clean_url("HTTPS://ILO.org/path?q=1#x") == "HTTPS://ILO.org/path?q=1#x"
    assert clean_url("http://localhost:8080/a") == "http://localhost:8080/a"
    assert clean_url("") is None
