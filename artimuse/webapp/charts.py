"""Plotly figures: the aspect radar and the distribution of the total score, in the visitor's
language. Transparent backgrounds and translucent grey grids sit on the light and the dark theme
alike (the dark theme recolours the text by CSS: plotly knows nothing of the page's theme); no
title (the component's label is above, where plotly's toolbar cannot cover it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import plotly.graph_objects as go

from artimuse.prompts import RADAR_ASPECTS
from artimuse.webapp.i18n import EN, aspect_name, text

# Distinct in hue and lightness, readable on white and on near-black (one per compared image).
PALETTE = ("232, 116, 59", "59, 130, 246", "20, 163, 127", "168, 85, 247")  # r, g, b
GRID = "rgba(128, 128, 128, 0.28)"
MARKER = "#8b8b94"  # a mid grey: the mean line must show on white and on near-black alike
FAMILY = "ui-sans-serif, system-ui, -apple-system, Segoe UI, sans-serif"
TICKS = [0, 20, 40, 60, 80, 100]


def _layout(height: int, **margin) -> dict:
    return dict(
        template="none", height=height, margin=margin, paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)", font=dict(family=FAMILY, color="#3f3f46", size=12),
        hoverlabel=dict(font=dict(family=FAMILY, size=13)),
    )  # fmt: skip


def radar_figure(series: Mapping[str, Mapping[str, float]], lang: str = EN) -> go.Figure:
    """A closed polygon per entry of `series` (name -> {aspect: 0-100}) over the radar aspects
    it has. Short axis labels ('Emotion', '情感') leave it room on a phone; the hover gives the
    full name."""
    labels = {a: aspect_name(a, lang, short=True) for a in RADAR_ASPECTS}
    figure = go.Figure()
    for index, (name, scores) in enumerate(series.items()):
        rgb = PALETTE[index % len(PALETTE)]
        present = [a for a in RADAR_ASPECTS if a in scores]
        closed = present + present[:1]  # back to the first: a closed polygon
        alpha = 0.18 if len(series) > 1 else 0.25
        figure.add_trace(go.Scatterpolar(
            r=[scores.get(a) for a in closed], theta=[labels[a] for a in closed], name=name,
            fill="toself", fillcolor=f"rgba({rgb}, {alpha})",
            line=dict(color=f"rgb({rgb})", width=2.5), marker=dict(size=7, color=f"rgb({rgb})"),
            customdata=[aspect_name(a, lang) for a in closed],
            hovertemplate="<b>%{customdata}</b><br>%{r:.1f} / 100<extra>" + name + "</extra>",
        ))  # fmt: skip
    if not series:  # nothing to show yet: an invisible trace makes plotly draw the grid
        figure.add_trace(go.Scatterpolar(r=[0] * len(labels), theta=list(labels.values()),
                                         mode="lines", line=dict(width=0), hoverinfo="skip",
                                         showlegend=False))  # fmt: skip
    axis = dict(gridcolor=GRID, linecolor=GRID)
    radial = dict(range=[0, 100], tickvals=TICKS[1:], tickfont=dict(size=10), angle=90,
                  tickangle=90, **axis)  # fmt: skip
    angular = dict(categoryarray=list(labels.values()), categoryorder="array", rotation=90,
                   direction="clockwise", tickfont=dict(size=12), **axis)  # fmt: skip
    polar = dict(bgcolor="rgba(0,0,0,0)", radialaxis=radial, angularaxis=angular)
    legend = dict(orientation="h", x=0.5, xanchor="center", y=-0.08)
    figure.update_layout(**_layout(330, l=72, r=72, t=28, b=28 if len(series) < 2 else 64),
                         showlegend=len(series) > 1, legend=legend, polar=polar)  # fmt: skip
    return figure


def distribution_figure(distribution: Sequence[float] | None = None, mean: float = 0.0,
                        spread: float = 0.0, lang: str = EN) -> go.Figure:  # fmt: skip
    """The 101 probabilities of the total as bars, the mean marked and mean ± spread shaded
    (how sure the model is); without a distribution, empty axes."""
    figure = go.Figure()
    layout = _layout(180, l=44, r=16, t=12, b=40)
    if distribution is None:
        x, y = dict(range=[0, 100], tickvals=TICKS), dict(range=[0, 1], showticklabels=False)
        figure.update_layout(**layout, xaxis=dict(x, gridcolor=GRID), yaxis=dict(y, gridcolor=GRID))
        return figure
    hover = text("chart.hover", lang, x="%{x}", y="%{y:.1f}%") + "<extra></extra>"
    figure.add_trace(go.Bar(x=list(range(len(distribution))), y=[100 * p for p in distribution],
                            marker=dict(color=f"rgb({PALETTE[0]})", line=dict(width=0)),
                            hovertemplate=hover))  # fmt: skip
    low, high = max(mean - spread, 0), min(mean + spread, 100)
    figure.add_vrect(x0=low, x1=high, fillcolor="rgba(128,128,128,0.14)", line_width=0)
    figure.add_vline(x=mean, line=dict(color=MARKER, width=1.5, dash="dot"))
    title = dict(text=text("chart.score", lang), font=dict(size=11), standoff=4)
    figure.update_layout(
        **layout, bargap=0.08, showlegend=False,
        xaxis=dict(range=[-0.5, 100.5], tickvals=TICKS, gridcolor=GRID, zeroline=False,
                   title=title),
        yaxis=dict(gridcolor=GRID, zeroline=False, ticksuffix="%", rangemode="tozero"),
    )  # fmt: skip
    return figure
