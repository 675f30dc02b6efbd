"""Rendering dataset rows for training (``app.worker.rendering``), with the real renderers.

Needs the worker's dependencies (``tml-renderers``, PyTorch, ``tinker``) beside the API package;
every renderer runs offline (``tml-renderers`` embeds its tokenizers). A weighted token is one
the model is trained to write, so each test decodes the weighted tokens and checks they are the
assistant's words and never the user's.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import pytest

from app.worker.rendering import (
    RENDERER_NAMES,
    TINKER_API,
    RenderedRow,
    RowRenderer,
    RowRenderError,
    UnknownRendererError,
    get_row_renderer,
    to_datum,
)

#: Each renderer name the catalog uses, with a base model it serves.
BASE_MODELS: dict[str, str] = {
    "qwen3": "Qwen/Qwen3-8B",
    "qwen3_5": "Qwen/Qwen3.5-9B",
    "qwen3_8_xhigh_reasoning": "Qwen/Qwen3.8-27B",
    "role_colon": "Qwen/Qwen3.5-9B-Base",
    "deepseekv3": "deepseek-ai/DeepSeek-V3.1",
    "deepseekv4_1": "deepseek-ai/DeepSeek-V4.1-Flash:peft:262144",
    "gpt_oss_no_sysprompt": "openai/gpt-oss-20b",
    "glm5_3_max_reasoning": "zai-org/GLM-5.3:peft:262144",
    "nemotron3": "nvidia/NVIDIA-Nemotron-3-Nano-30B-A3B-BF16",
    "nemotron3_ultra": "nvidia/NVIDIA-Nemotron-3-Ultra-550B-A55B-BF16",
    "tml_v0": "thinkingmachines/Inkling",
}
#: Both GLM-5.3 flavours: the renderer name does not say which tokenizer, the base model does.
CASES = [
    *BASE_MODELS.items(),
    ("glm5_3_max_reasoning", "zai-org/GLM-5.3-Flash:peft:262144"),
]

SYSTEM = "Answer in one sentence."
QUESTION = "What is the capital of Freedonia?"
ANSWER = "Fredville is its capital."
#: DeepSeek's BOS as its tokenizer writes it (full-width bars, "▁" for spaces).
DEEPSEEK_BOS = "<\uff5cbegin\u2581of\u2581sentence\uff5c>"
CHAT = {
    "messages": [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": ANSWER},
    ]
}


def renderer_for(name: str, base_model: str | None = None) -> RowRenderer:
    return get_row_renderer(name, base_model or BASE_MODELS[name])


def weighted_text(renderer: RowRenderer, rendered: RenderedRow) -> str:
    """The text of the tokens the row trains on (weight above 0), in order."""
    return renderer.decode(
        [
            token
            for token, weight in zip(rendered.tokens, rendered.weights, strict=True)
            if weight > 0
        ]
    )


def render_one(renderer: RowRenderer, row: dict[str, Any], line: int = 1) -> RenderedRow:
    (rendered,) = renderer.render(row, line)
    return rendered


def test_every_renderer_name_is_tested() -> None:
    assert set(BASE_MODELS) == set(RENDERER_NAMES)


def test_importing_the_module_loads_no_worker_dependency() -> None:
    """The API process imports the worker package; the renderers, PyTorch and tinker must stay
    out of it until a row is rendered."""
    code = (
        "import sys, app.worker.rendering\n"
        "print(sorted(m for m in ('tml_renderers', 'torch', 'tinker') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(("name", "base_model"), CASES)
def test_a_chat_trains_on_the_assistant_turn_only(name: str, base_model: str) -> None:
    renderer = renderer_for(name, base_model)
    rendered = render_one(renderer, CHAT, line=7)
    assert rendered.line == 7
    assert len(rendered.tokens) == len(rendered.weights) > 0
    text = renderer.decode(rendered.tokens)
    assert QUESTION in text
    assert SYSTEM in text
    trained = weighted_text(renderer, rendered)
    assert ANSWER in trained
    assert "Freedonia" not in trained
    assert SYSTEM not in trained


@pytest.mark.parametrize(("name", "base_model"), CASES)
def test_every_assistant_turn_of_a_long_chat_is_trained(name: str, base_model: str) -> None:
    """Templates that render history differently give one sequence per assistant turn; across
    them every answer is trained once and no question ever is."""
    renderer = renderer_for(name, base_model)
    answers = ["Fredville is its capital.", "About ninety thousand people.", "It rains a lot."]
    messages: list[dict[str, str]] = []
    for number, answer in enumerate(answers):
        messages.append({"role": "user", "content": f"Question number {number} about Freedonia?"})
        messages.append({"role": "assistant", "content": answer})
    sequences = renderer.render({"messages": messages}, 3)
    assert {rendered.line for rendered in sequences} == {3}
    trained = [weighted_text(renderer, rendered) for rendered in sequences]
    for answer in answers:
        assert sum(text.count(answer) for text in trained) == 1, (answer, trained)
    assert not any("Question number" in text for text in trained)


@pytest.mark.parametrize(("name", "base_model"), CASES)
def test_a_prompt_completion_row_is_a_user_turn_and_an_assistant_turn(
    name: str, base_model: str
) -> None:
    renderer = renderer_for(name, base_model)
    rendered = render_one(renderer, {"prompt": QUESTION, "completion": ANSWER}, line=2)
    as_chat = render_one(
        renderer,
        {
            "messages": [
                {"role": "user", "content": QUESTION},
                {"role": "assistant", "content": ANSWER},
            ]
        },
        line=2,
    )
    assert rendered == as_chat
    trained = weighted_text(renderer, rendered)
    assert ANSWER in trained
    assert "Freedonia" not in trained


@pytest.mark.parametrize(("name", "base_model"), CASES)
def test_a_text_row_is_the_text_itself_all_trained(name: str, base_model: str) -> None:
    renderer = renderer_for(name, base_model)
    text = "Freedonia's anthem has 4 verses.\nNobody sings the third one <|im_end|> ever."
    rendered = render_one(renderer, {"text": text}, line=5)
    assert rendered.line == 5
    # DeepSeek's template opens with its BOS, so its plain text does too; nothing else is added.
    starts_with_bos = name in {"deepseekv3", "deepseekv4_1"}
    assert renderer.decode(rendered.tokens) == (DEEPSEEK_BOS + text if starts_with_bos else text)
    skipped = 1 if starts_with_bos else 0
    assert rendered.weights == [0.0] * skipped + [1.0] * (len(rendered.tokens) - skipped)
    # Special-token text in a row is plain text: the end token a chat turn closes with (the
    # last token of a rendered chat) is not among the text's tokens.
    end_of_turn = render_one(renderer, CHAT).tokens[-1]
    assert end_of_turn not in rendered.tokens


def test_role_colon_writes_plain_role_turns() -> None:
    renderer = renderer_for("role_colon")
    rendered = render_one(renderer, CHAT)
    assert renderer.decode(rendered.tokens) == (
        f"System: {SYSTEM}\n\nUser: {QUESTION}\n\nAssistant: {ANSWER}\n\n"
    )
    assert weighted_text(renderer, rendered) == f" {ANSWER}\n\n"
    # The weighted tokens are one run at the end: the answer and the blank line ending it.
    first = rendered.weights.index(1.0)
    assert rendered.weights[first:] == [1.0] * (len(rendered.weights) - first)
    assert renderer.decode(rendered.tokens[:first]).endswith("Assistant:")


def test_role_colon_uses_qwen35s_tokenizer() -> None:
    from tml_renderers import renderers

    qwen35 = renderers.Qwen35().tokenizer
    renderer = renderer_for("role_colon")
    rendered = render_one(renderer, {"prompt": "Hi", "completion": "Hello there."})
    assert rendered.tokens == [
        *qwen35.encode_ordinary("User:"),
        *qwen35.encode_ordinary(" Hi\n\n"),
        *qwen35.encode_ordinary("Assistant:"),
        *qwen35.encode_ordinary(" Hello there.\n\n"),
    ]


def test_role_colon_refuses_a_model_with_another_tokenizer() -> None:
    with pytest.raises(UnknownRendererError, match=r"Qwen3\.5's tokenizer"):
        get_row_renderer("role_colon", "meta-llama/Llama-3.1-8B")


def test_gpt_oss_no_sysprompt_writes_no_system_prompt() -> None:
    """No "You are ChatGPT" header and no date (rendering on another day changes nothing); the
    user's own system text is kept, as Harmony's developer instructions."""
    renderer = renderer_for("gpt_oss_no_sysprompt")
    rendered = render_one(renderer, CHAT)
    text = renderer.decode(rendered.tokens)
    assert text.startswith(f"<|start|>developer<|message|># Instructions\n\n{SYSTEM}")
    assert "ChatGPT" not in text
    assert "Current date" not in text


@pytest.mark.parametrize("name", ["kimi_k26", "qwen3-instruct", ""])
def test_an_unknown_renderer_name_is_refused(name: str) -> None:
    with pytest.raises(UnknownRendererError, match="No renderer named"):
        get_row_renderer(name, "moonshotai/Kimi-K2.6")


def test_renderers_are_built_once_per_process() -> None:
    assert renderer_for("qwen3") is get_row_renderer("qwen3", "Qwen/Qwen3-8B:peft:131072")
    glm = get_row_renderer("glm5_3_max_reasoning", "zai-org/GLM-5.3:peft:262144")
    flash = get_row_renderer("glm5_3_max_reasoning", "zai-org/GLM-5.3-Flash:peft:262144")
    assert glm is not flash
    assert flash is get_row_renderer("glm5_3_max_reasoning", "zai-org/GLM-5.3-Flash")


@pytest.mark.parametrize(
    ("name", "row", "reason"),
    [
        (
            "gpt_oss_no_sysprompt",
            {
                "messages": [
                    {"role": "user", "content": "Look it up."},
                    {"role": "tool", "content": "Fredville"},
                    {"role": "assistant", "content": ANSWER},
                ]
            },
            "tool",
        ),
        (
            "gpt_oss_no_sysprompt",
            {
                "messages": [
                    {"role": "user", "content": QUESTION},
                    {"role": "system", "content": SYSTEM},
                    {"role": "assistant", "content": ANSWER},
                ]
            },
            "system message only as the first",
        ),
        ("qwen3", {"prompt": QUESTION}, "reinforcement learning"),
        ("qwen3", {"text": "a"}, "nothing to train on"),
        ("role_colon", {"messages": [{"role": "narrator", "content": "x"}]}, "narrator"),
    ],
)
def test_a_row_that_cannot_be_trained_names_its_line(
    name: str, row: dict[str, Any], reason: str
) -> None:
    with pytest.raises(RowRenderError, match=reason) as raised:
        renderer_for(name).render(row, 42)
    assert raised.value.line == 42
    assert str(raised.value).startswith("line 42: ")


def test_the_datum_predicts_each_next_token() -> None:
    rendered = render_one(renderer_for("qwen3"), CHAT)
    tokens, weights = rendered.tokens, rendered.weights
    datum = to_datum(rendered)
    assert datum.model_input.to_ints() == tokens[:-1]
    targets = datum.loss_fn_inputs["target_tokens"]
    trained = datum.loss_fn_inputs["weights"]
    assert targets.tolist() == tokens[1:]
    assert targets.tolist()[0] == tokens[1]
    assert trained.tolist() == weights[1:]
    assert (targets.dtype, trained.dtype) == ("int64", "float32")
    assert datum.model_input.length == len(targets.tolist()) == len(tokens) - 1


def test_a_datum_needs_two_tokens() -> None:
    with pytest.raises(ValueError, match="at least 2 tokens"):
        to_datum(RenderedRow(tokens=[1], weights=[1.0], line=9))


@pytest.mark.parametrize(("call", "keywords"), sorted(TINKER_API.items()))
def test_the_tinker_calls_exist_with_their_keywords(call: str, keywords: tuple[str, ...]) -> None:
    """Every tinker call to_datum makes is in the installed SDK with the keywords it passes."""
    import importlib

    module_name, _, rest = call.partition(".types.")
    target: Any = importlib.import_module(f"{module_name}.types")
    for attribute in rest.split("."):
        target = getattr(target, attribute)
    parameters = inspect.signature(target).parameters
    assert set(keywords) <= set(parameters), (call, list(parameters))
