"""The docs' config reference is the model's, the README's commands are the real ones, and every
Markdown link lands on a file and a heading that exist."""

from __future__ import annotations

import re
from pathlib import Path

from stack_config.reference import docs_page, rows
from tests.conftest import namespace_of

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def test_the_readme_quick_start_is_rendered_from_dev_py_and_ci_runs_its_test_command():
    import dev

    block = README.split("<!-- quickstart:begin -->\n", 1)[1].split("<!-- quickstart:end -->", 1)[0]
    assert block == dev.quick_start_markdown(), "copy dev.quick_start_markdown() into the README's Quick start"
    commands = [command for command, _, _ in dev.QUICK_START]
    assert commands == ["python3 dev.py synth prod", "python3 dev.py test"]
    assert f"exec {commands[1]}" in (ROOT / ".ci" / "run").read_text()


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


# --- the README leads; links hold ------------------------------------------------------------------

MARKDOWN = sorted(
    p
    for p in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "functions").rglob("README.md"), *(ROOT / "examples").rglob("README.md")]
    if ".venv" not in p.parts
)
_LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)\)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, markup and punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|<[^>]+>", "", heading.strip().lower())
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)
    found: set[str] = set()
    for heading in re.findall(r"^#{1,6} (.+)$", text, flags=re.MULTILINE):
        base, n = slug(heading), 0
        while (candidate := base if n == 0 else f"{base}-{n}") in found:
            n += 1
        found.add(candidate)
    return found


def test_every_relative_link_in_the_markdown_reaches_a_file_and_a_heading():
    broken = []
    for page in MARKDOWN:
        text = re.sub(r"```.*?```", "", page.read_text(), flags=re.DOTALL)
        for target in _LINK.findall(text):
            if re.match(r"^[a-z]+:", target):  # https:, mailto:
                continue
            file_part, _, anchor = target.partition("#")
            dest = (page.parent / file_part).resolve() if file_part else page
            if not dest.exists():
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                broken.append(f"{page.relative_to(ROOT)}: {target} (no such heading)")
    assert broken == []


def test_the_link_check_sees_a_broken_link(tmp_path: Path):
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## Who owns what: `pulumi up` and the pipeline\n")
    assert anchors(page) == {"title", "who-owns-what-pulumi-up-and-the-pipeline"}


def test_the_readme_leads_and_stays_short():
    lines = README.splitlines()
    assert len(lines) <= 400, len(lines)
    headings = [line for line in lines if line.startswith("## ")]
    # The pitch, then how to run it, then where to read on.
    assert headings[:3] == ["## Quick start", "## Contents", "## What one region contains"]


def test_user_facing_text_has_no_internal_jargon():
    """The original architecture notes are not published: nothing a user reads cites them by number."""
    pages = [*MARKDOWN, ROOT / "Pulumi.prod.yaml", ROOT / "Pulumi.dev.yaml"]
    found = [
        f"{p.relative_to(ROOT)}:{n}: {line.strip()}"
        for p in pages
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if re.search(r"\bseeds?\b( \d{3}|')|\bseeds? \d|the \*[A-Z][a-z -]+\* issue", line, flags=re.IGNORECASE)
    ]
    assert found == []
