"""Packaging beyond pyproject.toml: the wheel carries the top-level migrations/ and
pass_templates/ folders inside the package (as app/_bundled/...), so an installed
walletpass migrates and issues passes without the source tree."""

from setuptools import find_packages, setup

BUNDLED = {"migrations": "migrations", "pass_templates": "pass_templates"}


def bundled_packages() -> dict[str, str]:
    from pathlib import Path

    mapping = {}
    for name, folder in BUNDLED.items():
        for path in [Path(folder), *sorted(p for p in Path(folder).rglob("*") if p.is_dir())]:
            if "__pycache__" in path.parts:
                continue
            mapping["app._bundled." + ".".join((name, *path.parts[1:]))] = str(path)
    return mapping


MAPPED = bundled_packages()

setup(
    packages=[*find_packages(include=["app*"]), "app._bundled", *MAPPED],
    package_dir={"app._bundled": "app/_bundled", **MAPPED},
    package_data={
        "app": [
            "web/templates/**/*",
            "web/static/**/*",
            "translations/*/LC_MESSAGES/*.po",
            "fakes/data/*.json",
            "staff/common_passwords.txt",
        ],
        **{package: ["*"] for package in MAPPED},
    },
)
