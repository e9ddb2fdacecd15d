"""The frame format: one way of thinking, as data.

A frame is a YAML file (``frames/<id>.yaml``) validated into ``Frame``. Its ``phases`` form a
state machine: the runner starts at the first phase and follows ``when`` conditions (first
true one wins), then ``next``, then the following phase in the list; ``end`` stops. Prompts
are Jinja2 templates rendered in a sandbox (see ``templates.py`` for what they can see).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

import semver
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

END = "end"
ID_PATTERN = r"^[a-z][a-z0-9_\-]*$"


class PhaseKind(StrEnum):
    GENERATE = "generate"
    SELF_ASK = "self_ask"
    RETRIEVE = "retrieve"
    TOOL_LOOP = "tool_loop"
    CRITIQUE = "critique"
    REFINE = "refine"
    VOTE = "vote"
    SELECT = "select"
    BRANCH = "branch"
    COLLAPSE = "collapse"
    SUMMARIZE = "summarize"
    CALL = "call"


ANSWER_KINDS = frozenset(
    {
        PhaseKind.GENERATE,
        PhaseKind.REFINE,
        PhaseKind.VOTE,
        PhaseKind.SELECT,
        PhaseKind.TOOL_LOOP,
        PhaseKind.SUMMARIZE,
        PhaseKind.CALL,
    }
)
"""Kinds whose output is, by default, a candidate for the run's answer."""


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Role(_Spec):
    """A sub-personality: its own system prompt, and optionally model, adapter, temperature."""

    system: str = Field(description="The role's system prompt (a Jinja2 template).")
    model: str | None = Field(default=None, description="A model name from overlay.toml.")
    adapter: str | None = Field(default=None, description="A LoRA adapter (GGUF) path.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)


class Budgets(_Spec):
    """Limits a run never exceeds. A ``call`` sub-run spends from its parent's budget."""

    max_steps: int = Field(default=32, ge=1, description="Phase executions.")
    max_llm_calls: int = Field(default=24, ge=1)
    max_tokens: int = Field(default=32000, ge=16, description="Prompt + completion tokens.")
    max_seconds: float = Field(default=600.0, gt=0)
    max_depth: int | None = Field(
        default=None,
        ge=0,
        le=16,
        description="Nesting of `call` sub-runs. Required when the frame can re-enter itself.",
    )
    max_parallel: int = Field(default=4, ge=1, le=64, description="Concurrent samples/roles.")


class Transition(_Spec):
    """``if`` is a Jinja2 expression over the run so far; ``goto`` a phase id or ``end``."""

    if_: str = Field(alias="if")
    goto: str


class Extract(_Spec):
    """How ``vote`` reads an answer from a sample: a regex (first group of the last match),
    a JSON path into the parsed output, or a named extractor."""

    regex: str | None = None
    json_path: str | None = None
    builtin: Literal["number", "letter", "output", "last_line"] | None = None

    @model_validator(mode="after")
    def _one(self) -> Extract:
        given = [x for x in (self.regex, self.json_path, self.builtin) if x is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of regex, json_path, builtin")
        return self


OutputForm = Literal["text", "tagged", "json"]


class Phase(_Spec):
    id: str = Field(pattern=ID_PATTERN)
    kind: PhaseKind
    description: str | None = None
    role: str | None = Field(default=None, description="Role that speaks in this phase.")
    roles: list[str] | None = Field(
        default=None, description="Several roles answer in parallel (generate/branch)."
    )
    prompt: str | None = Field(default=None, description="Jinja2 template; kinds have defaults.")
    output: OutputForm | None = Field(
        default=None, description="text, tagged (<thinking>/<output>) or json (with schema)."
    )
    schema_: dict[str, Any] | None = Field(default=None, alias="schema")
    n: int = Field(default=1, ge=1, le=32, description="Parallel samples.")
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1)
    next: str | None = None
    when: list[Transition] = Field(default_factory=list)
    answer: bool | None = Field(
        default=None, description="Whether this phase's output can be the run's answer."
    )
    # kind-specific
    source: list[str] | None = Field(
        default=None, description="Phases whose outputs are the candidates (vote/select/…)."
    )
    choices: list[str] | str | None = Field(
        default=None, description="select: literal options, or a template expression."
    )
    mode: Literal["label", "text"] = Field(
        default="label", description="select/collapse: score letters, or the texts themselves."
    )
    extract: Extract | None = None
    tools: list[str] | None = Field(default=None, description="tool_loop: tools offered.")
    max_iterations: int = Field(default=4, ge=1, le=32)
    frame: str | None = Field(default=None, description="call: frame id (or a template).")
    input: str | None = Field(
        default=None, description="call/retrieve/summarize: the input (template)."
    )
    k: int = Field(default=5, ge=1, le=100, description="retrieve: hits.")
    chunk_tokens: int = Field(default=768, ge=64, description="summarize: chunk size.")

    @field_validator("source", mode="before")
    @classmethod
    def _listify(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    @model_validator(mode="after")
    def _consistent(self) -> Phase:
        if self.schema_ is not None and self.output not in (None, "json"):
            raise ValueError(f"a schema needs output: json (got {self.output!r})")
        if self.output == "json" and self.schema_ is None and self.kind != PhaseKind.CRITIQUE:
            raise ValueError("output: json needs a schema")
        if self.kind == PhaseKind.CALL and not self.frame:
            raise ValueError("a call phase needs `frame`")
        if self.kind in (PhaseKind.VOTE, PhaseKind.COLLAPSE) and not self.source:
            raise ValueError(f"a {self.kind.value} phase needs `source`")
        if self.kind == PhaseKind.SELECT and not (self.source or self.choices):
            raise ValueError("a select phase needs `source` or `choices`")
        if self.kind == PhaseKind.TOOL_LOOP and not self.tools:
            raise ValueError("a tool_loop phase needs `tools`")
        return self

    @property
    def form(self) -> OutputForm:
        if self.output:
            return self.output
        return "json" if self.schema_ is not None else "text"

    @property
    def is_answer(self) -> bool:
        return self.answer if self.answer is not None else self.kind in ANSWER_KINDS


class MemorySpec(_Spec):
    """What the frame retrieves and stores (honoured once memory is configured)."""

    retrieve: list[Literal["vault", "insights", "sessions"]] = Field(default_factory=list)
    store: list[Literal["insights", "session"]] = Field(default_factory=list)
    k: int = Field(default=5, ge=1, le=100)


class Frame(_Spec):
    id: str = Field(pattern=ID_PATTERN)
    version: str = Field(description="Semantic version, e.g. 1.2.0.")
    description: str = ""
    extends: str | None = Field(default=None, description="Inherit this frame; override parts.")
    persona: str | None = Field(default=None, description="System prompt for every phase.")
    roles: dict[str, Role] = Field(default_factory=dict)
    phases: list[Phase] = Field(min_length=1)
    budgets: Budgets = Field(default_factory=Budgets)
    tools: list[str] = Field(default_factory=list, description="Tools this frame may call.")
    memory: MemorySpec = Field(default_factory=MemorySpec)
    cost: str | None = Field(default=None, description="Expected LLM calls, for people.")

    @field_validator("version", mode="before")
    @classmethod
    def _semver(cls, value: Any) -> str:
        text = str(value)
        if not semver.Version.is_valid(text):
            raise ValueError(f"'{text}' is not a semantic version (use MAJOR.MINOR.PATCH)")
        return text

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def phase(self, phase_id: str) -> Phase:
        for phase in self.phases:
            if phase.id == phase_id:
                return phase
        raise KeyError(phase_id)

    def following(self, phase_id: str) -> str:
        """The phase after ``phase_id`` in list order, or ``end``."""
        ids = [p.id for p in self.phases]
        i = ids.index(phase_id)
        return ids[i + 1] if i + 1 < len(ids) else END

    def is_terminal(self, phase: Phase) -> bool:
        """True when this phase always ends the run (no conditions, nothing after it)."""
        if phase.when:
            return False
        return (phase.next or self.following(phase.id)) == END
