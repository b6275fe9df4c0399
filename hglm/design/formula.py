"""The small formula pre-processing formulae lacks: bracket blocks, ``||``, ``a/b``, ``cbind``.

formulae parses each piece; this module only splits an lme4 formula into its response,
its fixed part and its random-effect blocks, keeping each bracket a block of its own as
lme4 does (formulae itself splits ``(1 + x | g)`` into separate terms and so loses which
terms share a covariance matrix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["RandomTerm", "ParsedFormula", "parse_formula", "parse_dpar_formula"]

_OPEN, _CLOSE = "([{", ")]}"


def _column_name(text: str) -> str | None:
    """A grouping factor's column: a (unicode) identifier, dots allowed as in R, or any
    name in backticks without ':', '/' or '`' (formulae's quoting); None if neither."""
    text = text.strip()
    if len(text) > 2 and text[0] == text[-1] == "`" and not set(text[1:-1]) & set(":/`"):
        return text[1:-1]
    return text if text.replace(".", "_").isidentifier() else None


@dataclass(frozen=True)
class RandomTerm:
    """One random-effect block: ``(expr | factor)``, correlated unless written with ``||``."""

    expr: str
    factor: str
    correlated: bool

    def __str__(self) -> str:
        return f"({self.expr} {'|' if self.correlated else '||'} {self.factor})"


@dataclass(frozen=True)
class ParsedFormula:
    """An lme4 formula split into what formulae evaluates piece by piece."""

    formula: str
    response: str                     # the left-hand side as the user wrote it
    response_formulae: str            # the same, in formulae's syntax (cbind -> p)
    fixed: str                        # the right-hand side without random terms
    random: tuple[RandomTerm, ...]

    @property
    def fixed_formula(self) -> str:
        return f"{self.response_formulae} ~ {self.fixed}"


def parse_formula(formula: str) -> ParsedFormula:
    """Split ``y ~ x + (1 + x | g)`` into response, fixed part and random blocks."""
    if not isinstance(formula, str) or not formula.strip():
        raise ValueError("formula must be a non-empty string like 'y ~ x + (1 | g)'")
    if "__" in formula:
        raise ValueError(f"formula {formula!r} contains '__'; formulas may use column names, "
                         f"numbers and the documented transforms only")
    _check_balanced(formula)
    sides = _split_top(formula, "~")
    if len(sides) != 2 or not sides[0][1].strip():
        raise ValueError(f"formula {formula!r} needs exactly one '~' with the response on "
                         f"its left, like 'y ~ x + (1 | g)'")
    lhs, rhs = sides[0][1].strip(), sides[1][1].strip()
    if not rhs:
        raise ValueError(f"formula {formula!r} has nothing right of '~'; write 'y ~ 1' "
                         f"for an intercept-only model")
    fixed, random = [], []
    pieces = _split_top(rhs, "+-")
    if not pieces[0][1].strip() and len(pieces) > 1:
        pieces = pieces[1:]  # a leading sign, as in '-1 + x'
    for sign, piece in pieces:
        piece = piece.strip()
        if not piece:
            if sign == "-":
                raise ValueError(f"formula {formula!r}: '-' needs a term after it")
            raise ValueError(f"formula {formula!r}: '+' needs a term on both sides")
        if _is_random(piece):
            if sign == "-":
                raise ValueError(f"formula {formula!r}: a random-effect term cannot be removed "
                                 f"with '-': {piece}")
            random.extend(_parse_random(piece, formula))
        else:
            fixed.append(f"{sign} {piece}" if sign == "-" else piece)
    fixed_rhs = " + ".join(fixed).replace("+ -", "-") if fixed else "1"
    if fixed_rhs.startswith("- "):
        fixed_rhs = "1 " + fixed_rhs
    return ParsedFormula(formula, lhs, _rewrite_cbind(lhs), fixed_rhs, tuple(random))


def _check_balanced(text: str) -> None:
    depth = []
    for ch in text:
        if ch in _OPEN:
            depth.append(_CLOSE[_OPEN.index(ch)])
        elif ch in _CLOSE:
            if not depth or depth.pop() != ch:
                raise ValueError(f"formula {text!r} has an unmatched {ch!r}")
    if depth:
        raise ValueError(f"formula {text!r} has an unclosed bracket (missing {depth[-1]!r})")


def _split_top(text: str, seps: str) -> list[tuple[str, str]]:
    """Split ``text`` at separators outside brackets; each piece keeps the separator before it."""
    pieces, depth, start, sign = [], 0, 0, "+"
    for i, ch in enumerate(text):
        if ch in _OPEN:
            depth += 1
        elif ch in _CLOSE:
            depth -= 1
        elif depth == 0 and ch in seps:
            if ch in "+-" and _is_exponent(text, i):
                continue  # the sign in '1e-3' or 'x * -1' does not split terms
            pieces.append((sign, text[start:i]))
            sign, start = ch, i + 1
    pieces.append((sign, text[start:]))
    return pieces


def _is_exponent(text: str, i: int) -> bool:
    """True for the sign in '1e-3' or 'x*-1', which must not split terms."""
    before = text[:i].rstrip()
    if before.endswith(("*", "/", "^")):
        return True
    return bool(re.search(r"\d[eE]$", before))


def _is_random(piece: str) -> bool:
    if not (piece.startswith("(") and piece.endswith(")")):
        return False
    depth = 0
    for i, ch in enumerate(piece):
        depth += ch in _OPEN
        depth -= ch in _CLOSE
        if depth == 0 and i < len(piece) - 1:
            return False  # e.g. (a + b):(c) is not one bracket
    inner = piece[1:-1]
    return any(sep == "|" for sep, _ in _split_top(inner, "|")[1:])


def _parse_random(piece: str, formula: str) -> list[RandomTerm]:
    inner = piece[1:-1]
    parts = _split_top(inner, "|")
    # "a || g" splits into ["a ", "", " g"]: two bars in a row
    if len(parts) == 3 and not parts[1][1].strip():
        expr, factor, correlated = parts[0][1], parts[2][1], False
    elif len(parts) == 2:
        expr, factor, correlated = parts[0][1], parts[1][1], True
    else:
        raise ValueError(f"formula {formula!r}: cannot read random term {piece}; "
                         f"write (terms | group) or (terms || group)")
    expr, factor = expr.strip(), factor.strip()
    if not expr:
        raise ValueError(f"formula {formula!r}: random term {piece} has no terms left of '|'")
    if not factor:
        raise ValueError(f"formula {formula!r}: random term {piece} has no grouping factor")
    return [RandomTerm(expr, f, correlated) for f in _expand_nesting(factor, formula)]


def _expand_nesting(factor: str, formula: str) -> list[str]:
    """``a/b/c`` -> ``a``, ``a:b``, ``a:b:c``; ``a:b`` stays one factor."""
    names = []
    for part in factor.split("/"):
        columns = []
        for name in part.split(":"):
            column = _column_name(name)
            if column is None:
                raise ValueError(f"formula {formula!r}: grouping factor {factor!r} must be "
                                 f"column names joined by ':' or '/', not {name.strip()!r} "
                                 f"(quote a name with spaces in backticks: `my group`)")
            columns.append(column)
        names.append(":".join(columns))
    return [":".join(names[: i + 1]) for i in range(len(names))]


def _rewrite_cbind(lhs: str) -> str:
    """lme4's ``cbind(successes, failures)`` is formulae's
    ``p(successes, successes + failures)``."""
    match = re.fullmatch(r"cbind\((.*)\)", lhs.strip())
    if not match:
        return lhs
    args = _split_top(match.group(1), ",")
    if len(args) != 2:
        raise ValueError(f"cbind() in the response needs two columns (successes, failures), "
                         f"got {lhs!r}")
    succ, fail = (a.strip() for _, a in args)
    return f"p({succ}, {succ} + {fail})"


def parse_dpar_formula(name: str, text: str, response: str) -> ParsedFormula:
    """An auxiliary parameter's formula, ``"~ x + (1 | g)"`` (or brms's ``"sigma ~ x"``), read
    as the main formula's right-hand side would be; its response is the main one's."""
    if not isinstance(text, str) or "~" not in text:
        raise ValueError(f"the formula of {name!r} must be a string with a '~', like "
                         f"'~ x + (1 | g)', got {text!r}")
    lhs, _, rhs = text.partition("~")
    if lhs.strip() not in ("", name):
        raise ValueError(f"the formula of {name!r} has {lhs.strip()!r} left of '~'; an "
                         f"auxiliary parameter's formula has only a right-hand side, like "
                         f"'~ x + (1 | g)' (the response is the main formula's)")
    if "~" in rhs:
        raise ValueError(f"the formula of {name!r} has more than one '~': {text!r}")
    try:
        parsed = parse_formula(f"{response} ~ {rhs}")
    except ValueError as err:
        raise ValueError(f"the formula of {name!r}, {text!r}: {err}") from None
    return ParsedFormula(f"{name} ~ {rhs.strip()}", parsed.response, parsed.response_formulae,
                         parsed.fixed, parsed.random)
