"""``python -m routing.bench`` takes instance files by path, in either format, wherever they are."""

import shutil
from pathlib import Path

from routing.bench.__main__ import main
from routing.bench.instances import default_root, expand, is_lilim, read_instance


def test_format_is_read_from_the_file_not_its_folder(tmp_path: Path) -> None:
    root = default_root()
    lilim = tmp_path / "mine-pd.txt"
    solomon = tmp_path / "mine-tw.txt"
    shutil.copy(root / "li_lim_100" / "lc101.txt", lilim)
    shutil.copy(root / "solomon" / "C101.txt", solomon)
    assert is_lilim(lilim) and not is_lilim(solomon)
    pd, tw = read_instance(lilim), read_instance(solomon)
    assert pd.kind == "pdptw" and pd.pairs and pd.n == 107
    assert tw.kind == "vrptw" and tw.n == 101 and tw.capacity == 200
    assert expand(root, [str(lilim), "C101", str(solomon)]) == [lilim, root / "solomon" / "C101.txt", solomon]


def test_the_command_solves_a_file_given_by_path(tmp_path: Path, capsys: object) -> None:
    path = tmp_path / "C101-copy.txt"
    shutil.copy(default_root() / "solomon" / "C101.txt", path)
    assert main([str(path), "--time-limit", "1", "--json"]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert '"instance": "C101"' in out and '"feasible": true' in out
