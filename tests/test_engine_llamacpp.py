"""The embedded llama.cpp backend on the real default model (kept few and short)."""

from __future__ import annotations

import json

import jsonschema
import pytest

from overlayagi.engine.errors import ContextOverflowError, ModelCorruptError, ModelNotFoundError
from overlayagi.engine.llamacpp import LlamaCppLLM
from overlayagi.engine.protocols import LLM
from overlayagi.engine.types import Message

pytestmark = pytest.mark.model

CAPITAL = [Message.user("What is the capital of France? Answer in one short sentence.")]


def test_implements_protocol(llm: LlamaCppLLM) -> None:
    assert isinstance(llm, LLM)
    assert llm.context_size == 2048
    assert llm.count_tokens("hello world") >= 2


def test_capital_of_france(llm: LlamaCppLLM) -> None:
    completion = llm.chat(CAPITAL, max_tokens=32, temperature=0.0)
    assert "Paris" in completion.text
    assert completion.model_id == "qwen2.5-coder-0.5b"
    assert completion.backend == "llamacpp"
    assert completion.prompt_tokens > 5 and completion.completion_tokens > 0
    assert completion.finish_reason == "stop"
    assert completion.latency_s > 0


def test_schema_constrained_output(llm: LlamaCppLLM) -> None:
    schema = {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country": {"type": "string"},
            "population_millions": {"type": "number"},
            "landmarks": {"type": "array", "items": {"type": "string"}, "maxItems": 3},
        },
        "required": ["city", "country", "population_millions", "landmarks"],
        "additionalProperties": False,
    }
    completion = llm.chat(
        [Message.user("Describe Paris as JSON.")], max_tokens=200, temperature=0.0, schema=schema
    )
    value = json.loads(completion.text)
    jsonschema.validate(value, schema)
    assert completion.parsed == value


def test_score_choices_prefers_paris(llm: LlamaCppLLM) -> None:
    messages = [
        Message.user("Complete the sentence."),
        Message.assistant("The capital of France is"),
    ]
    paris, berlin = llm.score_choices(messages, [" Paris", " Berlin"])
    assert 0.0 < berlin < paris <= 1.0
    # Multi-token choices are scored as joint probabilities; order is kept.
    again = llm.score_choices(messages, [" Berlin", " Paris", " the city of Lyon"])
    assert again[1] == pytest.approx(paris, rel=1e-3)
    assert again[0] == pytest.approx(berlin, rel=1e-3)
    assert again[2] < paris


def test_one_token_choices_share_one_forward_pass(llm: LlamaCppLLM) -> None:
    """Option letters after one prompt are read from one distribution; the figures are the
    same as scoring each letter on its own (and as a longer choice's first token)."""
    messages = [Message.user("Capital of France?\nA) Berlin\nB) Paris\nC) Rome\nReply A, B or C.")]
    together = llm.score_choices(messages, ["A", "B", "C", "B) Paris"])
    alone = [llm.score_choices(messages, [c])[0] for c in ("A", "B", "C", "B) Paris")]
    assert together == pytest.approx(alone, rel=1e-4)
    assert together[3] < together[1]  # "B) Paris" needs "B" first


def test_scoring_does_not_disturb_generation(llm: LlamaCppLLM) -> None:
    before = llm.chat(CAPITAL, max_tokens=24, temperature=0.0).text
    llm.score_choices([Message.user("Pick one")], ["A", "B"])
    assert llm.chat(CAPITAL, max_tokens=24, temperature=0.0).text == before


async def test_greedy_stream_matches_chat(llm: LlamaCppLLM) -> None:
    expected = llm.chat(CAPITAL, max_tokens=32, temperature=0.0)
    stream = llm.stream(CAPITAL, max_tokens=32, temperature=0.0)
    deltas = [d async for d in stream]
    assert len(deltas) >= 3
    assert "".join(deltas) == expected.text
    assert stream.completion is not None
    assert stream.completion.text == expected.text
    assert stream.completion.ttft_s is not None and stream.completion.ttft_s > 0


async def test_stream_stops_early_and_model_stays_usable(llm: LlamaCppLLM) -> None:
    stream = llm.stream([Message.user("Count from 1 to 200.")], max_tokens=300, temperature=0.0)
    got = []
    async for delta in stream:
        got.append(delta)
        if len(got) == 3:
            break
    await stream.aclose()
    assert stream.completion is not None and stream.completion.finish_reason == "cancelled"
    assert "Paris" in llm.chat(CAPITAL, max_tokens=32, temperature=0.0).text


def test_seed_makes_sampling_reproducible(llm: LlamaCppLLM) -> None:
    prompt = [Message.user("Invent a name for a cat.")]
    a = llm.chat(prompt, max_tokens=16, temperature=1.0, seed=7).text
    b = llm.chat(prompt, max_tokens=16, temperature=1.0, seed=7).text
    assert a == b


def test_context_overflow_is_an_error_not_a_cut(llm: LlamaCppLLM) -> None:
    long_text = "word " * 3000
    with pytest.raises(ContextOverflowError) as info:
        llm.chat([Message.user(long_text)], max_tokens=16)
    message = str(info.value)
    assert "does not fit the context window of 2048 tokens" in message
    assert "engine.context_size" in message
    with pytest.raises(ContextOverflowError, match="lower max_tokens to at most"):
        llm.chat(CAPITAL, max_tokens=2040)


def test_missing_and_non_gguf_files(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ModelNotFoundError, match="model file not found"):
        LlamaCppLLM(tmp_path / "nope.gguf", model_id="x").load()
    bogus = tmp_path / "bogus.gguf"
    bogus.write_bytes(b"<html>not a model</html>")
    with pytest.raises(ModelCorruptError, match="is not a GGUF model file"):
        LlamaCppLLM(bogus, model_id="x").load()
    truncated = tmp_path / "truncated.gguf"
    truncated.write_bytes(b"GGUF" + b"\0" * 64)
    with pytest.raises(ModelCorruptError, match=r"llama\.cpp could not load"):
        LlamaCppLLM(truncated, model_id="x").load()
