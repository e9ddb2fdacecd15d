"""A small Obsidian vault written for the tests: English and Russian notes, links, tags,
front matter (one broken), and files that must be skipped."""

from __future__ import annotations

from pathlib import Path

NOTES: dict[str, str] = {
    "Garden/Tomatoes.md": """---
aliases: [Tomato plants]
tags: [garden/vegetables]
created: 2024-05-01
---
# Tomatoes

Tomatoes need at least six hours of direct sunlight every day.

## Watering
Water tomato plants deeply twice a week; shallow watering makes weak roots.
See [[Compost]] for feeding the soil.

## Pests
Hornworms eat the leaves. Pick them off by hand in the evening.
""",
    "Garden/Compost.md": """---
tags: [garden]
created: 2023-03-10
---
# Compost

A compost heap turns kitchen scraps into humus in about three months.
Turn the heap every week so that it gets air. Coffee grounds are welcome.
""",
    "Кулинария/Борщ.md": """---
tags: [кухня/супы]
created: 2024-11-02
---
# Борщ

Для борща нужны свёкла, капуста, картофель и морковь.

## Приготовление
Свёклу тушат отдельно с уксусом, чтобы суп сохранил яркий цвет.
Подробнее о хранении овощей: [[Хранение овощей#Погреб]].
""",
    "Кулинария/Хранение овощей.md": """# Хранение овощей

## Погреб
Картофель и свёклу хранят в погребе при температуре от двух до четырёх градусов.

## Холодильник
Морковь лучше держать в холодильнике в закрытом пакете.
""",
    "Projects/Overlay ideas.md": """# Overlay ideas

The twin should cite notes like [[Tomatoes#Watering]] and [[Missing note]].

```python
# a [[Not a link]] inside code
print("#not-a-tag")
```

> [!tip] Remember
> Evening review of the garden journal. #journal
""",
    "Broken front matter.md": """---
title: [unclosed
---
# Still indexed

The body of a note with broken front matter is still searchable: marmalade recipe.
""",
}


def build_vault(root: Path) -> Path:
    for rel, text in NOTES.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / ".obsidian").mkdir(exist_ok=True)
    (root / ".obsidian" / "workspace.md").write_text("# not a note", encoding="utf-8")
    (root / "binary.md").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00binary")
    (root / "latin1.md").write_bytes("caf\xe9 na\xefve".encode("latin-1"))
    (root / "huge.md").write_text("# Huge\n\n" + "word " * 60_000, encoding="utf-8")
    (root / "image.png").write_bytes(b"\x89PNG")
    return root
