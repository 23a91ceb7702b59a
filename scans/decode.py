"""Reading QR codes from a camera frame on the server, for phones without the browser's
BarcodeDetector (iOS Safari, desktop browsers). zxing-cpp does the decoding."""

from io import BytesIO

import zxingcpp
from django.utils.translation import gettext as _
from PIL import Image, UnidentifiedImageError

from tracetrack.errors import invalid

MAX_FRAME_BYTES = 5 * 1024 * 1024
# A phone frame is at most a few megapixels; this also keeps a decompression bomb out.
MAX_FRAME_PIXELS = 16_000_000
QR_FORMATS = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode)


def decode_qr_codes(data: bytes) -> list[str]:
    """The texts of the QR codes in an image (PNG, JPEG, WebP…), in reading order and
    without repeats. 400 on `image` when the file is not an image, is too large, or holds
    no readable QR code."""
    if not data:
        raise invalid("image", _("Send a camera frame as 'image'."))
    if len(data) > MAX_FRAME_BYTES:
        raise invalid("image", _("The image is larger than 5 MB."))
    try:
        with Image.open(BytesIO(data)) as image:
            if image.width * image.height > MAX_FRAME_PIXELS:
                raise invalid("image", _("The image has too many pixels."))
            frame = image.convert("L")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        raise invalid("image", _("The file is not an image.")) from None
    codes: list[str] = []
    for barcode in zxingcpp.read_barcodes(frame, formats=QR_FORMATS):
        text = barcode.text.strip()
        if text and text not in codes:
            codes.append(text)
    if not codes:
        raise invalid("image", _("No QR code found in the image; hold the label flat and closer."))
    return codes
