"""``edgekit init DIR --data FOLDER``: start a project from an ImageFolder (edgekit/project/init.py)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console


def register(app: typer.Typer) -> None:
    @app.command()
    def init(
        folder: Path = typer.Argument(..., help="the project folder to create (edgekit.yaml + model.py)"),
        data: Path = typer.Option(
            ..., "--data", help="an ImageFolder: class sub-folders, or train/ and val/"
        ),
        size: int = typer.Option(64, "--size", help="the model's input size in pixels (square)"),
        name: str = typer.Option(None, "--name", help="project name (default: the folder's name)"),
        force: bool = typer.Option(False, "--force", help="overwrite an existing edgekit.yaml / model.py"),
    ) -> None:
        """Write a commented edgekit.yaml and a model.py template for your images."""
        from edgekit.project.init import init_project

        r = init_project(folder, data, size, name, force)
        c = Console()
        c.print(
            f"wrote {r.config} and {r.model}: {len(r.labels)} classes "
            f"({', '.join(r.labels[:6])}{' ...' if len(r.labels) > 6 else ''}), "
            f"{'gray' if r.gray else 'colour'} images, input {r.size}x{r.size}",
            highlight=False,
        )
        c.print(f"next: edgekit build --config {r.config} --device cpu --fast", highlight=False)
