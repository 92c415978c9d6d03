"""Route feasibility as pure functions of (target, host, image): no engine is touched here."""

from __future__ import annotations

from xbuild.images import default_image, find_image
from xbuild.routes.base import BuildHost, RouteName, Verdict
from xbuild.target import OS, Target

_NO_ROUTE_ALTERNATIVES = (
    "--source-policy never: take the newest version that has a wheel for the target",
    "build on a native runner of the target OS in CI (see `xbuild matrix`)",
)


def _dotted(version: tuple[int, int] | None) -> str:
    return "?" if version is None else f"{version[0]}.{version[1]}"


def check_native(target: Target, host: BuildHost, image: str | None) -> Verdict:
    """The host itself matches the target: same OS, arch and libc, glibc no newer than the target's."""

    def no(reason: str) -> Verdict:
        return Verdict(route=RouteName.NATIVE, possible=False, reason=reason)

    if image is not None:
        return no("an image was requested")
    if (host.os, host.arch) != (target.os, target.arch):
        return no(f"host is {host.os} {host.arch}, target is {target.os} {target.arch}")
    if target.os is OS.LINUX:
        if host.libc is not target.libc:
            return no(f"host libc is {host.libc}, target needs {target.libc}")
        too_new = (
            target.libc_version is not None
            and host.libc_version is not None
            and host.libc_version > target.libc_version
        )
        if too_new and not target.accept_linux_tag:
            return no(
                f"host {host.libc} {_dotted(host.libc_version)} is newer than the target's "
                f"{_dotted(target.libc_version)}: binaries built here would not load there"
            )
    if target.python not in host.pythons:
        return no(f"no Python {target.python} on this host")
    return Verdict(
        route=RouteName.NATIVE,
        possible=True,
        reason=f"host matches the target ({host.os} {host.arch} {host.libc})",
    )


def _image_for(target: Target, host: BuildHost, image: str | None) -> str | None:
    if image is not None:
        return image
    if target.image is not None:
        return target.image
    spec = default_image(target, host.images)
    return spec.name if spec else None


def _check_engine(route: RouteName, target: Target, host: BuildHost, image: str | None) -> Verdict | None:
    if target.os is not OS.LINUX:
        return Verdict(
            route=route,
            possible=False,
            reason=f"containers run Linux; a {target.os} target needs a {target.os} host",
            alternatives=_NO_ROUTE_ALTERNATIVES,
        )
    if image is None:
        return Verdict(
            route=route,
            possible=False,
            reason=f"no known image for {target.platform_label} (libc {target.libc} "
            f"{_dotted(target.libc_version)}, Python {target.python})",
            alternatives=("pass --image IMAGE", *_NO_ROUTE_ALTERNATIVES),
        )
    spec = find_image(image)
    if spec is not None and (
        spec.arch is not target.arch or spec.libc_version > (target.libc_version or (0, 0))
    ):
        return Verdict(
            route=route,
            possible=False,
            image=image,
            reason=f"image {image} is {spec.arch} {spec.libc} {_dotted(spec.libc_version)}, "
            f"which does not fit {target.platform_label}",
        )
    return None


def check_container(target: Target, host: BuildHost, image: str | None) -> Verdict:
    """Same-arch Linux build in a container whose image matches the target's libc floor."""
    route = RouteName.CONTAINER
    chosen = _image_for(target, host, image)
    refused = _check_engine(route, target, host, chosen)
    if refused is not None:
        return refused
    if target.arch is not host.arch and host.remote_engine(target.arch) is None:
        return Verdict(
            route=route,
            possible=False,
            image=chosen,
            reason=f"target arch {target.arch} differs from host {host.arch}",
        )
    engine_url = host.remote_engine(target.arch)
    if host.engine is None and engine_url is None:
        return Verdict(
            route=route,
            possible=False,
            image=chosen,
            reason="no Docker engine answers",
            alternatives=(
                "start Docker (`scripts/setup-engine.sh` or `sudo systemctl start docker`)",
                *_NO_ROUTE_ALTERNATIVES,
            ),
        )
    where = f"engine {engine_url}" if engine_url else "local engine"
    return Verdict(
        route=route,
        possible=True,
        image=chosen,
        engine_url=engine_url,
        reason=f"{target.arch} container {chosen} on the {where}",
    )


def check_emulated(target: Target, host: BuildHost, image: str | None) -> Verdict:
    """Foreign-arch Linux build: the container route with the image's platform set, run by qemu."""
    route = RouteName.EMULATED
    chosen = _image_for(target, host, image)
    refused = _check_engine(route, target, host, chosen)
    if refused is not None:
        return refused
    if target.arch is host.arch:
        return Verdict(route=route, possible=False, image=chosen, reason="target arch is native here")
    if host.engine is None:
        return Verdict(
            route=route,
            possible=False,
            image=chosen,
            reason="no Docker engine answers",
            alternatives=("start Docker (`scripts/setup-engine.sh`)",),
        )
    if target.arch not in host.emulated_arches:
        return Verdict(
            route=route,
            possible=False,
            image=chosen,
            reason=f"this kernel cannot run {target.arch} binaries in containers "
            "(no binfmt_misc entry with the F flag)",
            alternatives=(
                f"install qemu-user-static and register {target.arch} "
                "(`scripts/setup-engine.sh` does both), then check `xbuild doctor`",
                f"map {target.arch} to a native engine: "
                f"XBUILD_ENGINE_{str(target.arch).upper()}=ssh://builder",
            ),
        )
    return Verdict(
        route=route,
        possible=True,
        image=chosen,
        reason=f"{target.arch} container {chosen} under emulation (binfmt_misc + qemu)",
    )
