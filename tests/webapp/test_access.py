"""Who is an operator: loopback in local mode only, the password in either mode, never a
guess at network speed; and the sign-in on the page reveals the operator's controls."""

from __future__ import annotations

import pytest

from artimuse.config import Settings, WebSettings
from tests.webapp.helpers import FakeModel, local, visitor

pytest.importorskip("gradio")

from artimuse.webapp.app import build_app  # noqa: E402
from artimuse.webapp.guards import SIGN_IN_TRIES, Access  # noqa: E402
from artimuse.webapp.state import ModelHolder  # noqa: E402


def test_local_mode_trusts_loopback_and_the_password():
    access = Access(WebSettings(admin_password="s3cret"))
    assert access.is_operator(local()) and not access.is_operator(visitor())
    assert access.is_operator(visitor(), "s3cret") and not access.is_operator(visitor(), "s3cre")
    assert access.is_operator(None)  # called in-process, not over HTTP


def test_public_mode_never_trusts_loopback():
    access = Access(WebSettings(public=True, admin_password="s3cret"))
    assert not access.is_operator(local()) and access.is_operator(local(), "s3cret")
    assert not Access(WebSettings(public=True)).is_operator(local(), "")  # no password: nobody


def test_wrong_passwords_lock_that_address_for_a_while():
    access = Access(WebSettings(public=True, admin_password="s3cret"))
    guesser, operator = visitor("198.51.100.1"), visitor("198.51.100.2")
    for _ in range(SIGN_IN_TRIES):
        assert not access.is_operator(guesser, "guess")
    assert not access.is_operator(guesser, "s3cret")  # locked, even with the right one
    assert access.is_operator(operator, "s3cret")  # another address is not


def test_signing_in_shows_the_operator_panel_only_with_the_password(monkeypatch):
    holder = ModelHolder.with_model(FakeModel("a", []), Settings(ckpt="checkpoints/a"))
    web = build_app(holder, web=WebSettings(public=True, admin_password="s3cret")).artimuse
    panel, names, status, *_, sign_in_box = web.operator.page("en", visitor(operator="1"))
    assert panel.visible is False and names.choices == [] and sign_in_box.visible is True
    assert web.operator.page("en", visitor())[-1].visible is False  # no ?operator: no sign-in box
    panel, names, *_, note = web.operator.sign_in("wrong", "en", visitor())
    assert panel.visible is False and "Wrong password" in note
    panel, names, *_, note = web.operator.sign_in("s3cret", "en", visitor())
    assert panel.visible is True and [c[0] for c in names.choices] == ["a"]
    [refused] = list(web.operator.switch_checkpoint("a", "wrong", "en", visitor()))
    assert refused == "Only the server's operator may do this."
