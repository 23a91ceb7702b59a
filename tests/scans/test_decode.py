import pytest

from scans.decode import decode_qr_codes
from tests.helpers import refused
from tests.qr_images import frame


def test_clean_code():
    assert decode_qr_codes(frame("SB00001")) == ["SB00001"]


def test_jpeg_frame():
    assert decode_qr_codes(frame("M444-00042", fmt="JPEG")) == ["M444-00042"]


@pytest.mark.parametrize("angle", [15, 90, 180, 270, 33])
def test_rotated_code(angle):
    assert decode_qr_codes(frame("CH-000123", rotate=angle)) == ["CH-000123"]


def test_slightly_blurred_code():
    assert decode_qr_codes(frame("SB00077", blur=1.5)) == ["SB00077"]


def test_several_codes_come_back_in_reading_order():
    assert decode_qr_codes(frame("SB00001", "CH000001", "CH000002", size=(1400, 600))) == ["SB00001", "CH000001", "CH000002"]


def test_no_code_is_a_clear_refusal():
    error = refused("invalid", decode_qr_codes, frame())
    assert error.status == 400 and "No QR code" in error.extra["errors"]["image"][0]


def test_hopelessly_blurred_code_is_a_refusal_not_a_crash():
    refused("invalid", decode_qr_codes, frame("SB00001", blur=12))


@pytest.mark.parametrize("data", [b"", b"not an image at all", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100])
def test_garbage_is_a_400(data):
    refused("invalid", decode_qr_codes, data)


def test_huge_upload_is_refused():
    refused("invalid", decode_qr_codes, b"0" * (5 * 1024 * 1024 + 1))


@pytest.mark.django_db
def test_decode_endpoint(dispatcher):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(dispatcher)
    ok = client.post("/api/v1/scans/decode/", {"image": SimpleUploadedFile("f.png", frame("SB00001"), "image/png")})
    assert ok.status_code == 200 and ok.json() == {"codes": ["SB00001"]}
    empty = client.post("/api/v1/scans/decode/", {"image": SimpleUploadedFile("f.png", frame(), "image/png")})
    assert empty.status_code == 400 and empty.json()["code"] == "invalid" and "image" in empty.json()["errors"]
    assert client.post("/api/v1/scans/decode/", {}).status_code == 400
