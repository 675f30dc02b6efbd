"""A tiny random-weight Qwen3 model for the local Tinker engine to load.

Why a stand-in: SkyRL tx (the local Tinker-compatible engine) trains whatever model directory it
is given, whatever base-model name the client asks for, and our tests must run offline on two
CPU cores. A real Qwen3 is gigabytes; this one is a few megabytes of random weights with the
real Qwen3 *vocabulary size* (151,936), because the worker renders chats with Qwen3's real
tokenizer (``tml-renderers``) and every id it sends must be a valid row of the embedding.

What the engine reads (skyrl-tx 0.3.0):

- ``config.json``: a Hugging Face config whose ``architectures`` names ``Qwen3ForCausalLM`` and
  whose ``dtype`` is set (the engine refuses a missing one). float32: bf16 matmuls are slow on
  CPUs without native bf16, and the stand-in is small anyway.
- ``*.safetensors``: every non-LoRA parameter under its Hugging Face name.
- a tokenizer that ``transformers.AutoTokenizer`` loads: the engine loads it at start-up and uses
  it only while sampling, to decode tokens for string stop sequences. We write ``tokenizer.json``
  (plus ``tokenizer_config.json``) in one of two flavours:

  - ``"qwen3"`` (default): Qwen3's real byte-level BPE, exported from the tokenizer compiled into
    ``tml-renderers`` (vocabulary from ``decode_bytes``, merges rebuilt from the ranks as tiktoken
    defines them), so a sampled id decodes to the text the real model's would and an encode
    gives the ids our renderers give. Needs ``tml-renderers`` (it imports torch: ~2 s), once.
  - ``"bytes"``: a minimal valid byte-level tokenizer (the 256 byte tokens, Qwen3's special
    tokens at their real ids, placeholders elsewhere) for an environment without
    ``tml-renderers``: loading and decoding work, text is not Qwen3's.

Nothing is downloaded. Weights come from a seeded generator, so the same arguments give the
same bytes; a directory that already holds a build of the same arguments (``standin.json``) is
reused as it is, so a test suite pays for the build once per machine.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

__all__ = [
    "QWEN3_SPECIAL_TOKENS",
    "QWEN3_VOCAB_SIZE",
    "STANDIN_MARKER",
    "TokenizerKind",
    "build_standin_model",
]

#: Qwen3's embedding rows (the tokenizer itself knows 151,669 ids; the rest are padding rows).
QWEN3_VOCAB_SIZE: Final = 151_936
#: Qwen3's special tokens and their ids (the same in every Qwen3 tokenizer).
QWEN3_SPECIAL_TOKENS: Final[Mapping[int, str]] = {
    151643: "<|endoftext|>",
    151644: "<|im_start|>",
    151645: "<|im_end|>",
    151646: "<|object_ref_start|>",
    151647: "<|object_ref_end|>",
    151648: "<|box_start|>",
    151649: "<|box_end|>",
    151650: "<|quad_start|>",
    151651: "<|quad_end|>",
    151652: "<|vision_start|>",
    151653: "<|vision_end|>",
    151654: "<|vision_pad|>",
    151655: "<|image_pad|>",
    151656: "<|video_pad|>",
    151657: "<tool_call>",
    151658: "</tool_call>",
    151659: "<|fim_prefix|>",
    151660: "<|fim_middle|>",
    151661: "<|fim_suffix|>",
    151662: "<|fim_pad|>",
    151663: "<|repo_name|>",
    151664: "<|file_sep|>",
    151665: "<tool_response>",
    151666: "</tool_response>",
    151667: "<think>",
    151668: "</think>",
}
#: The file that records what a directory holds; written last, so its presence means complete.
STANDIN_MARKER: Final = "standin.json"
#: Bumped whenever the files written for the same arguments change.
_FORMAT_VERSION: Final = 1
_BOS_ID: Final = 151643
_EOS_ID: Final = 151645
#: Qwen2/Qwen3's pre-tokenizer split (from their tokenizer.json).
_QWEN_SPLIT: Final = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

TokenizerKind = Literal["qwen3", "bytes"]


def build_standin_model(
    directory: str | os.PathLike[str],
    *,
    vocab_size: int = QWEN3_VOCAB_SIZE,
    hidden_size: int = 64,
    layers: int = 2,
    attention_heads: int = 4,
    kv_heads: int = 2,
    head_dim: int = 16,
    intermediate_size: int | None = None,
    tie_word_embeddings: bool = False,
    tokenizer: TokenizerKind = "qwen3",
    seed: int = 0,
    unembedding_std: float = 0.02,
) -> Path:
    """Write a tiny random Qwen3 into ``directory`` (created if missing) and return its path.

    ``intermediate_size`` defaults to twice ``hidden_size``. ``tie_word_embeddings`` stays False
    by default: the ``tinker`` SDK trains the unembedding by default (``train_unembed=True``) and
    the engine refuses that on tied embeddings. A directory whose ``standin.json`` records the
    same arguments is returned untouched; anything else in it is overwritten file by file.

    ``unembedding_std`` is the spread of ``lm_head``'s weights. At the default every next token
    is about equally likely, as with any random model of 151,936 tokens, and a reward that
    depends on what it samples is out of its reach; at 1.0 (``peaked_standin_dir``) a handful
    of tokens take most of the mass, as in a trained model, so an RL run can move its reward
    within a few steps.
    """
    if vocab_size < 256 + len(QWEN3_SPECIAL_TOKENS) and tokenizer == "bytes":
        raise ValueError("the 'bytes' tokenizer needs vocab_size >= 282")
    if tokenizer == "qwen3" and vocab_size < QWEN3_VOCAB_SIZE:
        raise ValueError(f"the 'qwen3' tokenizer needs vocab_size >= {QWEN3_VOCAB_SIZE}")
    if min(hidden_size, layers, attention_heads, kv_heads, head_dim) < 1:
        raise ValueError("sizes must be positive")
    if attention_heads % kv_heads:
        raise ValueError("attention_heads must be a multiple of kv_heads")
    spec: dict[str, Any] = {
        "format": _FORMAT_VERSION,
        "vocab_size": vocab_size,
        "hidden_size": hidden_size,
        "layers": layers,
        "attention_heads": attention_heads,
        "kv_heads": kv_heads,
        "head_dim": head_dim,
        "intermediate_size": intermediate_size or 2 * hidden_size,
        "tie_word_embeddings": tie_word_embeddings,
        "tokenizer": tokenizer,
        "seed": seed,
    }
    if unembedding_std != 0.02:
        spec["unembedding_std"] = unembedding_std
    if tokenizer == "qwen3":
        spec["tml_renderers"] = _tml_renderers_version()
    target = Path(directory)
    marker = target / STANDIN_MARKER
    if marker.is_file():
        try:
            if json.loads(marker.read_text()) == spec:
                return target
        except (OSError, ValueError):
            pass  # unreadable: rebuild
    target.mkdir(parents=True, exist_ok=True)
    marker.unlink(missing_ok=True)
    _write_atomically(target / "config.json", _json_bytes(_hf_config(spec)))
    _write_atomically(target / "model.safetensors", b"".join(_safetensors_chunks(spec)))
    tokenizer_json = _qwen3_tokenizer() if tokenizer == "qwen3" else _bytes_tokenizer(vocab_size)
    _write_atomically(target / "tokenizer.json", _json_bytes(tokenizer_json))
    _write_atomically(target / "tokenizer_config.json", _json_bytes(_tokenizer_config()))
    _write_atomically(marker, _json_bytes(spec))
    return target


def _hf_config(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The Hugging Face ``config.json`` of a Qwen3 of these sizes."""
    return {
        "architectures": ["Qwen3ForCausalLM"],
        "model_type": "qwen3",
        "vocab_size": spec["vocab_size"],
        "hidden_size": spec["hidden_size"],
        "intermediate_size": spec["intermediate_size"],
        "num_hidden_layers": spec["layers"],
        "num_attention_heads": spec["attention_heads"],
        "num_key_value_heads": spec["kv_heads"],
        "head_dim": spec["head_dim"],
        "hidden_act": "silu",
        "max_position_embeddings": 40960,
        "rms_norm_eps": 1e-6,
        "rope_theta": 1000000.0,
        "rope_scaling": None,
        "attention_bias": False,
        "attention_dropout": 0.0,
        "use_sliding_window": False,
        "sliding_window": None,
        "max_window_layers": spec["layers"],
        "tie_word_embeddings": spec["tie_word_embeddings"],
        "bos_token_id": _BOS_ID,
        "eos_token_id": _EOS_ID,
        "use_cache": True,
        "initializer_range": 0.02,
        "dtype": "float32",
        # Qwen3's own value. Without any, transformers 4.57 takes the directory for a Mistral
        # one and warns that the pre-tokenizer's regex is wrong.
        "transformers_version": "4.51.0",
    }


def _parameter_shapes(spec: Mapping[str, Any]) -> Iterator[tuple[str, tuple[int, ...]]]:
    """Every parameter of the model, by its Hugging Face name, in a fixed order."""
    hidden, inter, hd = spec["hidden_size"], spec["intermediate_size"], spec["head_dim"]
    heads, kv = spec["attention_heads"], spec["kv_heads"]
    yield "model.embed_tokens.weight", (spec["vocab_size"], hidden)
    for i in range(spec["layers"]):
        p = f"model.layers.{i}."
        yield p + "input_layernorm.weight", (hidden,)
        yield p + "post_attention_layernorm.weight", (hidden,)
        yield p + "self_attn.q_proj.weight", (heads * hd, hidden)
        yield p + "self_attn.k_proj.weight", (kv * hd, hidden)
        yield p + "self_attn.v_proj.weight", (kv * hd, hidden)
        yield p + "self_attn.o_proj.weight", (hidden, heads * hd)
        yield p + "self_attn.q_norm.weight", (hd,)
        yield p + "self_attn.k_norm.weight", (hd,)
        yield p + "mlp.gate_proj.weight", (inter, hidden)
        yield p + "mlp.up_proj.weight", (inter, hidden)
        yield p + "mlp.down_proj.weight", (hidden, inter)
    yield "model.norm.weight", (hidden,)
    if not spec["tie_word_embeddings"]:
        yield "lm_head.weight", (spec["vocab_size"], hidden)


def _safetensors_chunks(spec: Mapping[str, Any]) -> Iterator[bytes]:
    """The ``model.safetensors`` file, written by hand (the format is a JSON header and raw
    little-endian arrays) so that only numpy is needed: norms are ones, every matrix is
    N(0, 0.02) from one seeded generator, so the initial loss is about ln(vocab_size)."""
    import numpy as np

    rng = np.random.default_rng(spec["seed"])
    arrays: list[tuple[str, npt.NDArray[np.float32]]] = []
    for name, shape in _parameter_shapes(spec):
        if len(shape) == 1:
            arrays.append((name, np.ones(shape, dtype=np.float32)))
        else:
            std = spec.get("unembedding_std", 0.02) if name == "lm_head.weight" else 0.02
            arrays.append((name, (rng.standard_normal(shape, dtype=np.float32) * std)))
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    offset = 0
    for name, array in arrays:
        header[name] = {
            "dtype": "F32",
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    encoded = json.dumps(header, separators=(",", ":")).encode()
    encoded += b" " * (-len(encoded) % 8)  # the data starts 8-byte aligned
    yield len(encoded).to_bytes(8, "little") + encoded
    for _, array in arrays:
        yield array.astype("<f4", copy=False).tobytes()


def _tokenizer_config() -> dict[str, Any]:
    """What ``AutoTokenizer`` needs beside ``tokenizer.json`` to build a fast tokenizer."""
    return {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": None,
        "eos_token": QWEN3_SPECIAL_TOKENS[_EOS_ID],
        "pad_token": QWEN3_SPECIAL_TOKENS[_BOS_ID],
        "unk_token": None,
        "model_max_length": 40960,
        "clean_up_tokenization_spaces": False,
    }


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible map of bytes to printable characters (byte-level BPE's alphabet)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("\xa1"), ord("\xac") + 1),
        *range(ord("\xae"), ord("\xff") + 1),
    ]
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def _added_tokens() -> list[dict[str, Any]]:
    """Qwen3's special tokens as ``tokenizers`` added tokens (``<tool_call>``-style ones are
    ordinary text to the real tokenizer: special False, as in Qwen3's own file)."""
    return [
        {
            "id": token_id,
            "content": content,
            "single_word": False,
            "lstrip": False,
            "rstrip": False,
            "normalized": False,
            "special": content.startswith("<|"),
        }
        for token_id, content in QWEN3_SPECIAL_TOKENS.items()
    ]


def _tokenizer_json(
    vocab: Mapping[str, int], merges: list[str], pre_tokenizer: dict[str, Any]
) -> dict[str, Any]:
    """A byte-level BPE ``tokenizer.json`` around this vocabulary and merge list."""
    byte_level = {
        "type": "ByteLevel",
        "add_prefix_space": False,
        "trim_offsets": False,
        "use_regex": False,
    }
    return {
        "version": "1.0",
        "truncation": None,
        "padding": None,
        "added_tokens": _added_tokens(),
        "normalizer": {"type": "NFC"},
        "pre_tokenizer": pre_tokenizer,
        "post_processor": byte_level,
        "decoder": byte_level,
        "model": {
            "type": "BPE",
            "dropout": None,
            "unk_token": None,
            "continuing_subword_prefix": "",
            "end_of_word_suffix": "",
            "fuse_unk": False,
            "byte_fallback": False,
            "ignore_merges": False,
            "vocab": dict(vocab),
            "merges": merges,
        },
    }


def _tml_renderers_version() -> str:
    """The installed ``tml-renderers`` version: the exported tokenizer depends on it."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tml-renderers")
    except PackageNotFoundError:
        raise RuntimeError(
            "the 'qwen3' stand-in tokenizer is exported from tml-renderers, which is not "
            "installed here: install tml-renderers or pass tokenizer='bytes'"
        ) from None


def _qwen3_tokenizer() -> dict[str, Any]:
    """Qwen3's real tokenizer, exported from the copy compiled into ``tml-renderers``.

    Its vocabulary is each id's bytes; the merges, which ``tml-renderers`` does not expose,
    follow from the ranks the way tiktoken-style BPE defines them: a token of rank r is the one
    pair that byte-pair encoding its bytes with the ranks below r leaves.
    """
    from tml_renderers.tokenizers import Qwen3Tokenizer

    source = Qwen3Tokenizer()
    ranks: dict[bytes, int] = {}
    for token_id in range(QWEN3_VOCAB_SIZE):
        if token_id in QWEN3_SPECIAL_TOKENS:
            continue
        try:
            ranks[source.decode_bytes([token_id])] = token_id
        except ValueError:
            continue  # an embedding row with no token (151669 and up)
    to_unicode = _byte_to_unicode()

    def text(piece: bytes) -> str:
        return "".join(to_unicode[b] for b in piece)

    merges: list[str] = []
    for piece, rank in sorted(ranks.items(), key=lambda item: item[1]):
        if len(piece) < 2:
            continue
        left, right = _last_merge(piece, rank, ranks)
        merges.append(f"{text(left)} {text(right)}")
    vocab = {text(piece): rank for piece, rank in ranks.items()}
    pre_tokenizer = {
        "type": "Sequence",
        "pretokenizers": [
            {
                "type": "Split",
                "pattern": {"Regex": _QWEN_SPLIT},
                "behavior": "Isolated",
                "invert": False,
            },
            {
                "type": "ByteLevel",
                "add_prefix_space": False,
                "trim_offsets": False,
                "use_regex": False,
            },
        ],
    }
    return _tokenizer_json(vocab, merges, pre_tokenizer)


def _last_merge(piece: bytes, rank: int, ranks: Mapping[bytes, int]) -> tuple[bytes, bytes]:
    """The two tokens that BPE with the ranks below ``rank`` leaves of ``piece``."""
    parts = [piece[i : i + 1] for i in range(len(piece))]
    while len(parts) > 2:
        best: tuple[int, int] | None = None
        for i in range(len(parts) - 1):
            found = ranks.get(parts[i] + parts[i + 1])
            if found is not None and found < rank and (best is None or found < best[0]):
                best = (found, i)
        if best is None:
            break
        i = best[1]
        parts[i : i + 2] = [parts[i] + parts[i + 1]]
    if len(parts) != 2:
        raise RuntimeError(f"token {rank} ({piece!r}) is not one merge of two lower tokens")
    return parts[0], parts[1]


def _bytes_tokenizer(vocab_size: int) -> dict[str, Any]:
    """A minimal valid byte-level tokenizer: ids 0-255 are the bytes, Qwen3's special tokens
    keep their ids when they fit, and every other id is a placeholder ``<|standin_N|>`` so
    any sampled id decodes."""
    to_unicode = _byte_to_unicode()
    vocab = {to_unicode[b]: b for b in range(256)}
    for token_id in range(256, vocab_size):
        if token_id not in QWEN3_SPECIAL_TOKENS:
            vocab[f"<|standin_{token_id}|>"] = token_id
    data = _tokenizer_json(
        vocab,
        [],
        {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": True},
    )
    data["added_tokens"] = [t for t in data["added_tokens"] if t["id"] < vocab_size]
    return data


def _json_bytes(data: Any) -> bytes:
    """Deterministic JSON (key order as built, no floats printed differently across runs)."""
    return json.dumps(data, ensure_ascii=False, indent=1).encode()


def _write_atomically(path: Path, data: bytes) -> None:
    """Write ``path`` through a temporary file and a rename, so a reader (or a concurrent
    builder of the same model) never sees half a file."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
