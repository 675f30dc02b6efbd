"""Dataset rows to tokens and loss weights, with each model's own chat template, for Tinker.

Tinker trains on tokens, not text, so every supervised row must be rendered exactly as the
model will see its conversations: its chat template, its tokenizer, and loss weight on the
tokens the model should learn to write (the assistant's), none on the ones it is only given.
A row rendered with another model's template trains the model on a format it never sees again.
The templates are Thinking Machines' own, from ``tml-renderers`` (a compiled extension that
embeds every family's tokenizer and runs offline); this module only picks the renderer a
catalog entry names, feeds it our row formats and hands back flat tokens and weights.

The catalog names renderers as tinker-cookbook does; each maps to a ``tml-renderers`` 0.2.1
renderer built with the defaults that name means:

=============================  =====================================================================
``qwen3``                      ``renderers.Qwen3()``
``qwen3_5``                    ``renderers.Qwen35()`` (Qwen3.6 shares its tokenizer and template)
``qwen3_8_xhigh_reasoning``    ``renderers.Qwen38()`` (reasoning effort ``xhigh``, its default)
``deepseekv3``                 ``renderers.DeepSeekV31()`` (thinking off, its default)
``deepseekv4_1``               ``renderers.DeepSeekV41()``
``gpt_oss_no_sysprompt``       ``renderers.GptOss()`` less the system message it always writes
``glm5_3_max_reasoning``       ``renderers.Glm53()``, or ``renderers.Glm53Flash()`` when the base
                               model is GLM-5.3-Flash (the name alone does not say which)
``nemotron3``                  ``renderers.Nemotron3()``
``nemotron3_ultra``            ``renderers.Nemotron3.ultra()``
``tml_v0``                     ``v0.Renderer(tokenizers.O200kBaseChatTokenizer())``
``role_colon``                 ours: plain ``"Role: text"`` turns over Qwen3.5's tokenizer, for the
                               Qwen3.5 base models (below)
=============================  =====================================================================

Any other name (Kimi-K2.6's ``kimi_k26``: 0.2.1 has no K2.6 renderer) raises
``UnknownRendererError``: better to refuse a job than to guess a template.

``gpt_oss_no_sysprompt``: ``GptOss()`` always opens with a Harmony system message ("You are
ChatGPT ... Current date: <today> ... Reasoning: medium"); the cookbook's renderer of this name
writes none. Kept, it would put the worker's clock into every row (a job rendered on two days
would train on two different prompts). So the renderer is built with a fixed date and that
leading message, the same tokens on every row and never weighted, is cut off. A system row of
the user's own is kept: Harmony renders it as a developer message.

Row formats (``app.training.datasets``), told apart by their fields:

- ``chat``: ``{"messages": [{"role", "content"}, ...]}``, weights where the renderer puts them
  (the assistant's turns, with whatever header or end token the template has it write).
- ``prompt_completion``: ``{"prompt", "completion"}``, rendered as a user turn and an assistant
  turn, so the weights fall on the completion only.
- ``text``: ``{"text"}``, the model's tokenizer applied to the text as it is (special-token
  text such as ``"<|im_end|>"`` stays plain text), weight on every token; the tokenizer's BOS
  goes first when the model's chat template opens with it (DeepSeek's). No end token is added:
  what these tokenizers call their EOS is a chat turn's end (``<|im_end|>``, ``<|return|>``),
  which plain text must not learn.

A row the template cannot take raises ``RowRenderError`` with the row's line, so the job fails
naming it: for gpt-oss, a ``tool`` message (Harmony ties a tool's answer to the named call our
rows do not carry) or a ``system`` message anywhere but first; for any model, an RL ``prompt``
row or a row that would train nothing.

One row may give several sequences: most templates render an earlier assistant turn
differently once it is history (Qwen3 drops its empty ``<think>`` block, for instance), so a
chat with N assistant turns becomes N sequences, each training one turn on the context the
model will really see, and the row's tokens are billed about N times over. ``render`` returns
them all, each carrying the row's line.

``role_colon`` (base models have no chat template of their own): each message is
``"{Role}: {content}\\n\\n"`` (``System``, ``User``, ``Assistant``, ``Tool``), one sequence per
row, the tokenizer's BOS first when it has one (Qwen3.5's has none) and no EOS: a turn ends with
its blank line, so a sampler stops a base model on ``"\\n\\nUser:"``. Weight 1 falls on each
assistant turn's ``" {content}\\n\\n"``, 0 elsewhere: the role header ``"Assistant:"`` is given,
and the space after its colon is tokenized with the content because BPE tokenizers merge a
space into the word that follows it (so a prompt for sampling ends with ``"Assistant:"``).

``to_datum`` makes the ``cross_entropy`` datum Tinker trains on: input ``tokens[:-1]``, targets
``tokens[1:]``, weights ``weights[1:]`` (the weight on token i says "learn to predict token i",
so the first token, which nothing predicts, drops out). ``tml_renderers.tinker``'s
``training_example_to_tinker_model_input_and_weights`` is not used: it stops before this shift
(its output is unshifted) and takes a renderer's ``TrainingExample``, which ``text`` and
``role_colon`` rows never are. The ``tinker`` calls used are listed in ``TINKER_API``; each is
in both ``tinker`` 0.16.1 and 0.38.0.

``tml_renderers`` (which imports PyTorch, about 2 s) and ``tinker`` are imported only inside the
functions that need them, so importing this module costs the API process nothing. Renderers
load tokenizers (up to several seconds each), so each is built once per process and kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol

from app.training.datasets import DatasetFormat

if TYPE_CHECKING:
    import tinker.types  # type: ignore[import-not-found,unused-ignore]

__all__ = [
    "RENDERER_NAMES",
    "TINKER_API",
    "RenderedRow",
    "RowRenderError",
    "RowRenderer",
    "UnknownRendererError",
    "get_row_renderer",
    "renderer_key",
    "to_datum",
]

ROLE_COLON = "role_colon"
#: Every renderer name this module renders (the catalog's ``renderer`` values but Kimi's None).
RENDERER_NAMES: tuple[str, ...] = (
    "qwen3",
    "qwen3_5",
    "qwen3_8_xhigh_reasoning",
    ROLE_COLON,
    "deepseekv3",
    "deepseekv4_1",
    "gpt_oss_no_sysprompt",
    "glm5_3_max_reasoning",
    "nemotron3",
    "nemotron3_ultra",
    "tml_v0",
)

#: Each ``tinker`` call ``to_datum`` makes, with the keyword arguments it passes: all present in
#: ``tinker`` 0.16.1 (what the local Tinker engine speaks) and 0.38.0 (the newest), so a test can
#: compare them with the installed SDK's signatures.
TINKER_API: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "tinker.types.Datum": ("model_input", "loss_fn_inputs"),
        "tinker.types.ModelInput.from_ints": ("tokens",),
        "tinker.types.TensorData": ("data", "dtype", "shape"),
    }
)

#: Base models whose tokenizer is Qwen3.5's (``role_colon`` renders over it); Qwen3.6 shares it.
_QWEN35_TOKENIZER_PREFIXES = ("qwen/qwen3.5-", "qwen/qwen3.6-")
#: The date given to ``GptOss`` so its system message is the same tokens every day (it is cut).
_GPT_OSS_FIXED_DATE = "2026-01-01"
#: Where a ``role_colon`` turn ends: its blank line.
_TURN_END = "\n\n"
_ROLE_HEADERS: Mapping[str, str] = MappingProxyType(
    {"system": "System:", "user": "User:", "assistant": "Assistant:", "tool": "Tool:"}
)


class UnknownRendererError(ValueError):
    """A renderer name (or name and base model) this module cannot render."""


class RowRenderError(ValueError):
    """One row that cannot be rendered, with its 1-based dataset line."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(f"line {line}: {message}")
        self.line = line
        self.reason = message


@dataclass(frozen=True, slots=True)
class RenderedRow:
    """One sequence to train on: ``tokens``, one unshifted weight per token (the weight on
    token i means "train on predicting token i"), and the dataset ``line`` it came from."""

    tokens: list[int]
    weights: list[float]
    line: int


class _Tokenizer(Protocol):
    """The part of a ``tml_renderers`` tokenizer used here."""

    @property
    def bos_token(self) -> str: ...

    def encode_ordinary(self, text: str) -> list[int]: ...

    def decode(self, token_ids: Sequence[int]) -> str: ...

    def encode_special(self, name: str) -> int: ...


class _ChatRenderer(Protocol):
    """The part of a ``tml_renderers`` renderer used here."""

    @property
    def tokenizer(self) -> _Tokenizer: ...

    def render_for_sft(self, messages: Any) -> Sequence[Any]: ...

    def render_for_completion(self, messages: Any) -> tuple[Sequence[Any], Any]: ...

    def stop(self) -> Sequence[int]: ...


class RowRenderer:
    """Renders one model's dataset rows; get one with ``get_row_renderer``.

    ``render`` takes a decoded row of any SFT format and its dataset line; ``decode`` turns
    tokens back into text with the same tokenizer (for messages and checks).
    """

    def __init__(self, name: str, tokenizer: _Tokenizer, bos: list[int]) -> None:
        self.name = name
        self._tokenizer = tokenizer
        self._encode = tokenizer.encode_ordinary
        self._bos = bos

    def decode(self, tokens: Sequence[int]) -> str:
        """Tokens as text, special tokens written out (``<|im_end|>``)."""
        return self._tokenizer.decode(tokens)

    def encode_text(self, text: str) -> list[int]:
        """Raw text as the model reads it, no chat template: the tokenizer's beginning of
        sequence (for the models that have one) and the text's tokens."""
        return self._bos + self._encode(text)

    def render(self, row: Mapping[str, Any], line: int) -> list[RenderedRow]:
        """The sequences to train on for one row (one, or one per assistant turn; see the
        module's docstring), or ``RowRenderError`` naming the line."""
        try:
            if "messages" in row:
                rendered = self._render_chat(row["messages"], line)
            elif "text" in row:
                rendered = self._render_text(row["text"], line)
            elif "completion" in row:
                rendered = self._render_chat(
                    [
                        {"role": "user", "content": row["prompt"]},
                        {"role": "assistant", "content": row["completion"]},
                    ],
                    line,
                )
            elif "prompt" in row:
                raise RowRenderError(
                    line,
                    f"a {DatasetFormat.PROMPT.value} row is for reinforcement learning, "
                    "not supervised training",
                )
            else:
                raise RowRenderError(line, "the row fits no supervised format")
        except RowRenderError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise RowRenderError(line, f"cannot be rendered with {self.name}: {err}") from err
        if not rendered:
            raise RowRenderError(
                line, "nothing to train on: no assistant turn, or a text of a single token"
            )
        return rendered

    # Each _render_* returns only sequences with a weight after token 0: token 0 is never
    # predicted, so a weight there alone trains nothing.

    def _render_text(self, text: object, line: int) -> list[RenderedRow]:
        if not isinstance(text, str):
            raise TypeError(f"'text' must be a string, not {type(text).__name__}")
        tokens = self._encode(text)
        if len(self._bos) + len(tokens) < 2 or not tokens:
            return []
        return [
            RenderedRow(
                tokens=self._bos + tokens,
                weights=[0.0] * len(self._bos) + [1.0] * len(tokens),
                line=line,
            )
        ]

    def _render_chat(self, messages: Any, line: int) -> list[RenderedRow]:
        raise NotImplementedError

    def render_prompt(self, row: Mapping[str, Any], line: int) -> list[int]:
        """An RL ``prompt`` row as the tokens the model continues from: its messages (a string
        prompt is one user turn) and the header of the assistant's turn, or
        ``RowRenderError`` naming the line."""
        prompt = row.get("prompt")
        messages = [{"role": "user", "content": prompt}] if isinstance(prompt, str) else prompt
        if not isinstance(messages, list) or not messages:
            raise RowRenderError(line, "has no prompt to sample from")
        try:
            return self._render_generation(messages)
        except (KeyError, TypeError, ValueError) as err:
            raise RowRenderError(line, f"cannot be rendered with {self.name}: {err}") from err

    def _render_generation(self, messages: list[Any]) -> list[int]:
        raise NotImplementedError

    @property
    def stop(self) -> list[int] | list[str]:
        """Where a sampled completion ends: the template's end-of-turn tokens, or text."""
        raise NotImplementedError

    def completion_text(self, tokens: Sequence[int]) -> str:
        """A sampled completion as text: its end token (or text) removed, special tokens
        written out. ``ValueError`` for tokens the tokenizer cannot decode."""
        stop = self.stop
        if stop and isinstance(stop[0], int):
            ends = set(stop)
            cut = len(tokens)
            while cut and tokens[cut - 1] in ends:
                cut -= 1
            return self.decode(tokens[:cut])
        text = self.decode(tokens)
        for marker in stop:
            assert isinstance(marker, str)
            found = text.find(marker)
            if found >= 0:
                text = text[:found]
        return text


class _TemplateRowRenderer(RowRenderer):
    """A chat model's rows through its ``tml_renderers`` renderer."""

    def __init__(self, name: str, renderer: _ChatRenderer, *, strip_system: bool) -> None:
        from tml_renderers import chat  # type: ignore[import-not-found,unused-ignore]

        self._render_for_sft = renderer.render_for_sft
        self._render_for_completion = renderer.render_for_completion
        self._stop: list[int] = list(renderer.stop())
        self._from_oss: Callable[[Any], Any] = chat.OpenAIMessage.from_oss_messages
        # A minimal chat, rendered once, says whether the template opens with the tokenizer's
        # BOS (DeepSeek's does; gpt-oss, Nemotron and tml_v0 declare one but never write it),
        # and gives the system message gpt_oss_no_sysprompt cuts.
        self._strip: list[int] = []
        probe = self._probe(renderer)
        if strip_system:
            self._strip = _harmony_system_prefix(renderer, probe)
        tokenizer = renderer.tokenizer
        bos = [tokenizer.encode_special(tokenizer.bos_token)] if tokenizer.bos_token else []
        super().__init__(name, tokenizer, bos if probe[0][: len(bos)] == bos else [])

    def _probe(self, renderer: _ChatRenderer) -> tuple[list[int], list[float]]:
        probe = [{"role": "user", "content": "x"}, {"role": "assistant", "content": "y"}]
        (example,) = self._render_for_sft(self._from_oss(probe))
        return _example_tokens(example.input_token_spans), example.per_token_loss_weight_unshifted

    def _render_chat(self, messages: Any, line: int) -> list[RenderedRow]:
        rendered: list[RenderedRow] = []
        for example in self._render_for_sft(self._from_oss(messages)):
            spans = example.input_token_spans
            tokens: list[int] = spans[0].span.tokens if len(spans) == 1 else _example_tokens(spans)
            weights: list[float] = example.per_token_loss_weight_unshifted
            if self._strip:
                cut = len(self._strip)
                if tokens[:cut] != self._strip:
                    raise ValueError("the rendering does not start with the expected system text")
                tokens, weights = tokens[cut:], weights[cut:]
            if any(islice(weights, 1, None)):
                rendered.append(RenderedRow(tokens=tokens, weights=weights, line=line))
        return rendered

    def _render_generation(self, messages: list[Any]) -> list[int]:
        spans, _parser = self._render_for_completion(self._from_oss(messages))
        tokens = _example_tokens(spans)
        if self._strip:
            if tokens[: len(self._strip)] != self._strip:
                raise ValueError("the rendering does not start with the expected system text")
            tokens = tokens[len(self._strip) :]
        return tokens

    @property
    def stop(self) -> list[int]:
        return self._stop


class _RoleColonRowRenderer(RowRenderer):
    """``role_colon``: ``"{Role}: {content}\\n\\n"`` turns for base models (module docstring)."""

    def __init__(self, tokenizer: _Tokenizer) -> None:
        bos = [tokenizer.encode_special(tokenizer.bos_token)] if tokenizer.bos_token else []
        super().__init__(ROLE_COLON, tokenizer, bos)
        self._headers = {role: self._encode(text) for role, text in _ROLE_HEADERS.items()}

    def _render_chat(self, messages: Any, line: int) -> list[RenderedRow]:
        tokens = list(self._bos)
        weights = [0.0] * len(tokens)
        trained = False  # an assistant turn follows its header, so never at token 0
        for message in messages:
            role = message["role"]
            header, body = self._turn(message)
            weight = 1.0 if role == "assistant" else 0.0
            trained = trained or role == "assistant"
            tokens += header
            tokens += body
            weights += [0.0] * len(header)
            weights += [weight] * len(body)
        if not trained:
            return []
        return [RenderedRow(tokens=tokens, weights=weights, line=line)]

    def _render_generation(self, messages: list[Any]) -> list[int]:
        tokens = list(self._bos)
        for message in messages:
            header, body = self._turn(message)
            tokens += header
            tokens += body
        return tokens + self._headers["assistant"]

    def _turn(self, message: Any) -> tuple[list[int], list[int]]:
        """A message's header (``User:``) and body tokens."""
        role, content = message["role"], message["content"]
        header = self._headers.get(role)
        if header is None:
            raise ValueError(f"unknown role {role!r}")
        if not isinstance(content, str):
            raise TypeError(f"'content' must be a string, not {type(content).__name__}")
        return header, self._encode(f" {content}\n\n")

    @property
    def stop(self) -> list[str]:
        return [_TURN_END]


def _example_tokens(spans: Sequence[Any]) -> list[int]:
    """A ``TrainingExample``'s token spans as one list (text renders to text spans only)."""
    flat: list[int] = []
    for span in spans:
        flat += span.span.tokens
    return flat


def _harmony_system_prefix(
    renderer: _ChatRenderer, probe: tuple[list[int], list[float]]
) -> list[int]:
    """The tokens of the Harmony system message ``GptOss`` writes first (through its ``<|end|>``)
    in a rendered minimal chat; checked to be that message and never weighted."""
    tokens, weights = probe
    end = tokens.index(renderer.tokenizer.encode_special("end")) + 1
    prefix = tokens[:end]
    text = renderer.tokenizer.decode(prefix)
    if not text.startswith("<|start|>system<|message|>") or any(weights[:end]):
        raise UnknownRendererError(
            f"gpt_oss_no_sysprompt: GptOss() no longer opens with an unweighted system message "
            f"({text[:60]!r}); this tml-renderers version is not the one this module knows"
        )
    return prefix


def _template_renderer(name: str, variant: str) -> RowRenderer:
    """Build the ``tml_renderers`` renderer a name (and variant) means."""
    from tml_renderers import renderers, tokenizers, v0  # type: ignore[import-not-found,unused-ignore]

    builders: dict[str, Callable[[], _ChatRenderer]] = {
        "qwen3": renderers.Qwen3,
        "qwen3_5": renderers.Qwen35,
        "qwen3_8_xhigh_reasoning": renderers.Qwen38,
        "deepseekv3": renderers.DeepSeekV31,
        "deepseekv4_1": renderers.DeepSeekV41,
        "gpt_oss_no_sysprompt": lambda: renderers.GptOss(current_date=_GPT_OSS_FIXED_DATE),
        "glm5_3_max_reasoning": renderers.Glm53Flash if variant == "flash" else renderers.Glm53,
        "nemotron3": renderers.Nemotron3,
        "nemotron3_ultra": renderers.Nemotron3.ultra,
        "tml_v0": lambda: v0.Renderer(tokenizers.O200kBaseChatTokenizer()),
    }
    renderer = builders[name]()
    return _TemplateRowRenderer(name, renderer, strip_system=name == "gpt_oss_no_sysprompt")


def _build(name: str, variant: str) -> RowRenderer:
    if name == ROLE_COLON:
        from tml_renderers import tokenizers  # type: ignore[import-not-found,unused-ignore]

        # The tokenizer Qwen35().tokenizer is, without building the chat template around it.
        return _RoleColonRowRenderer(tokenizers.Qwen35Tokenizer())
    return _template_renderer(name, variant)


def _variant(name: str, base_model: str) -> str:
    """What besides the name decides the renderer: GLM-5.3 or its Flash; for ``role_colon``,
    that the base model has the tokenizer it renders with."""
    model = base_model.lower()
    if name == "glm5_3_max_reasoning":
        return "flash" if "glm-5.3-flash" in model else ""
    if name == ROLE_COLON and not model.startswith(_QWEN35_TOKENIZER_PREFIXES):
        raise UnknownRendererError(
            f"role_colon renders with Qwen3.5's tokenizer, which {base_model!r} does not use; "
            "no tokenizer is known for it"
        )
    return ""


_built: dict[tuple[str, str], RowRenderer] = {}
_building = threading.Lock()


def renderer_key(renderer_name: str, base_model: str) -> tuple[str, str]:
    """What decides the renderer a model gets: its name and, for some, the model (GLM-5.3 or
    its Flash). Models with one key render every row alike; ``UnknownRendererError`` for a
    name or model not rendered here."""
    if renderer_name not in RENDERER_NAMES:
        raise UnknownRendererError(
            f"No renderer named {renderer_name!r}; known: {', '.join(RENDERER_NAMES)}"
        )
    return renderer_name, _variant(renderer_name, base_model)


def get_row_renderer(renderer_name: str, base_model: str) -> RowRenderer:
    """The renderer for a catalog entry's ``renderer`` name and the job's base model id, built
    on first use and kept for the process; ``UnknownRendererError`` for a name not rendered
    here (see ``RENDERER_NAMES``)."""
    key = renderer_key(renderer_name, base_model)
    renderer = _built.get(key)
    if renderer is None:
        with _building:  # one build per renderer, even when threads ask at once
            renderer = _built.get(key)
            if renderer is None:
                renderer = _built[key] = _build(*key)
    return renderer


def to_datum(rendered: RenderedRow) -> tinker.types.Datum:
    """The ``cross_entropy`` datum for one sequence: input ``tokens[:-1]``, targets
    ``tokens[1:]``, weights ``weights[1:]`` (module docstring)."""
    from tinker import types as tinker_types  # type: ignore[import-not-found,unused-ignore]

    tokens, weights = rendered.tokens, rendered.weights
    if len(tokens) < 2 or len(weights) != len(tokens):
        raise ValueError(
            f"line {rendered.line}: a datum needs at least 2 tokens and one weight per token "
            f"({len(tokens)} tokens, {len(weights)} weights)"
        )
    count = len(tokens) - 1
    return tinker_types.Datum(
        model_input=tinker_types.ModelInput.from_ints(tokens[:-1]),
        loss_fn_inputs={
            "target_tokens": tinker_types.TensorData(data=tokens[1:], dtype="int64", shape=[count]),
            "weights": tinker_types.TensorData(data=weights[1:], dtype="float32", shape=[count]),
        },
    )
