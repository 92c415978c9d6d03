"""OSErrors a user can fix (full disk, read-only or unwritable place, a directory where a file
belongs) as InputErrors that say so; anything else stays an internal error."""

from __future__ import annotations

import errno

from xbuild.errors import InputError

_FIXABLE = {
    errno.ENOSPC: ("no space left on the device", "free some space, or write elsewhere"),
    errno.EDQUOT: ("disk quota exceeded", "free some space, or write elsewhere"),
    errno.EROFS: ("the file system is read-only", "write elsewhere (-o, or XBUILD_CACHE_DIR for the cache)"),
    errno.EACCES: ("permission denied", "check the permissions, or write elsewhere"),
    errno.EPERM: ("operation not permitted", "check the permissions, or write elsewhere"),
    errno.EISDIR: ("it is a directory", "name a file, not a directory"),
    errno.ENOTDIR: ("a part of the path is not a directory", "check the path"),
    errno.ENAMETOOLONG: ("a file name is too long for the file system", "use a shorter path"),
    errno.ENOENT: ("no such file or directory", "check the path"),
}


def user_os_error(exc: OSError, doing: str = "cannot write") -> InputError | None:
    """The InputError for `exc`, or None when it is not one the user can fix."""
    found = _FIXABLE.get(exc.errno or 0)
    if found is None:
        return None
    why, hint = found
    # A rename names its destination second: that is the path the user chose.
    named = exc.filename2 if exc.filename2 is not None else exc.filename
    where = str(named) if named is not None else "the output"
    where = where if len(where) <= 240 else f"{where[:120]}...{where[-100:]}"
    return InputError(f"{doing} {where}: {why}", hint=hint)
