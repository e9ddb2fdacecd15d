"""Frame files → validated ``Frame`` objects, with positioned errors.

Stages: parse YAML (positions kept) → merge ``extends`` (positions travel with the merged
parts) → pydantic validation (errors mapped to file:line:col) → semantic checks that need the
whole frame: transitions, roles, sources, tools, templates, schemas.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from overlayagi.frames import templates
from overlayagi.frames.errors import Issue, field_path
from overlayagi.frames.spec import (
    END,
    Budgets,
    Extract,
    Frame,
    MemorySpec,
    Phase,
    PhaseKind,
    Role,
    Transition,
)
from overlayagi.frames.yaml_source import (
    Pos,
    PosDict,
    PosList,
    YamlSyntaxError,
    load_yaml,
    position_of,
    value_position,
)


def hint(name: str, choices: list[str] | set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(choices), n=1, cutoff=0.6)
    return f" — did you mean '{close[0]}'?" if close else ""


def parse_text(text: str, file: str) -> tuple[PosDict | None, list[Issue]]:
    try:
        data = load_yaml(text, file)
    except YamlSyntaxError as exc:
        return None, [Issue(exc.pos, "", f"invalid YAML: {exc.message}")]
    if not isinstance(data, PosDict):
        return None, [Issue(Pos(file, 1, 1), "", "a frame file must be a YAML mapping")]
    return data, []


# -- extends ----------------------------------------------------------------------------------
def _copy(d: PosDict) -> PosDict:
    out = PosDict(d)
    out.start, out.key_pos, out.value_pos = d.start, dict(d.key_pos), dict(d.value_pos)
    return out


def _put(target: PosDict, source: PosDict, key: str) -> None:
    target[key] = source[key]
    target.key_pos[key] = source.key_pos[key]
    target.value_pos[key] = source.value_pos[key]


def merge(parent: PosDict, child: PosDict) -> PosDict:
    """``child`` over ``parent``: roles and budgets merge by key, phases by id (a child phase
    with a parent's id overrides its fields; new ids are appended), anything else replaces."""
    out = _copy(parent)
    out.pop("extends", None)
    for key in child:
        pv, cv = parent.get(key), child[key]
        if key in ("roles", "budgets") and isinstance(pv, PosDict) and isinstance(cv, PosDict):
            merged = _copy(pv)
            for k in cv:
                _put(merged, cv, k)
            out[key] = merged
            out.key_pos[key], out.value_pos[key] = child.key_pos[key], child.value_pos[key]
        elif key == "phases" and isinstance(pv, PosList) and isinstance(cv, PosList):
            out[key] = _merge_phases(pv, cv)
            out.key_pos[key], out.value_pos[key] = child.key_pos[key], child.value_pos[key]
        else:
            _put(out, child, key)
    return out


def _merge_phases(parent: PosList, child: PosList) -> PosList:
    result = PosList(parent)
    result.start, result.item_pos = parent.start, list(parent.item_pos)
    index = {p.get("id"): i for i, p in enumerate(result) if isinstance(p, PosDict)}
    for item, pos in zip(child, child.item_pos, strict=True):
        pid = item.get("id") if isinstance(item, PosDict) else None
        if pid in index and isinstance(item, PosDict):
            merged = _copy(result[index[pid]])
            for k in item:
                _put(merged, item, k)
            result[index[pid]] = merged
        else:
            result.append(item)
            result.item_pos.append(pos)
    return result


# -- pydantic → issues ------------------------------------------------------------------------
def _owner(loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    model: type[BaseModel] = Frame
    i = 0
    while i < len(loc) - 1:
        part = loc[i]
        if model is Frame and part == "phases":
            model, i = Phase, i + 2
        elif model is Frame and part == "roles":
            model, i = Role, i + 2
        elif model is Frame and part == "budgets":
            model, i = Budgets, i + 1
        elif model is Frame and part == "memory":
            model, i = MemorySpec, i + 1
        elif model is Phase and part == "when":
            model, i = Transition, i + 2
        elif model is Phase and part == "extract":
            model, i = Extract, i + 1
        else:
            return None
    return model


def _field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or name for name, f in model.model_fields.items()]


def validation_issues(data: PosDict, exc: ValidationError) -> list[Issue]:
    issues: list[Issue] = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        pos = position_of(data, loc)
        message = str(err["msg"]).removeprefix("Value error, ")
        last = loc[-1] if loc else ""
        if err["type"] == "extra_forbidden":
            owner = _owner(loc)
            message = f"unknown field '{last}'" + (
                hint(str(last), _field_names(owner)) if owner else ""
            )
        elif err["type"] == "enum" and last == "kind":
            given = err.get("input")
            kinds = [k.value for k in PhaseKind]
            message = f"unknown kind '{given}'" + (
                hint(str(given), kinds) or f" (one of: {', '.join(kinds)})"
            )
        elif err["type"] == "missing":
            message = f"missing required field '{last}'"
            pos = position_of(data, loc[:-1])
            loc = (*loc[:-1], last)
        issues.append(Issue(pos, field_path(loc), message))
    return issues


def build(data: PosDict) -> tuple[Frame | None, list[Issue]]:
    try:
        return Frame.model_validate(dict(data)), []
    except ValidationError as exc:
        return None, validation_issues(data, exc)


# -- semantic checks --------------------------------------------------------------------------
def _template_issues(
    data: PosDict,
    path: tuple[str | int, ...],
    source: str,
    allowed: set[str],
    phase_ids: set[str],
    *,
    expression: bool = False,
) -> list[Issue]:
    issues = []
    start = value_position(data, path)
    for problem in templates.check_template(source, allowed, phase_ids, expression=expression):
        pos = start
        if start and problem.line:
            pos = Pos(start.file, start.line + problem.line - 1 + int(start.block), 1)
        issues.append(Issue(pos, field_path(path), problem.message))
    return issues


def check(
    frame: Frame,
    data: PosDict,
    *,
    known_frames: set[str],
    known_tools: Mapping[str, Any],
) -> list[Issue]:
    """Problems pydantic cannot see: they need the whole frame, the library, or the tools."""
    issues: list[Issue] = []
    ids = [p.id for p in frame.phases]
    id_set = set(ids)

    def at(path: tuple[str | int, ...], message: str) -> None:
        issues.append(Issue(position_of(data, path), field_path(path), message))

    for i, pid in enumerate(ids):
        if ids.index(pid) != i:
            at(("phases", i, "id"), f"duplicate phase id '{pid}'")
    for name in frame.tools:
        if name not in known_tools:
            at(("tools",), f"unknown tool '{name}'" + hint(name, set(known_tools)))
    common = templates.allowed_names(None)
    if frame.persona:
        issues += _template_issues(data, ("persona",), frame.persona, common, id_set)
    for name, role in frame.roles.items():
        issues += _template_issues(data, ("roles", name, "system"), role.system, common, id_set)

    for i, phase in enumerate(frame.phases):
        here: tuple[str | int, ...] = ("phases", i)
        targets = id_set | {END}
        if phase.next and phase.next not in targets:
            at(
                (*here, "next"),
                f"transition to missing phase '{phase.next}'" + hint(phase.next, targets),
            )
        for j, rule in enumerate(phase.when):
            if rule.goto not in targets:
                at(
                    (*here, "when", j, "goto"),
                    f"transition to missing phase '{rule.goto}'" + hint(rule.goto, targets),
                )
            issues += _template_issues(
                data,
                (*here, "when", j, "if"),
                rule.if_,
                templates.CONDITION_NAMES | {"roles"},
                id_set,
                expression=True,
            )
        for field, names in (
            ("role", [phase.role] if phase.role else []),
            ("roles", phase.roles or []),
        ):
            for name in names:
                if name not in frame.roles:
                    at(
                        (*here, field),
                        f"unknown role '{name}'"
                        + (
                            hint(name, set(frame.roles))
                            or f" (roles: {', '.join(frame.roles) or 'none defined'})"
                        ),
                    )
        for name in phase.source or []:
            if name not in id_set:
                at((*here, "source"), f"unknown source phase '{name}'" + hint(name, id_set))
            elif name == phase.id:
                at((*here, "source"), "a phase cannot be its own source")
        for name in phase.tools or []:
            if name not in frame.tools:
                at((*here, "tools"), f"tool '{name}' is not in the frame's `tools` allowlist")
        allowed = templates.allowed_names(phase.kind)
        for field in ("prompt", "input"):
            text = getattr(phase, field)
            if text:
                issues += _template_issues(data, (*here, field), text, allowed, id_set)
        if isinstance(phase.choices, str):
            issues += _template_issues(
                data, (*here, "choices"), phase.choices, allowed, id_set, expression=True
            )
        if phase.frame:
            if "{{" in phase.frame or "{%" in phase.frame:
                issues += _template_issues(data, (*here, "frame"), phase.frame, allowed, id_set)
            elif phase.frame not in known_frames:
                at(
                    (*here, "frame"),
                    f"call to unknown frame '{phase.frame}'" + hint(phase.frame, known_frames),
                )
        if phase.schema_ is not None:
            try:
                jsonschema.Draft202012Validator.check_schema(phase.schema_)
            except jsonschema.SchemaError as exc:
                at((*here, "schema"), f"invalid JSON schema: {exc.message}")
        if phase.extract and phase.extract.regex:
            try:
                re.compile(phase.extract.regex)
            except re.error as exc:
                at((*here, "extract", "regex"), f"invalid regex: {exc}")
    return issues


def call_targets(frame: Frame, all_ids: set[str]) -> set[str]:
    """Frames a frame may call: static names, or every frame when the name is a template."""
    found: set[str] = set()
    for phase in frame.phases:
        if phase.kind == PhaseKind.CALL and phase.frame:
            dynamic = "{{" in phase.frame or "{%" in phase.frame
            found |= all_ids if dynamic else {phase.frame}
    return found


def recursion_issues(frames: Mapping[str, tuple[Frame, PosDict]]) -> dict[str, list[Issue]]:
    """Frames that can re-enter themselves through ``call`` but set no ``budgets.max_depth``."""
    ids = set(frames)
    graph = {fid: call_targets(f, ids) & ids for fid, (f, _) in frames.items()}
    found: dict[str, list[Issue]] = {}
    for fid, (frame, data) in frames.items():
        cycle = _cycle_through(fid, graph)
        if cycle and frame.budgets.max_depth is None:
            path = ("budgets",) if "budgets" in data else ("id",)
            found[fid] = [
                Issue(
                    position_of(data, path),
                    "budgets.max_depth",
                    f"this frame can re-enter itself through call ({' → '.join(cycle)}) "
                    "but sets no depth limit; add budgets.max_depth",
                )
            ]
    return found


def _cycle_through(start: str, graph: Mapping[str, set[str]]) -> list[str] | None:
    stack: list[tuple[str, list[str]]] = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph.get(node, ())):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None
