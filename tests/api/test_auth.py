"""Sign-in, tokens (our own and OpenID Connect), refusal of an unsafe secret."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from api.app import UnsafeSecret, app_from_env, create_app, serve
from engine.access import JwksCache
from engine.settings import DEMO_SECRET, Settings
from engine.storage.models import User
from tests.api.conftest import PASSWORD, World, make_world


def test_token_from_json_and_form(world: World) -> None:
    r = world.client.post("/api/v1/auth/token", json={"username": "grid_a", "password": PASSWORD})
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 480 * 60
    r = world.client.post("/api/v1/auth/token", data={"username": "grid_a", "password": PASSWORD})
    assert r.status_code == 200
    me = world.client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["grants"] == [
        {
            "role": "grid_worker",
            "org_id": "grid_a1",
            "org_path": "/county/town_a/village_a1/grid_a1/",
        }
    ]


@pytest.mark.parametrize(
    "body",
    [
        {"username": "grid_a", "password": "wrong"},
        {"username": "nobody", "password": PASSWORD},
    ],
)
def test_wrong_credentials_are_401_problems(world: World, body: dict[str, str]) -> None:
    r = world.client.post("/api/v1/auth/token", json=body)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/problem+json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["code"] == "unauthenticated"


def test_token_body_errors(world: World) -> None:
    assert world.client.post("/api/v1/auth/token", json={"username": "x"}).status_code == 422
    r = world.client.post(
        "/api/v1/auth/token", content=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["code"] == "malformed_request"
    r = world.client.post(
        "/api/v1/auth/token", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert r.status_code == 415


def test_missing_bad_and_expired_tokens(world: World) -> None:
    assert world.client.get("/api/v1/cases").status_code == 401
    bad = {"Authorization": "Bearer not.a.token"}
    assert world.client.get("/api/v1/cases", headers=bad).status_code == 401
    forged = jwt.encode({"sub": "admin", "iss": "bihuan", "exp": 2**40}, "another-key-" * 4)
    r = world.client.get("/api/v1/cases", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401
    headers = world.h("grid_a")
    assert world.client.get("/api/v1/cases", headers=headers).status_code == 200
    world.clock.advance(timedelta(minutes=482))
    r = world.client.get("/api/v1/cases", headers=headers)
    assert r.status_code == 401 and "expired" in r.json()["detail"]


def test_deactivated_user_loses_access_at_once(world: World) -> None:
    headers = world.h("grid_a")
    with world.db.session() as s:
        user = s.get(User, "grid_a")
        assert user is not None
        user.active = False
    assert world.client.get("/api/v1/cases", headers=headers).status_code == 401
    r = world.client.post("/api/v1/auth/token", json={"username": "grid_a", "password": PASSWORD})
    assert r.status_code == 401


class FakeProvider:
    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        public = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        self.jwks = {"keys": [{**public, "kid": "k1", "use": "sig", "alg": "RS256"}]}
        self.fetches = 0

    def fetch(self, url: str) -> dict[str, Any]:
        self.fetches += 1
        return self.jwks

    def token(self, **claims: Any) -> str:
        base = {
            "iss": "https://idp.example",
            "aud": "bihuan",
            "exp": 2**40,
            "preferred_username": "handler_a",
        }
        return jwt.encode({**base, **claims}, self.key, algorithm="RS256", headers={"kid": "k1"})


def test_openid_connect_tokens(db_url: str, clock: Any) -> None:
    provider = FakeProvider()
    world, db = make_world(db_url, clock)
    settings = world.settings.model_copy(
        update={
            "oidc_issuer": "https://idp.example",
            "oidc_audience": "bihuan",
            "oidc_jwks_url": "https://idp.example/jwks",
        }
    )
    app = create_app(
        settings,
        engine=world.engine,
        clock=clock,
        jwks=JwksCache("https://idp.example/jwks", fetch=provider.fetch),
    )
    from fastapi.testclient import TestClient

    with TestClient(app) as client:

        def me(token: str) -> Any:
            return client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})

        r = me(provider.token())
        assert r.status_code == 200 and r.json()["user_id"] == "handler_a"
        assert me(provider.token(aud="someone-else")).status_code == 401
        assert me(provider.token(iss="https://evil.example")).status_code == 401
        assert me(provider.token(preferred_username="stranger")).status_code == 401
        assert me(provider.token(exp=1)).status_code == 401
        assert provider.fetches == 1
    db.dispose()


def test_unsafe_secret_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UnsafeSecret):
        serve(Settings(secret_key=DEMO_SECRET, demo=False))
    with pytest.raises(UnsafeSecret):
        serve(Settings(secret_key="short", demo=False))
    monkeypatch.setenv("BIHUAN_SECRET_KEY", DEMO_SECRET)
    monkeypatch.setenv("BIHUAN_DEMO", "0")
    with pytest.raises(UnsafeSecret):
        app_from_env()


def test_app_from_env_builds_an_app(monkeypatch: pytest.MonkeyPatch, db_url: str) -> None:
    monkeypatch.setenv("BIHUAN_DATABASE_URL", db_url)
    monkeypatch.setenv("BIHUAN_DEMO", "1")
    app = app_from_env()
    assert app.title == "bihuan API"
    app.state.bihuan.engine.db.dispose()
