"""``course.py seeds [NN ...]``: run chapters under several seeds, print their claims side by side.

Chapter authors use it to show that a claim holds for any ``COURSE_SEED``, not only the default.
Each run's records are also kept in ``_build/seeds/NN/seed-S.json`` with a fingerprint of the
sources it ran (the notebook, ``utils/`` and ``datasets/``); the book's scoreboard reads them and
shows, for each claim of its build, on how many seeds it held and the range of our values,
ignoring sweeps whose sources have changed since.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from coursetools import BUILD, ROOT
from coursetools.execute import execute_notebook
from coursetools.notebooks import find_notebooks, resolve_notebooks
from utils.claims import (
    chapter_of,
    claims_path,
    load_records,
    short,
    validate_record,
    verdict,
)

SEEDS_DIR = BUILD / "seeds"
DEFAULT_SEEDS = "0,1,2,3,4"


def fingerprint(notebook: Path, root: Path = ROOT) -> str:
    """A hash of what a chapter's run depends on: its notebook, utils/ and datasets/."""
    digest = hashlib.sha256(Path(notebook).read_bytes())
    for folder in ("utils", "datasets"):
        for path in sorted((root / folder).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digest.update(str(path.relative_to(root)).encode())
                digest.update(path.read_bytes())
    return digest.hexdigest()


def _run(job):
    path, seed, threads = job
    with tempfile.TemporaryDirectory() as folder:
        result = execute_notebook(path, seed=seed, claims_dir=folder, threads=threads)
        record_file = claims_path(chapter_of(path), folder)
        records = load_records(record_file) if record_file.exists() else []
    return path, seed, result.seconds, result.error, records


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(
            f"--seeds must be comma-separated integers, got {text!r}"
        ) from None
    if not seeds or any(s < 0 for s in seeds):
        raise SystemExit(f"--seeds must be non-negative integers, got {text!r}")
    return seeds


def save_sweep(
    path: Path,
    seed: int,
    records: list[dict],
    error: str | None,
    print_hash: str,
    out: Path = SEEDS_DIR,
) -> Path:
    """Keep one run's records for the book: ``out/NN/seed-S.json``."""
    target = out / f"{chapter_of(path):02d}" / f"seed-{seed}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(
        json.dumps(
            {
                "notebook": path.name,
                "seed": seed,
                "fingerprint": print_hash,
                "ok": error is None,
                "records": records,
            },
            indent=1,
        )
        + "\n"
    )
    return target


def load_sweeps(notebook: Path, out: Path = SEEDS_DIR) -> list[dict]:
    """The kept runs of a chapter whose fingerprint matches its current sources."""
    folder = out / f"{chapter_of(notebook):02d}"
    if not folder.is_dir():
        return []
    current = fingerprint(notebook)
    runs = []
    for path in sorted(folder.glob("seed-*.json")):
        data = json.loads(path.read_text())
        if data.get("fingerprint") == current and data.get("ok"):
            data["records"] = [validate_record(r) for r in data["records"]]
            runs.append(data)
    return sorted(runs, key=lambda run: run["seed"])


def summarize(claim: str, runs: list[dict]) -> dict | None:
    """For one claim text: seeds run, seeds on which it held, min and max of a numeric ``ours``."""
    matches = [r for run in runs for r in run["records"] if r["claim"] == claim]
    if not matches:
        return None
    numbers = [
        r["ours"]
        for r in matches
        if isinstance(r["ours"], (int, float)) and not isinstance(r["ours"], bool)
    ]
    return {
        "seeds": len(matches),
        "held": sum(r["holds"] for r in matches),
        "low": min(numbers) if numbers else None,
        "high": max(numbers) if numbers else None,
        "seed_list": sorted(r["seed"] for r in matches),
    }


def _print_table(runs) -> bool:
    ok = True
    by_notebook: dict[Path, list] = {}
    for run in runs:
        by_notebook.setdefault(run[0], []).append(run)
    for path, chapter_runs in by_notebook.items():
        print(f"\n=== {path.name}")
        claims = []
        for *_, records in chapter_runs:
            claims += [r["claim"] for r in records if r["claim"] not in claims]
        for _, seed, _, error, _ in chapter_runs:
            if error:
                ok = False
                print(f"seed {seed}: notebook failed\n{error}\n")
        for claim in claims:
            print(f"\n{claim}")
            for _, seed, _, _error, records in chapter_runs:
                match = [r for r in records if r["claim"] == claim]
                if not match:
                    print(f"  seed {seed:>3}: (no record)")
                    ok = False
                    continue
                r = match[0]
                ok &= r["holds"] or not r.get("asserted", True)
                control = (
                    f"   control ({r.get('control_label') or 'control'}) "
                    f"{short(r['control'])}"
                    if r.get("control") is not None
                    else ""
                )
                print(
                    f"  seed {seed:>3}: ours {short(r['ours'])}  {r.get('comparison') or 'vs'} "
                    f"{short(r['threshold'])}  {verdict(r)}{control}"
                )
        print(
            "\nwall time per run: "
            + ", ".join(f"seed {s}: {t:.1f} s" for _, s, t, _, _ in chapter_runs)
        )
    return ok


def main(
    chapters: list[str] | str | None = None,
    seeds: str = DEFAULT_SEEDS,
    jobs: int | None = None,
) -> int:
    names = [chapters] if isinstance(chapters, str) else list(chapters or [])
    paths = (
        resolve_notebooks(names, folders=("chapters",))
        if names
        else [p for p in find_notebooks(("chapters",))]
    )
    seed_list = parse_seeds(seeds)
    jobs = jobs or os.cpu_count() or 1
    print(
        f"running {len(paths)} notebook(s) under seeds {seed_list}, {jobs} at a time...",
        flush=True,
    )
    prints = {path: fingerprint(path) for path in paths}
    jobs_list = [
        (path, s, 1) for path in paths for s in seed_list
    ]  # one torch thread each
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(_run, jobs_list))
    for path, seed, _, error, records in runs:
        save_sweep(path, seed, records, error, prints[path])
    ok = _print_table(runs)
    print(f"\nrecords kept in {SEEDS_DIR.relative_to(ROOT)}/ for the book's scoreboard")
    print(
        "all asserted claims hold for every seed"
        if ok
        else "SOME CLAIM FAILS FOR SOME SEED"
    )
    return 0 if ok else 1
