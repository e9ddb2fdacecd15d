"""The vault: Obsidian notes parsed, linked and (in the vault issue) indexed for retrieval."""
