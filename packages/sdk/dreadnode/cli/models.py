"""``dn train models list|get|update|delete|sample``: the models a user trains on and samples.

One list holds the catalog's base models (read-only) and the user's own, each made by one of
their completed jobs (``ft-...``); a job's ``--model`` takes either. ``update`` and ``delete``
act on the user's own only: the API refuses a catalog model in its own words (exit 1), as it
refuses a delete while a queued or running job trains on the model. ``delete`` asks before it
acts on a terminal and refuses without ``--yes`` when nobody is there to ask (exit 2).

``sample`` prints the completion's text and nothing else, so it pipes; several completions are
each headed by a line that numbers them. Its prompt is the argument, or stdin when there is
none (or it is ``-``); a final line break on stdin (what ``echo`` and editors add) is not part
of it. It is sent as one user message (after a ``--system`` one), rendered with the model's
renderer, or with ``--raw`` as text whose tokens the model continues as they are. On a
terminal a completion's control characters are shown as escapes, never obeyed; in a pipe the
text is written exactly as sampled. A completion cut short by ``--max-tokens`` is said on
stderr. The bounds of what a sample may ask for are checked here, as the API would (exit 2).

``--json`` prints the API's answer as it came; every failure is one ``error:`` line (exit 1
for the API's answers, 2 for usage).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Final

from dreadnode.cli.api import add_server_arguments, api_client
from dreadnode.cli.contract import (
    MAX_SAMPLE_COMPLETIONS,
    MAX_SAMPLE_TOKENS,
    MAX_SEED,
    MAX_STOP_CHARS,
    MAX_STOP_TEXTS,
    MODEL_ID_PREFIX,
    MODEL_KINDS,
)
from dreadnode.cli.errors import UsageError
from dreadnode.cli.output import (
    MAX_LIMIT,
    confirm_delete,
    format_value,
    format_when,
    page_footer,
    printable,
    printable_text,
    write_json,
    write_table,
)
from dreadnode.cli.parsing import bounded_int, float_in

if TYPE_CHECKING:
    from dreadnode.client import Model, ModelChanges, SampleResult

__all__ = ["add_models_parser", "describe_model_fields"]

#: The largest ``--offset`` the API takes (a 32-bit signed integer, as every list's).
MAX_OFFSET: Final = 2**31 - 1

#: What ``--owned`` and ``--base`` say, per kind of ``MODEL_KINDS``.
_KIND_HELP: Final = {
    "owned": "only your own models (made by your completed jobs)",
    "base": "only the catalog's base models",
}


def add_models_parser(commands: Any) -> None:
    """Register ``models`` and its subcommands under ``dn train``."""
    models = commands.add_parser(
        "models",
        help="list, inspect, update, delete and sample models (the catalog's and your own)",
        description="The models you can train on and sample: the catalog's base models and "
        "your own, each made by one of your completed jobs (ft-...). `dn train sft|rl --model` "
        "takes either.",
    )
    actions = models.add_subparsers(dest="action", metavar="ACTION", required=True)

    listing = actions.add_parser(
        "list", help="your models (newest first), then the catalog's base models"
    )
    kinds = listing.add_mutually_exclusive_group()
    for kind in MODEL_KINDS:
        kinds.add_argument(
            f"--{kind}",
            dest="kind",
            action="store_const",
            const=kind,
            help=_KIND_HELP.get(kind, f"only models of kind {kind!r}"),
        )
    listing.add_argument("--query", help="only models whose id or name holds these words")
    listing.add_argument(
        "--limit",
        type=bounded_int(1, MAX_LIMIT),
        default=20,
        help=f"how many models to show, 1-{MAX_LIMIT} (default 20)",
    )
    listing.add_argument(
        "--offset",
        type=bounded_int(0, MAX_OFFSET),
        help="how many models to skip first (default 0): the next page starts where one ended",
    )
    listing.set_defaults(handler=run_list)

    get = actions.add_parser("get", help="one model: a catalog id or one of yours")
    get.add_argument("model_id", metavar="ID")
    get.set_defaults(handler=run_get)

    update = actions.add_parser(
        "update",
        help="rename, describe, make default or set the sampling defaults of one of your models",
        description="Change one of your models: only what is given changes. Catalog models "
        "are read-only.",
    )
    update.add_argument("model_id", metavar="ID")
    update.add_argument("--name", help="a new name, unique among your models")
    described = update.add_mutually_exclusive_group()
    described.add_argument("--description", metavar="TEXT", help="a new description")
    described.add_argument(
        "--clear-description", action="store_true", help="remove the description"
    )
    default = update.add_mutually_exclusive_group()
    default.add_argument(
        "--default",
        dest="default_model",
        action="store_const",
        const=True,
        help="make it your default model (and no other)",
    )
    default.add_argument(
        "--no-default",
        dest="default_model",
        action="store_const",
        const=False,
        help="make it not your default model",
    )
    _add_sampling_arguments(update, "what it is sampled with unless a request says otherwise")
    update.add_argument(
        "--reset-sampling",
        action="store_true",
        help="restore the service's temperature and top_p",
    )
    update.set_defaults(handler=run_update)

    delete = actions.add_parser(
        "delete", help="delete one of your models (refused while a queued or running job uses it)"
    )
    delete.add_argument("model_id", metavar="ID")
    delete.add_argument("--yes", "-y", action="store_true", help="do not ask for confirmation")
    delete.set_defaults(handler=run_delete)

    sample = actions.add_parser(
        "sample",
        help="sample a model: print its completion of a prompt",
        description="Sample a model, yours or a catalog one, and print the completion's text. "
        "The prompt is sent as one user message, rendered with the model's renderer, or with "
        "--raw as text to continue.",
    )
    sample.add_argument("model_id", metavar="ID")
    sample.add_argument(
        "prompt",
        metavar="PROMPT",
        nargs="?",
        help="the prompt; when omitted or -, read from stdin (its final line break dropped)",
    )
    sample.add_argument(
        "--raw",
        action="store_true",
        help="send the prompt as raw text whose tokens the model continues, not as a message",
    )
    sample.add_argument("--system", metavar="TEXT", help="a system message before the prompt")
    sample.add_argument(
        "--max-tokens",
        type=bounded_int(1, MAX_SAMPLE_TOKENS),
        help=f"the most tokens a completion may have, 1-{MAX_SAMPLE_TOKENS:,} "
        "(default: the model's)",
    )
    _add_sampling_arguments(sample, "default: the model's")
    sample.add_argument(
        "-n",
        "--n",
        type=bounded_int(1, MAX_SAMPLE_COMPLETIONS),
        help=f"how many completions, 1-{MAX_SAMPLE_COMPLETIONS} (default 1)",
    )
    sample.add_argument(
        "--stop",
        action="append",
        metavar="TEXT",
        type=_stop_text,
        help=f"text that ends a completion, cut before it (repeatable, up to {MAX_STOP_TEXTS})",
    )
    sample.add_argument(
        "--seed",
        type=bounded_int(0, MAX_SEED),
        help="the same seed and request give the same completions",
    )
    sample.set_defaults(handler=run_sample)

    for action in (listing, get, update, delete, sample):
        action.add_argument("--json", action="store_true", help="print the API's answer as JSON")
        add_server_arguments(action)


def _add_sampling_arguments(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--temperature",
        type=float_in(0, 2, low_open=True),
        help=f"the sampling temperature, 0 < x <= 2 ({default})",
    )
    parser.add_argument(
        "--top-p",
        type=float_in(0, 1, low_open=True),
        help=f"nucleus sampling's probability mass, 0 < x <= 1 ({default})",
    )


def _stop_text(text: str) -> str:
    """An argparse ``type`` for a stop text: 1-64 characters, as the API takes."""
    if not 1 <= len(text) <= MAX_STOP_CHARS:
        raise argparse.ArgumentTypeError(f"must be 1-{MAX_STOP_CHARS} characters, got {len(text)}")
    return text


# --- list, get -------------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    with api_client(args) as client:
        page = client.list_models(
            kind=args.kind, query=args.query, limit=args.limit, offset=args.offset
        )
    if args.json:
        write_json(page.model_dump(mode="json"))
        return 0
    if not page.models:
        sys.stdout.write(_none_listed(args, page.total) + "\n")
        return 0
    rows = [
        (
            model.id,
            model.name + (" (default)" if model.default_model else ""),
            str(model.revision),
            model.base_model,
            model.parent_model or "",
            "" if model.created_at is None else format_when(model.created_at),
        )
        for model in page.models
    ]
    header = ("id", "name", "revision", "base model", "parent", "created")
    write_table(header, rows, no_wrap={"id"}, right={"revision"})
    sys.stdout.write(page_footer(len(rows), page.total, offset=args.offset or 0) + "\n")
    return 0


def _none_listed(args: argparse.Namespace, total: int) -> str:
    """Why the page is empty, and what to do about it."""
    if total and args.offset:
        return f"No models at offset {args.offset}: there are {total}."
    matching = "" if args.query is None else f" matching {args.query!r}"
    if args.kind == "owned":
        return (
            f"No models of your own{matching}; every completed job makes one "
            "(dn train sft|rl), and `dn train models list --base` lists the catalog's."
        )
    return f"No models{matching}."


def run_get(args: argparse.Namespace) -> int:
    _require_id(args)
    with api_client(args) as client:
        model = client.get_model(args.model_id)
    if args.json:
        write_json(model.model_dump(mode="json"))
        return 0
    _write_fields(describe_model_fields(model))
    return 0


def describe_model_fields(model: Model) -> list[tuple[str, str]]:
    """A model as labelled lines: what it is, where it comes from, what it is sampled and
    trained with, and for one of the user's own, what made it and where its weights are."""
    name = model.name + (" (your default model)" if model.default_model else "")
    if model.read_only:
        kind = "catalog base model (read-only; train on it to make one of your own)"
    else:
        kind = f"your model, revision {model.revision}"
    sampling = model.sampling
    fields = [
        ("id", model.id),
        ("name", name),
        ("description", model.description or ""),
        ("kind", kind),
        ("base model", model.base_model),
    ]
    if model.parent_model is not None:
        fields.append(("trained from", model.parent_model))
    fields += [
        ("renderer", model.renderer or "none known"),
        ("context", f"{model.context_length:,} tokens"),
        (
            "sampling",
            f"temperature {format_value(sampling.temperature)}, top_p "
            f"{format_value(sampling.top_p)}, max_tokens {sampling.max_tokens:,} (defaults)",
        ),
        (
            "training",
            f"learning rate {format_value(model.training.learning_rate)}, LoRA rank "
            f"{model.training.lora_rank} (defaults of a job on it)",
        ),
    ]
    optional = [
        ("job", model.job_id),
        ("method", model.method),
        ("dataset", model.dataset),
        ("trained tokens", None if model.trained_tokens is None else f"{model.trained_tokens:,}"),
        ("lora rank", None if model.lora_rank is None else str(model.lora_rank)),
        ("sampler path", model.sampler_path),
        ("checkpoint", model.training_checkpoint),
        ("created", None if model.created_at is None else format_when(model.created_at)),
        (
            "last modified",
            None if model.last_modified is None else format_when(model.last_modified),
        ),
    ]
    fields += [(label, value) for label, value in optional if value is not None]
    return fields


def _write_fields(fields: Sequence[tuple[str, str]]) -> None:
    width = max(len(label) for label, _ in fields)
    sys.stdout.write("".join(f"{label:<{width}}  {printable(value)}\n" for label, value in fields))


# --- update, delete ---------------------------------------------------------------------------


def run_update(args: argparse.Namespace) -> int:
    _require_id(args)
    changes = _changes(args)
    with api_client(args) as client:
        model = client.update_model(args.model_id, **changes)
    if args.json:
        write_json(model.model_dump(mode="json"))
        return 0
    sys.stdout.write(f"updated model {printable(model.id)}\n")
    _write_fields(describe_model_fields(model))
    return 0


def _changes(args: argparse.Namespace) -> ModelChanges:
    """The fields the flags change, and only those: ``--clear-description`` and
    ``--reset-sampling`` send nulls, which the API reads as "clear" and "restore the
    default"; exit 2 for flags that contradict each other, or none at all."""
    changes: ModelChanges = {}
    if args.name is not None:
        changes["name"] = args.name
    if args.description is not None:
        changes["description"] = args.description
    if args.clear_description:
        changes["description"] = None
    if args.default_model is not None:
        changes["default_model"] = args.default_model
    if args.reset_sampling:
        flags = {"--temperature": args.temperature, "--top-p": args.top_p}
        given = [flag for flag, value in flags.items() if value is not None]
        if given:
            raise UsageError(
                f"--reset-sampling restores the service's temperature and top_p; "
                f"{' and '.join(given)} would set one: give one or the other"
            )
        changes["temperature"] = None
        changes["top_p"] = None
    if args.temperature is not None:
        changes["temperature"] = args.temperature
    if args.top_p is not None:
        changes["top_p"] = args.top_p
    if not changes:
        raise UsageError(
            "nothing to change: give --name, --description, --clear-description, --default, "
            "--no-default, --temperature, --top-p or --reset-sampling",
            hints=(f"see: dn train models update {args.model_id} --help",),
        )
    return changes


def run_delete(args: argparse.Namespace) -> int:
    _require_id(args)
    if not args.yes and not confirm_delete(f"Delete model {args.model_id}? [y/N] "):
        sys.stderr.write("not deleted\n")
        return 0
    with api_client(args) as client:
        client.delete_model(args.model_id)
    if args.json:
        write_json({"id": args.model_id, "deleted": True})
    else:
        sys.stdout.write(f"deleted model {printable(args.model_id)}\n")
    return 0


# --- sample -----------------------------------------------------------------------------------


def run_sample(args: argparse.Namespace) -> int:
    _require_id(args)
    if args.raw and args.system is not None:
        raise UsageError(
            "--system adds a message, and a --raw prompt is sent as text, not as messages: "
            "put the system text in the prompt, or leave out --raw"
        )
    stops = args.stop or []
    if len(stops) > MAX_STOP_TEXTS:
        raise UsageError(f"--stop: at most {MAX_STOP_TEXTS} stop texts, got {len(stops)}")
    prompt = _read_prompt(args)
    messages = None
    if not args.raw:
        system = [] if args.system is None else [{"role": "system", "content": args.system}]
        messages = [*system, {"role": "user", "content": prompt}]
    with api_client(args) as client:
        result = client.sample_model(
            args.model_id,
            messages=messages,
            prompt=prompt if args.raw else None,
            max_tokens=args.max_tokens,
            temperature=args.temperature,
            top_p=args.top_p,
            n=args.n,
            stop=stops or None,
            seed=args.seed,
        )
    if args.json:
        write_json(result.model_dump(mode="json"))
        return 0
    _write_completions(result)
    return 0


def _read_prompt(args: argparse.Namespace) -> str:
    """The prompt: the argument, or stdin (without its final line break) when there is none or
    it is ``-``; exit 2 for an empty one, or for none at all on a terminal (nothing would come)."""
    if args.prompt is not None and args.prompt != "-":
        text: str = args.prompt
    else:
        if args.prompt is None and sys.stdin.isatty():
            raise UsageError(
                "no PROMPT: give it as an argument, or on stdin "
                f"(echo 'Hello' | dn train models sample {args.model_id})"
            )
        try:
            text = sys.stdin.buffer.read().decode("utf-8")
        except UnicodeDecodeError:
            raise UsageError("stdin is not UTF-8 text; the prompt must be") from None
        text = text.removesuffix("\n").removesuffix("\r")
    if not text.strip():
        raise UsageError("the prompt is empty")
    return text


def _write_completions(result: SampleResult) -> None:
    """Each completion's text, headed by ``--- completion 2 of 3 ---`` when there are several;
    on stderr, a note for each that ``max_tokens`` cut short."""
    shown = printable_text if sys.stdout.isatty() else str
    count = len(result.completions)
    for number, completion in enumerate(result.completions, start=1):
        if count > 1:
            sys.stdout.write(f"--- completion {number} of {count} ---\n")
        text = shown(completion.text)
        sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    for number, completion in enumerate(result.completions, start=1):
        if completion.finish_reason == "length":
            which = "the completion" if count == 1 else f"completion {number}"
            sys.stderr.write(
                f"note: {which} reached max_tokens ({result.sampling.max_tokens:,}) before it "
                "ended; --max-tokens allows more\n"
            )


def _require_id(args: argparse.Namespace) -> None:
    """Refuse, before any request, an empty id: the path would name the listing."""
    if not args.model_id.strip():
        raise UsageError(
            "the model id must not be empty (see 'dn train models list'; yours start with "
            f"{MODEL_ID_PREFIX!r})"
        )
