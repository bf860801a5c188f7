"""Run import-linter (the contracts in pyproject.toml) over the installed layout.

The repository keeps envs/, agents/, baselines/, leagues/ at the top and setuptools maps them to zeroleague.*;
import-linter reads a package from one folder, so this builds a temporary ``zeroleague`` folder of symbolic links
(the zeroleague/ files plus the mapped folders) and lints that. Exit status: lint-imports'.
"""

import os
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    cfg = tomllib.loads((ROOT / "pyproject.toml").read_text())
    mapping = cfg["tool"]["setuptools"]["package-dir"]
    with tempfile.TemporaryDirectory() as tmp:
        pkg = Path(tmp) / "zeroleague"
        pkg.mkdir()
        for entry in (ROOT / mapping["zeroleague"]).iterdir():
            if entry.name != "__pycache__":
                (pkg / entry.name).symlink_to(entry)
        for name, folder in mapping.items():
            if name != "zeroleague":
                (pkg / name.split(".", 1)[1]).symlink_to(ROOT / folder, target_is_directory=True)
        env = {**os.environ, "PYTHONPATH": tmp}
        run = "from importlinter.cli import lint_imports_command; lint_imports_command()"
        cmd = [sys.executable, "-c", run, str(ROOT / "pyproject.toml"), *sys.argv[1:]]
        return subprocess.run(cmd, cwd=tmp, env=env).returncode


if __name__ == "__main__":
    sys.exit(main())
