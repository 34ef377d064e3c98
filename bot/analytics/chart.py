"""A PNG bar chart of questions per day, drawn without an imaging library.

The chart is a few rectangles and short labels, so it is drawn into a palette image by hand
(a built-in 5x7 pixel font for the labels) and encoded with zlib: no extra dependency.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence
from datetime import date

WIDTH = 600
HEIGHT = 300
# Palette indices and their colours.
BACKGROUND, INK, BAR, GRID = 0, 1, 2, 3
PALETTE = ((255, 255, 255), (40, 40, 40), (46, 139, 122), (225, 225, 225))

_LEFT, _RIGHT, _TOP, _BOTTOM = 56, 16, 40, 28  # margins around the plot area
_GLYPH_WIDTH, _GLYPH_HEIGHT, _ADVANCE = 5, 7, 6
# 5x7 glyphs: seven rows, each a byte whose low five bits are the pixels, left to right.
_FONT = {
    " ": "00000000000000",
    "0": "0e11131519110e",
    "1": "040c040404040e",
    "2": "0e11010204081f",
    "3": "1f02040201110e",
    "4": "02060a121f0202",
    "5": "1f101e0101110e",
    "6": "0608101e11110e",
    "7": "1f010204080808",
    "8": "0e11110e11110e",
    "9": "0e11110f01020c",
    "A": "0e11111f111111",
    "B": "1e11111e11111e",
    "C": "0e11101010110e",
    "D": "1c12111111121c",
    "E": "1f10101e10101f",
    "F": "1f10101e101010",
    "G": "0e11101711110f",
    "H": "1111111f111111",
    "I": "0e04040404040e",
    "J": "0702020202120c",
    "K": "11121418141211",
    "L": "1010101010101f",
    "M": "111b1515111111",
    "N": "11111915131111",
    "O": "0e11111111110e",
    "P": "1e11111e101010",
    "Q": "0e11111115120d",
    "R": "1e11111e141211",
    "S": "0f10100e01011e",
    "T": "1f040404040404",
    "U": "1111111111110e",
    "V": "11111111110a04",
    "W": "1111111515150a",
    "X": "11110a040a1111",
    "Y": "1111110a040404",
    "Z": "1f01020408101f",
    "-": "0000001f000000",
    ".": "00000000000c0c",
    ",": "000000000c0408",
    ":": "000c0c000c0c00",
    "/": "00010204081000",
    "(": "02040808080402",
    ")": "08040202020408",
    "%": "18190204081303",
    "+": "0004041f040400",
    "'": "04040800000000",
    "?": "0e110102040004",
}


def questions_per_day_png(
    per_day: Sequence[tuple[date, int]], title: str = "Questions per day"
) -> bytes:
    """A 600x300 PNG with one bar per day, the y-axis maximum and the first/last date."""
    canvas = _Canvas(WIDTH, HEIGHT)
    canvas.text(_LEFT, 12, title, scale=2, max_width=WIDTH - _LEFT - _RIGHT)
    plot_left, plot_right = _LEFT, WIDTH - _RIGHT
    plot_top, plot_bottom = _TOP, HEIGHT - _BOTTOM
    plot_height = plot_bottom - plot_top
    peak = max((count for _, count in per_day), default=0)
    scale_max = max(peak, 1)

    # Axis labels: the maximum at the top (with a grid line), zero at the baseline.
    canvas.rect(plot_left, plot_top, plot_right, plot_top + 1, GRID)
    canvas.text_right(plot_left - 6, plot_top - 3, str(scale_max))
    canvas.text_right(plot_left - 6, plot_bottom - 4, "0")

    if per_day:
        slot = (plot_right - plot_left) / len(per_day)
        bar_width = max(1, round(slot * 0.7))
        for index, (_, count) in enumerate(per_day):
            left = plot_left + round(index * slot + (slot - bar_width) / 2)
            height = round(plot_height * count / scale_max)
            if height:
                canvas.rect(left, plot_bottom - height, left + bar_width, plot_bottom, BAR)
            label = str(count)
            label_width = len(label) * _ADVANCE - 1
            if count and label_width <= slot - 2:  # the value over the bar, when it fits
                middle = left + bar_width // 2
                canvas.text(middle - label_width // 2, plot_bottom - height - 10, label)
        first, last = per_day[0][0], per_day[-1][0]
        canvas.text(plot_left, plot_bottom + 8, first.isoformat())
        if last != first:
            canvas.text_right(plot_right, plot_bottom + 8, last.isoformat())

    if not peak:
        empty = "No questions in this period"
        middle = (plot_left + plot_right) // 2
        canvas.text(middle - len(empty) * _ADVANCE // 2, (plot_top + plot_bottom) // 2, empty)
    canvas.rect(plot_left - 1, plot_top, plot_left, plot_bottom + 1, INK)  # y axis
    canvas.rect(plot_left - 1, plot_bottom, plot_right, plot_bottom + 1, INK)  # x axis
    return canvas.png()


class _Canvas:
    """A palette image: one byte (palette index) per pixel."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.pixels = bytearray(width * height)  # all BACKGROUND

    def rect(self, left: int, top: int, right: int, bottom: int, colour: int) -> None:
        """Fill [left, right) x [top, bottom), clipped to the image."""
        left, right = max(left, 0), min(right, self.width)
        top, bottom = max(top, 0), min(bottom, self.height)
        if left >= right:
            return
        row = bytes([colour]) * (right - left)
        for y in range(top, bottom):
            start = y * self.width + left
            self.pixels[start : start + len(row)] = row

    def text(self, x: int, y: int, text: str, scale: int = 1, max_width: int | None = None) -> None:
        """Draw text with its top-left corner at (x, y); letters are shown in capitals."""
        advance = _ADVANCE * scale
        if max_width is not None and len(text) * advance > max_width:
            text = text[: max(max_width // advance - 2, 0)] + ".."
        for position, char in enumerate(text.upper()):
            glyph = bytes.fromhex(_FONT.get(char, _FONT["?"]))
            for row, bits in enumerate(glyph):
                for column in range(_GLYPH_WIDTH):
                    if bits & (1 << (_GLYPH_WIDTH - 1 - column)):
                        left = x + position * advance + column * scale
                        top = y + row * scale
                        self.rect(left, top, left + scale, top + scale, INK)

    def text_right(self, right: int, y: int, text: str) -> None:
        """Draw text whose right edge is at ``right``."""
        self.text(right - (len(text) * _ADVANCE - 1), y, text)

    def png(self) -> bytes:
        """The image as PNG bytes (8-bit palette, no filtering)."""
        raw = b"".join(
            b"\x00" + self.pixels[y * self.width : (y + 1) * self.width] for y in range(self.height)
        )
        header = struct.pack(">IIBBBBB", self.width, self.height, 8, 3, 0, 0, 0)
        palette = b"".join(bytes(rgb) for rgb in PALETTE)
        return (
            b"\x89PNG\r\n\x1a\n"
            + _chunk(b"IHDR", header)
            + _chunk(b"PLTE", palette)
            + _chunk(b"IDAT", zlib.compress(raw, 9))
            + _chunk(b"IEND", b"")
        )


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
