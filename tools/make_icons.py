"""Draws TraceTrack's app icons into static/icons/: the SVG (favicon, manifest) and the PNGs
the web app manifest and iOS ask for, all from one drawing, so that they agree.

The mark is a QR-like label (three finder squares and a few modules) in white on the
brand green of templates/base.html's theme-color. Run it again only when the drawing
changes, and commit what it writes:

    .venv/bin/python tools/make_icons.py

Pillow (already in requirements.txt for the QR decoder) draws the PNGs, at 4x and then
scaled down, for smooth edges.
"""

from pathlib import Path

from PIL import Image, ImageDraw

OUT = Path(__file__).resolve().parent.parent / "static" / "icons"
BRAND = "#0b3d2e"
INK = "#ffffff"
GRID = 11  # modules across the mark
# The mark's data modules (column, row), beside its three 5x5 finder squares.
MODULES = [(6, 6), (7, 6), (9, 6), (10, 7), (6, 8), (8, 8), (9, 8), (7, 9), (10, 9), (6, 10), (8, 10), (9, 10),
           (10, 10)]
FINDERS = [(0, 0), (6, 0), (0, 6)]


def rectangles() -> list[tuple[float, float, float, float, str]]:
    """The mark as (x, y, width, height, colour) in module units, painted in order."""
    shapes = []
    for col, row in FINDERS:
        shapes += [(col, row, 5, 5, INK), (col + 1, row + 1, 3, 3, BRAND), (col + 2, row + 2, 1, 1, INK)]
    shapes += [(col, row, 1, 1, INK) for col, row in MODULES]
    return shapes


def layout(size: float, *, mark: float) -> tuple[float, float]:
    """(module size, offset) for a mark `mark` × size wide, centred."""
    module = size * mark / GRID
    return module, (size - module * GRID) / 2


def svg(size: int = 512, *, radius: float = 0.22, mark: float = 0.6) -> str:
    module, offset = layout(size, mark=mark)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {size} {size}">',
             f'<rect width="{size}" height="{size}" rx="{size * radius:g}" fill="{BRAND}"/>']
    for x, y, w, h, colour in rectangles():
        parts.append(f'<rect x="{offset + x * module:g}" y="{offset + y * module:g}" width="{w * module:g}" '
                     f'height="{h * module:g}" fill="{colour}"/>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(size: int, *, radius: float, mark: float) -> Image.Image:
    """radius 0: a full square (maskable and iOS icons, which the system shapes itself)."""
    scale = 4
    big = size * scale
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    if radius:
        draw.rounded_rectangle((0, 0, big - 1, big - 1), radius=round(big * radius), fill=BRAND)
    else:
        draw.rectangle((0, 0, big - 1, big - 1), fill=BRAND)
    module, offset = layout(big, mark=mark)
    for x, y, w, h, colour in rectangles():
        left, top = offset + x * module, offset + y * module
        draw.rectangle((round(left), round(top), round(left + w * module) - 1, round(top + h * module) - 1),
                       fill=colour)
    image = image.resize((size, size), Image.Resampling.LANCZOS)
    return image if radius else image.convert("RGB")


# name: (size, corner radius, mark width). A maskable icon keeps its mark inside the
# central circle of 40 % radius that every mask leaves (0.5 × √2 / 2 < 0.4).
PNGS = {
    "icon-192.png": (192, 0.22, 0.6),
    "icon-512.png": (512, 0.22, 0.6),
    "icon-maskable-512.png": (512, 0, 0.5),
    "apple-touch-icon.png": (180, 0, 0.6),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "icon.svg").write_text(svg())
    for name, (size, radius, mark) in PNGS.items():
        png(size, radius=radius, mark=mark).save(OUT / name, optimize=True)
        print(OUT / name)


if __name__ == "__main__":
    main()
