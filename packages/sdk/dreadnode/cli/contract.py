"""What ``dn`` and the API must agree on, written once: job statuses, methods and their
algorithms, the hyperparameters with their flags, the dataset formats, why a job may be
cancelled, and the models: which a list shows, how a user's own ids look, and what a sample
request may ask for.

argparse (choices, flags, help) and the request builder both read these tables, so a status, an
algorithm or a knob is added in one place and every command follows. Algorithms come from the
catalog's ``TrainingAlgorithm``. The dataset formats restate the validator's ``DatasetFormat``
(imported only when a file is checked: it costs start-up time); the statuses, cancel reasons and
hyperparameters restate the wire contract (``dreadnode.client.types``, which imports httpx and so
cannot be read while ``dn`` starts), as do the model kinds, sample roles, finish reasons and
sampling bounds (the API's ``app.model_schemas``); the tests hold each equal to its source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from dreadnode.cli.parsing import (
    bounded_int,
    finite_float,
    float_in,
    positive_whole_number,
    whole_number,
)
from dreadnode.training.models import DEFAULT_LORA_RANK, MAX_KNOWN_LORA_RANK, TrainingAlgorithm

__all__ = [
    "CANCEL_REASONS",
    "DATASET_FORMATS",
    "FINISH_REASONS",
    "HYPERPARAMETERS",
    "JOB_STATUSES",
    "MAX_SAMPLE_COMPLETIONS",
    "MAX_SAMPLE_TOKENS",
    "MAX_SEED",
    "MAX_STOP_CHARS",
    "MAX_STOP_TEXTS",
    "METHODS",
    "MODEL_ID_PREFIX",
    "MODEL_KINDS",
    "PPO",
    "SAMPLE_ROLES",
    "TOKEN_COUNT_STATUSES",
    "Hyperparameter",
    "Method",
]

#: The row formats a dataset may hold (``dn train datasets upload --format``): the values of
#: ``dreadnode.training.datasets.DatasetFormat``, in its order.
DATASET_FORMATS: Final = ("chat", "prompt_completion", "text", "prompt")

#: Every state a job can be in, in the order a job passes through them (``--status``).
JOB_STATUSES: Final = ("queued", "running", "completed", "failed", "cancelled")

#: Where a dataset's exact token counts stand (``dn train datasets get`` words each).
TOKEN_COUNT_STATUSES: Final = ("pending", "ready", "failed", "unavailable")

#: Why a cancelled job was cancelled: its owner asked, or its next step would have taken its
#: spend over its ``max_cost_usd`` (``dn train jobs get`` words each).
CANCEL_REASONS: Final = ("user", "budget")


#: Which models a list shows (``dn train models list --owned|--base``, one flag per kind): the
#: caller's own, or the catalog's base models; the values of the API's ``ModelKind``.
MODEL_KINDS: Final = ("owned", "base")

#: What every id of a user's own model starts with (``ft-`` and 24 hex digits). A job's
#: ``--model`` that does is the API's to look up among the caller's models: the embedded
#: catalog does not know it, so ``dn train sft|rl`` sends it unchecked.
MODEL_ID_PREFIX: Final = "ft-"

#: The roles of a chat turn to sample (``SampleMessage.role``), and why a sampled completion
#: ended (``Completion.finish_reason``: an end of turn or stop text, or ``max_tokens``).
SAMPLE_ROLES: Final = ("system", "user", "assistant")
FINISH_REASONS: Final = ("stop", "length")

#: What one sample request may ask for (``dn train models sample`` checks each before sending):
#: up to 4,096 tokens a completion, 8 completions, 4 stop texts of 1-64 characters each, and a
#: seed that fits a 32-bit signed integer.
MAX_SAMPLE_TOKENS: Final = 4096
MAX_SAMPLE_COMPLETIONS: Final = 8
MAX_STOP_TEXTS: Final = 4
MAX_STOP_CHARS: Final = 64
MAX_SEED: Final = 2**31 - 1


@dataclass(frozen=True)
class Method:
    """A training method: the API's ``method``, the ``dn train`` subcommand that submits it, and
    the algorithms it trains with (the first is the default; one alone needs no flag)."""

    name: str
    help: str
    description: str
    algorithms: tuple[str, ...]


METHODS: Final = (
    Method(
        "sft",
        "submit a supervised fine-tuning job",
        "Submit a supervised fine-tuning (cross-entropy) job to the API.",
        (TrainingAlgorithm.SFT.value,),
    ),
    Method(
        "rl",
        "submit a reinforcement-learning job",
        "Submit a reinforcement-learning job to the API.",
        tuple(a.value for a in TrainingAlgorithm if a is not TrainingAlgorithm.SFT),
    ),
)


@dataclass(frozen=True)
class Hyperparameter:
    """One field of the job's ``hyperparameters``: its name on the wire, its type there, what
    the help says of its bounds, and how its flag's text is read.

    ``methods``, when set, are the only methods that take it (the API refuses it on the others,
    so ``dn`` offers its flag on those only) and ``algorithms``, when set, the only algorithms it
    goes with (a PPO clip threshold). A knob with its own ``parse`` has its bounds checked here,
    as the API would; the others' bounds are the API's to check (and to report all at once).
    ``rl_bounds`` is what ``dn train rl --help`` says instead of ``bounds``, when an RL job
    reads it differently (``batch_size``: prompts per step)."""

    name: str
    kind: type[int] | type[float]
    bounds: str
    parse: Callable[[str], int | float] | None = None
    methods: tuple[str, ...] | None = None
    algorithms: tuple[str, ...] | None = None
    flag_name: str | None = None
    rl_bounds: str | None = None

    @property
    def flag(self) -> str:
        """``--learning-rate`` for ``learning_rate``, unless the entry names its flag."""
        return self.flag_name or "--" + self.name.replace("_", "-")

    @property
    def parser(self) -> Callable[[str], int | float]:
        """The argparse ``type``: a finite float or a whole number unless the entry says more."""
        if self.parse is not None:
            return self.parse
        return finite_float if self.kind is float else whole_number

    def help_for(self, method: str) -> str:
        """What ``dn train <method> --help`` says of the knob."""
        return self.rl_bounds if method == "rl" and self.rl_bounds else self.bounds


#: The PPO algorithm's name: the clip thresholds go with it alone.
PPO: Final = TrainingAlgorithm.PPO.value

HYPERPARAMETERS: Final = (
    Hyperparameter("learning_rate", float, "0 < x <= 1"),
    Hyperparameter("batch_size", int, "1-4096", rl_bounds="1-4096: prompts per step (default 32)"),
    Hyperparameter("epochs", int, "1-100"),
    Hyperparameter("steps", int, "1-1,000,000"),
    Hyperparameter("max_sequence_length", int, "up to the model's context"),
    # At least 1 whatever else bounds it: its upper bound depends on the model (the catalog's).
    Hyperparameter(
        "lora_rank",
        int,
        f"a power of two, up to the model's maximum or {MAX_KNOWN_LORA_RANK} "
        f"(default {DEFAULT_LORA_RANK})",
        parse=positive_whole_number,
    ),
    # RL only, bounds checked here: the API's (app.schemas.Hyperparameters), restated.
    Hyperparameter(
        "group_size",
        int,
        "2-64: completions sampled per prompt (default 4)",
        parse=bounded_int(2, 64),
        methods=("rl",),
    ),
    Hyperparameter(
        "max_tokens",
        int,
        "1-32,768: the most tokens one completion may have (default 256)",
        parse=bounded_int(1, 32_768),
        methods=("rl",),
    ),
    Hyperparameter(
        "temperature",
        float,
        "0 < x <= 2: the sampling temperature (default 1.0)",
        parse=float_in(0, 2, low_open=True),
        methods=("rl",),
    ),
    Hyperparameter(
        "clip_low_threshold",
        float,
        "0 <= x < 1: the lowest probability ratio PPO does not clip (default 0.8; ppo only)",
        parse=float_in(0, 1, high_open=True),
        methods=("rl",),
        algorithms=(PPO,),
        flag_name="--clip-low",
    ),
    Hyperparameter(
        "clip_high_threshold",
        float,
        "1 < x <= 10: the highest probability ratio PPO does not clip (default 1.2; ppo only)",
        parse=float_in(1, 10, low_open=True),
        methods=("rl",),
        algorithms=(PPO,),
        flag_name="--clip-high",
    ),
)
