"""The web app's named API, for `gradio_client` users: `/assess` and `/score`, answering the
same JSON objects as the REST service's `/infer` and `/score` (the seed's keys first).

    from gradio_client import Client, handle_file
    client = Client("http://localhost:7860/")
    client.predict(handle_file("photo.jpg"), api_name="/score")
    client.predict(handle_file("photo.jpg"), ["Composition & Design"], 200, api_name="/assess")

They share everything with the page: the upload limits, the admission of model jobs (per
session and per client address), the time limit and the comment lengths on offer. Every other
event of the page is private.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from typing import Any

import gradio as gr
from gradio.data_classes import FileData

from artimuse.errors import ImageError
from artimuse.prompts import ASPECTS
from artimuse.results import Finished
from artimuse.serialization import InferAnswer, ScoreAnswer
from artimuse.webapp.common import Shared, upload_name
from artimuse.webapp.i18n import EN, Message, image_problem
from artimuse.webapp.jobs import Job


class ApiError(gr.Error):
    """What the client's `predict` raises, in English (the REST service's language)."""

    def __init__(self, message: Message):
        super().__init__(message.render(EN), print_exception=False)


class Endpoints:
    def __init__(self, shared: Shared):
        self.shared = shared

    def assess(
        self,
        image: FileData,
        aspects: list[str] | None = None,
        comment_length: int | None = None,
        request: gr.Request = None,
    ) -> dict[str, Any]:
        """Scores and written comments of one picture: REST `/infer`'s object (`total_score`,
        `aspect_scores`, `aspect_comments`, `comprehensive_evaluation`, `score_std`,
        `score_distribution`, `warnings`).

        Args:
            image: the picture (PNG, JPEG, WebP, ...), e.g. `handle_file("photo.jpg")`.
            aspects: which comments to write, aspect names as in `artimuse.prompts.ASPECTS`
                (default all eight).
            comment_length: tokens per comment, one of the lengths the page offers (default
                the server's cap).
        """
        picture, chosen = self._picture(image), self._aspects(aspects)
        try:
            tokens = self.shared.comment_length(comment_length)
        except ValueError:
            raise ApiError(Message("length.invalid_api", {"offered": self._lengths()})) from None

        def work(job: Job) -> Iterator[dict]:
            self.shared.ready()
            for event in self.shared.steps(picture, chosen, tokens):
                if job.expired:
                    raise ApiError(Message("api.time_limit"))
                if isinstance(event, Finished):
                    yield InferAnswer.of(event.assessment).model_dump(mode="json")

        return self._answer(request, work)

    def score(self, image: FileData, request: gr.Request = None) -> dict[str, Any]:
        """The total score (0-100), the seven aspect scores, the spread and the distribution of
        the total: REST `/score`'s object. No comments, so it answers in about a second.

        Args:
            image: the picture (PNG, JPEG, WebP, ...), e.g. `handle_file("photo.jpg")`.
        """
        picture = self._picture(image)

        def work(job: Job) -> Iterator[dict]:
            self.shared.ready()
            (scores,) = self.shared.scores([picture])
            yield ScoreAnswer.of(scores).model_dump(mode="json")

        return self._answer(request, work)

    def _picture(self, image: Any):
        try:
            picture, _ = self.shared.read(image)
        except ImageError as error:
            raise ApiError(image_problem(error, upload_name(image))) from None
        if picture is None:
            raise ApiError(Message("api.no_image"))
        return picture

    def _aspects(self, aspects: Any) -> list[str]:
        if aspects is None:
            return list(ASPECTS)
        if not isinstance(aspects, list) or not all(a in ASPECTS for a in aspects):
            raise ApiError(Message("api.aspects", {"known": ", ".join(ASPECTS)}))
        return [a for a in ASPECTS if a in aspects]  # each once, in the model's order

    def _lengths(self) -> str:
        return ", ".join(map(str, self.shared.comment_lengths()))

    def _answer(self, request, work) -> dict[str, Any]:
        """`work`'s answer as a model job of this client; a refusal, the time limit or no model
        raises ApiError (in English, as the REST service says it)."""
        with closing(self.shared.run(request, "api", lambda message: message, work)) as updates:
            for update in updates:
                if not isinstance(update, Message):
                    return update
                if update.key == "model.unavailable":
                    raise ApiError(Message("api.unavailable"))
                if update.key != "progress.queued":
                    raise ApiError(update)
        raise ApiError(Message("api.time_limit"))  # not reached: every job ends with an answer
