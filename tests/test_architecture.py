"""The house rules that keep the code base easy to change, checked on the source itself.

- **Layers** (docs/decisions/0001-architecture.md): a package imports only from layers below its
  own, never from above or from a sibling in its layer. Imports inside functions count: a lazy
  import is still a dependency.
- **Codecs say what they are**: outside ``codecs/`` nothing compares a codec's name with a
  codec's registry name, or reads a codec's private options; it asks the codec's capabilities.
- **One of each**: the run config is read in one module, and each score helper is defined once.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

from continuo.codecs import CODECS

SRC = Path(__file__).resolve().parents[1] / "src" / "continuo"

#: The layers, top first. A package may import from packages of the layers below its own; the
#: packages of one layer are independent of each other. The first and last layers hold single
#: modules (``continuo/cli/``, ``continuo/score.py``, ...): the name is the part after
#: ``continuo.``. ``<version>`` is ``continuo/__init__.py``.
LAYERS: list[tuple[str, frozenset[str]]] = [
    ("entry point", frozenset({"__main__"})),
    ("command line", frozenset({"cli"})),
    ("web app", frozenset({"app"})),
    ("generation", frozenset({"generation"})),
    ("training", frozenset({"training"})),
    ("corpora, evaluation, audio", frozenset({"data", "evaluation", "audio"})),
    ("models", frozenset({"models"})),
    ("codecs", frozenset({"codecs"})),
    ("file formats", frozenset({"io"})),
    ("object storage", frozenset({"storage"})),
    (
        "shared helpers",
        frozenset(
            {"score", "settings", "progress", "device", "pretrained", "checkpoint_io", "paths"}
        ),
    ),
    ("safe files", frozenset({"atomic"})),
    ("errors", frozenset({"errors", "<version>"})),
]
RANK = {name: len(LAYERS) - index for index, (_, names) in enumerate(LAYERS) for name in names}


def _modules() -> list[tuple[str, Path]]:
    """``(dotted name, path)`` of every module of the package."""
    found = []
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found.append((name, path))
    return found


def _part(module: str) -> str:
    """The layer entry of a dotted module name: ``continuo.training.plan`` -> ``training``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "<version>"


def _imports(path: Path) -> list[tuple[int, str]]:
    """``(line, module)`` of every ``continuo`` import in ``path``, at any depth."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [
                (node.lineno, a.name) for a in node.names if a.name.split(".")[0] == "continuo"
            ]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "continuo":  # from continuo import io, __version__
                found += [(node.lineno, f"continuo.{a.name}") for a in node.names]
            elif node.module.startswith("continuo."):
                found.append((node.lineno, node.module))
    return found


def _layer_violations(modules: list[tuple[str, Path]]) -> list[str]:
    """Imports of ``modules`` that point up the layers or sideways."""
    wrong = []
    for name, path in modules:
        mine = _part(name)
        for line, target in _imports(path):
            theirs = "<version>" if _part(target) == "__version__" else _part(target)
            if theirs != mine and RANK[theirs] >= RANK[mine]:
                wrong.append(f"{path.name}:{line} ({mine}) imports {target} ({theirs})")
    return wrong


def _is_name_of_something(node: ast.expr) -> bool:
    """``x.name`` or ``x["name"]``."""
    if isinstance(node, ast.Attribute):
        return node.attr == "name"
    return isinstance(node, ast.Subscript) and (
        isinstance(node.slice, ast.Constant) and node.slice.value == "name"
    )


def _codec_name_checks(path: Path) -> list[str]:
    """Places in ``path`` that compare a name with a codec's registry name, or read a codec's
    options (``codec.config.x``)."""
    codec_names = set(CODECS)
    text = path.read_text(encoding="utf-8")
    wrong = []
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
            literals = {
                o.value for o in operands if isinstance(o, ast.Constant) and o.value in codec_names
            }
            if literals and any(_is_name_of_something(o) for o in operands):
                wrong.append(f"{path.name}:{node.lineno} compares a name with {sorted(literals)}")
    for number, line in enumerate(text.splitlines(), 1):
        if re.search(r"codec\w*\.config\.|getattr\(\s*\w*codec\w*\.config", line):
            wrong.append(f"{path.name}:{number} reads a codec's options: {line.strip()}")
    return wrong


def test_every_package_has_a_layer() -> None:
    parts = {_part(name) for name, _ in _modules()}
    assert parts <= set(RANK), f"add {sorted(parts - set(RANK))} to LAYERS (and to 0001)"


def test_imports_point_down_the_layers() -> None:
    wrong = _layer_violations(_modules())
    assert not wrong, "imports that point up or sideways:\n" + "\n".join(wrong)


def test_nothing_outside_codecs_branches_on_a_codec_name() -> None:
    wrong = []
    for _, path in _modules():
        if path.relative_to(SRC).parts[0] != "codecs":
            wrong += _codec_name_checks(path)
    assert not wrong, (
        "ask the codec (polyphonic, text_seed, steps_per_quarter, ...):\n" + "\n".join(wrong)
    )


def test_the_checks_catch_what_they_are_for(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text(
        "from continuo.generation import Generator\n"
        "def f(codec, config):\n"
        "    from continuo import cli\n"
        "    if codec.name == 'melody' or config['codec']['name'] != 'events':\n"
        "        return codec.config.steps_per_quarter\n"
    )
    layers = _layer_violations([("continuo.training.bad", bad), ("continuo.generation.x", bad)])
    assert layers == [
        "bad.py:1 (training) imports continuo.generation (generation)",
        "bad.py:3 (training) imports continuo.cli (cli)",
        "bad.py:3 (generation) imports continuo.cli (cli)",
    ]
    assert len(_codec_name_checks(bad)) == 3  # two comparisons, one read of options


def test_the_run_config_is_read_in_one_place() -> None:
    """A checkpoint's settings are read through RunConfig (training/run_config.py), never by
    their JSON keys. The audio models' own config (continuo.audio.neural, ``arch``) is not a
    run config yet (issue 13 §2)."""
    pattern = re.compile(
        r"""(config|saved)\w*(\[|\.get\()\s*["'](train|model|codec|dataset|metrics)["']"""
    )
    wrong = []
    for _, path in _modules():
        relative = path.relative_to(SRC)
        if relative.parts[0] == "audio" or relative == Path("training/run_config.py"):
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.search(line) and '"arch"' not in line:
                wrong.append(f"{relative}:{number}: {line.strip()}")
    assert not wrong, "read a run's settings with RunConfig:\n" + "\n".join(wrong)


def test_each_score_helper_is_defined_once() -> None:
    """Notes as arrays, bar lines, pitch names and made-up velocities live in continuo.score."""
    pattern = re.compile(
        r"^\s*(def (notes_of|bar_starts|pitch_name|note_name)\b|class NoteArrays\b|\w*VELOCITY\s*=\s*\d)"
    )
    found = []
    for _, path in _modules():
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if pattern.match(line):
                found.append(f"{path.relative_to(SRC)}:{number}")
    assert found and all(place.startswith("score.py:") for place in found), found
