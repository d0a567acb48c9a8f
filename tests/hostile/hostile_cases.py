"""The corpus: broken and hostile projects, each with the problem lines it must produce.

The first group are the ones found in the field (issue 11); the rest widen each family:
YAML that is malformed or explodes, values that are not what they look like, paths that leave
the project, templates that read outside or run away, and files that are not what their name
says. ``BASE`` is a manifest that loads: line 3 is ``output``, 4 ``defaults``, 6 the segment,
7 its vars; most cases change one thing in it.
"""

from __future__ import annotations

import itertools

from hostile_support import (
    BASE,
    SHOT,
    Case,
    dedent,
    png_bytes,
    png_header_only,
    wav_bytes,
    with_base,
)

WITH_REFERENCE = with_base(
    "    vars: {action: runs}\n", "    vars: {action: runs}\n    reference: assets/hero.png\n"
)
"""``BASE`` whose segment starts from ``assets/hero.png`` (line 8)."""
TWO_SEGMENTS = BASE + "  - id: two\n    vars: {action: jumps}\n"
"""``BASE`` plus a second segment at line 8."""


def laughs(indent: str, levels: str = "abcdefghi") -> str:
    """A billion-laughs bomb: each level lists the one before nine times."""
    lines = [f"{indent}a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, level in itertools.pairwise(levels):
        lines.append(f"{indent}{level}: &{level} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\n"


def _truncated_png() -> bytes:
    data = png_bytes((64, 64))
    return data[: len(data) // 2]


FOUND = [
    Case(
        "template-link-outside",
        ("cinestitch.yaml:6 segments[0].template: 'prompts/shot.j2' is a link to a file outside",),
        links={"prompts/shot.j2": "{outside}/secret.txt"},
    ),
    Case(
        "include-link-outside",
        ("prompts/shot.j2:2 segments[0] (one): 'prompts/leak.j2' is a link to a file outside",),
        templates={"shot.j2": "{{ action }}\n{% include 'leak.j2' %}\n"},
        links={"prompts/leak.j2": "{outside}/secret.j2"},
    ),
    Case(
        "alias-bomb-bible",
        ("cinestitch.yaml:13 bible.e[0]: aliases repeat more than 10,000 values",),
        manifest=BASE + "bible:\n" + laughs("  "),
        capped=True,
    ),
    Case(
        "alias-bomb-unused-vars",
        ("cinestitch.yaml:14 segments[0].vars.unused.e[0]: aliases repeat more than 10,000",),
        manifest=with_base(
            "    vars: {action: runs}\n",
            "    vars:\n      action: runs\n      unused:\n" + laughs("        "),
        ),
        capped=True,
    ),
    Case(
        "recursive-alias",
        ("cinestitch.yaml:8 bible.me: the alias *b is inside the value it names",),
        manifest=BASE + "bible: &b {me: *b}\n",
        capped=True,
    ),
    Case(
        "jinja-power",
        ("prompts/shot.j2:1 segments[0] (one): 9 ** 387420489 has about 1,549,681,956 bits",),
        templates={"shot.j2": "{{ 9**(9**9) }}\n"},
        capped=True,
    ),
    Case(
        "jinja-repeat",
        ("prompts/shot.j2:1 segments[0] (one): a repeated value would be 1,000,000,000 char",),
        templates={"shot.j2": "{{ 'x' * 10**9 }}\n"},
        capped=True,
    ),
    Case(
        "nan-budget",
        ("cinestitch.yaml:8 budget.build: .nan is not a finite number",),
        manifest=BASE + "budget: {build: .nan}\n",
    ),
    Case(
        "nan-seconds",
        ("cinestitch.yaml:4 defaults.seconds: .nan is not a finite number",),
        manifest=with_base("seconds: 1,", "seconds: .nan,"),
    ),
    Case(
        "nan-transition-trim-volume",
        (
            "cinestitch.yaml:8 segments[0].transition.seconds: .nan is not a finite number",
            "cinestitch.yaml:9 segments[0].trim.head: .NaN is not a finite number",
            "cinestitch.yaml:10 audio.volume: .NAN is not a finite number",
        ),
        manifest=BASE
        + "    transition: {type: fade, seconds: .nan}\n"
        + "    trim: {head: .NaN}\n"
        + "audio: {music: assets/theme.wav, volume: .NAN}\n",
        files={"assets/theme.wav": wav_bytes},
    ),
    Case(
        "huge-integer",
        ("cinestitch.yaml:3 output.fps: a whole number of 5,001 digits is too large",),
        manifest=with_base("fps: 12", "fps: 1" + "0" * 5000),
    ),
    Case(
        "music-not-audio",
        ("cinestitch.yaml:8 audio.music: 'assets/theme.ogg' is not a readable audio file",),
        manifest=BASE + "audio: {music: assets/theme.ogg}\n",
        files={"assets/theme.ogg": "la la la, not music\n"},
    ),
    Case(
        "reference-text-as-png",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/hero.png' is not an image",),
        manifest=WITH_REFERENCE,
        files={"assets/hero.png": "a picture of a fox, in words\n"},
    ),
    Case(
        "reference-truncated-png",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/hero.png' is damaged",),
        manifest=WITH_REFERENCE,
        files={"assets/hero.png": _truncated_png},
    ),
    Case(
        "output-is-a-segment-clip",
        ("cinestitch.yaml:3 output.path: 'build/segments/one.mp4' is inside build/segments/",),
        manifest=with_base("fps: 12}", "fps: 12, path: build/segments/one.mp4}"),
    ),
    Case(
        "prompt-renders-empty",
        ("prompts/shot.j2:1 segments[0] (one): the prompt renders empty",),
        templates={"shot.j2": "{{ '' }}\n   \n{# nothing #}\n"},
    ),
    Case(
        "yaml-unclosed-brace",
        ("cinestitch.yaml:3: invalid YAML: '{' is not closed — add '}' (found ':' on line 4)",),
        manifest=with_base("fps: 12}", "fps: 12"),
    ),
    Case(
        "include-dotdot",
        ("prompts/shot.j2:2 segments[0] (one): '../../outside/secret.j2' leaves the template",),
        templates={"shot.j2": "{{ action }}\n{% include '../../outside/secret.j2' %}\n"},
    ),
    Case(
        "build-is-a-link-outside",
        (
            "cinestitch.yaml:3 output.path: 'build/x.mp4' leads outside the project through the "
            "link 'build'",
        ),
        manifest=with_base("fps: 12}", "fps: 12, path: build/x.mp4}"),
        links={"build": "{outside}"},
    ),
    Case(
        "unicode-id",
        ('cinestitch.yaml:6 segments[0].id: "café" is not a valid id',),
        manifest=with_base("id: one", "id: café"),
    ),
    Case(
        "manifest-not-utf8",
        ("cinestitch.yaml:2: byte 0xe9 at column 11 is not UTF-8 text",),
        manifest=with_base("title: Hostile", "title: Caf\udce9").encode("utf-8", "surrogateescape"),
    ),
]

YAML = [
    Case(
        "duplicate-top-level-key",
        ("cinestitch.yaml:8 title: duplicate key",),
        manifest=BASE + "title: Again\n",
    ),
    Case(
        "duplicate-segment-key",
        ("cinestitch.yaml:7 segments[0].id: duplicate key",),
        manifest=with_base("  - id: one\n", "  - id: one\n    id: two\n"),
    ),
    Case(
        "duplicate-segment-id",
        ("cinestitch.yaml:8 segments[1].id: duplicate id 'one' (first at line 6)",),
        manifest=TWO_SEGMENTS.replace("id: two", "id: one"),
    ),
    Case(
        "over-indented-key",
        (
            "cinestitch.yaml:7: invalid YAML: a 'key: value' where a plain value was expected "
            "— check this line's indentation against the line before",
        ),
        manifest=with_base("    vars:", "      vars:"),
    ),
    Case(
        "key-out-of-line",
        (
            "cinestitch.yaml:8: invalid YAML: this line is not lined up with the keys around "
            "it — indent it as its siblings are (",
        ),
        manifest=BASE + "      seconds: 2\n",
    ),
    Case(
        "colon-in-a-plain-value",
        (
            "cinestitch.yaml:2: invalid YAML: a 'key: value' where a plain value was expected "
            "— check this line's indentation against the line before, or quote a value that "
            "holds ': '",
        ),
        manifest=with_base("title: Hostile", "title: Hostile: the film"),
    ),
    Case(
        "tab-indentation",
        ("cinestitch.yaml:7: invalid YAML: a tab character — YAML indents with spaces",),
        manifest=with_base("    vars:", "\tvars:"),
    ),
    Case(
        "manifest-too-large",
        ("cinestitch.yaml:1: 312 KB is more than a manifest may be (256 KB)",),
        manifest=BASE + "bible:\n" + "".join(f"  k{i}: {'x' * 90}\n" for i in range(3200)),
        capped=True,
    ),
    Case(
        "nesting-too-deep",
        ("cinestitch.yaml:8 bible[0][0]: nested more than 32 levels deep",),
        manifest=BASE + "bible: " + "[" * 40 + "]" * 40 + "\n",
        capped=True,
    ),
    Case(
        "yaml-python-tag",
        ("cinestitch.yaml:8 bible: the YAML tag !!python/object/apply:os.system is not",),
        manifest=BASE + "bible: !!python/object/apply:os.system [echo hi]\n",
    ),
    Case(
        "yaml-binary-tag",
        ("cinestitch.yaml:2 title: the YAML tag !!binary is not supported",),
        manifest=with_base("title: Hostile", "title: !!binary SG9zdGlsZQ=="),
    ),
    Case(
        "keys-that-are-not-names",
        (
            "cinestitch.yaml:7 segments[0].vars.1: the key 1 reads as a number — quote it",
            "cinestitch.yaml:7 segments[0].vars.on: the key on reads as true or false",
        ),
        manifest=with_base("{action: runs}", "{action: runs, 1: one, on: stage}"),
    ),
    Case(
        "two-documents",
        ("cinestitch.yaml:8: invalid YAML: a second document starts here",),
        manifest=BASE + "---\nsecond: document\n",
    ),
    Case(
        "nul-character",
        ("cinestitch.yaml:2: the character U+0000 is not allowed in YAML",),
        manifest=with_base("title: Hostile", 'title: "Host\x00ile"'),
    ),
    Case(
        "manifest-link-outside",
        ("cinestitch.yaml:1: is a link to a file outside the project",),
        links={"cinestitch.yaml": "{outside}/cinestitch.yaml"},
    ),
    Case("manifest-empty", ("cinestitch.yaml:1: the manifest is empty",), manifest=""),
    Case(
        "manifest-is-a-list",
        ("cinestitch.yaml:1 (top level): expected a mapping, got a list",),
        manifest="- schema_version: 1\n- title: Hostile\n",
    ),
]

VALUES = [
    Case(
        "infinities",
        (
            "cinestitch.yaml:8 budget.build: 1.0e+999 is not a finite number",
            "cinestitch.yaml:8 budget.total: -.inf is not a finite number",
        ),
        manifest=BASE + "budget: {build: 1.0e+999, total: -.inf}\n",
    ),
    Case(
        "size-of-5000-digits",
        ('cinestitch.yaml:3 output.size: "1000000000',),
        manifest=with_base("size: 64x64", "size: 1" + "0" * 5000 + "x64"),
    ),
    Case(
        "size-above-provider",
        ("cinestitch.yaml:3 output.size: 99998x99998 is above animatic's maximum",),
        manifest=with_base("size: 64x64", "size: 99998x99998"),
    ),
    Case(
        "seed-of-41-digits",
        ("cinestitch.yaml:8 segments[0].seed: a whole number of 41 digits is too large",),
        manifest=BASE + "    seed: 1" + "0" * 40 + "\n",
    ),
    Case(
        "newline-in-a-value",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/a\\nb.png' does not exist",),
        manifest=WITH_REFERENCE.replace("assets/hero.png", '"assets/a\\nb.png"'),
    ),
    Case(
        "bidi-override-in-id",
        ('cinestitch.yaml:6 segments[0].id: "one\\u202e" is not a valid id',),
        manifest=with_base("id: one", 'id: "one\\u202e"'),
    ),
    Case(
        "id-with-path",
        ('cinestitch.yaml:6 segments[0].id: "../../etc" is not a valid id',),
        manifest=with_base("id: one", "id: ../../etc"),
    ),
    Case(
        "unknown-unicode-key",
        ("cinestitch.yaml:8 segments[0].açtion: unknown key",),
        manifest=BASE + "    açtion: jumps\n",
    ),
    Case(
        "no-segments",
        ("cinestitch.yaml:5 segments: must not be empty",),
        manifest=BASE.split("segments:")[0] + "segments: []\n",
    ),
    Case(
        "reference-to-a-later-segment",
        ("cinestitch.yaml:8 segments[0].reference: 'two' is not an earlier segment",),
        manifest=WITH_REFERENCE.replace("assets/hero.png", "two")
        + "  - id: two\n    vars: {action: jumps}\n",
    ),
    Case(
        "reference-to-itself",
        ("cinestitch.yaml:8 segments[0].reference: 'one' is not an earlier segment",),
        manifest=WITH_REFERENCE.replace("assets/hero.png", "one"),
    ),
    Case(
        "crossfade-after-the-last",
        ("cinestitch.yaml:8 segments[0].transition: the last segment has nothing to crossfade",),
        manifest=BASE + "    transition: {type: crossfade, seconds: 0.5}\n",
    ),
]

PATHS = [
    Case(
        "reference-absolute",
        ("cinestitch.yaml:8 segments[0].reference: '/etc/passwd.png' is outside the project",),
        manifest=WITH_REFERENCE.replace("assets/hero.png", "/etc/passwd.png"),
    ),
    Case(
        "reference-dotdot",
        ("cinestitch.yaml:8 segments[0].reference: '../outside/secret.png' is outside the",),
        manifest=WITH_REFERENCE.replace("assets/hero.png", "../outside/secret.png"),
    ),
    Case(
        "reference-link-outside",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/hero.png' is outside the project",),
        manifest=WITH_REFERENCE,
        links={"assets/hero.png": "{outside}/secret.png"},
    ),
    Case(
        "music-link-outside",
        ("cinestitch.yaml:8 audio.music: 'assets/theme.wav' is outside the project",),
        manifest=BASE + "audio: {music: assets/theme.wav}\n",
        links={"assets/theme.wav": "{outside}/secret.wav"},
    ),
    Case(
        "music-absolute",
        ("cinestitch.yaml:8 audio.music: '/etc/passwd' is outside the project",),
        manifest=BASE + "audio: {music: /etc/passwd}\n",
    ),
    Case(
        "output-absolute",
        ("cinestitch.yaml:3 output.path: '/tmp/x.mp4' is outside the project",),
        manifest=with_base("fps: 12}", "fps: 12, path: /tmp/x.mp4}"),
    ),
    Case(
        "output-dotdot",
        ("cinestitch.yaml:3 output.path: '../x.mp4' is outside the project",),
        manifest=with_base("fps: 12}", "fps: 12, path: ../x.mp4}"),
    ),
    Case(
        "output-in-state-folder",
        ("cinestitch.yaml:3 output.path: '.cinestitch/x.mp4' is inside .cinestitch/",),
        manifest=with_base("fps: 12}", "fps: 12, path: .cinestitch/x.mp4}"),
    ),
    Case(
        "output-in-frames-through-dots",
        ("cinestitch.yaml:3 output.path: 'build/./x/../frames/a.mp4' is inside build/frames/",),
        manifest=with_base("fps: 12}", "fps: 12, path: build/./x/../frames/a.mp4}"),
    ),
    Case(
        "output-is-the-music",
        ("cinestitch.yaml:3 output.path: 'assets/bed.mp4' is also the music file",),
        manifest=with_base("fps: 12}", "fps: 12, path: assets/bed.mp4}")
        + "audio: {music: assets/bed.mp4}\n",
        files={"assets/bed.mp4": wav_bytes},
    ),
    Case(
        "template-name-absolute",
        ("cinestitch.yaml:6 segments[0].template: '/etc/passwd.j2' leaves the template",),
        manifest=with_base("template: shot.j2", "template: /etc/passwd.j2"),
    ),
    Case(
        "template-name-dotdot",
        ("cinestitch.yaml:6 segments[0].template: '../../outside/secret.j2' leaves the",),
        manifest=with_base("template: shot.j2", "template: ../../outside/secret.j2"),
    ),
    Case(
        "include-absolute",
        ("prompts/shot.j2:2 segments[0] (one): '/etc/hostname' leaves the template folders",),
        templates={"shot.j2": "{{ action }}\n{% include '/etc/hostname' %}\n"},
    ),
    Case(
        "prompts-folder-link-outside",
        ("cinestitch.yaml:6 segments[0].template: prompts/ is a link to a folder outside",),
        manifest=with_base("template: shot.j2", "template: secret.j2"),
        templates={},
        links={"prompts": "{outside}"},
    ),
    Case(
        "template-dangling-link",
        ("cinestitch.yaml:6 segments[0].template: 'prompts/shot.j2' is a link to nothing",),
        links={"prompts/shot.j2": "gone.j2"},
    ),
    Case(
        "template-is-a-pipe",
        ("cinestitch.yaml:6 segments[0].template: 'prompts/shot.j2' is not a regular file",),
        fifos=("prompts/shot.j2",),
        capped=True,
    ),
]

TEMPLATES = [
    Case(
        "template-too-large",
        ("cinestitch.yaml:6 segments[0].template: 'prompts/shot.j2' is larger than a template",),
        templates={"shot.j2": SHOT + "{# " + "x" * 70_000 + " #}\n"},
    ),
    Case(
        "template-not-utf8",
        ("cinestitch.yaml:6 segments[0].template: 'prompts/shot.j2' is not UTF-8 text (byte",),
        templates={},
        files={"prompts/shot.j2": b"caf\xe9 {{ action }}\n"},
    ),
    Case(
        "template-unclosed-print",
        ("prompts/shot.j2:3 segments[0] (one): template syntax: unexpected end of template",),
        templates={"shot.j2": "line one\nline two\n{{ action\n"},
    ),
    Case(
        "include-missing",
        (
            "prompts/shot.j2:2 segments[0] (one): template 'nope.j2' not found (looked in "
            "prompts/, templates/)",
        ),
        templates={"shot.j2": "{{ action }}\n{% include 'nope.j2' %}\n"},
    ),
    Case(
        "include-undefined",
        ("prompts/part.j2:1 segments[0] (one): 'acton' is undefined — did you mean 'action'?",),
        templates={"shot.j2": "{% include 'part.j2' %}\n", "part.j2": "{{ acton }}\n"},
    ),
    Case(
        "include-cycle",
        ("prompts/b.j2:1 segments[0] (one): templates include, extend or call themselves without",),
        templates={"shot.j2": "{% include 'b.j2' %}\n", "b.j2": "{% include 'shot.j2' %}\n"},
    ),
    Case(
        "extends-itself",
        ("prompts/shot.j2:1 segments[0] (one): templates include, extend or call themselves",),
        templates={"shot.j2": "{% extends 'shot.j2' %}\n"},
    ),
    Case(
        "macro-recursion",
        ("prompts/shot.j2:1 segments[0] (one): templates include, extend or call themselves",),
        templates={"shot.j2": "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}\n"},
    ),
    Case(
        "jinja-doubling",
        ("prompts/shot.j2:1 segments[0] (one): a joined text would be 131,072 characters",),
        templates={
            "shot.j2": "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}\n"
        },
        capped=True,
    ),
    Case(
        "jinja-padding",
        ("prompts/shot.j2:1 segments[0] (one): a padded value would be 1,000,000,000",),
        templates={"shot.j2": "{{ action|center(10**9) }}\n"},
        capped=True,
    ),
    Case(
        "jinja-format-width",
        ("prompts/shot.j2:1 segments[0] (one): a formatted value would be 999,999,999",),
        templates={"shot.j2": "{{ '%999999999s' % action }}\n"},
        capped=True,
    ),
    Case(
        "jinja-block-of-copies",
        ("prompts/shot.j2:1 segments[0] (one): a block's output would be",),
        templates={
            "shot.j2": "{% set big = 'x' * 60000 %}{% set y %}{% for i in range(100000) %}"
            "{{ big|upper }}{% endfor %}{% endset %}{{ y }}\n"
        },
        capped=True,
    ),
    Case(
        "jinja-runs-forever",
        ("prompts/shot.j2:1 segments[0] (one): rendering took more than 1 s",),
        templates={
            "shot.j2": "{% for i in range(100000) %}{% for j in range(100000) %}"
            "{% endfor %}{% endfor %}{{ action }}\n"
        },
        capped=True,
    ),
    Case(
        "jinja-endless-output",
        ("prompts/shot.j2:1 segments[0] (one): the prompt renders more than 100,000 characters",),
        templates={
            "shot.j2": "{% for i in range(100000) %}{% for j in range(100000) %}{{ action }}"
            "{% endfor %}{% endfor %}\n"
        },
        capped=True,
    ),
    Case(
        "jinja-lipsum",
        ("prompts/shot.j2:1 segments[0] (one): 'lipsum' is undefined",),
        templates={"shot.j2": "{{ lipsum(10**6) }}\n"},
    ),
    Case(
        "jinja-mutates-a-list",
        ("prompts/shot.j2:1 segments[0] (one): template error: access to attribute 'append'",),
        templates={"shot.j2": "{% set l = [] %}{{ l.append(action) }}\n"},
    ),
    Case(
        "jinja-private-attribute",
        ("prompts/shot.j2:1 segments[0] (one): template error: access to attribute '__class__'",),
        templates={"shot.j2": "{{ action.__class__.__mro__ }}\n"},
    ),
    Case(
        "prompt-too-long",
        ("prompts/shot.j2:1 segments[0] (one): the prompt is 24,999 characters; at most 20,000",),
        templates={"shot.j2": "{{ 'word ' * 5000 }}\n"},
    ),
]

ASSETS = [
    Case(
        "image-of-81-megapixels",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/hero.png' is 9000x9000; a reference",),
        manifest=WITH_REFERENCE,
        files={"assets/hero.png": lambda: png_header_only(9000, 9000)},
        capped=True,
    ),
    Case(
        "image-decompression-bomb",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/hero.png' is too large",),
        manifest=WITH_REFERENCE,
        files={"assets/hero.png": lambda: png_header_only(60000, 60000)},
        capped=True,
    ),
    Case(
        "end-frame-text-as-png",
        ("cinestitch.yaml:8 segments[0].end_frame: 'assets/end.png' is not an image",),
        manifest=BASE + "    end_frame: assets/end.png\n",
        files={"assets/end.png": "the last frame, in words\n"},
    ),
    Case(
        "image-gif-named-png",
        ("cinestitch.yaml:8 segments[0].reference: 'assets/hero.png' is a GIF image",),
        manifest=WITH_REFERENCE,
        files={"assets/hero.png": lambda: png_bytes(kind="GIF")},
    ),
    Case(
        "music-is-a-picture",
        ("cinestitch.yaml:8 audio.music: 'assets/theme.wav' has no sound in it",),
        manifest=BASE + "audio: {music: assets/theme.wav}\n",
        files={"assets/theme.wav": png_bytes},
    ),
    Case(
        "music-is-empty",
        ("cinestitch.yaml:8 audio.music: 'assets/theme.wav' is not a readable audio file",),
        manifest=BASE + "audio: {music: assets/theme.wav}\n",
        files={"assets/theme.wav": b""},
    ),
]

CASES = FOUND + YAML + VALUES + PATHS + TEMPLATES + ASSETS

DOIT = (
    "template-link-outside",
    "alias-bomb-bible",
    "nan-budget",
    "music-not-audio",
    "reference-truncated-png",
    "output-is-a-segment-clip",
    "jinja-power",
    "yaml-unclosed-brace",
)
"""Cases also run through ``doit`` itself (the others through ``cinestitch validate``)."""

assert len({c.name for c in CASES}) == len(CASES)
assert set(DOIT) <= {c.name for c in CASES}
__all__ = ["CASES", "DOIT", "dedent"]
