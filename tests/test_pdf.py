"""bot/pdf.py without a bot: the page's text as pypdf reads it back, fitting, odd characters,
the span people type after /export pdf, and that rendering logs nothing of the words."""

from __future__ import annotations

import datetime as dt
import io
import logging

import pytest
from pypdf import PdfReader

from bot import texts
from bot.__main__ import CONTENT_LOGGERS, NOISY_LOGGERS, configure_logging
from bot.pdf import (
    PLACEHOLDER,
    Page,
    Paragraph,
    Said,
    drawable,
    filename,
    render_page,
    span_label,
    span_of,
)
from bot.timespec import read_days

CYRILLIC = "Я могу сказать нет и уйти в шесть"
GREEK = "Η ελπίδα είναι δουλειά"
ACCENTS = "Café crème, naïveté, Ærøskøbing, Łódź"


def pdf_text(data: bytes) -> tuple[int, str]:
    """Pages and the text pypdf extracts, whitespace collapsed (lines wrap anywhere)."""
    assert data.startswith(b"%PDF-")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    return len(reader.pages), " ".join(text.split())


def week(paragraph: str = f"{CYRILLIC}. {GREEK}.", times: int = 1) -> Page:
    return Page(
        title=texts.PDF_TITLE_WEEK,
        span=span_label(dt.date(2026, 11, 24), dt.date(2026, 11, 30)),
        note=texts.PDF_FOR_SESSION.format(day="Tue 1 Dec"),
        landed=(Said("Tue 24 Nov 18:05", f"{ACCENTS} 😀"),),
        paragraphs=(
            Paragraph(
                written="Written Tue 24 Nov",
                headline="Я могу сказать нет",
                text=paragraph,
                moments=("every Thursday at 08:00 (Berlin time) — morning walk",),
                recalls=tuple(
                    Said(f"Wed {i} Nov", f"Outcome number {i} in my words.", texts.PDF_HELPED)
                    for i in range(times)
                ),
            ),
        ),
        captured=tuple(Said("Tue 24 Nov 17:10", f"capture {i} " * 40) for i in range(times)),
    )


def test_the_page_holds_the_persons_words_in_every_script() -> None:
    data = render_page(week(), one_page=True)
    pages, text = pdf_text(data)
    assert pages == 1
    for words in (CYRILLIC, GREEK, ACCENTS, "😀", "Your week between", "What landed".upper()):
        assert words in text, words
    assert "Tue 24 Nov – Mon 30 Nov 2026" in text and "For your session on Tue 1 Dec" in text
    assert "Outcome number 0 in my words." in text and "it helped" in text
    assert "morning walk" in text


def test_what_the_font_cannot_draw_is_a_visible_box_never_a_crash() -> None:
    assert drawable("中文 🙂 ok") == f"{PLACEHOLDER}{PLACEHOLDER} {PLACEHOLDER} ok"
    # joiners, variation selectors and skin tones are invisible: left out, not boxed
    assert drawable("👍🏽\u200d\ufe0f") == PLACEHOLDER
    assert drawable("a\tb\x00c\nd") == "a b c\nd"
    page = week(paragraph="我可以休息 🙂 👨‍👩‍👧 and Hebrew שלום")
    _, text = pdf_text(render_page(page, one_page=True))
    assert f"{PLACEHOLDER}{PLACEHOLDER}{PLACEHOLDER}{PLACEHOLDER}{PLACEHOLDER}" in text
    assert "and Hebrew" in text


def test_a_long_week_still_fits_one_page_with_cuts_marked() -> None:
    huge = week(paragraph=("I leave at six and I say so. " * 400).strip(), times=60)
    pages, text = pdf_text(render_page(huge, one_page=True))
    assert pages == 1
    assert "…" in text and "more" in text
    assert "Outcome number 59 in my words." in text  # the latest are the ones kept
    assert "Outcome number 0 in my words." not in text


def test_a_span_runs_over_numbered_pages() -> None:
    long = week(times=40)
    pages, text = pdf_text(render_page(long, one_page=False))
    assert pages > 2
    assert f"page 1 of {pages}" in text and f"page {pages} of {pages}" in text
    assert "Outcome number 0 in my words." in text and "Outcome number 39 in my words." in text
    assert "…" not in text


def test_rendering_logs_nothing_of_the_words(caplog: pytest.LogCaptureFixture) -> None:
    names = ["", *CONTENT_LOGGERS, *NOISY_LOGGERS]
    saved = {name: logging.getLogger(name).level for name in names}
    configure_logging("DEBUG")
    caplog.set_level(logging.DEBUG)
    try:
        render_page(week(paragraph="zucchini 中文 🙂"), one_page=True)
        render_page(week(paragraph="zucchini 中文 🙂"), one_page=False)
    finally:
        for name, level in saved.items():
            logging.getLogger(name).setLevel(level)
    said = [r.getMessage() for r in caplog.records]
    assert not [r for r in caplog.records if r.name.startswith(("fontTools", "fpdf"))], said
    assert not [line for line in said if "zucchini" in line or "Я" in line], said


def test_the_span_people_type() -> None:
    today = dt.date(2026, 12, 2)
    nov = (dt.date(2026, 11, 1), dt.date(2026, 11, 30))
    assert read_days("2026-11-01 2026-11-30", today) == nov
    assert read_days("1 nov - 30 nov", today) == nov
    assert read_days("from nov 1 to nov 30", today) == nov
    assert read_days("1st of November until 30 Nov 2026", today) == nov
    assert read_days("", today) == ()
    assert read_days("yesterday", today) == (dt.date(2026, 12, 1),)
    assert read_days("3 dec", today) == (dt.date(2025, 12, 3),)  # a span looks back
    assert read_days("20 dec - 5 jan", today) == (dt.date(2025, 12, 20), dt.date(2026, 1, 5))
    for bad in ("next week", "2026-02-30", "1 nov 2 nov 3 nov", "soon", "31 blursday"):
        with pytest.raises(ValueError) as caught:
            read_days(bad, today)
        assert str(caught.value) == texts.EXPORT_PDF_HELP


def test_span_defaults_and_names() -> None:
    today = dt.date(2026, 12, 2)
    assert span_of((), today) == (dt.date(2026, 11, 4), today)  # four weeks back
    assert span_of((dt.date(2026, 11, 20),), today) == (dt.date(2026, 11, 20), today)
    later, earlier = dt.date(2026, 11, 30), dt.date(2026, 11, 1)
    assert span_of((later, earlier), today) == (earlier, later)
    assert span_of((earlier, dt.date(2027, 1, 1)), today) == (earlier, today)
    assert filename(dt.date(2026, 12, 1)) == "between-2026-12-01.pdf"
    assert filename(earlier, later) == "between-2026-11-01-to-2026-11-30.pdf"
    assert span_label(dt.date(2026, 12, 28), dt.date(2027, 1, 3)) == (
        "Mon 28 Dec 2026 – Sun 3 Jan 2027"
    )
