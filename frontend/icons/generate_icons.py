"""Draws the peerchat logo: logo.svg and the PNG icons (192, 512, maskable 512) for the manifest.

Run from anywhere: `python frontend/icons/generate_icons.py` (needs Pillow). The SVG and PNGs are
drawn from the same shapes so they match; PNGs are drawn 4x larger and scaled down for smooth
edges. Two overlapping speech bubbles with three dots: a conversation, quietly.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
TEAL = "#2b6b66"
CREAM = "#fbf6ee"
PEACH = "#f4c7a1"

# Shapes on a 512 x 512 canvas: (kind, fill, geometry)
SHAPES = [
    ("ellipse", PEACH, (322, 298, 112, 94)),  # back bubble: cx, cy, rx, ry
    ("polygon", PEACH, [(372, 372), (414, 436), (320, 386)]),  # its tail
    ("ellipse", CREAM, (218, 226, 134, 112)),  # front bubble
    ("polygon", CREAM, [(150, 310), (112, 390), (214, 330)]),
    ("circle", TEAL, (170, 228, 17)),  # three dots: cx, cy, r
    ("circle", TEAL, (218, 228, 17)),
    ("circle", TEAL, (266, 228, 17)),
]


def svg(rounded: bool = True) -> str:
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 512 512" role="img" '
        'aria-label="peerchat">',
        f'<rect width="512" height="512" rx="{112 if rounded else 0}" fill="{TEAL}"/>',
    ]
    for kind, fill, geo in SHAPES:
        if kind == "ellipse":
            cx, cy, rx, ry = geo
            parts.append(f'<ellipse cx="{cx}" cy="{cy}" rx="{rx}" ry="{ry}" fill="{fill}"/>')
        elif kind == "circle":
            cx, cy, r = geo
            parts.append(f'<circle cx="{cx}" cy="{cy}" r="{r}" fill="{fill}"/>')
        else:
            points = " ".join(f"{x},{y}" for x, y in geo)
            parts.append(f'<polygon points="{points}" fill="{fill}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(size: int, *, maskable: bool = False) -> Image.Image:
    scale = 4
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    unit = big / 512
    if maskable:
        # Full bleed background; the art shrinks into the 80% safe zone launchers keep.
        draw.rectangle((0, 0, big, big), fill=TEAL)
        shrink, offset = 0.78, big * 0.11
    else:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=112 * unit, fill=TEAL)
        shrink, offset = 1.0, 0.0

    def pt(x: float, y: float) -> tuple[float, float]:
        return (offset + x * unit * shrink, offset + y * unit * shrink)

    for kind, fill, geo in SHAPES:
        if kind in ("ellipse", "circle"):
            if kind == "ellipse":
                cx, cy, rx, ry = geo
            else:
                cx, cy, rx = geo
                ry = rx
            x0, y0 = pt(cx - rx, cy - ry)
            x1, y1 = pt(cx + rx, cy + ry)
            draw.ellipse((x0, y0, x1, y1), fill=fill)
        else:
            draw.polygon([pt(x, y) for x, y in geo], fill=fill)
    return image.resize((size, size), Image.Resampling.LANCZOS)


def main() -> None:
    (HERE / "logo.svg").write_text(svg(), encoding="utf-8")
    png(192).save(HERE / "icon-192.png", optimize=True)
    png(512).save(HERE / "icon-512.png", optimize=True)
    png(512, maskable=True).save(HERE / "icon-maskable-512.png", optimize=True)
    print("wrote logo.svg, icon-192.png, icon-512.png, icon-maskable-512.png")


if __name__ == "__main__":
    main()
