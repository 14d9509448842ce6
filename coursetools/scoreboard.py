"""``course.py scoreboard``: the claim records of the last run, as a table."""

from __future__ import annotations

from pathlib import Path

from utils.catalog import BY_NUMBER
from utils.claims import claims_dir, load_all, verdict
from utils.claims import short as _short


def rows(directory=None) -> list[dict]:
    """One row per claim record, in chapter order (used by the book's scoreboard page too)."""
    out = []
    for number, records in sorted(load_all(directory).items()):
        for record in records:
            entry = BY_NUMBER.get(number)
            out.append(
                {
                    "chapter": f"{number:02d}",
                    "paper": entry.title if entry else "(preface)",
                    "claim": record["claim"],
                    "paper_value": _short(record["paper_value"]),
                    "ours": _short(record["ours"]),
                    "threshold": _short(record["threshold"]),
                    "comparison": record.get("comparison") or "",
                    "verdict": verdict(record),
                    "seed": record["seed"],
                    "asserted": record.get("asserted", True),
                }
            )
    return out


def main(directory: str | None = None) -> int:
    folder = Path(directory) if directory else claims_dir()
    table = rows(folder)
    if not table:
        print(
            f"no claim records in {folder}. Run `python3 course.py book` or `python3 course.py test` "
            "(or any chapter notebook) first."
        )
        return 1
    print(f"Reproduction scoreboard ({folder})\n")
    for row in table:
        print(
            f"[{row['chapter']}] {row['verdict'].upper():<15} seed {row['seed']}  {row['claim']}"
        )
        print(f"      paper: {row['paper_value']}")
        print(
            f"      ours:  {row['ours']}  {row['comparison'] or 'threshold'} {row['threshold']}"
        )
    asserted = [r for r in table if r["asserted"]]
    held = sum(r["verdict"] == "holds" for r in asserted)
    print(
        f"\n{held} of {len(asserted)} asserted claims hold; "
        f"{len(table) - len(asserted)} reported but not asserted."
    )
    return 0 if held == len(asserted) else 1
