"""A page for the room: some days of the person's own words as a PDF, built in memory.

`page_of` turns the rows of a span (storage/pages.py) into plain text (`Page`): what
landed, each paragraph with its moments and every time it came back with how it went, then
the other captures and marks. Everything on it is the person's words; the bot adds only
labels (texts.py) and dates in the person's zone. `render_page` lays it out on A4 with
fpdf2 and returns the bytes: nothing is written to disk (with ENCRYPTION_KEY set the words
exist in clear only in memory, as for /export) and nothing of it is logged (the fpdf and
fontTools loggers, which name missing characters and glyphs, are capped in bot/__main__).

The font is DejaVu Sans from matplotlib's package data (mpl-data/fonts/ttf): a maintained
wheel on every platform, no download at run time, and DejaVu covers accented Latin,
Cyrillic, Greek, Hebrew, Armenian, Georgian and many symbols. A character it has no glyph
for (CJK, most emoji) is drawn as PLACEHOLDER, never dropped silently and never a crash;
zero-width joiners, variation selectors and skin-tone modifiers are left out. Hebrew and
Arabic lines are put in display order (fpdf2's bidi algorithm) and set right-aligned when
they start right to left; Arabic letters are not joined (that needs a shaping engine).

The weekly digest's page is one page: with a lot of text the type shrinks, then each text
is cut with "…" and long lists keep their latest items ("… and 3 more"). A span from
`/export pdf` runs to as many pages as it needs.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import logging
import time
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path

from fontTools.ttLib import TTFont
from fpdf import FPDF
from fpdf.bidi import BidiParagraph, auto_detect_base_direction
from fpdf.enums import Align, TextDirection, XPos, YPos
from fpdf.fonts import TTFFont
from sqlalchemy.ext.asyncio import AsyncSession
from telegram import Bot, InputFile
from telegram.error import TelegramError

from bot import texts
from bot.clock import aware
from bot.views import cut, day_label, describe_trigger, when_local
from storage.models import Capture, CaptureKind, Recall, Reflection
from storage.pages import PageFacts, PageRepository

logger = logging.getLogger(__name__)

REGULAR, BOLD = "DejaVuSans.ttf", "DejaVuSans-Bold.ttf"
PLACEHOLDER = "\u25a1"  # □: a character the font cannot draw
FAMILY = "dejavu"
MARGIN = 16.0  # mm, every side
WIDTH, HEIGHT = 210.0, 297.0  # A4, mm
INK, GREY, RULE = (20, 20, 20), (110, 110, 110), (200, 200, 200)
PT = 25.4 / 72  # mm per point
LEADING = 1.35  # line height / type size
RULE_GAP = 1.2  # mm between a section's rule and its label
# drawn as nothing (with no emoji font, a box for them would only mislead): variation
# selectors and emoji skin tones; format characters (joiners, marks of direction) too
INVISIBLE = frozenset([*range(0xFE00, 0xFE10), *range(0x1F3FB, 0x1F400), *range(0xE0100, 0xE01F0)])

# (longest text, most items per list, most paragraphs) per fitting level; None: everything
LEVELS: tuple[tuple[int | None, int | None, int | None], ...] = (
    (None, None, None),
    (1200, 10, 2),
    (700, 6, 1),
    (400, 4, 1),
    (220, 3, 1),
    (120, 2, 1),
)
SCALES = (1.0, 0.9, 0.8)
DEFAULT_SPAN = dt.timedelta(weeks=4)  # /export pdf without dates


# --------------------------------------------------------------------------- the page


@dataclass(frozen=True)
class Said:
    """One thing the person said (or marked), with when and a label such as "it helped"."""

    when: str
    text: str = ""
    label: str = ""


@dataclass(frozen=True)
class Paragraph:
    """A saved paragraph, its moments and each time it came back in the span."""

    written: str
    headline: str
    text: str
    moments: tuple[str, ...] = ()
    recalls: tuple[Said, ...] = ()


@dataclass(frozen=True)
class Page:
    """Everything a page shows, as plain text (safe to render in another thread)."""

    title: str
    span: str
    note: str = ""  # under the span: "For your session on Tue 1 Dec"
    landed: tuple[Said, ...] = ()
    paragraphs: tuple[Paragraph, ...] = ()
    captured: tuple[Said, ...] = ()
    recalls: tuple[Said, ...] = ()  # times something came back that no paragraph here owns

    @property
    def empty(self) -> bool:
        return not (self.landed or self.paragraphs or self.captured or self.recalls)


def day_name(value: dt.date, year: bool = False) -> str:
    """ "Tue 24 Nov", with " 2026" when asked."""
    name = texts.DAY_NAMES[value.weekday()][:3]
    return f"{name} {value.day} {value:%b}" + (f" {value.year}" if year else "")


def span_label(first: dt.date, last: dt.date) -> str:
    """ "Tue 24 Nov - Mon 30 Nov 2026", with an en dash (both years when they differ)."""
    return texts.PDF_SPAN.format(
        first=day_name(first, first.year != last.year), last=day_name(last, True)
    )


def span_of(days: Sequence[dt.date], today: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of a span from the days typed (bot.timespec.read_days).

    None typed: the last DEFAULT_SPAN up to today; one: from it until today. The two in the
    wrong order are swapped; a last day after today is today. The first may still be after
    the last (a span that starts tomorrow): nothing is in it.
    """
    first = days[0] if days else today - DEFAULT_SPAN
    last = days[1] if len(days) > 1 else today
    if first > last:
        first, last = last, first
    return first, min(last, today)


def filename(first: dt.date, last: dt.date | None = None) -> str:
    """between-2026-12-01.pdf, or between-2026-11-01-to-2026-11-30.pdf for a span."""
    if last is None or last == first:
        return f"between-{first:%Y-%m-%d}.pdf"
    return f"between-{first:%Y-%m-%d}-to-{last:%Y-%m-%d}.pdf"


def _how_it_went(recall: Recall) -> str:
    if recall.helped is True:
        return texts.PDF_HELPED
    if recall.helped is False:
        return texts.PDF_NOT_HELPED
    return ""


def _recall(recall: Recall, tz: dt.tzinfo) -> Said:
    return Said(
        when=day_label(recall.answered_at or recall.created_at, tz),
        text=(recall.outcome or "").strip(),
        label=_how_it_went(recall),
    )


def _capture(capture: Capture, tz: dt.tzinfo) -> Said:
    mark = capture.kind == CaptureKind.MARK
    return Said(
        when=when_local(capture.created_at, tz),
        text=(capture.text or "").strip(),
        label=texts.PDF_MARKED if mark else "",
    )


def _paragraph(
    row: Reflection, facts: PageFacts, recalls: list[Recall], tz: dt.tzinfo, now: dt.datetime
) -> Paragraph:
    return Paragraph(
        written=texts.PDF_WRITTEN.format(day=day_label(row.saved_at or row.created_at, tz)),
        headline=(row.answer_what or "").strip(),
        text=(row.paragraph or "").strip(),
        moments=tuple(describe_trigger(t, tz, now) for t in facts.moments.get(row.id, [])),
        recalls=tuple(_recall(r, tz) for r in recalls),
    )


def page_of(
    facts: PageFacts,
    tz: dt.tzinfo,
    now: dt.datetime,
    *,
    title: str,
    span: str,
    note: str = "",
) -> Page:
    """The page of a span's rows, in the person's zone (`now`: aware, for moment wording)."""
    owned: dict[int, list[Recall]] = {row.id: [] for row in facts.paragraphs}
    loose: list[Recall] = []
    for recall in facts.recalls:
        owned.get(facts.recalled.get(recall.id, -1), loose).append(recall)
    return Page(
        title=title,
        span=span,
        note=note,
        landed=tuple(_capture(c, tz) for c in facts.landed),
        paragraphs=tuple(
            _paragraph(row, facts, owned[row.id], tz, now) for row in facts.paragraphs
        ),
        captured=tuple(_capture(c, tz) for c in facts.captures),
        recalls=tuple(_recall(r, tz) for r in loose),
    )


# --------------------------------------------------------------------------- fonts


def font_dir() -> Path:
    """matplotlib's bundled TrueType folder, found without importing matplotlib."""
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("matplotlib (which ships the DejaVu fonts) is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf"


@cache
def _covered(name: str) -> frozenset[int]:
    """The code points the font file `name` has glyphs for."""
    font = TTFont(font_dir() / name, lazy=True)
    try:
        return frozenset(font.getBestCmap())
    finally:
        font.close()


def drawable(text: str, bold: bool = False) -> str:
    """The text with what the font cannot draw shown as PLACEHOLDER (or left out).

    Control characters become spaces (line breaks stay); INVISIBLE and format characters
    are left out, and so are combining marks the font lacks.
    """
    covered = _covered(BOLD if bold else REGULAR)
    out = []
    for char in text:
        code, kind = ord(char), unicodedata.category(char)
        if kind == "Cf" or code in INVISIBLE:
            continue
        if char == "\n" or (code in covered and kind != "Cc"):
            out.append(char)
        elif kind == "Cc":
            out.append(" ")
        elif kind not in ("Mn", "Me"):
            out.append(PLACEHOLDER)
    return "".join(out)


# --------------------------------------------------------------------------- layout


@dataclass(frozen=True)
class _Block:
    """One paragraph of type at a size, with space above it; `_wrap` breaks it into lines."""

    text: str
    size: float  # pt, before scaling
    bold: bool = False
    grey: bool = False
    indent: float = 0.0  # mm
    before: float = 0.0  # mm, before scaling
    rule: bool = False  # a thin line across, above the text
    keep: bool = False  # a label: never the last line of a sheet, away from what it names


@dataclass
class _Fit:
    """How much of the page fits: a type scale and the cuts of one fitting level."""

    scale: float = 1.0
    longest: int | None = None
    items: int | None = None
    paragraphs: int | None = None
    blocks: list[_Block] = field(default_factory=list)


def _text(value: str, longest: int | None) -> str:
    return value if longest is None else cut(value, longest)


def _latest(items: Sequence[Said], most: int | None) -> tuple[Sequence[Said], int]:
    """The latest `most` items (all when None) and how many were left out."""
    if most is None or len(items) <= most:
        return items, 0
    return items[-most:], len(items) - most


def _said(items: Sequence[Said], fit: _Fit, body: float) -> Iterable[_Block]:
    shown, left_out = _latest(items, fit.items)
    for item in shown:
        meta = f"{item.when} · {item.label}" if item.label else item.when
        yield _Block(meta, body - 2, grey=True, before=1.6, keep=bool(item.text))
        if item.text.strip():
            quoted = texts.PDF_QUOTE.format(text=_text(item.text.strip(), fit.longest))
            yield _Block(quoted, body, indent=3)
    if left_out:
        yield _Block(texts.PDF_MORE.format(count=left_out), body - 2, grey=True, before=1.2)


def _section(label: str) -> _Block:
    return _Block(label.upper(), 8.5, bold=True, grey=True, before=6, rule=True, keep=True)


def _blocks(page: Page, fit: _Fit) -> list[_Block]:
    body = 10.5
    blocks = [_Block(page.title, 19, bold=True), _Block(page.span, 10, grey=True, before=1)]
    if page.note:
        blocks.append(_Block(page.note, 10, grey=True))
    if page.landed:
        blocks.append(_section(texts.PDF_LANDED))
        blocks += _said(page.landed, fit, body + 1.5)
    paragraphs = page.paragraphs[: fit.paragraphs] if fit.paragraphs else page.paragraphs
    for paragraph in paragraphs:
        blocks.append(_section(texts.PDF_PARAGRAPH))
        blocks.append(_Block(paragraph.written, body - 2, grey=True, before=1.6, keep=True))
        if paragraph.headline:
            blocks.append(_Block(_text(paragraph.headline, fit.longest), body + 2, bold=True))
        if paragraph.text:
            blocks.append(_Block(_text(paragraph.text, fit.longest), body, before=1.2))
        if paragraph.moments:
            blocks.append(_Block(texts.PDF_MOMENTS, body - 1, bold=True, before=3.5, keep=True))
            shown = paragraph.moments[: fit.items] if fit.items else paragraph.moments
            blocks += [
                _Block(texts.PDF_MOMENT.format(text=_text(m, fit.longest)), body, indent=3)
                for m in shown
            ]
            if len(shown) < len(paragraph.moments):
                more = texts.PDF_MORE.format(count=len(paragraph.moments) - len(shown))
                blocks.append(_Block(more, body - 2, grey=True, indent=3))
        if paragraph.recalls:
            blocks.append(_Block(texts.PDF_RECALLS, body - 1, bold=True, before=3.5, keep=True))
            blocks += _said(paragraph.recalls, fit, body)
    if len(paragraphs) < len(page.paragraphs):
        more = texts.PDF_MORE_PARAGRAPHS.format(count=len(page.paragraphs) - len(paragraphs))
        blocks.append(_Block(more, body - 2, grey=True, before=3))
    if page.recalls:
        blocks.append(_section(texts.PDF_OTHER_RECALLS))
        blocks += _said(page.recalls, fit, body)
    if page.captured:
        blocks.append(_section(texts.PDF_CAPTURED))
        blocks += _said(page.captured, fit, body)
    if page.empty:
        blocks.append(_Block(texts.PDF_EMPTY, body, grey=True, before=6))
    return blocks


class _Sheet(FPDF):
    """A4 in mm with the two DejaVu faces; page numbers in the footer when asked."""

    def __init__(self, footer: str = "") -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.footer_text = footer
        self.set_margins(MARGIN, MARGIN, MARGIN)
        self.set_auto_page_break(True, margin=MARGIN + (6 if footer else 0))
        self.set_creator("Between")
        self.set_title(texts.PDF_DOCUMENT_TITLE)
        fonts = font_dir()
        self.add_font(FAMILY, "", str(fonts / REGULAR))
        self.add_font(FAMILY, "B", str(fonts / BOLD))
        self.alias_nb_pages()

    def footer(self) -> None:
        if not self.footer_text:
            return
        self.set_y(-MARGIN)
        self.set_font(FAMILY, "", 8)
        self.set_text_color(*GREY)
        text = texts.PDF_FOOTER.format(span=self.footer_text, page=self.page_no(), pages="{nb}")
        self.cell(0, 4, drawable(text), align="C")


def _apply(pdf: FPDF, block: _Block, scale: float) -> tuple[str, float]:
    """Sets font and colour for a block; its drawable text and line height (mm)."""
    size = block.size * scale
    pdf.set_font(FAMILY, "B" if block.bold else "", size)
    pdf.set_text_color(*(GREY if block.grey else INK))
    return drawable(block.text, block.bold), size * PT * LEADING


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """The lines of `text` in the current font at `width` mm: greedy, at spaces, and inside
    a word only when the word alone is wider than the line.

    fpdf2's own multi_cell wraps in time quadratic in the line length, which took seconds
    for a page tried at several sizes; this is linear and exactly what `_draw` prints.
    """
    font = pdf.current_font
    if not isinstance(font, TTFFont):
        raise TypeError("a page is set in DejaVu Sans (TrueType) only")
    widths: dict[int, float] = font.cw  # advance per code point, in 1/1000 em
    per_mm = 0.001 * pdf.font_size_pt / pdf.k
    limit = width / per_mm  # in the font's units
    space = widths[ord(" ")]
    lines: list[str] = []
    for source in text.split("\n"):
        current: list[str] = []
        used = 0.0
        for word in source.split():
            size = sum(widths[ord(c)] for c in word)
            if current and used + space + size <= limit:
                current.append(word)
                used += space + size
                continue
            if current:
                lines.append(" ".join(current))
            current, used = [], 0.0
            while size > limit:  # a word wider than the line: break it where it must
                taken, piece = 0.0, 0
                while piece < len(word) and (
                    not piece or taken + widths[ord(word[piece])] <= limit
                ):
                    taken += widths[ord(word[piece])]
                    piece += 1
                lines.append(word[:piece])
                word = word[piece:]
                size -= taken
            if word:
                current, used = [word], size
        lines.append(" ".join(current))
    return lines


def _direction(text: str) -> TextDirection | None:
    """None for text without right-to-left letters, else the direction its first letter sets."""
    if not any(unicodedata.bidirectional(char) in ("R", "AL") for char in text):
        return None
    return auto_detect_base_direction(text)


def _height(pdf: FPDF, blocks: list[_Block], scale: float, room: float) -> float:
    """The height (mm) the blocks take, measured without drawing; stops past `room`."""
    total = 0.0
    for block in blocks:
        text, line = _apply(pdf, block, scale)
        total += block.before * scale + (RULE_GAP * scale if block.rule else 0.0)
        total += line * len(_wrap(pdf, text, pdf.epw - block.indent))
        if total > room:
            break
    return total


def _draw(pdf: FPDF, blocks: list[_Block], scale: float) -> None:
    for index, block in enumerate(blocks):
        text, line = _apply(pdf, block, scale)
        if block.keep and index + 1 < len(blocks) and pdf.auto_page_break:
            following = blocks[index + 1]
            need = (block.before + RULE_GAP + following.before) * scale
            need += line + following.size * scale * PT * LEADING
            if pdf.will_page_break(need):
                pdf.add_page()
                _apply(pdf, block, scale)  # a new page starts in the footer's font
        pdf.ln(block.before * scale)
        if block.rule:
            pdf.set_draw_color(*RULE)
            pdf.set_line_width(0.2)
            pdf.line(pdf.l_margin, pdf.get_y(), WIDTH - pdf.r_margin, pdf.get_y())
            pdf.ln(RULE_GAP * scale)
        width = pdf.epw - block.indent
        direction = _direction(text)
        align = Align.R if direction == TextDirection.RTL else Align.L
        for part in _wrap(pdf, text, width):
            if direction is not None:  # each line in display order, as the bidi rules say
                part = BidiParagraph(part, base_direction=direction).get_reordered_string()
            pdf.set_x(pdf.l_margin + block.indent)
            pdf.cell(width, line, part, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _fitted(pdf: FPDF, page: Page) -> _Fit:
    """The largest type and the fewest cuts that keep the page to one A4 sheet."""
    room = HEIGHT - 2 * MARGIN
    fit = _Fit()
    for longest, items, paragraphs in LEVELS:
        for scale in SCALES:
            fit = _Fit(scale, longest, items, paragraphs)
            fit.blocks = _blocks(page, fit)
            if _height(pdf, fit.blocks, scale, room) <= room:
                return fit
    return fit  # the tightest; what still overflows is cut at the bottom of the sheet


def render_page(page: Page, *, one_page: bool) -> bytes:
    """The page as PDF bytes, built in memory.

    Args:
        page: what to show (`page_of`).
        one_page: fit everything on one A4 sheet (the weekly digest); otherwise the text
            runs over as many sheets as it needs, numbered in the footer.
    """
    pdf = _Sheet(footer="" if one_page else page.span)
    pdf.add_page()
    if one_page:
        fit = _fitted(pdf, page)
        pdf.set_auto_page_break(False)
    else:
        fit = _Fit()
        fit.blocks = _blocks(page, fit)
    _draw(pdf, fit.blocks, fit.scale)
    return bytes(pdf.output())


async def week_page(
    session: AsyncSession, user_id: int, since: dt.datetime, now: dt.datetime, tz: dt.tzinfo
) -> Page:
    """The weekly digest's page: everything since `since` (naive UTC, the last session)."""
    facts = await PageRepository(session).facts(user_id, since)
    first = aware(since).astimezone(tz).date()
    today = now.astimezone(tz).date()
    return page_of(facts, tz, now, title=texts.PDF_TITLE_WEEK, span=span_label(first, today))


async def send_week(bot: Bot, user_id: int, chat_id: int, page: Page, session_day: dt.date) -> bool:
    """Sends the weekly digest's page as a document; a failure is logged, never raised.

    Rendering runs in a worker thread (a few hundred ms of fpdf2), so the update loop goes on.
    """
    started = time.perf_counter()
    page = replace(page, note=texts.PDF_FOR_SESSION.format(day=day_name(session_day)))
    try:
        data = await asyncio.to_thread(render_page, page, one_page=True)
    except Exception as exc:  # a page that cannot be drawn must not stop the digest job
        logger.error("digest page for %s not rendered: %s", user_id, type(exc).__name__)
        return False
    try:
        await bot.send_document(
            chat_id,
            InputFile(data, filename=filename(session_day)),
            caption=texts.DIGEST_PDF_CAPTION,
        )
    except TelegramError as exc:
        logger.warning("digest page for %s not delivered: %s", user_id, type(exc).__name__)
        return False
    logger.info(
        "digest page for %s sent (%d bytes, %.2f s)",
        user_id,
        len(data),
        time.perf_counter() - started,
    )
    return True
