"""Configuration: the only module that reads the environment (behaviour §9).

Every variable the project reads is a row of `VARIABLES` (the README's table lists each one, a
test checks it) with its default defined once, here. Front ends take the model's settings from
`Settings.from_env()` (or `model_options()` + `settings_from_args()` on a command line, the
environment giving the defaults), the limits they share from `ServiceSettings.from_env()`, and
where to listen from `listen_address()`. A malformed value is reported with the variable's name.
"""

from __future__ import annotations

import argparse
import os
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
DEFAULT_BATCH_SIZE = 8  # images per model batch when scoring many
DEFAULT_MAX_CONNECTIONS = 4096  # REST: past this many open connections requests get 503
DEFAULT_HEADER_TIMEOUT = 10  # seconds a client has to send a request's headers
DEFAULT_BODY_TIMEOUT = 30  # seconds a request body may pause between two reads
DEFAULT_KEEP_ALIVE = 5  # seconds an idle keep-alive connection stays open (uvicorn's default)
DEFAULT_QUANT = "none"  # the language model's weights: none (the dtype), int8, int4 or nf4
QUANT_MODES = ("none", "int8", "int4", "nf4")
DEFAULT_PREREAD = "1"  # read the weights while loading (loading/preread.py)
DEFAULT_COMPILE = "0"  # 1: static KV cache + compiled decode step (measured: see the README)
SCORE_BATCH_WAIT_S = 0.010  # how long a score pass waits for companions to batch with (<= 20 ms)
SCORE_BATCH_MAX = 8  # score passes of different requests run together, at most this many
DEFAULT_HOST = "0.0.0.0"  # every interface, as the original; HOST=127.0.0.1 keeps it local
DEFAULT_AUTO_DOWNLOAD = "0"  # 1: the web app downloads a missing checkpoint at start-up
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
             "`cuda:N`, `mps`"),
    Variable("ARTIMUSE_DTYPE", DEFAULT_DTYPE, "`auto` (bfloat16; float16 on MPS), `float32`, "
             "`bfloat16`, `float16`"),
    Variable("ARTIMUSE_QUANT", DEFAULT_QUANT, "`none`, `int8`, `int4` or `nf4`: the language "
             "model's weights, quantized while loading (CPU: int8, int4 with torch's kernels; "
             "CUDA: int8, nf4 with bitsandbytes, the `quant` extra)"),
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
    Variable("ARTIMUSE_SOURCE", HF, "where hub ids and checkpoint names are downloaded from: "
             "`hf` (the Hugging Face hub, or the mirror in `HF_ENDPOINT`) or `modelscope` "
             "(needs the `modelscope` extra; reachable from mainland China)"),
    Variable("HOST", DEFAULT_HOST, "listen address of the web app and the REST service"),
    Variable("PORT", f"{WEBAPP_PORT} / {API_PORT}", "port of the web app / the REST service"),
    Variable("RAY_ADDRESS", "", "the Ray cluster `eval --ray` and `serve` join (Ray reads it "
             "too); unset: they start a local Ray"),
)


def env_text(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_flag(name: str, default: str) -> bool:
    """`1`/`true`/`yes`/`on` or `0`/`false`/`no`/`off` (any case), else an InputError."""
    raw = os.environ.get(name, default).strip().lower()
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off", ""):
        return False
    raise InputError(f"{name} must be 1 or 0, got {raw!r}")


def check_quant(mode: str, source: str = "ARTIMUSE_QUANT") -> str:
    mode = str(mode).strip().lower()
    if mode not in QUANT_MODES:
        raise InputError(f"{source} must be one of {', '.join(QUANT_MODES)}, got {mode!r}")
    return mode


def env_int(name: str, default: int, minimum: int | None = None) -> int:
    """An integer from the environment, with a message naming the variable when it is not one."""
    raw = os.environ.get(name, str(default))
    try:
        value = int(raw)
    except ValueError:
        raise InputError(f"{name} must be an integer, got {raw!r}") from None
    if minimum is not None and value < minimum:
        raise InputError(f"{name} must be >= {minimum}, got {value}")
    return value


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
    def from_env(cls) -> Settings:
        return cls(
            ckpt=env_text("ARTIMUSE_CKPT", DEFAULT_CKPT),
            device=env_text("ARTIMUSE_DEVICE", DEFAULT_DEVICE),
            dtype=env_text("ARTIMUSE_DTYPE", DEFAULT_DTYPE),
            max_new_tokens=env_int("ARTIMUSE_MAX_NEW_TOKENS", DEFAULT_MAX_NEW_TOKENS, minimum=1),
            quant=check_quant(env_text("ARTIMUSE_QUANT", DEFAULT_QUANT)),
            compile=env_flag("ARTIMUSE_COMPILE", DEFAULT_COMPILE),
        )

    def load_options(self) -> dict:
        """The keyword arguments of `artimuse.load` these settings give."""
        return dict(
            device=self.device,
            dtype=self.dtype,
            max_new_tokens=self.max_new_tokens,
            quant=self.quant,
            compile=self.compile,
        )


def auto_download() -> bool:
    """ARTIMUSE_AUTO_DOWNLOAD: `1`/`true`/`yes` on, `0`/`false`/`no`/empty off."""
    raw = env_text("ARTIMUSE_AUTO_DOWNLOAD", DEFAULT_AUTO_DOWNLOAD).strip().lower()
    if raw not in ("1", "true", "yes", "0", "false", "no", ""):
        raise InputError(f"ARTIMUSE_AUTO_DOWNLOAD must be 1 or 0, got {raw!r}")
    return raw in ("1", "true", "yes")


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
    """ARTIMUSE_MAX_PIXELS: read at each decode, so a test or an embedder can change it."""
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
        megabytes = env_int("ARTIMUSE_MAX_UPLOAD_MB", DEFAULT_MAX_UPLOAD_MB, minimum=1)
        files = env_int("ARTIMUSE_MAX_BATCH", DEFAULT_MAX_BATCH, minimum=1)
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
            max_connections=env_int("ARTIMUSE_MAX_CONNECTIONS", DEFAULT_MAX_CONNECTIONS, 1),
            header_timeout=env_int("ARTIMUSE_HEADER_TIMEOUT", DEFAULT_HEADER_TIMEOUT, 1),
            body_timeout=env_int("ARTIMUSE_BODY_TIMEOUT", DEFAULT_BODY_TIMEOUT, 1),
            keep_alive=env_int("ARTIMUSE_KEEP_ALIVE", DEFAULT_KEEP_ALIVE, 1),
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

    @classmethod
    def from_env(cls, **overrides) -> ServiceSettings:
        values = dict(
            model=Settings.from_env(),
            limits=UploadLimits.from_env(),
            queue_size=env_int("ARTIMUSE_QUEUE_SIZE", DEFAULT_QUEUE_SIZE, minimum=1),
            api_key=env_text("ARTIMUSE_API_KEY", "") or None,
            connections=ConnectionLimits.from_env(),
        )
        return cls(**{**values, **overrides})


def ray_address() -> str | None:
    """RAY_ADDRESS: the Ray cluster that `eval --ray` and `serve` join when given no address."""
    return env_text("RAY_ADDRESS", "") or None


def listen_address(default_port: int) -> tuple[str, int]:
    """`HOST` and `PORT`: where a server listens unless flags say otherwise."""
    return env_text("HOST", DEFAULT_HOST), env_int("PORT", default_port)


# --- the model options every command line shares ---------------------------------------------


def model_options() -> argparse.ArgumentParser:
    """A parent parser with --ckpt, --model_name, --device, --dtype, --max-new-tokens, --quant
    and --compile."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("model (defaults from the environment)")
    group.add_argument("--ckpt", help="checkpoint directory or hub repo id (ARTIMUSE_CKPT)")
    group.add_argument("--model_name", "--model-name", help="a folder under checkpoints/")
    group.add_argument("--device", help="auto, cpu, cuda:0, mps (ARTIMUSE_DEVICE)")
    group.add_argument("--dtype", help="auto, bfloat16, float16, float32 (ARTIMUSE_DTYPE)")
    group.add_argument(
        "--max-new-tokens", type=int, help="comment length cap (ARTIMUSE_MAX_NEW_TOKENS)"
    )
    group.add_argument(
        "--quant", help="none, int8, int4 (CPU), nf4 (CUDA): the language model's weights "
        "(ARTIMUSE_QUANT)"
    )
    group.add_argument(
        "--compile",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="static KV cache + compiled decode step (ARTIMUSE_COMPILE)",
    )
    return options


def settings_from_args(args: argparse.Namespace) -> Settings:
    """The flags of `model_options()` over the environment's settings."""
    env = Settings.from_env()
    ckpt = args.ckpt or (str(CHECKPOINTS_DIR / args.model_name) if args.model_name else env.ckpt)
    tokens = args.max_new_tokens if args.max_new_tokens is not None else env.max_new_tokens
    if tokens < 1:
        raise InputError(f"--max-new-tokens must be >= 1, got {tokens}")
    quant = check_quant(args.quant, "--quant") if args.quant else env.quant
    compiled = env.compile if args.compile is None else args.compile
    return Settings(
        ckpt, args.device or env.device, args.dtype or env.dtype, tokens, quant, compiled
    )


def variables_table() -> str:
    """The README's table of every variable, generated from `VARIABLES` (a test compares)."""
    rows = [f"| `{v.name}` | {v.default or '(unset)'} | {v.meaning} |" for v in VARIABLES]
    return "\n".join(["| variable | default | meaning |", "|---|---|---|", *rows])


def environment_help() -> str:
    """The variables as one line for a command's --help."""
    return "Environment: " + ", ".join(f"{v.name} ({v.default})" for v in VARIABLES if v.default)
