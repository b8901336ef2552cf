"""Token lifetime as an API client meets it: an expired or revoked token is refused with 403 saying so, and each
token's last use is recorded, at most once a minute."""

from __future__ import annotations

from datetime import timedelta

from bot.app import Core
from bot.services import Services
from tests.api.conftest import Api, Clock
from tests.conftest import NOW

JOBS = "/api/extras/jobs/"


def _get(api: Api, token: str) -> tuple[int, object]:
    response = api.client.get(JOBS, headers={"Authorization": f"Token {token}", "Accept": "application/json"})
    return response.status_code, response.json()


def test_a_token_created_to_expire_works_until_then_and_is_refused_after(
    api: Api, services: Services, clock: Clock
) -> None:
    token = services.tokens.create_api_token(user_id="UALICE", description="pipeline", expires_days=1)
    clock.advance(timedelta(hours=23, minutes=59))
    assert _get(api, token)[0] == 200
    clock.advance(timedelta(minutes=1))
    assert _get(api, token) == (403, {"detail": "Token expired on 2030-01-16 12:00 UTC."})


def test_a_revoked_token_is_refused_at_its_next_request(api: Api, services: Services, clock: Clock) -> None:
    token = services.tokens.create_api_token(user_id="UALICE", description="leaked")
    other = services.tokens.create_api_token(user_id="UALICE", description="kept")
    assert _get(api, token)[0] == 200
    clock.advance(timedelta(minutes=5))
    revoked = services.tokens.revoke_token(token[:8])
    assert revoked.prefix == token[:8]
    assert _get(api, token) == (403, {"detail": "Token revoked on 2030-01-15 12:05 UTC."})
    assert _get(api, other)[0] == 200  # only that token ends
    assert _get(api, "f" * 40) == (403, {"detail": "Invalid token."})


def test_a_token_revoked_through_another_process_is_refused_within_seconds(
    api: Api, core: Core, clock: Clock
) -> None:
    token = core.services.tokens.create_api_token(user_id="UALICE", description="leaked")
    assert _get(api, token)[0] == 200
    elsewhere = Services.over(core.deps)  # what `jobgate token revoke` (its own process) or another replica does
    elsewhere.tokens.revoke_token(token[:8])
    clock.advance(timedelta(seconds=5))  # README: "within 5 seconds"
    assert _get(api, token) == (403, {"detail": "Token revoked on 2030-01-15 12:00 UTC."})


def test_the_last_use_is_recorded_at_most_once_a_minute(api: Api, services: Services, clock: Clock) -> None:
    token = services.tokens.create_api_token(user_id="UALICE", description="ci")

    def last_used() -> object:
        [listed] = [t for t in services.tokens.list_tokens(user_id="UALICE") if t.prefix == token[:8]]
        return listed.last_used_at

    assert last_used() is None
    assert _get(api, token)[0] == 200
    assert last_used() == NOW
    clock.advance(timedelta(seconds=59))
    assert _get(api, token)[0] == 200
    assert last_used() == NOW  # not a write per request
    clock.advance(timedelta(seconds=1))
    assert _get(api, token)[0] == 200
    assert last_used() == NOW + timedelta(minutes=1)
