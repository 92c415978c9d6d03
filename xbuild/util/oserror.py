"""OSErrors a user can fix (full disk, read-only or unwritable place, a directory where a file
belongs) as InputErrors that say so; anything else stays an internal error."""

from __future__ import annotations

import errno

from xbuild.errors import InputError

_ELSEWHERE = "write elsewhere (-o for outputs, XBUILD_CACHE_DIR for the cache)"
_FIXABLE = {
    errno.ENOSPC: ("no space left on the device", f"free some space, or {_ELSEWHERE}"),
    errno.EDQUOT: ("disk quota exceeded", f"free some space, or {_ELSEWHERE}"),
    errno.EROFS: ("the file system is read-only", _ELSEWHERE),
    errno.EACCES: ("permission denied", f"check the permissions, or {_ELSEWHERE}"),
    errno.EPERM: ("operation not permitted", f"check the permissions, or {_ELSEWHERE}"),
    errno.EISDIR: ("it is a directory", "name a file, not a directory"),
    errno.ENOTDIR: ("a part of the path is not a directory", "check the path"),
    errno.ENAMETOOLONG: ("a file name is too long for the file system", "use a shorter path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
}


def user_os_error(exc: OSError, what: str = "a file") -> InputError | None:
    """The InputError for `exc` (`what` was being written), or None when the user cannot fix it."""
    found = _FIXABLE.get(exc.errno or 0)
    if found is None:
        return None
    why, hint = found
    # A rename names its destination second: that is the path the user chose.
    named = exc.filename2 if exc.filename2 is not None else exc.filename
    if named is None:  # a write() that hit a full disk names no file
        return InputError(f"cannot write {what}: {why}", hint=hint)
    where = str(named)
    where = where if len(where) <= 240 else f"{where[:120]}...{where[-100:]}"
    return InputError(f"cannot use {where}: {why}", hint=hint)
