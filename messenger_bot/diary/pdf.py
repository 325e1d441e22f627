"""The summary as a one-page PDF (fpdf2): the same lines as the chat, the chart, the disclaimer.

Built in a thread like the chart. fpdf2's core fonts speak Latin-1 only, so any other
character (a typographic dash, an emoji) is replaced rather than failing the page.
"""

from __future__ import annotations

import importlib
import io
from functools import cache
from types import ModuleType

from messenger_bot.diary.summary import Figures, lines
from messenger_bot.diary.texts import DiaryTexts

_REPLACE = {"–": "-", "—": "-", "’": "'", "‘": "'", "“": '"', "”": '"', "•": "-", "…": "..."}


def latin1(text: str) -> str:
    for old, new in _REPLACE.items():
        text = text.replace(old, new)
    return text.encode("latin-1", "replace").decode("latin-1")


def summary_pdf(figures: Figures, texts: DiaryTexts, chart_png: bytes) -> bytes:
    """A4, one page: title, dates, the facts, the chart, and the disclaimer at the foot."""
    s = texts.summary
    found = lines(figures, texts)
    pdf = _fpdf().FPDF(format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_margins(18, 16, 18)
    pdf.add_page()
    pdf.set_title(latin1(s.title))
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 10, latin1(found[0]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 11)
    day_text = texts.dates.day_text
    period = s.say("period", first=day_text(figures.first or figures.today), last=day_text(figures.today))
    pdf.cell(0, 6, latin1(f"{s.intro} {period}."), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    pdf.set_font("Helvetica", "", 11)
    for line in found[1:-1]:
        pdf.multi_cell(0, 6, latin1(f"- {line}"), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    width = pdf.w - pdf.l_margin - pdf.r_margin
    room = pdf.h - 32 - pdf.get_y()
    pdf.image(io.BytesIO(chart_png), x=pdf.l_margin, w=min(width, room * 1.6))
    pdf.set_xy(pdf.l_margin, pdf.h - 28)
    pdf.set_font("Helvetica", "B", 11)
    pdf.multi_cell(0, 6, latin1(found[-1]), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


@cache
def _fpdf() -> ModuleType:
    """fpdf2, loaded at the first PDF: importing it (with fontTools and numpy) costs about half a
    second, and most processes (every `chat`, every `send-due`, a `serve` start) never make one."""
    return importlib.import_module("fpdf")
