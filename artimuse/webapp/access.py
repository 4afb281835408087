"""Who is asking: an operator, who may change what every visitor sees (switch the checkpoint,
start or cancel a download), or a visitor, who may only use the model.

Every event of a gradio page is an HTTP endpoint that anyone can call by name or by
`fn_index`, whether or not a button shows it, so each operator handler calls `Access.check`
itself; hiding a control is only for looks.

* Local mode (the default): a loopback client (`http://localhost:7860` on the server itself)
  is the operator; so is anyone who gives the operator password.
* Public mode (`ARTIMUSE_PUBLIC=1`, `--public`, or on a Space): only the password counts.
  Behind a reverse proxy every client may look local, so public mode never trusts loopback.

The operator signs in on the page itself (`/?operator=1` shows the sign-in box), not with
gradio's `auth=`, which would put the whole page behind a login and lock visitors out. The
password is sent with every operator action and checked there (nothing is remembered per
session, so a stranger who learns a session hash gains nothing). Failed attempts are limited
per client address, so the password cannot be guessed at network speed.
"""

from __future__ import annotations

import hmac
import time
from collections import OrderedDict, deque

from artimuse.config import WebSettings

LOOPBACK = frozenset({"127.0.0.1", "::1", "localhost"})
SIGN_IN_TRIES = 5  # failed attempts per client address per window
SIGN_IN_WINDOW_S = 60.0
TRACKED_CLIENTS = 1024  # addresses whose failures are remembered (bounded)


class OperatorOnly(Exception):
    """A visitor asked for an operator action."""


def client_host(request) -> str:
    client = getattr(request, "client", None)
    return str(getattr(client, "host", "") or "")


class Access:
    def __init__(self, settings: WebSettings | None = None):
        settings = settings or WebSettings()
        self.public = settings.public
        self._password = settings.admin_password
        self._failures: OrderedDict[str, deque] = OrderedDict()  # address -> failure times

    @property
    def sign_in_offered(self) -> bool:
        return bool(self._password)

    def is_operator(self, request, password: str | None = None) -> bool:
        """`request` None: called in-process (a test, an embedding program), not over HTTP."""
        if request is None:
            return True
        if not self.public and client_host(request) in LOOPBACK:
            return True
        return self.password_matches(password, client_host(request))

    def check(self, request, password: str | None = None) -> None:
        if not self.is_operator(request, password):
            raise OperatorOnly()

    def password_matches(self, password: object, address: str = "") -> bool:
        if not self._password or not isinstance(password, str) or not password:
            return False
        failures = self._recent_failures(address)
        if len(failures) >= SIGN_IN_TRIES:
            return False  # locked out for the rest of the window, even with the right one
        if hmac.compare_digest(password.encode(), self._password.encode()):
            return True
        failures.append(time.monotonic())
        return False

    def _recent_failures(self, address: str) -> deque:
        failures = self._failures.setdefault(address, deque())
        self._failures.move_to_end(address)
        while len(self._failures) > TRACKED_CLIENTS:
            self._failures.popitem(last=False)
        while failures and time.monotonic() - failures[0] > SIGN_IN_WINDOW_S:
            failures.popleft()
        return failures
