"""The REST service's own answer shapes (the assessment's are in `artimuse.serialization`) and
the error model every refusal is written in; the OpenAPI document is generated from these."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from artimuse.prompts import ASPECTS
from artimuse.serialization import ASPECT_FIELDS, RadarAspect, ScoreAnswer


class Issue(BaseModel):
    """One problem of a malformed request (never the input that caused it)."""

    type: str
    loc: list[str | int]
    msg: str


class ErrorAnswer(BaseModel):
    """Every refusal: `detail` says why in a sentence; a malformed request also lists `errors`."""

    detail: str
    errors: list[Issue] | None = Field(None, description="422 for a malformed request only")


class QueueState(BaseModel):
    pending: int = Field(ge=0, description="jobs running or waiting")
    capacity: int = Field(ge=1, description="ARTIMUSE_QUEUE_SIZE")
    per_client: int = Field(ge=1, description="ARTIMUSE_CLIENT_JOBS")


class HealthAnswer(BaseModel):
    status: Literal["ok"]
    model_loaded: bool
    queue: QueueState | None = Field(description="null while the service starts")


class Limits(BaseModel):
    max_upload_bytes: int
    max_batch_files: int
    max_pixels: int
    max_side: int
    queue_size: int
    client_jobs: int


class MetaAnswer(BaseModel):
    dimensions: list[RadarAspect] = Field(description=ASPECT_FIELDS["dimensions"])
    aspects: list[Literal[ASPECTS]] = Field(description=ASPECT_FIELDS["aspects"])
    device: str
    dtype: str
    checkpoint: str = Field(description="the checkpoint's name (never where it lies)")
    model_name: str
    version: str
    max_new_tokens: int
    kernels: dict = Field(default_factory=dict, description="what runs the weights and why: "
                          "`quantization` (mode, kernel) and `cpu` (the kernels chosen on a CPU)")
    limits: Limits


class ScoredFile(ScoreAnswer):
    """A file of `/score/batch` that was scored: `/score`'s answer with its name."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    filename: str
    status: Literal[200] = 200


class FailedFile(BaseModel):
    """A file of `/score/batch` that was not: the status `/score` would have given, and why."""

    filename: str
    status: int = Field(ge=400, le=599)
    detail: str


class BatchAnswer(BaseModel):
    count: int = Field(ge=0)
    failed: int = Field(ge=0)
    results: list[Annotated[ScoredFile | FailedFile, Field(union_mode="left_to_right")]]
