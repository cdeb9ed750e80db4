"""Typed confirmations in the web forms accept the word trimmed and in any case (issue 12, item 9).

The platform's CLI compares exactly; this portal's web forms (and its CLI, which shares
``core.text.confirmation_matches``) do not refuse "Delete" or " Disable ".
"""

import pytest
from django.urls import reverse

from fleetadmin.billing.models import BillingService
from fleetadmin.billing.services import billing_service_enable
from fleetadmin.core.actors import SYSTEM
from fleetadmin.oauth.models import OAuthApplication
from fleetadmin.oauth.services import oauth_app_create
from tests.support.conftest import ADDRESS, OAUTH_APP

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("typed", ["Disable", " DISABLE ", "disable"])
def test_disable_billing_accepts_the_word_in_any_case(fleet, client_for, typed):
    billing_service_enable(actor=SYSTEM, organization=fleet.org, address=ADDRESS)
    response = client_for(fleet.owner).post(reverse("billing:disable", args=[fleet.org.pk]), {"confirm": typed})
    assert response.status_code in {200, 302}
    assert not BillingService.objects.get(organization=fleet.org).enabled


@pytest.mark.parametrize("typed", ["Delete", "  delete\t", "DELETE"])
def test_delete_app_accepts_the_word_in_any_case(fleet, client_for, typed):
    app = oauth_app_create(actor=SYSTEM, organization=fleet.org, **OAUTH_APP).app
    path = reverse("oauth:app_delete", args=[fleet.org.pk, app.client_id])
    response = client_for(fleet.owner).post(path, {"confirm": typed})
    assert response.status_code == 302
    assert not OAuthApplication.objects.filter(pk=app.pk).exists()


def test_another_word_is_still_refused(fleet, client_for):
    billing_service_enable(actor=SYSTEM, organization=fleet.org, address=ADDRESS)
    response = client_for(fleet.owner).post(reverse("billing:disable", args=[fleet.org.pk]), {"confirm": "disabled"})
    assert response.status_code == 422
    assert BillingService.objects.get(organization=fleet.org).enabled
