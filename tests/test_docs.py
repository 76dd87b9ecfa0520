"""The README's config reference is the model's, and the README's commands are the real ones."""

from __future__ import annotations

from pathlib import Path

from stack_config.reference import markdown

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_config_reference_matches_the_model():
    assert markdown() in README, "regenerate with: .venv/bin/python -m stack_config.reference"


def test_readme_states_the_two_commands_ci_and_users_run():
    assert "python3 dev.py synth prod" in README
    assert "python3 dev.py test" in README
    assert "exec python3 dev.py test" in (ROOT / ".ci" / "run").read_text()
