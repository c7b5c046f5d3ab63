"""``python -m dark_halo_scope`` runs the project like ``kedro run``."""

from pathlib import Path

from kedro.framework.cli.utils import find_run_command
from kedro.framework.project import configure_project


def main() -> None:
    configure_project(Path(__file__).parent.name)
    find_run_command(Path(__file__).parent.name)(standalone_mode=True)


if __name__ == "__main__":
    main()
