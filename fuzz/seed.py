#!/usr/bin/env python3
"""Seeds fuzz/corpus/<target> from the repository's fixtures (FUZZING.md). Idempotent: a file is named by the
hash of its bytes.

- check, workflow: every fixture and example as bytes (for `workflow`, the bytes drive the generator);
- when: every `when` of those files, as the condition's text.
"""
import hashlib
import pathlib
import tomllib

ROOT = pathlib.Path(__file__).resolve().parent.parent
CORPUS = ROOT / "fuzz" / "corpus"
SOURCES = [ROOT / "examples", ROOT / "workflow" / "tests", ROOT / "compiler" / "tests"]


def save(target, data):
    directory = CORPUS / target
    directory.mkdir(parents=True, exist_ok=True)
    (directory / hashlib.sha1(data).hexdigest()).write_bytes(data)


files = sorted(p for source in SOURCES for p in source.rglob("*.toml"))
for path in files:
    data = path.read_bytes()
    save("check", data)
    save("workflow", data)
    try:
        document = tomllib.loads(data.decode())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        continue
    for section in ("steps", "on_failure"):
        steps = document.get(section)
        if not isinstance(steps, dict):
            continue
        for step in steps.values():
            if not isinstance(step, dict):
                continue
            if isinstance(step.get("when"), str):
                save("when", step["when"].encode())

for target in sorted(CORPUS.iterdir()):
    print(f"{target.name}: {sum(1 for _ in target.iterdir())} seeds")
