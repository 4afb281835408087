"""Configuration: the only module that reads the environment (behaviour §9).

Every variable the project reads is a row of `VARIABLES` (the README's table lists each one, a
test checks it) with its default defined once, here. Front ends take the model's settings from
`Settings.from_env()` (or `model_options()` + `settings_from_args()` on a command line, the
environment giving the defaults), the limits they share from `ServiceSettings.from_env()`, and
where to listen from `listen_address()`. Each variable has one reader (`READERS`); a malformed
value is reported with the variable's name and what is accepted, and an empty one counts as unset.
Front ends call `check_variables(THEIR_VARIABLES)` at start-up, so a bad value is one line there.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from artimuse.errors import InputError

CHECKPOINTS_DIR = Path("checkpoints")
DEFAULT_CKPT = "checkpoints/ArtiMuse"
DEFAULT_DEVICE = "auto"
DEFAULT_DTYPE = "auto"
DEFAULT_MAX_NEW_TOKENS = 2048  # the original demo's cap per comment (behaviour §8)
DEFAULT_MAX_PIXELS = 64_000_000  # an 8000x8000 photo passes; a decompression bomb does not
DEFAULT_MAX_SIDE = 65_535  # JPEG's own limit; resizing cost grows with the longest side
DEFAULT_MAX_UPLOAD_MB = 20  # a 64 MP JPEG is ~15 MB
DEFAULT_MAX_BATCH = 16  # files in one batch request
DEFAULT_QUEUE_SIZE = 16  # model jobs admitted (running + waiting); more are refused
DEFAULT_CLIENT_JOBS = 4  # of those, what one client (address / web session) may hold
DEFAULT_BATCH_SIZE = 8  # images per model batch when scoring many
DEFAULT_MAX_CONNECTIONS = 4096  # REST: past this many open connections requests get 503
DEFAULT_HEADER_TIMEOUT = 10  # seconds a client has to send a request's headers
DEFAULT_BODY_TIMEOUT = 30  # seconds a request body may pause between two reads
DEFAULT_KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open (uvicorn's default)
DEFAULT_QUANT = "none"  # the language model's weights: none (the dtype), int8, int4 or nf4
# w8a8: int8 weights, and the decoder's inputs in int8 too (CPU; inference.quant)
QUANT_MODES = ("none", "int8", "int4", "nf4", "w8a8")
DEFAULT_PREREAD = "1"  # read the weights while loading (loading/preread.py)
DEFAULT_COMPILE = "0"  # 1: static KV cache + compiled decode step (measured: see the README)
SCORE_BATCH_WAIT_S = 0.010  # how long a score pass waits for companions to batch with (<= 20 ms)
SCORE_BATCH_MAX = 8  # score passes of different requests run together, at most this many
MODEL_FAILED_AFTER = 3  # model jobs failing in a row (internal errors) mark the model failed
SERVE_MAX_QUEUED = 64  # Ray Serve: requests waiting at the proxy for a replica; more get 503
SERVE_RETRY_AFTER_S = 5  # Ray Serve: the Retry-After of that 503
SERVE_TARGET_ONGOING = 4  # Ray Serve autoscaling: requests per replica it scales towards
DEFAULT_HOST = "0.0.0.0"  # every interface, as the original; HOST=127.0.0.1 keeps it local
DEFAULT_AUTO_DOWNLOAD = "0"  # 1: the web app downloads a missing checkpoint at start-up
DEFAULT_JOB_TIME_LIMIT = 600  # seconds one web-app model job may run (a 2048-token CPU run fits)
WEBAPP_SESSION_JOBS = 3  # model jobs one browser session may have: 1 running + 2 waiting
HF, MODELSCOPE = "hf", "modelscope"  # where checkpoints are downloaded from
SOURCES = (HF, MODELSCOPE)
WEBAPP_PORT = 7860
API_PORT = 8000


@dataclass(frozen=True)
class Variable:
    name: str
    default: str
    meaning: str


VARIABLES = (
    Variable("ARTIMUSE_CKPT", DEFAULT_CKPT, "checkpoint directory or hub repo id"),
    Variable("ARTIMUSE_DEVICE", DEFAULT_DEVICE, "`auto` (cuda:0, else mps, else cpu), `cpu`, "
             "`cuda` (= `cuda:0`), `cuda:N`, `mps`; any case"),
    Variable("ARTIMUSE_DTYPE", DEFAULT_DTYPE, "`auto` (bfloat16; float16 on MPS), `float32` "
             "(`fp32`), `bfloat16` (`bf16`), `float16` (`fp16`, `half`); any case"),
    Variable("ARTIMUSE_QUANT", DEFAULT_QUANT, "`none`, `int8`, `int4`, `nf4` or `w8a8`: the "
             "language model's weights, quantized while loading (CPU: int8, int4 with torch's "
             "and oneDNN's kernels, w8a8 = int8 weights with int8 inputs, where int8 products "
             "are exact; CUDA: int8, nf4 with bitsandbytes, the `quant` extra)"),
    Variable("ARTIMUSE_COMPILE", DEFAULT_COMPILE, "`1`: decode comments with a static KV cache "
             "and a torch.compile'd step (CUDA graphs on CUDA)"),
    Variable("ARTIMUSE_PREREAD", DEFAULT_PREREAD, "`1`: read the weights into memory while "
             "loading, with progress, so that the first request does not wait on the disk; "
             "`0`: as requests touch them"),
    Variable("ARTIMUSE_MEMORY_GB", "", "memory (GB) the weights may take; unset: what the "
             "system has available (or the GPU's free memory); `off`: no check before loading"),
    Variable("ARTIMUSE_MAX_NEW_TOKENS", str(DEFAULT_MAX_NEW_TOKENS), "comment length cap, in "
             "tokens"),
    Variable("ARTIMUSE_MAX_PIXELS", str(DEFAULT_MAX_PIXELS), "larger images are refused "
             "(decompression-bomb guard)"),
    Variable("ARTIMUSE_MAX_SIDE", str(DEFAULT_MAX_SIDE), "images with a longer side are refused "
             "(a 1 x 64,000,000 strip costs gigabytes to resize)"),
    Variable("ARTIMUSE_MAX_UPLOAD_MB", str(DEFAULT_MAX_UPLOAD_MB), "largest upload per image, "
             "web app and REST service"),
    Variable("ARTIMUSE_MAX_BATCH", str(DEFAULT_MAX_BATCH), "files in one `/score/batch` request"),
    Variable("ARTIMUSE_QUEUE_SIZE", str(DEFAULT_QUEUE_SIZE), "model jobs admitted at once "
             "(running + waiting); more get 503 / \"queue is full\""),
    Variable("ARTIMUSE_CLIENT_JOBS", str(DEFAULT_CLIENT_JOBS), "model jobs one client (REST: "
             "address; web app: address, each session at most 3) may "
             "have running + waiting; more get 429 / \"you "
             "already have N jobs\""),
    Variable("ARTIMUSE_CORS_ORIGINS", "", "REST: comma-separated origins (`https://app.example`) "
             "whose web pages may call the service; other cross-origin requests get 403"),
    Variable("ARTIMUSE_MAX_CONNECTIONS", str(DEFAULT_MAX_CONNECTIONS), "REST: open connections "
             "(or requests) past which new requests get 503"),
    Variable("ARTIMUSE_HEADER_TIMEOUT", str(DEFAULT_HEADER_TIMEOUT), "REST: seconds to send a "
             "request's headers, else the connection is closed"),
    Variable("ARTIMUSE_BODY_TIMEOUT", str(DEFAULT_BODY_TIMEOUT), "REST: seconds a request body "
             "may stall between two reads, else 408"),
    Variable("ARTIMUSE_KEEP_ALIVE", str(DEFAULT_KEEP_ALIVE), "REST: seconds an idle keep-alive "
             "connection stays open"),
    Variable("ARTIMUSE_API_KEY", "", "when set, the REST service wants `Authorization: Bearer "
             "<key>` (all but `/health`)"),
    Variable("ARTIMUSE_AUTO_DOWNLOAD", DEFAULT_AUTO_DOWNLOAD, "`1`: the web app downloads a "
             "missing checkpoint from the hub at start-up (hosted demos)"),
    Variable("ARTIMUSE_PUBLIC", "0", "`1`: the web app is a public demo: checkpoint switch and "
             "downloads hidden and refused but to a signed-in operator (on when `SPACE_ID` is "
             "set; `--public`)"),
    Variable("ARTIMUSE_ADMIN_PASSWORD", "", "the web app's operator password (sign in at "
             "`/?operator=1`); unset: operator actions only from a loopback client, never in "
             "public mode"),
    Variable("ARTIMUSE_JOB_TIME_LIMIT", str(DEFAULT_JOB_TIME_LIMIT), "web app: seconds one "
             "model job may run before it is stopped"),
    Variable("SPACE_ID", "", "set by Hugging Face Spaces; turns the web app's public mode on"),
    Variable("ARTIMUSE_SOURCE", HF, "where hub ids and checkpoint names are downloaded from: "
             "`hf` (the Hugging Face hub, or the mirror in `HF_ENDPOINT`) or `modelscope` "
             "(needs the `modelscope` extra; reachable from mainland China)"),
    Variable("HOST", DEFAULT_HOST, "listen address of the web app and the REST service"),
    Variable("PORT", f"{WEBAPP_PORT} / {API_PORT}", "port of the web app / the REST service "
             "(1-65535)"),
    Variable("RAY_ADDRESS", "", "the Ray cluster `eval --ray` and `serve` join (Ray reads it "
             "too); unset: they start a local Ray"),
)


# --- parsing: one reader per kind of value, each naming its variable when it refuses ---------

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
MAX_PORT = 65_535


def env_text(name: str, default: str) -> str:
    """A variable's value, stripped; unset or empty (`NAME=`) gives the default."""
    value = os.environ.get(name, "").strip()
    return value or default


def parse_flag(raw: str, source: str) -> bool:
    """`1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off`, any case, else an InputError naming
    `source` and every accepted word."""
    word = str(raw).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InputError(
        f"{source} must be one of {'/'.join(TRUE_WORDS)} (on) or {'/'.join(FALSE_WORDS)} (off), "
        f"got {raw!r}"
    )


def environment_with(changes: dict[str, str | None]) -> dict[str, str]:
    """This process's environment with `changes` (None removes a variable): for a child
    process (the test helpers start the web app this way)."""
    env = {k: v for k, v in os.environ.items() if changes.get(k, v) is not None}
    return env | {k: v for k, v in changes.items() if v is not None}


def env_flag(name: str, default: str) -> bool:
    """A yes/no variable (`parse_flag`); unset or empty gives the default."""
    return parse_flag(env_text(name, default), name)


def check_quant(mode: str, source: str = "ARTIMUSE_QUANT") -> str:
    mode = str(mode).strip().lower()
    if mode not in QUANT_MODES:
        raise InputError(f"{source} must be one of {', '.join(QUANT_MODES)}, got {mode!r}")
    return mode


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    """An integer from the environment, with a message naming the variable when it is not one;
    unset or empty gives the default."""
    raw = env_text(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


def parse_port(raw: str | int, source: str) -> int:
    """A TCP port, 1-65535 (the OS would silently take 99999 modulo 65536)."""
    try:
        port = int(str(raw).strip())
    except ValueError:
        raise InputError(f"{source} must be a port number (1-{MAX_PORT}), got {raw!r}") from None
    if not 1 <= port <= MAX_PORT:
        raise InputError(f"{source} must be a port number (1-{MAX_PORT}), got {port}")
    return port


def port_number(text: str) -> int:
    """`--port`'s argparse type: `parse_port`, refused with argparse's usage line."""
    try:
        return parse_port(text, "the port")
    except InputError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


@dataclass(frozen=True)
class Settings:
    """What model to load, where, in what form, and how long comments may get."""

    ckpt: str = DEFAULT_CKPT
    device: str = DEFAULT_DEVICE
    dtype: str = DEFAULT_DTYPE
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS
    quant: str = DEFAULT_QUANT
    compile: bool = DEFAULT_COMPILE == "1"

    @classmethod
    def from_env(cls, **given) -> Settings:
        """The environment's settings; a field `given` (not None) is taken as it is and its
        variable is not read, so a bad unrelated variable never breaks an explicit value."""
        unknown = set(given) - set(MODEL_FIELDS)
        if unknown:
            raise TypeError(f"unknown settings {sorted(unknown)}")
        return cls(**{
            field_name: given[field_name] if given.get(field_name) is not None else read(variable)
            for field_name, variable in MODEL_FIELDS.items()
        })

    def load_options(self) -> dict:
        """The keyword arguments of `artimuse.load` these settings give."""
        return dict(
            device=self.device,
            dtype=self.dtype,
            max_new_tokens=self.max_new_tokens,
            quant=self.quant,
            compile=self.compile,
        )


# Settings' fields and the variables they come from.
MODEL_FIELDS = {
    "ckpt": "ARTIMUSE_CKPT",
    "device": "ARTIMUSE_DEVICE",
    "dtype": "ARTIMUSE_DTYPE",
    "max_new_tokens": "ARTIMUSE_MAX_NEW_TOKENS",
    "quant": "ARTIMUSE_QUANT",
    "compile": "ARTIMUSE_COMPILE",
}


def auto_download() -> bool:
    """ARTIMUSE_AUTO_DOWNLOAD: a yes/no variable (`parse_flag`)."""
    return env_flag("ARTIMUSE_AUTO_DOWNLOAD", DEFAULT_AUTO_DOWNLOAD)


@dataclass(frozen=True)
class WebSettings:
    """Who may do what on the web app, and how long a job may run."""

    public: bool = False
    admin_password: str | None = None
    job_time_limit: int = DEFAULT_JOB_TIME_LIMIT

    @classmethod
    def from_env(cls, public: bool | None = None) -> WebSettings:
        on_space = bool(env_text("SPACE_ID", ""))
        return cls(
            public=env_flag("ARTIMUSE_PUBLIC", "1" if on_space else "0") or bool(public),
            admin_password=env_text("ARTIMUSE_ADMIN_PASSWORD", "") or None,
            job_time_limit=env_int("ARTIMUSE_JOB_TIME_LIMIT", DEFAULT_JOB_TIME_LIMIT, 1),
        )


def preread() -> bool:
    """ARTIMUSE_PREREAD: read the weights while loading (on by default)."""
    return env_flag("ARTIMUSE_PREREAD", DEFAULT_PREREAD)


def memory_budget_gb() -> float | None:
    """ARTIMUSE_MEMORY_GB: the memory the weights may take; None: measure it; 0: `off`."""
    raw = env_text("ARTIMUSE_MEMORY_GB", "").strip().lower()
    if raw in ("", "auto"):
        return None
    if raw in ("off", "0"):
        return 0.0
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise InputError(f"ARTIMUSE_MEMORY_GB must be a number of GB or off, got {raw!r}")
    return value


def download_source() -> str:
    """ARTIMUSE_SOURCE: `hf` or `modelscope` (checked by the resolver, which also takes
    --source)."""
    return env_text("ARTIMUSE_SOURCE", HF).strip().lower() or HF


def max_pixels() -> int:
    """ARTIMUSE_MAX_PIXELS: read at each decode, so a test or an embedder can change it
    (front ends check it at start-up: `check_variables`)."""
    return env_int("ARTIMUSE_MAX_PIXELS", DEFAULT_MAX_PIXELS, minimum=1)


def max_side() -> int:
    """ARTIMUSE_MAX_SIDE: read at each decode, as `max_pixels`."""
    return env_int("ARTIMUSE_MAX_SIDE", DEFAULT_MAX_SIDE, minimum=1)


@dataclass(frozen=True)
class UploadLimits:
    """What one upload and one batch request may be: the same for the web app and the API."""

    max_bytes: int = DEFAULT_MAX_UPLOAD_MB * 1024 * 1024
    max_files: int = DEFAULT_MAX_BATCH

    @classmethod
    def from_env(cls) -> UploadLimits:
        megabytes, files = read("ARTIMUSE_MAX_UPLOAD_MB"), read("ARTIMUSE_MAX_BATCH")
        return cls(max_bytes=megabytes * 1024 * 1024, max_files=files)

    def too_large(self) -> str:
        return (
            f"the upload is too large: the limit is {self.max_bytes:,} bytes per image "
            f"({self.max_bytes / 2**20:g} MB, ARTIMUSE_MAX_UPLOAD_MB)"
        )

    def too_many(self, count: int) -> str:
        return (
            f"too many files: {count}, at most {self.max_files} per request (ARTIMUSE_MAX_BATCH)"
        )


@dataclass(frozen=True)
class ConnectionLimits:
    """What one client may hold of the REST service (uvicorn): connections and time."""

    max_connections: int = DEFAULT_MAX_CONNECTIONS
    header_timeout: int = DEFAULT_HEADER_TIMEOUT
    body_timeout: int = DEFAULT_BODY_TIMEOUT
    keep_alive: int = DEFAULT_KEEP_ALIVE

    @classmethod
    def from_env(cls) -> ConnectionLimits:
        return cls(
            max_connections=read("ARTIMUSE_MAX_CONNECTIONS"),
            header_timeout=read("ARTIMUSE_HEADER_TIMEOUT"),
            body_timeout=read("ARTIMUSE_BODY_TIMEOUT"),
            keep_alive=read("ARTIMUSE_KEEP_ALIVE"),
        )


@dataclass(frozen=True)
class ServiceSettings:
    """Everything a serving front end (web app or REST service) needs to know."""

    model: Settings = field(default_factory=Settings)
    limits: UploadLimits = field(default_factory=UploadLimits)
    queue_size: int = DEFAULT_QUEUE_SIZE
    api_key: str | None = None
    connections: ConnectionLimits = field(default_factory=ConnectionLimits)
    score_batch: int = SCORE_BATCH_MAX  # /score requests scored together; 1: one at a time
    client_jobs: int = DEFAULT_CLIENT_JOBS  # jobs one client may have admitted at once
    cors_origins: tuple[str, ...] = ()  # origins allowed to call the REST service from a page

    @classmethod
    def from_env(cls, **overrides) -> ServiceSettings:
        """The environment's service settings; what `overrides` gives is not read."""
        readers = dict(
            model=Settings.from_env,
            limits=UploadLimits.from_env,
            queue_size=lambda: read("ARTIMUSE_QUEUE_SIZE"),
            api_key=lambda: read("ARTIMUSE_API_KEY"),
            connections=ConnectionLimits.from_env,
            client_jobs=lambda: read("ARTIMUSE_CLIENT_JOBS"),
            cors_origins=cors_origins,
        )
        values = {key: overrides[key] if key in overrides else r() for key, r in readers.items()}
        return cls(**{**overrides, **values})


def cors_origins() -> tuple[str, ...]:
    """ARTIMUSE_CORS_ORIGINS: `scheme://host[:port]` origins, comma-separated (`*`: any)."""
    raw = env_text("ARTIMUSE_CORS_ORIGINS", "")
    origins = tuple(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    bad = [o for o in origins if o != "*" and not o.startswith(("http://", "https://"))]
    if bad:
        raise InputError(
            f"ARTIMUSE_CORS_ORIGINS holds origins such as https://app.example, got {bad[0]!r}"
        )
    return origins


def ray_address() -> str | None:
    """RAY_ADDRESS: the Ray cluster that `eval --ray` and `serve` join when given no address."""
    return env_text("RAY_ADDRESS", "") or None


def env_port(default: int) -> int:
    """PORT (1-65535); unset or empty gives `default`, which differs by server."""
    raw = env_text("PORT", "")
    return parse_port(raw, "PORT") if raw else default


def listen_address(default_port: int) -> tuple[str, int]:
    """`HOST` and `PORT`: where a server listens unless flags say otherwise."""
    return env_text("HOST", DEFAULT_HOST), env_port(default_port)


# --- every variable's reader, and the variables each front end reads ---------------------------


def _positive(name: str, default: int):
    return lambda: env_int(name, default, minimum=1)


# How each variable is read and checked; a row of VARIABLES missing here is plain text.
READERS = {
    "ARTIMUSE_CKPT": lambda: env_text("ARTIMUSE_CKPT", DEFAULT_CKPT),
    "ARTIMUSE_DEVICE": lambda: env_text("ARTIMUSE_DEVICE", DEFAULT_DEVICE),
    "ARTIMUSE_DTYPE": lambda: env_text("ARTIMUSE_DTYPE", DEFAULT_DTYPE),
    "ARTIMUSE_QUANT": lambda: check_quant(env_text("ARTIMUSE_QUANT", DEFAULT_QUANT)),
    "ARTIMUSE_COMPILE": lambda: env_flag("ARTIMUSE_COMPILE", DEFAULT_COMPILE),
    "ARTIMUSE_MAX_NEW_TOKENS": _positive("ARTIMUSE_MAX_NEW_TOKENS", DEFAULT_MAX_NEW_TOKENS),
    "ARTIMUSE_MAX_PIXELS": max_pixels,
    "ARTIMUSE_MAX_SIDE": max_side,
    "ARTIMUSE_MAX_UPLOAD_MB": _positive("ARTIMUSE_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB),
    "ARTIMUSE_MAX_BATCH": _positive("ARTIMUSE_MAX_BATCH", DEFAULT_MAX_BATCH),
    "ARTIMUSE_QUEUE_SIZE": _positive("ARTIMUSE_QUEUE_SIZE", DEFAULT_QUEUE_SIZE),
    "ARTIMUSE_CLIENT_JOBS": _positive("ARTIMUSE_CLIENT_JOBS", DEFAULT_CLIENT_JOBS),
    "ARTIMUSE_CORS_ORIGINS": lambda: cors_origins(),
    "ARTIMUSE_MAX_CONNECTIONS": _positive("ARTIMUSE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS),
    "ARTIMUSE_HEADER_TIMEOUT": _positive("ARTIMUSE_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT),
    "ARTIMUSE_BODY_TIMEOUT": _positive("ARTIMUSE_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT),
    "ARTIMUSE_KEEP_ALIVE": _positive("ARTIMUSE_KEEP_ALIVE", DEFAULT_KEEP_ALIVE),
    "ARTIMUSE_API_KEY": lambda: env_text("ARTIMUSE_API_KEY", "") or None,
    "ARTIMUSE_AUTO_DOWNLOAD": auto_download,
    "ARTIMUSE_PUBLIC": lambda: env_flag("ARTIMUSE_PUBLIC", "0"),
    "ARTIMUSE_ADMIN_PASSWORD": lambda: env_text("ARTIMUSE_ADMIN_PASSWORD", "") or None,
    "ARTIMUSE_JOB_TIME_LIMIT": _positive("ARTIMUSE_JOB_TIME_LIMIT", DEFAULT_JOB_TIME_LIMIT),
    "ARTIMUSE_PREREAD": preread,
    "ARTIMUSE_MEMORY_GB": memory_budget_gb,
    "ARTIMUSE_SOURCE": download_source,
    "SPACE_ID": lambda: env_text("SPACE_ID", ""),
    "HOST": lambda: env_text("HOST", DEFAULT_HOST),
    "PORT": lambda: env_port(0),  # the default differs by server: `listen_address`
    "RAY_ADDRESS": ray_address,
}


def read(name: str):
    """One variable, parsed as `READERS` says (plain text for a row not there)."""
    reader = READERS.get(name)
    return reader() if reader else env_text(name, "")


def check_variables(names: Iterable[str]) -> None:
    """Read each of `names` now: a front end calls this at start-up, so a bad value is one
    line per variable (InputError, all of them at once) before any model loads."""
    problems = []
    for name in names:
        try:
            read(name)
        except InputError as error:
            problems.append(str(error))
    if problems:
        raise InputError("\n".join(problems))


# What each front end reads (its --help lists these, its start-up checks them).
MODEL_VARIABLES = tuple(MODEL_FIELDS.values())
IMAGE_VARIABLES = ("ARTIMUSE_MAX_PIXELS", "ARTIMUSE_MAX_SIDE")
LISTEN_VARIABLES = ("HOST", "PORT")
REST_VARIABLES = (
    *MODEL_VARIABLES, *IMAGE_VARIABLES, "ARTIMUSE_MAX_UPLOAD_MB", "ARTIMUSE_MAX_BATCH",
    "ARTIMUSE_QUEUE_SIZE", "ARTIMUSE_CLIENT_JOBS", "ARTIMUSE_CORS_ORIGINS",
    "ARTIMUSE_MAX_CONNECTIONS", "ARTIMUSE_HEADER_TIMEOUT", "ARTIMUSE_BODY_TIMEOUT",
    "ARTIMUSE_KEEP_ALIVE", "ARTIMUSE_API_KEY", *LISTEN_VARIABLES,
)
WEBAPP_VARIABLES = (
    *MODEL_VARIABLES, "ARTIMUSE_PREREAD", "ARTIMUSE_MEMORY_GB", *IMAGE_VARIABLES,
    "ARTIMUSE_MAX_UPLOAD_MB", "ARTIMUSE_MAX_BATCH", "ARTIMUSE_QUEUE_SIZE", "ARTIMUSE_CLIENT_JOBS",
    "ARTIMUSE_JOB_TIME_LIMIT", "ARTIMUSE_AUTO_DOWNLOAD", "ARTIMUSE_SOURCE", "ARTIMUSE_PUBLIC",
    "ARTIMUSE_ADMIN_PASSWORD", "SPACE_ID", *LISTEN_VARIABLES,
)


# --- the model options every command line shares ---------------------------------------------


def model_options() -> argparse.ArgumentParser:
    """A parent parser with --ckpt, --model_name, --device, --dtype, --max-new-tokens, --quant
    and --compile."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("model (defaults: the variable named, else the value shown)")
    group.add_argument("--ckpt", help=f"checkpoint directory or hub repo id (ARTIMUSE_CKPT, "
                       f"else {DEFAULT_CKPT})")
    group.add_argument("--model_name", "--model-name", metavar="NAME",
                       help="a folder under checkpoints/ (the original tools' flag)")
    group.add_argument("--device", help="auto, cpu, cuda, cuda:N, mps, any case (ARTIMUSE_DEVICE, "
                       f"else {DEFAULT_DEVICE})")
    group.add_argument("--dtype", help="auto, bfloat16 (bf16), float16 (fp16, half), float32 "
                       f"(fp32) (ARTIMUSE_DTYPE, else {DEFAULT_DTYPE})")
    group.add_argument(
        "--max-new-tokens", type=int, metavar="N", help="comment length cap, in tokens "
        f"(ARTIMUSE_MAX_NEW_TOKENS, else {DEFAULT_MAX_NEW_TOKENS})"
    )
    group.add_argument(
        "--quant", help=f"{', '.join(QUANT_MODES)}: the language model's weights "
        f"(ARTIMUSE_QUANT, else {DEFAULT_QUANT})"
    )
    group.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="static KV cache + compiled decode step (ARTIMUSE_COMPILE, else off)",
    )
    return options


def listen_options(default_port: int) -> argparse.ArgumentParser:
    """A parent parser with --host and --port, their defaults from HOST and PORT (so building
    it reads them: an InputError for a bad PORT)."""
    host, port = listen_address(default_port)
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("where to listen")
    group.add_argument("--host", "--listen", default=host,
                       help=f"listen address (HOST; default {host})")
    group.add_argument("--port", type=port_number, default=port,
                       help=f"port, 1-{MAX_PORT} (PORT; default {port})")
    return options


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The flags of `model_options()` over the environment's settings (the variables of the
    flags given are not read)."""
    if args.max_new_tokens is not None and args.max_new_tokens < 1:
        raise InputError(f"--max-new-tokens must be >= 1, got {args.max_new_tokens}")
    return Settings.from_env(
        ckpt=args.ckpt or (str(CHECKPOINTS_DIR / args.model_name) if args.model_name else None),
        device=args.device or None,
        dtype=args.dtype or None,
        max_new_tokens=args.max_new_tokens,
        quant=check_quant(args.quant, "--quant") if args.quant else None,
        compile=args.compile,
    )


def variables_table() -> str:
    """The README's table of every variable, generated from `VARIABLES` (a test compares)."""
    rows = [f"| `{v.name}` | {v.default or '(unset)'} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])


def environment_help(names: Iterable[str] | None = None) -> str:
    """The variables `names` (default: all) as one line for a command's --help, with their
    defaults."""
    wanted = None if names is None else set(names)
    rows = [v for v in VARIABLES if wanted is None or v.name in wanted]
    return "Environment: " + ", ".join(
        f"{v.name} ({v.default})" if v.default else v.name for v in rows
    )
