"""The web app's named API for `gradio_client`: `/assess` and `/score`, answering REST `/infer`'s
and `/score`'s objects, within the page's limits, admission, time limit and comment lengths.

    client = gradio_client.Client("http://localhost:7860/")
    client.predict(handle_file("photo.jpg"), ["Composition & Design"], 200, api_name="/assess")
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
from artimuse.webapp.common import Tab, upload_name
from artimuse.webapp.i18n import EN, Message, image_problem
from artimuse.webapp.jobs import Job


class ApiError(gr.Error):
    """What the client's `predict` raises, in English (the REST service's language)."""

    def __init__(self, message: Message):
        super().__init__(message.render(EN), print_exception=False)


class Endpoints(Tab):
    def assess(self, image: FileData, aspects: list[str] | None = None,
               comment_length: int | None = None,
               request: gr.Request = None) -> dict[str, Any]:  # fmt: skip
        """Scores and comments of one picture: REST `/infer`'s object (`total_score`,
        `aspect_scores`, `aspect_comments`, `score_std`, ...).

        Args:
            image: the picture, e.g. `handle_file("photo.jpg")`.
            aspects: the comments to write, names from `artimuse.prompts.ASPECTS` (default all).
            comment_length: tokens per comment, a length the page offers (default the cap).
        """
        picture = self._picture(image)
        names = list(ASPECTS) if aspects is None else aspects
        if not isinstance(names, list) or not all(a in ASPECTS for a in names):
            raise ApiError(Message("api.aspects", {"known": ", ".join(ASPECTS)}))
        chosen = [a for a in ASPECTS if a in names]  # once each, in the model's order
        try:
            tokens = self.shared.comment_length(comment_length)
        except ValueError:
            offered = ", ".join(map(str, self.shared.comment_lengths()))
            raise ApiError(Message("length.invalid_api", {"offered": offered})) from None

        def work(job: Job) -> Iterator[dict]:
            self.shared.ready()
            for event in self.shared.steps(picture, chosen, tokens):
                if job.expired:
                    raise ApiError(Message("api.time_limit"))
                if isinstance(event, Finished):
                    yield InferAnswer.of(event.assessment).model_dump(mode="json")

        return self._answer(request, work)

    def score(self, image: FileData, request: gr.Request = None) -> dict[str, Any]:
        """The total (0-100), the seven aspect scores, the spread and the distribution: REST
        `/score`'s object, in about a second (no comments).

        Args:
            image: the picture, e.g. `handle_file("photo.jpg")`.
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

    def _answer(self, request, work) -> dict[str, Any]:
        """`work`'s answer as a model job; a refusal, the time limit or no model: ApiError."""
        with closing(self.shared.run(request, "api", lambda message: message, work)) as updates:
            for update in updates:
                if not isinstance(update, Message):
                    return update
                if update.key == "model.unavailable":
                    raise ApiError(Message("api.unavailable"))
                if update.key != "progress.queued":
                    raise ApiError(update)
        raise ApiError(Message("api.time_limit"))  # not reached: every job ends with an answer
