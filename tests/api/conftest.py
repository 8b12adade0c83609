"""Fixtures for the API: the demo world with a token per role (every scope the person may hold)."""

import pytest

from portal.extensions import db
from tests.conftest import DEMO_PASSWORD, ids

ROLES = ("operator", "seller1", "seller2", "courier1", "courier2")


@pytest.fixture
def api_world(app):
    """The demo world; ``tokens[username]`` is a token with every scope that person may hold now."""
    from portal.services import accounts, demo, tokens

    with app.app_context():
        demo.seed(DEMO_PASSWORD)
        secrets = {}
        for username in ROLES:
            user = accounts.find_user(username)
            secrets[username] = tokens.create_token(user, name="tests", scopes=tokens.available_scopes(user)).secret
        db.session.commit()
    return {**ids(app), "tokens": secrets}


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}
