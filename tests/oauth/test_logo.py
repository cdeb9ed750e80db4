"""Logo uploads with real (and really malicious) files, and how the portal serves the logo."""

import hashlib

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from fleetadmin.audit.models import AuditEvent
from fleetadmin.oauth import services
from fleetadmin.oauth.models import AuthService
from fleetadmin.oauth.validation import PNG_SIGNATURE
from tests.oauth.conftest import image, noisy_png, png, png_bomb

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SIZE_RULE = "each side must be between 16 and 4096 pixels"
SVG_WITH_SCRIPT = (
    b'<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
    b'<script>alert(document.cookie)</script><rect width="64" height="64"/></svg>'
)
HTML = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"


def upload_url(fleet):
    return reverse("oauth:logo_upload", args=[fleet.org.pk])


def logo_url(fleet):
    return reverse("oauth:logo", args=[fleet.org.pk])


def upload(client, fleet, name, data, content_type="image/png", **extra):
    return client.post(upload_url(fleet), {"logo": SimpleUploadedFile(name, data, content_type=content_type)}, **extra)


REFUSED = [
    ("png-header-html-body.png", PNG_SIGNATURE + HTML, "its chunks are broken or truncated; it is not a PNG"),
    ("bomb.png", png_bomb(), "the image expands to too many pixels (a decompression bomb)"),
    ("bomb-5000.png", png_bomb(5000), f"the image is 5000×5000 pixels; {SIZE_RULE}"),
    ("logo.png", SVG_WITH_SCRIPT, "must be a PNG image; this file is an SVG image"),
    ("logo.svg", SVG_WITH_SCRIPT, "must be a PNG image; this file is an SVG image"),
    ("logo.png", HTML, "must be a PNG image; this file is an HTML document"),
    ("photo.png", image("JPEG"), "must be a PNG image; this file is a JPEG image"),
    ("anim.png", image("GIF"), "must be a PNG image; this file is a GIF image"),
    ("logo.png", png() + b"<script>alert(1)</script>", "bytes of other data after the end of the PNG"),
    ("logo.png", png()[:-20], "its chunks are broken or truncated; it is not a PNG"),
    ("tiny.png", png(10, 10), f"the image is 10×10 pixels; {SIZE_RULE}"),
    ("banner.png", png(8000, 16, mode="L"), f"the image is 8000×16 pixels; {SIZE_RULE}"),
    ("big.png", noisy_png(300, 300), "a logo is at most 200 KB (204,800 bytes)"),
]


def test_the_bomb_is_small_and_huge():
    data = png_bomb()
    assert len(data) < 204_800
    assert data[16:24] == (20000).to_bytes(4, "big") * 2  # IHDR width and height


@pytest.mark.parametrize(("name", "data", "rule"), REFUSED, ids=[f"{i}-{case[0]}" for i, case in enumerate(REFUSED)])
@pytest.mark.parametrize("htmx", [False, True])
def test_refused_uploads_name_the_rule_and_change_nothing(fleet, client_for, name, data, rule, htmx):
    response = upload(client_for(fleet.owner), fleet, name, data, **(HTMX if htmx else {}))
    assert response.status_code == 422
    content = response.content.decode()
    assert rule in content
    assert "logo: " not in content  # the page shows the field's label, not its identifier
    assert ("<html" in content) is not htmx
    assert not AuthService.objects.exclude(logo_sha256="").exists()
    assert not AuditEvent.objects.exists()


def test_an_empty_or_missing_file_is_refused(fleet, client_for):
    client = client_for(fleet.owner)
    assert "the file is empty; upload a PNG image" in upload(client, fleet, "logo.png", b"").content.decode()
    response = client.post(upload_url(fleet), {})
    assert response.status_code == 422
    assert "choose a PNG file to upload" in response.content.decode()


@pytest.mark.parametrize("name", ["logo.png", "logo.jpg", "logo", "LOGO.PNG.exe"])
def test_a_real_png_is_accepted_whatever_its_name_or_declared_type(fleet, client_for, name):
    data = png(256, 128)
    response = upload(client_for(fleet.owner), fleet, name, data, content_type="application/octet-stream")
    assert response.status_code == 302
    service = AuthService.objects.get(organization=fleet.org)
    assert bytes(service.logo) == data and service.logo_sha256 == hashlib.sha256(data).hexdigest()
    assert AuditEvent.objects.get().action == "oauth.logo.set"


def test_the_largest_accepted_sizes(fleet):
    services.logo_set(actor=fleet.owner, organization=fleet.org, data=png(16, 16))
    services.logo_set(actor=fleet.owner, organization=fleet.org, data=png_bomb(4096))  # 4096 × 4096, 1-bit
    assert AuthService.objects.get(organization=fleet.org).logo_width == 4096


def test_htmx_upload_returns_the_branding_card_with_the_new_preview(fleet, client_for):
    response = upload(client_for(fleet.owner), fleet, "logo.png", png(), **HTMX)
    assert response.status_code == 200
    content = response.content.decode()
    service = AuthService.objects.get(organization=fleet.org)
    assert content.lstrip().startswith('<section id="branding"')
    assert f'src="{logo_url(fleet)}?v={service.logo_version}"' in content
    assert "Remove logo" in content


def test_upload_by_an_operator_is_403_and_by_an_outsider_404(fleet, client_for):
    assert upload(client_for(fleet.operator), fleet, "logo.png", png()).status_code == 403
    assert upload(client_for(fleet.outsider), fleet, "logo.png", png()).status_code == 404
    assert not AuthService.objects.exists()


# ---- serving ---------------------------------------------------------------------------------------


def test_the_logo_is_served_as_an_inert_png(fleet, client_for):
    data = png(48, 48)
    service = services.logo_set(actor=fleet.owner, organization=fleet.org, data=data)
    response = client_for(fleet.operator).get(logo_url(fleet))
    assert response.status_code == 200
    assert response.content == data
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Disposition"] == 'inline; filename="logo.png"'
    assert response["Content-Length"] == str(len(data))
    assert response["ETag"] == f'"{service.logo_sha256}"'
    assert response["Cache-Control"] == "private, no-cache"
    assert response["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_a_versioned_logo_url_is_cached_for_good_and_revalidates_by_etag(fleet, client_for):
    service = services.logo_set(actor=fleet.owner, organization=fleet.org, data=png())
    client = client_for(fleet.owner)
    versioned = client.get(logo_url(fleet), {"v": service.logo_version})
    assert versioned["Cache-Control"] == "private, max-age=31536000, immutable"
    stale = client.get(logo_url(fleet), {"v": "0000000000000000"})
    assert stale["Cache-Control"] == "private, no-cache"
    not_modified = client.get(logo_url(fleet), HTTP_IF_NONE_MATCH=f'"{service.logo_sha256}"')
    assert not_modified.status_code == 304 and not_modified.content == b""


def test_replacing_the_logo_changes_its_version(fleet):
    first = services.logo_set(actor=fleet.owner, organization=fleet.org, data=png(color=(1, 2, 3, 255))).logo_version
    second = services.logo_set(actor=fleet.owner, organization=fleet.org, data=png(color=(9, 8, 7, 255))).logo_version
    assert first != second


def test_no_logo_is_404(fleet, client_for):
    response = client_for(fleet.owner).get(logo_url(fleet))
    assert response.status_code == 404
    services.logo_set(actor=fleet.owner, organization=fleet.org, data=png())
    services.logo_remove(actor=fleet.owner, organization=fleet.org)
    assert client_for(fleet.owner).get(logo_url(fleet)).status_code == 404


def test_who_may_fetch_the_logo(fleet, client_for):
    services.logo_set(actor=fleet.owner, organization=fleet.org, data=png())
    assert client_for(fleet.location_owner).get(logo_url(fleet)).status_code == 200  # any member sees it
    assert client_for(fleet.outsider).get(logo_url(fleet)).status_code == 404
    assert client_for().get(logo_url(fleet)).status_code == 302
