"""The camera path end to end: Chromium's fake camera plays a Y4M video of a QR label; the
scan page (headless Chromium has no BarcodeDetector) posts frames to /api/v1/scans/decode/,
and the decoded parent code is scanned."""

from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect

from bags.models import Bag, BagKind
from scans.models import Scan, ScanKind
from tests.browser.conftest import launch
from tests.qr_images import qr_image

pytestmark = pytest.mark.browser

WIDTH, HEIGHT = 640, 480


def write_y4m(path: Path, image: Image.Image, frames: int = 5) -> Path:
    """A YUV4MPEG2 (4:2:0) video of the same still image: Y from the grey levels, neutral U
    and V at a quarter of the size."""
    y_plane = image.convert("L").tobytes()
    chroma = bytes([128]) * ((WIDTH // 2) * (HEIGHT // 2))
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F10:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(frames):
            out.write(b"FRAME\n" + y_plane + chroma + chroma)
    return path


def label_frame(text: str) -> Image.Image:
    """A 640x480 grey frame with the QR label in the middle, half the frame high."""
    code = qr_image(text, scale=8)  # version 1: (21 + 8) modules x 8 = 232 px
    frame = Image.new("RGB", (WIDTH, HEIGHT), (200, 200, 190))
    frame.paste(code, ((WIDTH - code.width) // 2, (HEIGHT - code.height) // 2))
    return frame


@pytest.fixture
def camera_browser(playwright_instance, tmp_path):
    video = write_y4m(tmp_path / "parent-label.y4m", label_frame("SB00030"))
    browser = launch(
        playwright_instance,
        [
            "--use-fake-ui-for-media-stream",
            "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-video-capture={video}",
        ],
    )
    yield browser
    browser.close()


def test_camera_reads_a_parent_label(phone_factory, camera_browser, dispatcher):
    phone = phone_factory(camera_browser, permissions=["camera"])
    page = phone.login(dispatcher)
    assert page.url.endswith("/scan/")
    assert page.evaluate("'BarcodeDetector' in window") is False, "this test is about the server decoder"

    def decoded_a_code(response):
        return response.url.endswith("/api/v1/scans/decode/") and response.status == 200

    with page.expect_response(decoded_a_code, timeout=15_000) as decoded:
        page.click("#camera")
    assert decoded.value.json() == {"codes": ["SB00030"]}

    expect(page.locator("#parent-code")).to_have_text("SB00030", timeout=15_000)
    expect(page.locator("#feedback")).to_have_text("New parent SB00030: scan its children.")
    expect(page.locator("#camera")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#camera-box")).to_be_visible()
    phone.snap("camera-scanned-parent")

    parent = Bag.objects.get(qr_id="SB00030")
    assert parent.kind == BagKind.PARENT and parent.created_by == dispatcher
    # The label stays in view: the page must not scan it again (it did every 2.5 s).
    page.wait_for_timeout(3200)
    assert Scan.objects.filter(qr_id="SB00030", kind=ScanKind.PARENT).count() == 1

    page.click("#camera")
    expect(page.locator("#camera-box")).to_be_hidden()
    expect(page.locator("#camera")).to_have_attribute("aria-pressed", "false")
    assert page.evaluate("document.getElementById('video').srcObject.getTracks()[0].readyState") == "ended"


def test_a_code_counts_again_only_after_another_code_or_none_was_seen(phone, dispatcher):
    """Issue 12, 12: however long a label stays in view (and however slowly the server
    decodes), it is sent once; it is sent again after a frame with no code or another code."""
    page = phone.login(dispatcher)
    sent = page.evaluate("""() => {
        const sent = [];
        const camera = new window.TT.Camera(null, null, "", code => sent.push(code), () => {});
        for (const code of ["SB00030", "SB00030", "SB00030", "", "SB00030", "CH-1", "SB00030", "SB00030"]) {
            camera.seen(code);
        }
        camera.stop();  // a camera started again sees the label as new
        camera.seen("SB00030");
        return sent;
    }""")
    assert sent == ["SB00030", "SB00030", "CH-1", "SB00030", "SB00030"]
