"""Printable QR labels: a range of new parent codes, or selected bags."""

import re

import pytest
from django.urls import reverse

from backoffice import labels
from bags.models import Bag
from tests.helpers import fill_parent, refused

pytestmark = pytest.mark.django_db

LABELS_URL = "admin:bags_bag_labels"


def svg_count(content: str) -> int:
    """QR codes on the page (the admin's own icons are SVGs too)."""
    return len(re.findall(r'<svg [^>]*class="qr"', content))


def label_codes(content: str) -> list[str]:
    return re.findall(r'<div class="code">([^<]+)</div>', content)


def test_a_range_of_new_parent_codes_on_a4_sheets(admin_client):
    response = admin_client.get(reverse(LABELS_URL), {"start": "sb00099", "count": 30, "layout": "sheet"})
    assert response.status_code == 200
    content = response.content.decode()
    codes = [f"SB{n:05d}" for n in range(99, 129)]
    assert svg_count(content) == 30
    assert label_codes(content) == codes
    assert content.count('<section class="page">') == 2  # 24 + 6
    assert "@page { size: A4; margin: 0; }" in content and "page-break-after: always" in content
    # Nothing loaded from elsewhere: one script, our own (the Print button; no inline code).
    assert re.findall(r"<script[^>]*>", content) == ['<script src="/static/js/print.js" defer>']
    assert not Bag.objects.exists()  # labels are printed before the bags exist
    # The other layout is one link away.
    assert "layout=roll" in content


def test_roll_layout_has_one_label_per_page(admin_client):
    response = admin_client.get(reverse(LABELS_URL), {"start": "M444-00010", "count": 3, "layout": "roll"})
    content = response.content.decode()
    assert label_codes(content) == ["M444-00010", "M444-00011", "M444-00012"]
    assert content.count('<section class="page">') == 3 and svg_count(content) == 3
    assert "@page { size: 50mm 30mm; margin: 0; }" in content


def test_range_form_refuses_bad_input(admin_client):
    url = reverse(LABELS_URL)
    assert "First code" in admin_client.get(url).content.decode()  # the empty form
    cases = [
        ({"start": "SB99999", "count": 2}, "run past the last code"),
        ({"start": "SB00001", "count": 1001}, "less than or equal to 1000"),
        ({"start": "CH-0001", "count": 2}, "is not a parent bag code"),
        ({"start": "SB00001", "count": "many"}, "Enter a whole number"),
    ]
    for params, message in cases:
        response = admin_client.get(url, {**params, "layout": "sheet"})
        assert response.status_code == 200
        content = response.content.decode()
        assert message in content, params
        assert svg_count(content) == 0


def test_code_range_helper():
    assert labels.parent_code_range(" sb00998 ", 3) == ["SB00998", "SB00999", "SB01000"]
    assert len(labels.parent_code_range("SB00001", 1000)) == 1000
    refused("invalid", labels.parent_code_range, "SB00001", 0)
    refused("invalid", labels.parent_code_range, "M444-99999", 2)


def test_print_labels_action_for_selected_bags(admin_client, dispatcher):
    fill_parent(dispatcher, "SB00001", 2)
    chosen = list(Bag.objects.values_list("pk", flat=True))
    response = admin_client.post(
        reverse("admin:bags_bag_changelist"), {"action": "print_labels", "_selected_action": chosen}
    )
    content = response.content.decode()
    assert label_codes(content) == ["CH000000", "CH000001", "SB00001"]
    assert svg_count(content) == 3
    assert 'name="codes" value="CH000000 CH000001 SB00001"' in content
    # Switching layout posts the same codes back, in one field.
    response = admin_client.post(reverse(LABELS_URL), {"codes": "CH000000 CH000001 SB00001", "layout": "roll"})
    content = response.content.decode()
    assert label_codes(content) == ["CH000000", "CH000001", "SB00001"]
    assert content.count('<section class="page">') == 3


def test_posted_codes_are_checked(admin_client):
    response = admin_client.post(reverse(LABELS_URL), {"codes": "SB00001 <script>", "layout": "roll"}, follow=True)
    assert "Not a bag code" in response.content.decode()
    response = admin_client.post(reverse(LABELS_URL), {"codes": " ".join(f"C{n:05d}" for n in range(1001))}, follow=True)
    assert "At most 1000 labels" in response.content.decode()


def svg_to_image(svg: str, scale: int = 8):
    """Draw segno's path ("M2 2.5h7m1 0h1…": moves and horizontal runs of dark modules)."""
    from PIL import Image, ImageDraw

    width, height = (int(n) for n in re.search(r'viewBox="0 0 (\d+) (\d+)"', svg).groups())
    image = Image.new("L", (width * scale, height * scale), 255)
    draw = ImageDraw.Draw(image)
    path = re.search(r' d="([^"]+)"', svg).group(1)
    x = y = 0.0
    for op, a, b in re.findall(r"([Mmh])(-?[\d.]+)(?: (-?[\d.]+))?", path):
        if op == "M":
            x, y = float(a), float(b)
        elif op == "m":
            x, y = x + float(a), y + float(b)
        else:
            row = int(y)
            draw.rectangle([x * scale, row * scale, (x + float(a)) * scale - 1, (row + 1) * scale - 1], fill=0)
            x += float(a)
    return image


@pytest.mark.parametrize("code", ["SB00001", "M444-12345", "CH-0000000001-LONG-CHILD-CODE"])
def test_qr_svg_is_inline_and_scans_back_to_the_code(code):
    import zxingcpp

    svg = labels.qr_svg(code)
    assert svg.startswith("<svg") and "<?xml" not in svg and 'class="qr"' in svg and "width=" not in svg
    decoded = [result.text for result in zxingcpp.read_barcodes(svg_to_image(svg))]
    assert decoded == [code]


def test_labels_need_admin_access(client, dispatcher):
    client.force_login(dispatcher)
    response = client.get(reverse(LABELS_URL), {"start": "SB00001", "count": 1})
    assert response.status_code == 302 and "/login/" in response["Location"]
