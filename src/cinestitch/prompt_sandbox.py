"""A Jinja sandbox for templates from strangers: bounded in what it reads, makes and spends.

Jinja's sandbox already refuses private attributes and ``range`` beyond 100,000 items; a
template can still read a file through a symlink, or make a billion characters in one
expression (``'x' * 10**9``), a number of a billion digits (``9**(9**9)``), or a huge text
by doubling it in a loop. Here:

- templates load only from their folder, and a name or a link that leads out of it is
  refused (``TemplateRefusedError``), as is a file that is too large or not UTF-8;
- ``*``, ``**``, ``+``, ``%``, ``~``, the padding, joining and replacing filters and methods,
  and every buffer a block or macro fills are checked *before* they allocate;
- every value a template makes counts against one budget per render, so a loop that makes
  fresh copies stops long before memory runs out;
- builtins ``list``/``dict``/``set`` cannot be mutated (``ImmutableSandboxedEnvironment``).

Whatever exceeds a bound raises ``RenderLimitError`` naming the bound.
"""

from __future__ import annotations

import functools
import os
import re
import string
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

MAX_TEMPLATE_BYTES = 64 * 1024
"""A template file's size: prompts are a few hundred words."""
MAX_TEXT_CHARS = 100_000
"""The longest text, list or buffer a template may make (the prompt itself is capped
lower, after whitespace is normalized)."""
MAX_MADE_CHARS = 5_000_000
"""Characters a template may make in all while rendering one prompt."""
MAX_INT_BITS = 4096
"""Bits of a whole number made with ``*`` or ``**`` (about 1,200 digits)."""


class TemplateRefusedError(jinja2.TemplateError):
    """A template name or file that is not allowed (outside its folder, too large, not text).

    Not a ``TemplateNotFound``: a refused project template must not fall through to a shared
    template of the same name."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class RenderLimitError(Exception):
    """Rendering went past a bound (size, number, time)."""


def size_of(value: Any, limit: int = MAX_TEXT_CHARS) -> int:
    """Characters ``value`` stands for: text length, or list/dict items and their text,
    counted until ``limit`` is passed (so measuring costs at most ``limit`` steps)."""
    if isinstance(value, str | bytes):
        return len(value)
    if isinstance(value, list | tuple | set | frozenset | dict):
        total = len(value)
        items: Iterable[Any] = value.items() if isinstance(value, dict) else value
        for item in items:
            if total > limit:
                break
            total += size_of(item, limit - total)
        return total
    return 0


def _too_long(what: str, size: int) -> RenderLimitError:
    return RenderLimitError(
        f"{what} would be {size:,} characters long; a template may make at most {MAX_TEXT_CHARS:,}"
    )


def _check_made(size: int, what: str) -> None:
    if size > MAX_TEXT_CHARS:
        raise _too_long(what, size)


class BoundedBuffer(list[str]):
    """The list a block, macro or ``{% set %}`` collects its output in; refuses to grow past
    ``MAX_TEXT_CHARS``."""

    def __init__(self) -> None:
        super().__init__()
        self.chars = 0

    def append(self, item: str) -> None:
        self._count(len(item) if isinstance(item, str) else 0)
        super().append(item)

    def extend(self, items: Iterable[str]) -> None:
        for item in items:
            self.append(item)

    def _count(self, n: int) -> None:
        self.chars += n
        _check_made(self.chars, "a block's output")


class BoundedCodeGenerator(CodeGenerator):
    """Compiles templates so that ``~`` and every output buffer go through the environment's
    checks (the sandbox intercepts only arithmetic operators by itself)."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.new_buffer()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self.write("environment.checked_concat((")
        for arg in node.nodes:
            self.visit(arg, frame)
            self.write(", ")
        self.write("))")


_PRINTF = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?")


def _check_printf(fmt: str, args: Any) -> None:
    """``'%10000000s' % x`` and ``'%*s' % (10**9, x)`` allocate before anything can look."""
    star = False
    for width, precision in _PRINTF.findall(fmt):
        for number in (width, precision):
            star = star or number == "*"
            if number.isdigit() and int(number) > MAX_TEXT_CHARS:
                raise _too_long("a formatted value", int(number))
    if star:
        _check_numbers(args if isinstance(args, tuple) else (args,))


def _check_numbers(values: Iterable[Any]) -> None:
    for value in values:
        if isinstance(value, int) and not isinstance(value, bool) and value > MAX_TEXT_CHARS:
            raise _too_long("a padded value", value)


def _check_format_spec(fmt: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
    for _, _, spec, _ in string.Formatter().parse(fmt):
        if not spec:
            continue
        for number in re.findall(r"\d+", spec):
            if int(number) > MAX_TEXT_CHARS:
                raise _too_long("a formatted value", int(number))
        if "{" in spec:
            _check_numbers((*args, *kwargs.values()))


def _check_repeat(left: Any, right: Any) -> None:
    for seq, count in ((left, right), (right, left)):
        if isinstance(count, int) and isinstance(seq, str | bytes | list | tuple):
            _check_made(size_of(seq) * max(count, 0), "a repeated value")
    if isinstance(left, int) and isinstance(right, int):
        bits = abs(left).bit_length() + abs(right).bit_length()
        if bits > MAX_INT_BITS:
            raise RenderLimitError(
                f"a product of about {bits:,} bits is too large; at most {MAX_INT_BITS:,}"
            )


def _check_power(base: Any, exponent: Any) -> None:
    if isinstance(base, int) and isinstance(exponent, int) and abs(base) > 1 and exponent > 0:
        bits = abs(base).bit_length() * exponent
        if bits > MAX_INT_BITS:
            raise RenderLimitError(
                f"{base} ** {exponent} has about {bits:,} bits; at most {MAX_INT_BITS:,}"
            )


def _check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    if isinstance(text, str) and isinstance(old, str) and isinstance(new, str):
        times = text.count(old) if old else len(text) + 1
        if isinstance(count, int) and count >= 0:
            times = min(times, count)
        _check_made(len(text) + times * max(len(new) - len(old), 0), "a replaced text")


def _check_join(items: Iterable[Any], separator: Any) -> list[Any]:
    """The items as a list, measured one at a time with the separators between them."""
    sep = len(separator) if isinstance(separator, str) else 0
    out: list[Any] = []
    total = 0
    for item in items:
        total += size_of(item) + sep
        _check_made(total, "a joined text")
        out.append(item)
    return out


def _lines(text: Any) -> int:
    return text.count("\n") + 1 if isinstance(text, str) else 1


def _filter_join(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def join(eval_ctx: Any, value: Any, d: str = "", attribute: Any = None) -> Any:
        return func(eval_ctx, _check_join(value, d), d, attribute)

    return join


def _filter_prechecks() -> dict[str, Callable[..., None]]:
    def center(value: Any, width: Any = 80) -> None:
        _check_numbers((width,))

    def indent(s: Any, width: Any = 4, *args: Any, **kwargs: Any) -> None:
        w = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        _check_made(len(str(s)) + _lines(s) * max(w, 0), "an indented text")

    def replace(eval_ctx: Any, s: Any, old: Any, new: Any, count: Any = None) -> None:
        _check_replace(s, old, new, count)

    def wordwrap(env: Any, s: Any, width: Any = 79, *args: Any, **kwargs: Any) -> None:
        wrap = kwargs.get("wrapstring", args[1] if len(args) > 1 else None)
        if isinstance(wrap, str) and isinstance(s, str) and isinstance(width, int):
            _check_made(len(s) + (len(s) // max(width, 1) + 1) * len(wrap), "a wrapped text")

    def format_(value: Any, *args: Any, **kwargs: Any) -> None:
        if isinstance(value, str):
            _check_printf(value, args or kwargs)

    return {
        "center": center,
        "indent": indent,
        "replace": replace,
        "wordwrap": wordwrap,
        "format": format_,
    }


_METHOD_PRECHECKS: dict[str, Callable[..., None]] = {
    "center": lambda s, width=0, *a: _check_numbers((width,)),
    "ljust": lambda s, width=0, *a: _check_numbers((width,)),
    "rjust": lambda s, width=0, *a: _check_numbers((width,)),
    "zfill": lambda s, width=0, *a: _check_numbers((width,)),
    "expandtabs": lambda s, tabsize=8: _check_made(
        len(s) + s.count("\t") * (tabsize if isinstance(tabsize, int) else 0), "a text"
    ),
    "replace": _check_replace,
    "join": lambda s, items: None,  # measured (and materialized) in ``call``
}
_REFUSED_METHODS = frozenset({"translate", "maketrans"})


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The sandbox with the bounds this module describes; see ``start_render``."""

    code_generator_class = BoundedCodeGenerator
    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.globals.pop("lipsum", None)  # lipsum(n=10**9) would write a library
        prechecks = _filter_prechecks()
        for name, func in list(self.filters.items()):
            if name == "join":
                func = _filter_join(func)
            self.filters[name] = self._bounded_filter(func, prechecks.get(name))
        self.made = 0
        self.deadline: float | None = None
        self.late = "rendering took too long"

    def start_render(self, seconds: float, late: str) -> None:
        """Reset the budget of made characters and set the time by which rendering ends
        (and what to say when it does not)."""
        self.made = 0
        self.deadline = time.monotonic() + seconds
        self.late = late

    def check_time(self) -> None:
        if self.deadline is not None and time.monotonic() > self.deadline:
            raise RenderLimitError(self.late)

    def _made(self, value: Any) -> Any:
        size = size_of(value)
        _check_made(size, "a value")
        self.made += size
        if self.made > MAX_MADE_CHARS:
            raise RenderLimitError(
                f"the template made more than {MAX_MADE_CHARS:,} characters in all"
            )
        self.check_time()
        return value

    def _bounded_filter(
        self, func: Callable[..., Any], precheck: Callable[..., None] | None
    ) -> Callable[..., Any]:
        @functools.wraps(func)
        def bounded(*args: Any, **kwargs: Any) -> Any:
            if precheck is not None:
                precheck(*args, **kwargs)
            return self._made(func(*args, **kwargs))

        return bounded

    def new_buffer(self) -> BoundedBuffer:
        self.check_time()
        return BoundedBuffer()

    def concat(self, parts: Iterable[str]) -> str:
        """Joins a buffer (``environment.concat`` in compiled templates)."""
        text = "".join(_check_join(parts, ""))
        self._made(text)
        return text

    def checked_concat(self, parts: tuple[Any, ...]) -> str:
        texts = [p if isinstance(p, str) else str(p) for p in parts]
        _check_made(sum(map(len, texts)), "a joined text")
        text = "".join(texts)
        self._made(text)
        return text

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            _check_power(left, right)
        elif operator == "*":
            _check_repeat(left, right)
        elif operator == "+":
            _check_made(size_of(left) + size_of(right), "a sum")
        elif operator == "%" and isinstance(left, str):
            _check_printf(left, right)
        return self._made(super().call_binop(context, operator, left, right))

    def call(
        __self,
        __context: Context,
        __obj: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        target = getattr(__obj, "__wrapped__", __obj)
        owner = getattr(target, "__self__", None)
        name = getattr(target, "__name__", "")
        if isinstance(owner, str):
            if name in _REFUSED_METHODS:
                raise SecurityError(f"str.{name} is not available in prompts")
            if name in ("format", "format_map"):
                _check_format_spec(owner, args, args[0] if name == "format_map" else kwargs)
            if name == "join" and args:
                args = (_check_join(args[0], owner), *args[1:])
            precheck = _METHOD_PRECHECKS.get(name)
            if precheck is not None:
                precheck(owner, *args, **kwargs)
        return __self._made(super().call(__context, __obj, *args, **kwargs))


class FolderLoader(jinja2.BaseLoader):
    """Templates of one folder, as Jinja's ``FileSystemLoader`` but refusing names and links
    that lead out of it, files over ``MAX_TEMPLATE_BYTES`` and text that is not UTF-8."""

    def __init__(self, folder: Path, label: str, boundary: Path | None = None) -> None:
        self.folder = folder
        self.label = label
        """How messages name the folder, e.g. ``prompts/``."""
        self.boundary = boundary
        """Where the folder itself must be (the project), or ``None`` to trust it."""

    def get_source(
        self, environment: jinja2.Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        pieces = _name_pieces(template)
        folder = self.folder.resolve()
        if self.boundary is not None and not folder.is_relative_to(self.boundary.resolve()):
            raise TemplateRefusedError(
                template,
                f"{self.label} is a link to a folder outside the project — make it a real "
                "folder in the project",
            )
        path = self.folder.joinpath(*pieces)
        if not (path.exists() or path.is_symlink()):
            raise jinja2.TemplateNotFound(template)
        target = path.resolve()
        if not target.is_relative_to(folder):
            raise TemplateRefusedError(
                template,
                f"'{self.label}{template}' is a link to a file outside {self.label} — "
                f"copy the template into {self.label} instead",
            )
        if not target.exists():
            raise TemplateRefusedError(
                template, f"'{self.label}{template}' is a link to nothing — fix or remove it"
            )
        if not target.is_file():
            raise TemplateRefusedError(
                template, f"'{self.label}{template}' is not a regular file — make it a text file"
            )
        return self._read(path, template), os.path.normpath(path), _unchanged(path)

    def _read(self, path: Path, template: str) -> str:
        shown = f"'{self.label}{template}'"
        with path.open("rb") as file:
            data = file.read(MAX_TEMPLATE_BYTES + 1)
        if len(data) > MAX_TEMPLATE_BYTES:
            raise TemplateRefusedError(
                template,
                f"{shown} is larger than a template may be ({MAX_TEMPLATE_BYTES // 1024} KB) "
                "— shorten it",
            )
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            raise TemplateRefusedError(
                template,
                f"{shown} is not UTF-8 text (byte 0x{data[exc.start]:02x} on line {line}) — "
                "save it as UTF-8",
            ) from None


def _name_pieces(template: str) -> list[str]:
    """The parts of a template name; ``..``, absolute names and backslashes are refused."""
    parts = template.split("/")
    if template.startswith("/") or "\\" in template or ".." in parts or "\x00" in template:
        raise TemplateRefusedError(
            template,
            f"'{template}' leaves the template folders — name a template inside prompts/ or "
            "the shared templates/",
        )
    return [p for p in parts if p and p != "."]


def _unchanged(path: Path) -> Callable[[], bool]:
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = 0.0

    def uptodate() -> bool:
        try:
            return path.stat().st_mtime == mtime
        except OSError:
            return False

    return uptodate
