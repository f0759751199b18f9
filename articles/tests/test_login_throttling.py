"""Admin login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords for one
username from one address, that pair is locked out, even with the right password, until the
cool-off has passed or an administrator resets it. Other users and other addresses are not.

Logins go through the real admin login form with the test client; the cool-off is made to
pass by moving the recorded attempts back in time, not by waiting.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from .conftest import STAFF_PASSWORD

pytestmark = pytest.mark.django_db

LIMIT = 3
ATTACKER = "203.0.113.7"
OTHER_ADDRESS = "198.51.100.4"


@pytest.fixture(autouse=True)
def throttling(settings):
    settings.AXES_FAILURE_LIMIT = LIMIT
    settings.AXES_COOLOFF_TIME = timedelta(minutes=15)


def log_in(client, username: str, password: str, address: str = ATTACKER):
    return client.post(
        reverse("admin:login"),
        {"username": username, "password": password, "next": reverse("admin:index")},
        REMOTE_ADDR=address,
    )


def logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def fail(client, username: str, times: int, address: str = ATTACKER) -> None:
    for _ in range(times):
        response = log_in(client, username, "wrong-password", address)
        assert response.status_code in (200, 429)
        assert not logged_in(client)


def test_the_right_password_works_before_the_limit(client, staff_user):
    fail(client, staff_user.username, LIMIT - 1)
    response = log_in(client, staff_user.username, STAFF_PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_after_the_limit_even_the_right_password_is_refused(client, staff_user):
    fail(client, staff_user.username, LIMIT)
    response = log_in(client, staff_user.username, STAFF_PASSWORD)
    assert response.status_code == 429
    page = response.content.decode()
    assert "Too many failed logins" in page
    assert f"after {LIMIT} wrong passwords" in page
    assert not logged_in(client)
    # and the admin stays closed
    assert client.get(reverse("admin:index")).status_code == 302


def test_the_lock_is_per_username_and_address(client, staff_user, django_user_model):
    django_user_model.objects.create_user("other", password=STAFF_PASSWORD, is_staff=True)
    fail(client, staff_user.username, LIMIT)

    assert log_in(client, "other", STAFF_PASSWORD).status_code == 302
    client.logout()
    assert log_in(client, staff_user.username, STAFF_PASSWORD, OTHER_ADDRESS).status_code == 302
    client.logout()
    assert log_in(client, staff_user.username, STAFF_PASSWORD).status_code == 429


def test_after_the_cool_off_the_right_password_works(client, staff_user):
    from axes.models import AccessAttempt

    fail(client, staff_user.username, LIMIT)
    assert log_in(client, staff_user.username, STAFF_PASSWORD).status_code == 429

    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    response = log_in(client, staff_user.username, STAFF_PASSWORD)
    assert response.status_code == 302
    assert logged_in(client)


def test_an_administrator_can_lift_the_lock(client, staff_user):
    from django.core.management import call_command

    fail(client, staff_user.username, LIMIT)
    call_command("axes_reset_username", staff_user.username, verbosity=0)
    assert log_in(client, staff_user.username, STAFF_PASSWORD).status_code == 302


def test_a_success_clears_earlier_failures(client, staff_user):
    fail(client, staff_user.username, LIMIT - 1)
    assert log_in(client, staff_user.username, STAFF_PASSWORD).status_code == 302
    client.logout()
    fail(client, staff_user.username, LIMIT - 1)
    assert log_in(client, staff_user.username, STAFF_PASSWORD).status_code == 302
