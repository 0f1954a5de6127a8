"""A public server never signs tokens with the public development key or a short key.

On the old main `shopassist serve --host 0.0.0.0` started with the development key from the source, so
anyone could sign an admin token; the subprocess tests here started a server there (and timed out).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

from assistant.app import create_app
from assistant.config import DEVELOPMENT_SECRET_KEY, REPO_ROOT, Settings
from assistant.security import InsecureSecretKey
from tests.conftest import _free_port

STRONG_KEY = "k" * 32


def serve(shop_state, *args: str, key: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOPASSIST_")}
    env |= {"SHOPASSIST_STATE_DIR": str(shop_state), "SHOPASSIST_PORT": str(_free_port())}
    if key is not None:
        env["SHOPASSIST_SECRET_KEY"] = key
    return subprocess.run([sys.executable, "-c", "from assistant.cli import app; app()", "serve", *args], env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(("key", "says"), [(None, "development key"), ("short-key-of-31-bytes-xxxxxxxxx", "32 bytes")],
                         ids=["development key", "short key"])
def test_serve_off_loopback_refuses_a_weak_key_with_one_line(shop_state, key, says):
    """Old main: the server started (the call timed out)."""
    done = serve(shop_state, "--host", "0.0.0.0", key=key)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "SHOPASSIST_SECRET_KEY" in lines[0], done.stderr


def test_the_app_refuses_a_weak_key_off_loopback_and_allows_it_on_loopback_or_in_demo_mode():
    with pytest.raises(InsecureSecretKey):
        create_app(Settings(host="0.0.0.0", secret_key=DEVELOPMENT_SECRET_KEY))
    with pytest.raises(InsecureSecretKey):
        create_app(Settings(host="shop.example", secret_key="x" * 31))
    create_app(Settings(host="127.0.0.1", secret_key=DEVELOPMENT_SECRET_KEY))  # a developer's machine
    create_app(Settings(host="::1", secret_key="short"))
    create_app(Settings(host="0.0.0.0", secret_key=DEVELOPMENT_SECRET_KEY, demo_mode=True))
    create_app(Settings(host="0.0.0.0", secret_key=STRONG_KEY))


def test_demo_mode_says_so_with_a_warning_line(caplog):
    """`shopassist serve --demo`, what `make run` starts, logs one WARNING that it is a demo."""
    with caplog.at_level(logging.WARNING, logger="assistant.app"):
        create_app(Settings(demo_mode=True))
    assert [r.levelname for r in caplog.records if "DEMO MODE" in r.getMessage()] == ["WARNING"]
    serve_target = (REPO_ROOT / "Makefile").read_text().split("\nserve:", 1)[1].split("\n\n", 1)[0]
    assert "shopassist serve --demo" in serve_target


def test_the_deployment_example_key_is_refused_as_it_stands():
    """An operator who copies deploy/shopassist.env.example without filling it in must not get a public
    server signing tokens with a key everyone can read in this repository. Failed before: its placeholder,
    `replace-with-64-random-characters`, is 33 bytes and was accepted on 0.0.0.0."""
    example = REPO_ROOT / "deploy" / "shopassist.env.example"
    env = dict(line.split("=", 1) for line in example.read_text().splitlines()
               if "=" in line and not line.lstrip().startswith("#"))
    assert env["SHOPASSIST_HOST"] == "0.0.0.0"
    with pytest.raises(InsecureSecretKey):
        create_app(Settings(host=env["SHOPASSIST_HOST"], secret_key=env["SHOPASSIST_SECRET_KEY"]))


def test_a_short_identity_secret_is_refused_off_loopback():
    """Every signed-in shopper reads an (id, customer_sig) pair in their own page, so a short identity secret
    can be found offline from it and then signs any customer id. Failed before: any length was accepted."""
    with pytest.raises(InsecureSecretKey, match="SHOPASSIST_IDENTITY_SECRET"):
        create_app(Settings(host="0.0.0.0", secret_key=STRONG_KEY, identity_secret="shop-secret"))
    create_app(Settings(host="0.0.0.0", secret_key=STRONG_KEY, identity_secret="i" * 32))
    create_app(Settings(host="127.0.0.1", secret_key=STRONG_KEY, identity_secret="short"))  # a developer's machine
