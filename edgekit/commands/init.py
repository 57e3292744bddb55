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
        size: int = typer.Option(None, "--size",
                                 help="the model's input size in pixels (square; default 64, detection 160)"),
        name: str = typer.Option(None, "--name", help="project name (default: the folder's name)"),
        force: bool = typer.Option(False, "--force", help="overwrite an existing edgekit.yaml / model.py"),
        task: str = typer.Option("classification", "--task",
                                 help="classification (an ImageFolder) | detection (a COCO or YOLO folder)"),
    ) -> None:
        """Write a commented edgekit.yaml and a model.py template for your images."""
        from edgekit.errors import ConfigError
        from edgekit.project.init import init_project

        if task == "detection":
            from edgekit.project.init_detection import init_detection

            r = init_detection(folder, data, 160 if size is None else size, name, force)
        elif task == "classification":
            r = init_project(folder, data, 64 if size is None else size, name, force)
        else:
            raise ConfigError(f"--task {task} is not known", "use --task classification or --task detection")
        c = Console()
        c.print(
            f"wrote {r.config} and {r.model}: {len(r.labels)} classes "
            f"({', '.join(r.labels[:6])}{' ...' if len(r.labels) > 6 else ''}), "
            f"{'gray' if r.gray else 'colour'} images, input {r.size}x{r.size}",
            highlight=False,
        )
        c.print(f"next: edgekit build --config {r.config} --device cpu --fast", highlight=False)
