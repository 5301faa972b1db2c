"""Every argument of every ``mzgis`` subcommand (``-h`` too) has help text in Chinese with English alongside."""

from __future__ import annotations

import argparse
import re
from collections.abc import Iterator

from mzgis.gis.cli import build_parser

CJK = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]{2,}")


def _walk(parser: argparse.ArgumentParser, path: str) -> Iterator[tuple[str, argparse.Action]]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _walk(sub, f"{path} {name}")
            for choice in action._choices_actions:  # the subcommands' own one-line help
                yield f"{path} {choice.dest}", choice
            continue
        yield f"{path} {'/'.join(action.option_strings) or action.dest}", action


def test_every_argument_has_bilingual_help():
    actions = list(_walk(build_parser(), "mzgis"))
    assert len(actions) > 150  # the whole tree was walked
    bad = [f"{where}: {a.help!r}" for where, a in actions
           if not (isinstance(a.help, str) and CJK.search(a.help) and LATIN.search(a.help))]
    assert not bad, f"{len(bad)} of {len(actions)} arguments lack Chinese + English help:\n" + "\n".join(bad)


def test_help_of_every_subcommand_renders(capsys):
    """The help texts format (no stray % in them) for every subcommand."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for p in [parser, *sub.choices.values()]:
        p.format_help()
