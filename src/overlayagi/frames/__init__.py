"""Frames: ways of thinking as versioned, validated data (YAML files)."""

from overlayagi.frames.errors import FrameError, FrameNotFoundError, Issue
from overlayagi.frames.library import FrameLibrary, FrameSet, LoadedFrame
from overlayagi.frames.spec import END, Budgets, Frame, Phase, PhaseKind, Role

__all__ = [
    "END",
    "Budgets",
    "Frame",
    "FrameError",
    "FrameLibrary",
    "FrameNotFoundError",
    "FrameSet",
    "Issue",
    "LoadedFrame",
    "Phase",
    "PhaseKind",
    "Role",
]
