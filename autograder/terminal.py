"""The engine's terminal output: rich consoles that print text as it is."""

from __future__ import annotations

from rich.console import Console


def make_console(*, stderr: bool = False, **options) -> Console:
    """A rich `Console` with markup off.

    What the engine prints holds paths, course titles, check messages and students' folder names,
    any of which may contain square brackets (`lab[draft]`, `notes[/old]`): as rich markup those
    would vanish or raise `MarkupError`. Style with `style=` or `rich.text.Text` instead.

    Example:
        >>> make_console(width=40).print("submissions/[/late] s1")
        submissions/[/late] s1
    """
    return Console(stderr=stderr, markup=False, **options)
