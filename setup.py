"""Map the card's top-level folders onto the installed ``rapportd.*`` import names.

``agent/`` is installed as ``rapportd.agent``, ``connectors/`` as ``rapportd.connectors`` and
``jobs/`` as ``rapportd.jobs``, so nothing as generic as ``jobs`` lands in site-packages.
Everything else about the distribution is in pyproject.toml.
"""

from setuptools import find_packages, setup

FOLDERS = ("agent", "connectors", "jobs")

packages = [f"rapportd.{name}" for name in find_packages(include=[f"{f}*" for f in FOLDERS])]

setup(
    packages=packages,
    package_dir={f"rapportd.{f}": f for f in FOLDERS},
)
