"""The examples run end to end on the embedded default and print figures that agree with the data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_kazakh_for_russian_example(tmp_path):
    run = subprocess.run([sys.executable, str(EXAMPLES / "kazakh_for_russian.py"), str(tmp_path)],
                         capture_output=True, text=True, check=True)
    out = run.stdout
    assert "186,493 -> 0" in out
    # Register, Germany <- Kazakhstan (methods note R4): 56,859 kbbl in 2013, 48,461 in 2019.
    assert "KZ 56,859 kbbl in 2013, 48,461 kbbl in 2019" in out
    # By hand: KEBCO 993 kt x 7.2087 bbl/t / 12 = 596.5 kbbl a month; KZ disclosed gain
    # (49,550 - 45,806) / 12 = 312.0; RU shortfall 186,493 / 12 = 15,541.1; (312.0 + 596.5) / 15,541.1
    # = 5.85 %.
    assert "coverage with published KEBCO added: 5.8%" in out
    assert (tmp_path / "report.html").exists()
