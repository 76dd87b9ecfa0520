"""The README's config reference is the model's, and the README's commands are the real ones."""

from __future__ import annotations

from pathlib import Path

from stack_config.reference import docs_page, markdown, rows
from tests.conftest import namespace_of

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_readme_config_reference_matches_the_model():
    assert markdown() in README, "regenerate with: .venv/bin/python -m stack_config.reference"


def test_readme_states_the_two_commands_ci_and_users_run():
    assert "python3 dev.py synth prod" in README
    assert "python3 dev.py test" in README
    assert "exec python3 dev.py test" in (ROOT / ".ci" / "run").read_text()


def test_docs_config_reference_is_the_models_with_a_type_and_an_example_for_every_key():
    page = docs_page([namespace_of("prod"), namespace_of("dev")])
    assert (ROOT / "docs" / "config.md").read_text() == page, (
        "regenerate with: .venv/bin/python -m stack_config.reference --docs > docs/config.md"
    )
    table = [line.split(" | ") for line in page.splitlines() if line.startswith("| `")]
    assert [cells[0].strip("| `") for cells in table] == [r[0] for r in rows()]
    for cells in table:
        key, kind, example = cells[0].strip("| `"), cells[1], cells[4]
        # A key cannot go undocumented: leaves need an example (objects are described key by key).
        assert kind in ("object", "list of object") or example.strip(), key


def test_every_curated_example_belongs_to_a_key_that_exists():
    """A renamed key must take its example along, or the example silently stops showing."""
    from stack_config.reference import EXAMPLES

    paths = {r[0] for r in rows()}
    assert set(EXAMPLES) <= paths, set(EXAMPLES) - paths
