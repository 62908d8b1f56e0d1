"""Colours that stay readable whatever the vendor's brand colour is (WCAG contrast)."""

from __future__ import annotations


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(hex_colour: str) -> float:
    r, g, b = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_on(background: str) -> str:
    """Black or white, whichever reads better on the background."""
    return (
        "#ffffff"
        if contrast(background, "#ffffff") >= contrast(background, "#111111")
        else "#111111"
    )


def link_colour(brand: str) -> str:
    """The brand colour for links on white if it reads (4.5:1), else a dark blue."""
    return brand if contrast(brand, "#ffffff") >= 4.5 else "#1a4d8f"
