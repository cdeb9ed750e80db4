"""Enable billing with a pasted one-line address alone, with or without JavaScript (issue 12, item 7)."""

import pytest
from django.urls import reverse

from fleetadmin.billing.models import BillingService

pytestmark = pytest.mark.django_db

PASTED = "123 Main St, Springfield, IL, 62704"


def test_the_address_fields_do_not_block_a_pasted_line_in_the_browser(fleet, client_for):
    content = client_for(fleet.owner).get(reverse("billing:enable", args=[fleet.org.pk])).content.decode()
    assert 'name="line1"' in content and 'name="paste"' in content
    assert " required" not in content.split('name="line1"')[1].split(">")[0]


def test_a_pasted_line_alone_enables_billing(fleet, client_for):
    response = client_for(fleet.owner).post(reverse("billing:enable", args=[fleet.org.pk]), {"paste": PASTED})
    assert response.status_code == 302
    service = BillingService.objects.get(organization=fleet.org)
    assert service.enabled
    assert (service.address.line1, service.address.city, service.address.state, service.address.zipcode) == (
        "123 Main St",
        "Springfield",
        "IL",
        "62704",
    )


def test_a_pasted_line_that_does_not_parse_says_why(fleet, client_for):
    response = client_for(fleet.owner).post(reverse("billing:enable", args=[fleet.org.pk]), {"paste": "Springfield"})
    assert response.status_code == 422
    assert "Expected format" in response.content.decode()
    assert not BillingService.objects.filter(organization=fleet.org, enabled=True).exists()
