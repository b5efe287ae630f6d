"""The page for the room, to look at: sample pages as PDF and PNG, with render times.

    python bench/pdf_page.py OUT_DIR [--dpi 80]

Writes OUT_DIR/week.pdf (an ordinary week in Cyrillic, Greek, accented Latin, Hebrew and
Arabic, with an emoji DejaVu has and some it lacks), OUT_DIR/long-week.pdf (far more than
one page of text, fitted to one sheet) and OUT_DIR/span.pdf (the same text as /export pdf
lays it out, over several numbered sheets), then renders the first sheet of each to PNG
with `pdftoppm` (Debian's poppler-utils: `apt-get install poppler-utils`) to open in an
image viewer. The bot itself never writes a PDF to disk; this is a manual step, and the
text is synthetic.
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot import texts  # noqa: E402
from bot.pdf import Page, Paragraph, Said, render_page, span_label  # noqa: E402

LANDED = "Ты имеешь право уйти и отдохнуть. Café crème, naïveté, Ærøskøbing, Łódź 😀"
HEADLINE = "Я могу сказать нет — Μπορώ να πω όχι"
PARAGRAPH = (
    "Я могу сказать нет. Это бережёт мои вечера, и η ελπίδα είναι δουλειά. "
    "Я ухожу в шесть, даже когда неловко. שלום, and 我可以休息 🙂 👍🏽."
)

RIGHT_TO_LEFT = "אני יכולה להגיד לא וללכת בשש, 18:00. يمكنني أن أقول لا"


def sample(times: int) -> Page:
    """A week whose texts and lists grow with `times`."""
    return Page(
        title=texts.PDF_TITLE_WEEK,
        span=span_label(dt.date(2026, 11, 24), dt.date(2026, 11, 30)),
        note=texts.PDF_FOR_SESSION.format(day="Tue 1 Dec"),
        landed=(Said("Tue 24 Nov 18:05", LANDED),),
        paragraphs=(
            Paragraph(
                written=texts.PDF_WRITTEN.format(day="Tue 24 Nov"),
                headline=HEADLINE,
                text=" ".join([PARAGRAPH] * times),
                moments=(
                    "every Thursday at 08:00 (Berlin time) — утренняя прогулка",
                    "когда начальник пишет в субботу",
                ),
                recalls=tuple(
                    Said(
                        f"Wed {25 + i % 5} Nov",
                        "Ответила в понедельник, и это сработало. " * (1 + times // 4),
                        texts.PDF_HELPED if i % 2 else texts.PDF_NOT_HELPED,
                    )
                    for i in range(2 * times)
                ),
            ),
        ),
        captured=(
            Said("Tue 24 Nov 17:02", RIGHT_TO_LEFT),
            *(
                Said(
                    f"Tue 24 Nov 17:{10 + i % 50:02d}",
                    "" if i % 3 == 0 else "Она сказала: границы — это забота. " * times,
                    texts.PDF_MARKED if i % 3 == 0 else "",
                )
                for i in range(3 * times)
            ),
        ),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--dpi", type=int, default=80)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    pdftoppm = shutil.which("pdftoppm")
    for name, page, one_page in (
        ("week", sample(1), True),
        ("long-week", sample(12), True),
        ("span", sample(12), False),
    ):
        started = time.perf_counter()
        data = render_page(page, one_page=one_page)
        took = time.perf_counter() - started
        pdf = args.out / f"{name}.pdf"
        pdf.write_bytes(data)
        line = f"{name}: {len(data)} bytes in {took * 1000:.0f} ms -> {pdf}"
        if pdftoppm:
            png = args.out / name
            cmd = [pdftoppm, "-png", "-r", str(args.dpi), "-f", "1", "-l", "1", "-singlefile"]
            subprocess.run([*cmd, str(pdf), str(png)], check=True)
            line += f", {png}.png"
        print(line)
    if not pdftoppm:
        print("no pdftoppm on PATH (apt-get install poppler-utils): PDFs only")


if __name__ == "__main__":
    main()
