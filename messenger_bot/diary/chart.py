"""Charts as PNG bytes, drawn with matplotlib's Agg backend (no display, no global pyplot state).

Rendering costs tens of milliseconds of CPU, so callers run these in a thread
(`asyncio.to_thread`), never on the event loop. Sized for a phone held upright:
800 × 500 pixels, large type, few tick labels.
"""

from __future__ import annotations

import importlib
import io
from datetime import date
from functools import cache
from types import ModuleType
from typing import TYPE_CHECKING

from messenger_bot.diary.summary import CHART_DAYS, Figures
from messenger_bot.diary.texts import DiaryTexts

if TYPE_CHECKING:
    from matplotlib.figure import Figure

WIDTH, HEIGHT, DPI = 8.0, 5.0, 100
BAR, LINE, LIMIT = "#2f6f9f", "#c0692b", "#8a8a8a"


def twitch_chart(figures: Figures, texts: DiaryTexts, days: int = CHART_DAYS) -> bytes:
    """Twitches per day as bars, caffeine mg per day as a line beside them, the daily limit dashed."""
    s = texts.summary
    span = figures.days(days)
    counts = [figures.twitches.get(d.isoformat(), 0) for d in span]
    caffeine = [figures.caffeine.get(d.isoformat(), 0) for d in span]
    figure, axes = _figure(f"{s.chart_title}: {_period(span, texts)}")
    axes.bar(range(days), counts, color=BAR, label=s.chart_twitches)
    axes.set_ylabel(s.chart_twitches, fontsize=13)
    axes.set_ylim(0, max(3, *counts) + 1)
    _day_ticks(axes, span, texts)
    if any(caffeine):
        _caffeine_axis(axes, caffeine, figures.limit, texts)
    return _png(figure)


def week_chart(figures: Figures, texts: DiaryTexts) -> bytes:
    """ "My week": glasses of water per day as bars, caffeine mg as a line, over the last 7 days."""
    s = texts.summary
    span = figures.days(7)
    glasses = [figures.water.get(d.isoformat(), 0) for d in span]
    caffeine = [figures.caffeine.get(d.isoformat(), 0) for d in span]
    figure, axes = _figure(f"{s.week_title}: {_period(span, texts)}")
    axes.bar(range(7), glasses, color=BAR, label=s.week_water)
    axes.set_ylabel(s.week_water, fontsize=13)
    axes.set_ylim(0, max(4, *glasses) + 1)
    _day_ticks(axes, span, texts, every=1)
    _caffeine_axis(axes, caffeine, figures.limit, texts)
    return _png(figure)


def _figure(title: str):  # type: ignore[no-untyped-def]
    figure = _module("matplotlib.figure").Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    axes = figure.add_subplot()
    axes.set_title(title, fontsize=15)
    axes.tick_params(labelsize=12)
    whole = _module("matplotlib.ticker").MaxNLocator(integer=True)  # whole twitches, whole glasses
    axes.yaxis.set_major_locator(whole)
    axes.spines[["top"]].set_visible(False)
    return figure, axes


def _period(span: list[date], texts: DiaryTexts) -> str:
    return f"{texts.dates.day_text(span[0])} – {texts.dates.day_text(span[-1])}"


def _day_ticks(axes, span: list[date], texts: DiaryTexts, every: int = 7) -> None:  # type: ignore[no-untyped-def]
    """A label every week (every day for a week's chart), the last day always labelled."""
    ticks = list(range(len(span) - 1, -1, -every))[::-1]
    axes.set_xticks(ticks, [texts.dates.short_text(span[i]) for i in ticks])
    axes.set_xlim(-0.6, len(span) - 0.4)


def _caffeine_axis(axes, caffeine: list[int], limit: int, texts: DiaryTexts) -> None:  # type: ignore[no-untyped-def]
    s = texts.summary
    right = axes.twinx()
    right.plot(range(len(caffeine)), caffeine, color=LINE, marker="o", linewidth=2.5, label=s.chart_caffeine)
    right.axhline(limit, color=LIMIT, linestyle="--", linewidth=1.5, label=f"{s.chart_limit} ({limit} mg)")
    right.set_ylim(0, max(limit * 1.25, max(caffeine) * 1.1))
    right.set_ylabel(s.chart_caffeine, fontsize=13, color=LINE)
    right.tick_params(labelsize=12)
    handles = axes.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    axes.legend(handles=handles, loc="upper left", fontsize=11, frameon=False)


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


@cache
def _module(name: str) -> ModuleType:
    """matplotlib, loaded at the first chart: importing it costs about 0.7 s, and most processes
    (every `chat`, every `send-due`, most `serve` runs between two summaries) never draw one."""
    return importlib.import_module(name)
