"""``course.py seeds 01``: run one chapter under several seeds, print its claims side by side.

Chapter authors use it to show that a claim holds for any ``COURSE_SEED``, not only the default.
"""
from __future__ import annotations

import tempfile
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from coursetools.execute import execute_notebook
from coursetools.notebooks import resolve_notebooks
from utils.claims import _short, load_records


def _run(job):
    path, seed, threads = job
    with tempfile.TemporaryDirectory() as folder:
        result = execute_notebook(path, seed=seed, claims_dir=folder, threads=threads)
        record_file = Path(folder) / f"{path.name[:2]}.json"
        records = load_records(record_file) if record_file.exists() else []
    return seed, result.seconds, result.error, records


def parse_seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",") if s.strip()]
    except ValueError:
        raise SystemExit(f"--seeds must be comma-separated integers, got {text!r}") from None
    if not seeds or any(s < 0 for s in seeds):
        raise SystemExit(f"--seeds must be non-negative integers, got {text!r}")
    return seeds


def main(chapter: str, seeds: str = "0,1,2,3,4", jobs: int | None = None) -> int:
    [path] = resolve_notebooks([chapter])[:1]
    seed_list = parse_seeds(seeds)
    import os
    jobs = jobs or os.cpu_count() or 1
    print(f"running {path.name} under seeds {seed_list}, {jobs} at a time...", flush=True)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        runs = list(pool.map(_run, [(path, s, 1 if jobs > 1 else None) for s in seed_list]))
    ok = True
    claims = []
    for _, _, _, records in runs:
        for r in records:
            if r["claim"] not in claims:
                claims.append(r["claim"])
    for seed, seconds, error, records in runs:
        if error:
            ok = False
            print(f"seed {seed}: notebook failed\n{error}\n")
    for claim in claims:
        print(f"\n{claim}")
        for seed, seconds, error, records in runs:
            match = [r for r in records if r["claim"] == claim]
            if not match:
                print(f"  seed {seed:>3}: (no record)")
                ok = False
                continue
            r = match[0]
            mark = "holds" if r["holds"] else ("FAILS" if r.get("asserted", True) else "not reproduced")
            ok &= r["holds"] or not r.get("asserted", True)
            print(f"  seed {seed:>3}: ours {_short(r['ours'])}  {r.get('comparison') or 'vs'} "
                  f"{_short(r['threshold'])}  {mark}")
    print("\nwall time per run: " + ", ".join(f"seed {s}: {t:.1f} s" for s, t, _, _ in runs))
    print("all asserted claims hold for every seed" if ok else "SOME CLAIM FAILS FOR SOME SEED")
    return 0 if ok else 1
