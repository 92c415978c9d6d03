"""Route feasibility as pure functions of (target, host, image): no engine is touched here."""

from __future__ import annotations

from xbuild.images import ImageFacts, default_image, find_image
from xbuild.routes.base import BuildHost, RouteName, Verdict
from xbuild.target import OS, Target

_NO_ROUTE_ALTERNATIVES = (
    "--source-policy never: take the newest version that has a wheel for the target",
    "build on a native runner of the target OS in CI (see `xbuild matrix`)",
)


# Families built only with their platform's SDK (Xcode, the NDK, emscripten): no host, container or
# emulator here can produce their wheels.
CROSS_SDK_FAMILIES = (OS.IOS, OS.ANDROID, OS.EMSCRIPTEN)


def check_cross_sdk(target: Target, builder: str | None) -> Verdict | None:
    """Refuse, up front and with what would build them, targets that need their platform's SDK."""
    if target.os not in CROSS_SDK_FAMILIES:
        return None
    return Verdict(
        route=RouteName.NATIVE,
        possible=False,
        reason=f"{target.os.label} wheels are cross-compiled with the platform's SDK; "
        "xbuild has no route that builds them",
        alternatives=(
            *((builder,) if builder else ()),
            "give a Python distribution for the target with --python PATH (its sysconfig names the "
            "platform), to plan and verify against it",
            *_NO_ROUTE_ALTERNATIVES[:1],
        ),
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


def image_for(target: Target, host: BuildHost, image: str | None) -> str | None:
    """The image the container and emulated routes would use: asked for, the target's, or the default."""
    if image is not None:
        return image
    if target.image is not None:
        return target.image
    spec = default_image(target, host.images)
    return spec.name if spec else None


def _check_engine(route: RouteName, target: Target, host: BuildHost, image: str | None) -> Verdict | str:
    """A refusal, or the image to use."""
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
    # What the image was found to be outranks what images.toml says it should be.
    if (
        host.facts_of(image) is None
        and spec is not None
        and (spec.arch is not target.arch or spec.libc_version > (target.libc_version or (0, 0)))
    ):
        return Verdict(
            route=route,
            possible=False,
            image=image,
            reason=f"image {image} is {spec.arch} {spec.libc} {_dotted(spec.libc_version)}, "
            f"which does not fit {target.platform_label}",
        )
    return image


def check_image(route: RouteName, target: Target, host: BuildHost, image: str) -> Verdict | None:
    """Refuse an inspected image that is missing or cannot build for the target; None when it can."""
    facts = host.facts_of(image)
    if facts is None:
        return None

    def no(reason: str, alternatives: tuple[str, ...] = (), *, missing: bool = False) -> Verdict:
        return Verdict(
            route=route,
            possible=False,
            image=image,
            reason=reason,
            alternatives=alternatives,
            missing_tool=missing,
            image_facts=facts,
        )

    if not facts.present:
        return no(f"image {image} is not on the engine", _get_image(image), missing=True)
    if facts.error is not None:
        return no(
            f"image {image} could not be inspected: {facts.error}",
            (f"check that `docker run --rm {image} sh -c 'uname -m'` works",),
            missing=True,
        )
    mismatch = _mismatch(target, facts)
    if mismatch is not None:
        return no(f"image {image} {mismatch}", _other_image(target, host, image))
    return None


def _mismatch(target: Target, facts: ImageFacts) -> str | None:
    """What about the image does not fit the target, in words; None when everything fits."""
    if facts.arch is not target.arch:
        return f"runs {facts.machine or 'an unknown arch'} (`uname -m` inside), the target is {target.arch}"
    if facts.libc is not target.libc:
        return f"has {facts.libc or 'an unknown C library'}, {target.platform_tags[0]} needs {target.libc}"
    too_new = (
        target.libc_version is not None
        and (facts.libc_version is None or facts.libc_version > target.libc_version)
        and not target.accept_linux_tag
    )
    if too_new:
        return (
            f"has {facts.libc} {_dotted(facts.libc_version)}, newer than the "
            f"{_dotted(target.libc_version)} of {target.platform_tags[0]}: "
            "binaries built there would not load on the target"
        )
    if facts.python_for(target.python) is None:
        found = ", ".join(f"{p.version} ({p.path})" for p in facts.pythons) or "none"
        return f"has no Python {target.python} (found: {found})"
    return None


def _get_image(image: str) -> tuple[str, ...]:
    spec = find_image(image)
    if spec is not None and spec.local:
        return ("build the local images: `scripts/setup-engine.sh` (as root)",)
    return (f"`docker pull {image}`", "pass --image with an image the engine has (`docker images`)")


def _other_image(target: Target, host: BuildHost, image: str) -> tuple[str, ...]:
    spec = default_image(target, host.images)
    if spec is not None and spec.name != image:
        return (f"--image {spec.name}",)
    return (f"pass --image with an image for {target.platform_label}",)


def _fits(route: RouteName, target: Target, host: BuildHost, image: str, engine_url: str | None) -> Verdict:
    facts = host.facts_of(image)
    where = f"engine {engine_url}" if engine_url else "local engine"
    python = facts.python_for(target.python) if facts is not None else None
    with_python = f" (Python {target.python} at {python})" if python else ""
    how = "under emulation (binfmt_misc + qemu)" if route is RouteName.EMULATED else f"on the {where}"
    return Verdict(
        route=route,
        possible=True,
        image=image,
        engine_url=engine_url,
        reason=f"{target.arch} container {image} {how}{with_python}",
        image_facts=facts,
    )


def check_container(target: Target, host: BuildHost, image: str | None) -> Verdict:
    """Same-arch Linux build in a container whose image matches the target's libc floor."""
    route = RouteName.CONTAINER
    chosen = _check_engine(route, target, host, image_for(target, host, image))
    if isinstance(chosen, Verdict):
        return chosen
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
            missing_tool=True,
        )
    return check_image(route, target, host, chosen) or _fits(route, target, host, chosen, engine_url)


def check_emulated(target: Target, host: BuildHost, image: str | None) -> Verdict:
    """Foreign-arch Linux build: the container route with the image's platform set, run by qemu."""
    route = RouteName.EMULATED
    chosen = _check_engine(route, target, host, image_for(target, host, image))
    if isinstance(chosen, Verdict):
        return chosen
    if target.arch is host.arch:
        return Verdict(route=route, possible=False, image=chosen, reason="target arch is native here")
    if host.engine is None:
        return Verdict(
            route=route,
            possible=False,
            image=chosen,
            reason="no Docker engine answers",
            alternatives=("start Docker (`scripts/setup-engine.sh`)",),
            missing_tool=True,
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
            missing_tool=True,
        )
    return check_image(route, target, host, chosen) or _fits(route, target, host, chosen, None)
