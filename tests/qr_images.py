"""QR test images made with segno, as a phone camera might see them."""

from io import BytesIO

import segno
from PIL import Image, ImageFilter


def qr_image(text: str, *, scale: int = 8, border: int = 4) -> Image.Image:
    buffer = BytesIO()
    segno.make_qr(text).save(buffer, kind="png", scale=scale, border=border)
    buffer.seek(0)
    return Image.open(buffer).convert("RGB")


def frame(*codes: str, size=(960, 720), rotate: float = 0, blur: float = 0, fmt: str = "PNG") -> bytes:
    """A grey frame with the QR codes side by side, optionally rotated and blurred."""
    canvas = Image.new("RGB", size, (200, 200, 190))
    x = 40
    for text in codes:
        code = qr_image(text, scale=7)
        canvas.paste(code, (x, (size[1] - code.height) // 2))
        x += code.width + 40
    if rotate:
        canvas = canvas.rotate(rotate, expand=True, fillcolor=(200, 200, 190))
    if blur:
        canvas = canvas.filter(ImageFilter.GaussianBlur(blur))
    out = BytesIO()
    canvas.save(out, format=fmt)
    return out.getvalue()
