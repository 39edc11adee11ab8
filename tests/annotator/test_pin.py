"""Tests for annotator.pin: validation, round-trip, and the committed page's freshness."""

from __future__ import annotations

from pathlib import Path

import pytest

from annotator import pin
from annotator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_committed_pin_names_the_release():
    """The committed pin is vLLM 0.22.1 at commit 0decac0d9 with the published sdist hash."""
    p = pin.read(ROOT / "UPSTREAM_PIN.toml")
    assert (p.package, p.version, p.commit) == ("vllm", "0.22.1", "0decac0d9")
    assert p.sha256 == "cd34902729f3767e3dfbb391956b2986bc638a54be9893e78bda9cc55669f15c"


def test_round_trip(tmp_path: Path):
    """Writing then reading a pin gives the same record."""
    p = pin.Pin("vllm", "0.23.0", "abc123", "vllm-0.23.0.tar.gz", "a" * 64)
    pin.write(tmp_path / "p.toml", p)
    assert pin.read(tmp_path / "p.toml") == p


@pytest.mark.parametrize(
    "body, message",
    [
        ('package = "vllm"\n', "missing key"),
        ("not toml [", "not valid TOML"),
        (
            'package="v"\nversion="1"\ncommit="zz"\nsdist="s"\nsha256="' + "a" * 64 + '"\n',
            "commit must be",
        ),
        ('package="v"\nversion="1"\ncommit="ab"\nsdist="s"\nsha256="xyz"\n', "sha256 must be"),
    ],
)
def test_malformed_pin_is_a_config_error(tmp_path: Path, body: str, message: str):
    """A malformed pin gives a ConfigError naming the file and the problem."""
    f = tmp_path / "p.toml"
    f.write_text(body)
    with pytest.raises(ConfigError, match=message) as info:
        pin.read(f)
    assert str(f) in str(info.value)


def test_pin_page_is_fresh():
    """UPSTREAM_PIN.md matches what the pin generates (regenerate with: annotate pin-page)."""
    expected = pin.render_page(pin.read(ROOT / "UPSTREAM_PIN.toml"))
    actual = (ROOT / "UPSTREAM_PIN.md").read_text()
    assert actual == expected, "UPSTREAM_PIN.md is stale; run: annotate pin-page"
