"""The embedded backend: llama-cpp-python over a local GGUF file.

The prompt is rendered once with the GGUF's own chat template and tokenized here, so the same
tokens are counted (context check), scored (``score_choices``) and generated from.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypedDict, TypeVar

import numpy as np

from overlayagi.engine.errors import (
    ContextOverflowError,
    EngineError,
    ModelCorruptError,
    ModelNotFoundError,
)
from overlayagi.engine.protocols import JsonSchema
from overlayagi.engine.schema import grammar_cache_key, parse_and_validate
from overlayagi.engine.streaming import DeltaStream, iterate_in_thread
from overlayagi.engine.types import Completion, Message, as_messages, finish_reason

log = logging.getLogger(__name__)
R = TypeVar("R")

# Used only when a GGUF carries no chat template of its own (base models); logged as a warning.
CHATML_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)


class _Sampling(TypedDict):
    max_tokens: int
    temperature: float
    top_p: float
    seed: int | None
    stop: Sequence[str]


@dataclass(frozen=True)
class _Prompt:
    tokens: list[int]
    stop: list[str]
    stopping_criteria: Any


def check_gguf(path: Path) -> None:
    """Fail early, with a fix, when ``path`` is missing or is not a GGUF file."""
    if not path.exists():
        raise ModelNotFoundError(
            f"model file not found: {path}",
            fix="check the path in overlay.toml, or run `overlay models` to see known models",
        )
    with path.open("rb") as fh:
        magic = fh.read(4)
    if magic != b"GGUF":
        raise ModelCorruptError(
            f"{path} is not a GGUF model file (starts with {magic!r}, expected b'GGUF')",
            fix="point the model's `path` at a .gguf file (llama.cpp format)",
        )


class LlamaCppLLM:
    """``LLM`` over llama-cpp-python. Loads lazily; one call at a time per instance (a lock)."""

    backend = "llamacpp"

    def __init__(
        self,
        path: Path,
        *,
        model_id: str,
        context_size: int = 4096,
        threads: int = 0,
        gpu_layers: int = 0,
        batch_size: int = 512,
        chat_template: str | None = None,
        lora_path: Path | None = None,
    ) -> None:
        self.path = Path(path)
        self._lora_path = lora_path
        self._model_id = model_id
        self._context_size = context_size
        self._threads = threads or os.cpu_count() or 1
        self._gpu_layers = gpu_layers
        self._batch_size = batch_size
        self._chat_template = chat_template
        self._llama: Any = None
        self._formatter: Any = None
        self._grammars: dict[str, Any] = {}
        # Every llama.cpp call (load included) runs on this one thread. llama.cpp is built with
        # OpenMP, which keeps a thread team per calling thread; calls from several threads
        # make teams compete for the cores (measured: -25 % generation speed on 2 cores).
        # One thread also serialises calls, which a llama context needs.
        self._worker_ident: int | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="overlay-llama", initializer=self._mark_worker
        )

    def _mark_worker(self) -> None:
        self._worker_ident = threading.get_ident()

    def _on_worker(self, fn: Callable[..., R], *args: Any, **kwargs: Any) -> R:
        """Run ``fn`` on the model's thread (inline when already there) and wait for it."""
        if threading.get_ident() == self._worker_ident:
            return fn(*args, **kwargs)
        return self._executor.submit(fn, *args, **kwargs).result()

    # -- properties -------------------------------------------------------------------------
    @property
    def model_id(self) -> str:
        return self._model_id

    @property
    def context_size(self) -> int:
        return self._context_size

    # -- loading ----------------------------------------------------------------------------
    def load(self) -> Any:
        """Load the model now (otherwise it loads on first use). Returns the ``Llama``."""
        return self._on_worker(self._load)

    def _load(self) -> Any:
        if self._llama is None:
            self._llama = self._open()
        return self._llama

    def _open(self) -> Any:
        check_gguf(self.path)
        try:
            from llama_cpp import Llama
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise EngineError(
                f"llama-cpp-python is not importable: {exc}",
                fix="reinstall with `make install` (it builds llama-cpp-python from source)",
            ) from exc
        started = time.perf_counter()
        try:
            llama = Llama(
                model_path=str(self.path),
                n_ctx=self._context_size,
                n_threads=self._threads,
                n_threads_batch=self._threads,
                n_gpu_layers=self._gpu_layers,
                n_batch=self._batch_size,
                lora_path=str(self._lora_path) if self._lora_path else None,
                verbose=False,
            )
        except (ValueError, RuntimeError) as exc:
            raise ModelCorruptError(
                f"llama.cpp could not load {self.path}: {exc}",
                fix="the file may be truncated or from an unsupported architecture; "
                "re-create it with `overlay models pull NAME --force` or use another GGUF",
            ) from exc
        template = self._chat_template or llama.metadata.get("tokenizer.chat_template")
        if not template:
            log.warning("%s has no chat template; using ChatML", self.path.name)
            template = CHATML_TEMPLATE
        eos_id = llama.token_eos()
        bos_id = llama.token_bos()
        self._formatter = Jinja2ChatFormatter(
            template=template,
            eos_token=llama._model.token_get_text(eos_id) if eos_id != -1 else "",
            bos_token=llama._model.token_get_text(bos_id) if bos_id != -1 else "",
            stop_token_ids=[eos_id],
        )
        log.info("loaded %s in %.2fs", self.path.name, time.perf_counter() - started)
        return llama

    # -- prompt -----------------------------------------------------------------------------
    def _prompt(self, messages: Sequence[Message]) -> _Prompt:
        llama = self._load()
        msgs = as_messages(list(messages))
        prefill = ""
        if msgs and msgs[-1].role == "assistant":
            prefill = msgs[-1].content
            msgs = msgs[:-1]
        rendered = self._formatter(messages=[m.model_dump() for m in msgs])
        text = rendered.prompt + prefill
        tokens = llama.tokenize(
            text.encode("utf-8"), add_bos=not rendered.added_special, special=True
        )
        stop = rendered.stop if isinstance(rendered.stop, list) else [rendered.stop]
        return _Prompt(
            tokens=tokens,
            stop=[s for s in stop if s],
            stopping_criteria=(rendered.stopping_criteria),
        )

    def _check_fits(self, n_prompt: int, max_tokens: int) -> None:
        if n_prompt + max_tokens > self._context_size:
            room = self._context_size - n_prompt
            fix = (
                f"lower max_tokens to at most {room}, shorten the input, "
                if room > 0
                else "shorten the input, "
            ) + "or raise engine.context_size in overlay.toml"
            raise ContextOverflowError(
                f"prompt of {n_prompt} tokens plus max_tokens={max_tokens} does not fit the "
                f"context window of {self._context_size} tokens ({self._model_id})",
                fix=fix,
            )

    def count_tokens(self, text: str) -> int:
        def count() -> int:
            tokens = self._load().tokenize(text.encode("utf-8"), add_bos=False, special=False)
            return len(tokens)

        return self._on_worker(count)

    def _grammar(self, schema: JsonSchema) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        key = grammar_cache_key(schema)
        if key not in self._grammars:
            try:
                self._grammars[key] = LlamaGrammar.from_json_schema(key, verbose=False)
            except Exception as exc:
                raise EngineError(
                    f"this JSON schema cannot be turned into a grammar: {exc}",
                    fix="simplify the schema (objects, arrays, enums, strings, numbers work)",
                ) from exc
        return self._grammars[key]

    def _request(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int,
        temperature: float,
        top_p: float,
        seed: int | None,
        stop: Sequence[str],
    ) -> dict[str, Any]:
        """Render, tokenize and check the prompt; return ``create_completion`` arguments."""
        prompt = self._prompt(messages)
        self._check_fits(len(prompt.tokens), max_tokens)
        if seed is not None:
            # Re-evaluating a reused KV prefix in a different batch shape changes the logits in
            # the last bits, which changes what is sampled; a seeded call must be exactly
            # repeatable (ledger replay), so it evaluates the whole prompt afresh.
            self._load().reset()
        return {
            "prompt": prompt.tokens,
            "max_tokens": max_tokens,
            "temperature": temperature,
            "top_p": top_p,
            "seed": seed,
            "stop": list(stop) + prompt.stop,
            "stopping_criteria": prompt.stopping_criteria,
        }

    # -- generation -------------------------------------------------------------------------
    def chat(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: Sequence[str] = (),
        schema: JsonSchema | None = None,
    ) -> Completion:
        started = time.perf_counter()
        sampling = _Sampling(
            max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed, stop=stop
        )

        def generate() -> Any:
            kwargs = self._request(messages, **sampling)
            if schema is not None:
                kwargs["grammar"] = self._grammar(schema)
            return self._llama.create_completion(**kwargs)

        result = self._on_worker(generate)
        choice = result["choices"][0]
        usage = result["usage"]
        completion = Completion(
            text=choice["text"],
            finish_reason=finish_reason(choice.get("finish_reason")),
            prompt_tokens=usage["prompt_tokens"],
            completion_tokens=usage["completion_tokens"],
            latency_s=time.perf_counter() - started,
            model_id=self._model_id,
            backend=self.backend,
        )
        if schema is not None:
            completion.parsed = parse_and_validate(completion, schema)
        return completion

    def stream(
        self,
        messages: Sequence[Message],
        *,
        max_tokens: int = 512,
        temperature: float = 0.7,
        top_p: float = 0.95,
        seed: int | None = None,
        stop: Sequence[str] = (),
    ) -> DeltaStream:
        msgs = list(messages)
        sampling = _Sampling(
            max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed, stop=stop
        )

        async def run(stream: DeltaStream) -> AsyncIterator[str]:
            started = time.perf_counter()
            state: dict[str, Any] = {"finish": "stop", "prompt_tokens": 0, "ttft": None}
            parts: list[str] = []

            def produce(stop_event: threading.Event) -> Iterator[str]:
                # Runs on the model's own thread (see __init__).
                kwargs = self._request(msgs, **sampling)
                state["prompt_tokens"] = len(kwargs["prompt"])
                chunks = self._llama.create_completion(stream=True, **kwargs)
                try:
                    for chunk in chunks:
                        choice = chunk["choices"][0]
                        if choice.get("finish_reason"):
                            state["finish"] = choice["finish_reason"]
                        if choice["text"]:
                            yield choice["text"]
                        if stop_event.is_set():
                            break
                finally:
                    chunks.close()  # end llama.cpp's generator on the model's thread

            finished = False
            try:
                async for delta in iterate_in_thread(produce, self._executor):
                    if state["ttft"] is None:
                        state["ttft"] = time.perf_counter() - started
                    parts.append(delta)
                    yield delta
                finished = True
            finally:
                text = "".join(parts)
                finish = state["finish"] if finished else "cancelled"
                stream.completion = Completion(
                    text=text,
                    finish_reason=finish_reason(finish),
                    prompt_tokens=state["prompt_tokens"],
                    completion_tokens=self.count_tokens(text) if text else 0,
                    latency_s=time.perf_counter() - started,
                    ttft_s=state["ttft"],
                    model_id=self._model_id,
                    backend=self.backend,
                )

        return DeltaStream(run)

    # -- selection --------------------------------------------------------------------------
    def score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        """Joint probability of each choice as the continuation, from the model's logits."""
        return self._on_worker(self._score_choices, messages, choices)

    def _score_choices(self, messages: Sequence[Message], choices: Sequence[str]) -> list[float]:
        prompt = self._prompt(messages)
        llama = self._llama
        prefix_text = llama.detokenize(prompt.tokens, special=True)
        scores: list[float] = []
        # log P(· | prefix) per prefix already decoded: choices of one token after the same
        # prefix (option letters) cost one forward pass together instead of one each.
        next_token: dict[tuple[int, ...], np.ndarray] = {}
        for choice in choices:
            if not choice:
                scores.append(1.0)
                continue
            full = llama.tokenize(prefix_text + choice.encode("utf-8"), add_bos=False, special=True)
            k = _common_prefix(full, prompt.tokens)
            if k == 0:
                raise EngineError("cannot score a choice without any prompt tokens")
            continuation = full[k:]
            self._check_fits(len(full), 0)
            logprob = self._continuation_logprob(full[:k], continuation, next_token)
            scores.append(float(np.exp(logprob)))
        return scores

    def _continuation_logprob(
        self,
        prefix: list[int],
        continuation: list[int],
        next_token: dict[tuple[int, ...], np.ndarray],
    ) -> float:
        """Sum of log P(continuation[i] | prefix + continuation[:i]).

        Reuses the KV cache for whatever prefix is already evaluated, then decodes the last
        prefix token plus all but the last continuation token in one batch with logits on.
        The distribution after ``prefix`` is kept in ``next_token``; a one-token continuation
        after a prefix seen before is read from there without decoding.
        """
        key = tuple(prefix)
        if len(continuation) == 1 and key in next_token:
            return float(next_token[key][continuation[0]])
        llama = self._llama
        start = len(prefix) - 1  # the position whose logits predict continuation[0]
        cached = _common_prefix(list(llama.input_ids[: llama.n_tokens]), prefix[:start])
        llama.n_tokens = cached
        if cached < start:
            llama.eval(prefix[cached:start])
        feed = [prefix[-1], *continuation[:-1]]
        llama._ctx.kv_cache_seq_rm(-1, start, -1)
        total = 0.0
        n_vocab = llama.n_vocab()
        pos = start
        i = 0
        while i < len(feed):
            batch = feed[i : i + self._batch_size]
            llama._batch.set_batch(batch=batch, n_past=pos, logits_all=True)
            llama._ctx.decode(llama._batch)
            llama.input_ids[pos : pos + len(batch)] = batch
            for j in range(len(batch)):
                ptr = llama._ctx.get_logits_ith(j)
                logits = np.ctypeslib.as_array(ptr, shape=(n_vocab,)).astype(np.float64)
                top = logits.max()
                log_norm = top + np.log(np.exp(logits - top).sum())
                if i + j == 0:
                    next_token[key] = logits - log_norm
                total += float(logits[continuation[i + j]] - log_norm)
            pos += len(batch)
            i += len(batch)
        llama.n_tokens = pos
        return total


def _common_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    n = min(len(a), len(b))
    i = 0
    while i < n and a[i] == b[i]:
        i += 1
    return i


__all__ = ["LlamaCppLLM", "check_gguf"]
