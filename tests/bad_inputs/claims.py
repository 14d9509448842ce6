"""Bad-input rows of utils.claims (the claim record); the format is in ``__init__.py``."""

from __future__ import annotations

import tempfile

from bad_inputs import Row
from utils import claims


def _claim():
    return {
        "chapter": 3,
        "claim": "the effect is there",
        "paper_value": 0.5,
        "ours": 0.4,
        "threshold": 0.1,
        "op": ">",
        "evidence": "effect",
        "control": 0.05,
        "directory": tempfile.mkdtemp(prefix="bad-inputs-claims-"),
        "show": False,
    }


ROWS = [
    Row(
        claims.claims_path,
        lambda: {"chapter": 7, "directory": "/tmp"},
        "chapter",
        ("negative", "nan", "inf", "dtype"),
    ),
    Row(claims.record_claim, _claim, "chapter", ("negative", "nan", "inf", "dtype")),
    Row(claims.record_claim, _claim, "ours", ("nan", "inf", "dtype")),
    Row(claims.record_claim, _claim, "threshold", ("nan", "inf", "dtype")),
    Row(claims.record_claim, _claim, "paper_value", ("nan", "inf")),
    Row(claims.record_claim, _claim, "control", ("nan", "inf")),
]

NO_ARRAY_INPUT = {
    "claims.claims_dir": "no arguments (reads COURSE_CLAIMS_DIR)",
    "claims.chapter_of": "its input is a file name (text)",
    "claims.verdict": "its input is a claim record (a dict)",
    "claims.validate_record": "its input is a claim record (a dict); tested in test_claims_exact.py",
    "claims.load_records": "its input is a file path; tested in test_claims_exact.py",
    "claims.load_all": "its input is a folder path",
    "claims.short": "formats any value for people (documented: str() of what it does not know)",
    "claims.format_record": "its input is a claim record (a dict)",
}
