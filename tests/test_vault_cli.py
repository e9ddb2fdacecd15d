"""`overlay ingest`, `overlay search`, `overlay vault …` as a user runs them, and --watch."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from overlayagi.memory.vault.service import Vault, VaultOptions
from overlayagi.memory.vault.watch import watch_vault
from tests.conftest import run_cli
from tests.vault_fixture import build_vault


def test_ingest_search_status_read(tmp_path: Path) -> None:
    vault_dir = build_vault(tmp_path / "vault")
    env = {"OVERLAY_HOME": str(tmp_path / "ws"), "OVERLAY_VAULT__MAX_FILE_MB": "0.1"}
    done = run_cli("ingest", str(vault_dir), "--no-dense", env=env)
    assert done.returncode == 0, done.stderr
    assert "6 added" in done.stdout and "skipped     3 files" in done.stdout
    assert "binary.md: binary content" in done.stdout
    assert "invalid YAML front matter" in done.stderr  # broken front matter: a warning

    found = run_cli("search", "как хранить свёклу", "--json", "-k", "2", env=env)
    assert found.returncode == 0, found.stderr
    data = json.loads(found.stdout)
    assert data["hits"][0]["citation"] == "[[Хранение овощей#Погреб]]" and data["found"]

    shown = run_cli("search", "tomato watering", "--expand", "--folder", "Garden", env=env)
    assert "[[Tomatoes#Watering]]" in shown.stdout and "## Watering" in shown.stdout

    status = run_cli("vault", "status", env=env)
    assert "notes" in status.stdout and "latin1.md: not UTF-8" in status.stdout

    read = run_cli("vault", "read", "[[Tomatoes#Pests]]", env=env)
    assert "Hornworms" in read.stdout and "Water tomato" not in read.stdout

    again = run_cli("ingest", str(vault_dir), "--no-dense", env=env)
    assert "0 added, 0 changed" in again.stdout

    other = run_cli("ingest", str(tmp_path), "--no-dense", env=env)
    assert other.returncode == 2 and "--reset" in other.stderr


def test_search_without_a_vault_says_how_to_fix(tmp_path: Path) -> None:
    result = run_cli("search", "anything", env={"OVERLAY_HOME": str(tmp_path / "ws")})
    assert result.returncode == 2
    assert "no vault configured" in result.stderr and "overlay ingest PATH" in result.stderr


def test_watch_reindexes_a_changed_note(tmp_path: Path) -> None:
    vault_dir = build_vault(tmp_path / "vault")
    vault = Vault(tmp_path / "v.db", options=VaultOptions(dense=False, max_file_bytes=100_000))
    vault.ingest(vault_dir)
    stop = threading.Event()
    reports = []

    def loop() -> None:
        for report in watch_vault(vault, vault_dir, stop=stop, debounce_ms=100):
            reports.append(report)
            if report.touched:
                stop.set()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    time.sleep(0.5)
    (vault_dir / "Garden" / "Compost.md").write_text("# Compost\n\nNettles make good tea.\n")
    thread.join(timeout=20)
    stop.set()
    assert reports and reports[-1].changed == 1
    assert vault.search("nettles", mode="bm25").hits[0].path == "Garden/Compost.md"
