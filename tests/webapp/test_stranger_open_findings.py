"""The stranger's checks that fail against the web app as it stands (they are kept apart so that
the lead can decide): the server's log grows by megabytes and takes forged lines from gradio's
own tracebacks of hostile values (raised in gradio's preprocessing, before any handler), and
`/gradio_api/upload` keeps every file a stranger sends. Same app, same stranger as
test_stranger.py (its fixtures, started afresh for this module)."""

# ruff: noqa: F811 (the tests take the fixtures imported below by name, as pytest passes them)

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("gradio")
pytest.importorskip("gradio_client")

from artimuse.testing.stranger import FORGED, arguments, components, files_under  # noqa: E402
from tests.webapp.test_stranger import (  # noqa: E402, F401 (fixtures: pytest finds them here)
    DISK_BUDGET,
    EXPORTS,
    LOG_BUDGET,
    UPLOAD_BYTES,
    UPLOADS,
    barrage,
    peer,
    public,
    reference,
)


def test_the_log_is_bounded(public, barrage):
    grown = len(public.log_text().encode()) - barrage["before"]["log"]
    assert grown <= LOG_BUDGET, f"the log grew {grown:,} bytes"


def test_no_log_line_can_be_forged(public, barrage):
    forged = [line for line in public.log_text().splitlines() if line.startswith(FORGED)]
    assert not forged, forged[:3]


def test_disk_use_stays_bounded_after_hundreds_of_uploads_and_exports(public, peer):
    config = peer.config()
    by_id = components(config)
    exports = [
        i for i, d in enumerate(config["dependencies"])
        if any(by_id[o]["type"] in ("file", "downloadbutton") for o in d["outputs"] if o in by_id)
    ]
    before = sum(files_under(public.root).values())
    rng = np.random.default_rng(5)
    for n in range(UPLOADS):
        try:
            peer.upload(f"junk-{n}.bin", rng.bytes(UPLOAD_BYTES))
        except Exception:  # refused (the point): the rest may be refused too
            pass
    huge = {"assessment": {"x": "C" * (1 << 20)}, "complete": True}
    for n in range(EXPORTS if exports else 0):
        index = exports[n % len(exports)]
        peer.predict(index, arguments(config, config["dependencies"][index], huge, huge))
    grown = sum(files_under(public.root).values()) - before
    sent = UPLOADS * UPLOAD_BYTES
    assert grown <= DISK_BUDGET, f"{grown:,} bytes kept of {sent:,} sent"
