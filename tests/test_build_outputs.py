"""What a container may hand back: only the bytes of top-level regular files, as ours, mode 0644."""

from __future__ import annotations

import io
import stat
import tarfile
from pathlib import Path

from xbuild.build.container import _extract_outputs


def _archive() -> io.BytesIO:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:

        def add(name: str, data: bytes = b"x", **attrs: object) -> None:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            for key, value in attrs.items():
                setattr(info, key, value)
            tf.addfile(info, io.BytesIO(data) if info.isreg() else None)

        add("out/good [1]-1.0-py3-none-any.whl", b"wheel", uid=0, gid=0)
        add("out/sh.whl", b"\x7fELF", mode=0o4755, uid=0)
        add("out/shadow.whl", type=tarfile.SYMTYPE, linkname="/etc/shadow")
        add("out/hard.whl", type=tarfile.LNKTYPE, linkname="out/sh.whl")
        add("out/sub/nested.whl")
        add("out/.hidden.whl")
        add("out/dev.whl", type=tarfile.CHRTYPE)
    buf.seek(0)
    return buf


def test_only_plain_top_level_outputs_arrive(tmp_path: Path) -> None:
    found = _extract_outputs(_archive(), tmp_path, ".whl")
    assert [p.name for p in found] == ["good [1]-1.0-py3-none-any.whl", "sh.whl"]
    for path in found:
        mode = path.lstat().st_mode
        assert stat.S_ISREG(mode) and stat.S_IMODE(mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == [p.name for p in found]
