"""The Obsidian parser (markdown-it with our inline rules) and link resolution."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from overlayagi.memory.vault.links import LinkResolver
from overlayagi.memory.vault.parse import Link, parse_note

NOTE = textwrap.dedent(
    """\
    ---
    title: Заметка о связях
    aliases: [Связи, links note]
    tags: [проект/альфа, research]
    created: 2024-05-01
    ---
    Вступление со ссылкой [[Главная]] и тегом #идеи/новые.

    # Раздел первый

    Текст со [[Другая заметка#Заголовок|псевдонимом]] и блоком [[Дневник#^abc123]].
    Встраивание: ![[схема.png]] и ![[Глава#Итоги]].
    Markdown-ссылка: [здесь](Папка/Другая%20заметка.md#Раздел) и [сайт](https://example.com).

    ## Подраздел

    Код `[[не ссылка]]` и `#код` не дают ни ссылок, ни тегов.

    ```python
    # [[тоже не ссылка]] #и-не-тег
    print("[[x]]")
    ```

    > [!warning] Осторожно
    > Внутри выноски [[Выноска]].

    >[!nexus_user] Пользователь
    > Вопрос из чата.

    Сноска[^1] и номер #1 — не тег.

    [^1]: Текст сноски про [[Источник]].

    <!-- скрыто [[Комментарий]] -->
    %% тоже скрыто [[Obsidian-комментарий]] %%
    # Раздел второй
    Последний абзац.
    """
)


@pytest.fixture(scope="module")
def note():  # type: ignore[no-untyped-def]
    return parse_note(NOTE, "links")


def test_frontmatter(note) -> None:  # type: ignore[no-untyped-def]
    assert note.title == "Заметка о связях"
    assert note.aliases == ["Связи", "links note"]
    assert note.frontmatter_error is None
    assert str(note.frontmatter["created"]) == "2024-05-01"


def test_tags_from_frontmatter_and_text_but_not_code(note) -> None:  # type: ignore[no-untyped-def]
    assert note.tags == ["проект/альфа", "research", "идеи/новые"]


def test_every_link_form(note) -> None:  # type: ignore[no-untyped-def]
    got = {
        (link.target, link.heading, link.block, link.alias, link.embed, link.markdown)
        for link in note.links
    }
    assert ("Главная", None, None, None, False, False) in got
    assert ("Другая заметка", "Заголовок", None, "псевдонимом", False, False) in got
    assert ("Дневник", None, "abc123", None, False, False) in got
    assert ("схема.png", None, None, None, True, False) in got
    assert ("Глава", "Итоги", None, None, True, False) in got
    assert ("Папка/Другая заметка.md", "Раздел", None, None, False, True) in got
    assert ("Выноска", None, None, None, False, False) in got
    assert ("Источник", None, None, None, False, False) in got
    targets = {link.target for link in note.links}
    assert not targets & {
        "не ссылка",
        "тоже не ссылка",
        "x",
        "Комментарий",
        "Obsidian-комментарий",
        "https://example.com",
    }


def test_heading_tree_and_section_text(note) -> None:  # type: ignore[no-untyped-def]
    paths = [s.path for s in note.sections]
    assert paths == [[], ["Раздел первый"], ["Раздел первый", "Подраздел"], ["Раздел второй"]]
    sub = note.sections[2]
    assert "print(" in sub.text  # code stays searchable
    assert "Внутри выноски Выноска." in sub.text
    assert "скрыто" not in note.text
    assert "псевдонимом" in note.sections[1].text  # a link reads as its alias


def test_callouts_and_footnotes(note) -> None:  # type: ignore[no-untyped-def]
    assert [(c.type, c.title) for c in note.callouts] == [
        ("warning", "Осторожно"),
        ("nexus_user", "Пользователь"),
    ]
    assert list(note.footnotes.values()) == ["Текст сноски про Источник."]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ntitle: [broken\n---\nТело заметки [[Ссылка]].\n", "invalid YAML front matter"),
        ("---\n- just\n- a list\n---\nТело.\n", "not a mapping"),
        ("---\ntitle: open\nТело без закрытия.\n", "not closed"),
    ],
)
def test_broken_frontmatter_is_reported_and_the_body_still_parsed(text: str, problem: str) -> None:
    note = parse_note(text, "broken")
    assert note.frontmatter_error is not None and problem in note.frontmatter_error
    assert "Тело" in note.text


def test_link_resolution_like_obsidian() -> None:
    resolver = LinkResolver(
        [
            "Главная.md",
            "Папка/Другая заметка.md",
            "Архив/Старое/Другая заметка.md",
            "Папка/Вложенная/Дневник.md",
            "media/схема.png",
            "Notes/Readme.md",
        ],
        aliases={"Notes/Readme.md": ["Начало", "Start here"]},
    )
    assert resolver.resolve("главная") == "Главная.md"  # case-insensitive
    assert resolver.resolve("Другая заметка") == "Папка/Другая заметка.md"  # shortest path
    assert resolver.resolve("Старое/Другая заметка") == "Архив/Старое/Другая заметка.md"
    assert resolver.resolve("Папка/Другая заметка.md") == "Папка/Другая заметка.md"
    assert resolver.resolve("дневник") == "Папка/Вложенная/Дневник.md"
    assert resolver.resolve("схема.png") == "media/схема.png"
    assert resolver.resolve("start HERE") == "Notes/Readme.md"  # alias
    assert resolver.resolve("../Главная.md", source="Папка/Другая заметка.md") == "Главная.md"
    assert resolver.resolve("", source="Главная.md") == "Главная.md"  # [[#Heading]]
    assert resolver.resolve("Несуществующая") is None


def test_the_real_vault_parses(tmp_path: Path) -> None:
    vault = Path(__file__).resolve().parents[2] / "shared" / "corpora" / "obsidian-help"
    if not vault.is_dir():
        pytest.skip(f"the shared Obsidian vault is not at {vault}")
    files = sorted(vault.rglob("*.md"))
    notes = {
        f.relative_to(vault).as_posix(): parse_note(f.read_text("utf-8"), f.stem) for f in files
    }
    resolver = LinkResolver(
        [p.relative_to(vault).as_posix() for p in vault.rglob("*") if p.is_file()],
        {path: n.aliases for path, n in notes.items()},
    )
    links = [(path, link) for path, n in notes.items() for link in n.links]
    # attachments (icons, images) are not part of the corpus; links between notes must resolve
    attachment = {".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".pdf", ".mp4", ".mp3"}
    to_notes = [(p, x) for p, x in links if Path(x.target).suffix.lower() not in attachment]
    resolved = sum(resolver.resolve(link.target, path) is not None for path, link in to_notes)
    assert len(notes) > 500 and len(to_notes) > 2000
    assert resolved / len(to_notes) > 0.97, f"only {resolved}/{len(to_notes)} note links resolve"
    assert any(isinstance(link, Link) and link.embed for _, link in links)
