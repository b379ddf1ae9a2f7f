"""Render the small amount of TeX found in paper titles (and abstracts) to plain Unicode.

Pages show titles the way authors typed them for arXiv, so `PanGu-$α$`, `$\\ell_2$` or
`\\textbf{X}` turn up. `render_tex` turns what it recognises into Unicode (`PanGu-α`, `ℓ₂`,
`X`), strips `$` delimiters, and leaves everything else — unknown commands included — as it
was. It is total (never raises) and idempotent.

This module must not import `parsers.records`, which imports it for `title_key`.
"""

from __future__ import annotations

import functools
import re
import unicodedata

__all__ = ["render_tex"]

# Characters whose count strictly drops on every rewrite `_render_once` makes; iterating to a
# fixpoint therefore terminates, and the fixpoint is what makes `render_tex` idempotent.
_SPECIAL = "\\$^_{}"

# Pandoc's rule for inline math: the opening `$` is followed by a non-space, the closing `$`
# follows a non-space and is not followed by a digit, so "$5 and $10" stays prose.
_MATH = re.compile(
    r"(?<!\\)\$\$(?P<display>[^$]+?)\$\$"
    r"|(?<!\\)\$(?P<inline>[^\s$](?:[^$]*?[^\s$\\])?)\$(?!\d)"
)
_CONTROL = re.compile(r"\\(?:(?P<word>[A-Za-z]+)|(?P<symbol>.))", re.DOTALL)
_PLAIN_TEXT = re.compile(r"[^\\]+")
_PLAIN_MATH = re.compile(r"[^\\^_]+")
# Groups nested deeper than this are copied unrendered; later passes of the fixpoint loop
# peel them one level at a time, so deep input costs time but never the recursion limit.
_MAX_DEPTH = 32

_GREEK = {
    "alpha": "α",
    "beta": "β",
    "gamma": "γ",
    "delta": "δ",
    "epsilon": "ϵ",
    "varepsilon": "ε",
    "zeta": "ζ",
    "eta": "η",
    "theta": "θ",
    "vartheta": "ϑ",
    "iota": "ι",
    "kappa": "κ",
    "varkappa": "ϰ",
    "lambda": "λ",
    "mu": "μ",
    "nu": "ν",
    "xi": "ξ",
    "omicron": "ο",
    "pi": "π",
    "varpi": "ϖ",
    "rho": "ρ",
    "varrho": "ϱ",
    "sigma": "σ",
    "varsigma": "ς",
    "tau": "τ",
    "upsilon": "υ",
    "phi": "ϕ",
    "varphi": "φ",
    "chi": "χ",
    "psi": "ψ",
    "omega": "ω",
    "Alpha": "Α",
    "Beta": "Β",
    "Gamma": "Γ",
    "Delta": "Δ",
    "Epsilon": "Ε",
    "Zeta": "Ζ",
    "Eta": "Η",
    "Theta": "Θ",
    "Iota": "Ι",
    "Kappa": "Κ",
    "Lambda": "Λ",
    "Mu": "Μ",
    "Nu": "Ν",
    "Xi": "Ξ",
    "Omicron": "Ο",
    "Pi": "Π",
    "Rho": "Ρ",
    "Sigma": "Σ",
    "Tau": "Τ",
    "Upsilon": "Υ",
    "Phi": "Φ",
    "Chi": "Χ",
    "Psi": "Ψ",
    "Omega": "Ω",
    "varGamma": "Γ",
    "varDelta": "Δ",
    "varTheta": "Θ",
    "varLambda": "Λ",
    "varXi": "Ξ",
    "varPi": "Π",
    "varSigma": "Σ",
    "varUpsilon": "Υ",
    "varPhi": "Φ",
    "varPsi": "Ψ",
    "varOmega": "Ω",
}
_SYMBOLS = {
    "times": "×",
    "div": "÷",
    "to": "→",
    "rightarrow": "→",
    "leftarrow": "←",
    "gets": "←",
    "Rightarrow": "⇒",
    "Leftarrow": "⇐",
    "leftrightarrow": "↔",
    "Leftrightarrow": "⇔",
    "longrightarrow": "⟶",
    "mapsto": "↦",
    "uparrow": "↑",
    "downarrow": "↓",
    "implies": "⟹",
    "iff": "⟺",
    "leq": "≤",
    "le": "≤",
    "geq": "≥",
    "ge": "≥",
    "neq": "≠",
    "ne": "≠",
    "approx": "≈",
    "sim": "∼",
    "simeq": "≃",
    "cong": "≅",
    "equiv": "≡",
    "propto": "∝",
    "ll": "≪",
    "gg": "≫",
    "lesssim": "≲",
    "gtrsim": "≳",
    "triangleq": "≜",
    "coloneqq": "≔",
    "infty": "∞",
    "pm": "±",
    "mp": "∓",
    "cdot": "·",
    "cdots": "⋯",
    "ldots": "…",
    "dots": "…",
    "textellipsis": "…",
    "ell": "ℓ",
    "partial": "∂",
    "nabla": "∇",
    "in": "∈",
    "notin": "∉",
    "ni": "∋",
    "subset": "⊂",
    "subseteq": "⊆",
    "supset": "⊃",
    "supseteq": "⊇",
    "cup": "∪",
    "cap": "∩",
    "setminus": "∖",
    "emptyset": "∅",
    "varnothing": "∅",
    "forall": "∀",
    "exists": "∃",
    "neg": "¬",
    "lnot": "¬",
    "land": "∧",
    "wedge": "∧",
    "lor": "∨",
    "vee": "∨",
    "oplus": "⊕",
    "otimes": "⊗",
    "odot": "⊙",
    "circ": "∘",
    "bullet": "•",
    "star": "⋆",
    "ast": "∗",
    "sum": "∑",
    "prod": "∏",
    "int": "∫",
    "oint": "∮",
    "langle": "⟨",
    "rangle": "⟩",
    "lceil": "⌈",
    "rceil": "⌉",
    "lfloor": "⌊",
    "rfloor": "⌋",
    "prime": "′",
    "dagger": "†",
    "dag": "†",
    "ddagger": "‡",
    "hbar": "ℏ",
    "aleph": "ℵ",
    "Re": "ℜ",
    "Im": "ℑ",
    "wp": "℘",
    "angle": "∠",
    "perp": "⊥",
    "bot": "⊥",
    "top": "⊤",
    "parallel": "∥",
    "mid": "∣",
    "vdash": "⊢",
    "models": "⊨",
    "sharp": "♯",
    "flat": "♭",
    "diamond": "⋄",
    "triangle": "△",
    "square": "□",
    "checkmark": "✓",
    "S": "§",
    "P": "¶",
    "copyright": "©",
    "textregistered": "®",
    "texttrademark": "™",
    "degree": "°",
    "textdegree": "°",
    "euro": "€",
    "pounds": "£",
    "textendash": "–",
    "textemdash": "—",
    "quad": " ",
    "qquad": " ",
    "i": "i",
    "j": "j",
    "ss": "ß",
    "o": "ø",
    "O": "Ø",
    "ae": "æ",
    "AE": "Æ",
    "oe": "œ",
    "OE": "Œ",
    "l": "ł",
    "L": "Ł",
    "aa": "å",
    "AA": "Å",
    # Spacing and sizing commands have no Unicode counterpart; they simply vanish.
    "left": "",
    "right": "",
    "big": "",
    "Big": "",
    "bigl": "",
    "bigr": "",
    "Bigl": "",
    "Bigr": "",
    "displaystyle": "",
    "limits": "",
    "nolimits": "",
}
# Named operators render as their own name, upright in TeX and plain here.
_OPERATORS = frozenset(
    "log ln exp sin cos tan arg max min sup inf lim det dim ker Pr deg gcd argmax argmin".split()
)
_CONTROL_SYMBOLS = {
    "&": "&",
    "%": "%",
    "_": "_",
    "#": "#",
    "{": "{",
    "}": "}",
    ",": " ",
    ";": " ",
    ":": " ",
    " ": " ",
    "!": "",
    "-": "",
}
# One-argument commands whose rendering is just their argument; the value says whether the
# argument is set as text (True) or stays math (False).
_WRAPPERS = {
    "mathcal": False,
    "mathbf": False,
    "mathrm": False,
    "mathit": False,
    "mathsf": False,
    "mathtt": False,
    "mathfrak": False,
    "mathscr": False,
    "boldsymbol": False,
    "bm": False,
    "mathbb": False,
    "operatorname": False,
    "text": True,
    "textrm": True,
    "textbf": True,
    "textit": True,
    "textsc": True,
    "texttt": True,
    "textsf": True,
    "textup": True,
    "textnormal": True,
    "emph": True,
    "mbox": True,
    "underline": True,
    "url": True,
    "sqrt": False,
}
_BLACKBOARD = {"N": "ℕ", "Z": "ℤ", "Q": "ℚ", "R": "ℝ", "C": "ℂ", "P": "ℙ", "E": "𝔼"}
_ACCENTS = {
    "'": "\u0301",
    "`": "\u0300",
    "^": "\u0302",
    '"': "\u0308",
    "~": "\u0303",
    "=": "\u0304",
    ".": "\u0307",
    "u": "\u0306",
    "v": "\u030c",
    "H": "\u030b",
    "c": "\u0327",
}
_SUPERSCRIPT = dict(
    zip(
        "0123456789+-−=()niabcdefghjklmoprstuvwxyzT∘′*†",
        "⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁻⁻⁼⁽⁾ⁿⁱᵃᵇᶜᵈᵉᶠᵍʰʲᵏˡᵐᵒᵖʳˢᵗᵘᵛʷˣʸᶻᵀ°′*†",
        strict=True,
    )
)
_SUBSCRIPT = dict(
    zip("0123456789+-−=()aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉₊₋₋₌₍₎ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ", strict=True)
)


def render_tex(text: str) -> str:
    """Render TeX in `text` to Unicode where possible; leave the rest as written.

    Contract: total (never raises, for any `str`), idempotent
    (`render_tex(render_tex(x)) == render_tex(x)`), and the identity on text without `\\`
    or `$`. Recognised: `$…$`/`$$…$$` delimiters (stripped), Greek letters, common symbols,
    digit/letter super- and subscripts inside math, font and text wrappers (`\\mathbf{X}`,
    `\\textit{X}`, `\\emph{X}` → `X`), escapes (`\\&` → `&`), simple accents. `--` is left
    alone: outside math it is prose (`--help`), inside math it is two minus signs.
    """
    if "\\" not in text and "$" not in text:
        return text
    if len(text) <= _MEMO_MAX_LEN:
        return _render_memo(text)
    return _render(text)


def _render(text: str) -> str:
    """`render_tex` for text that holds `\\` or `$`: `_render_once` until nothing changes."""
    current, weight = text, _weight(text)
    while True:
        rendered = _render_once(current)
        new_weight = _weight(rendered)
        # Every rewrite removes a special character; if one ever did not, stop rather
        # than risk looping (a guard, not an expected path).
        if rendered == current or new_weight >= weight:
            return current if new_weight >= weight else rendered
        current, weight = rendered, new_weight
        if "\\" not in current and "$" not in current:
            return current  # the next pass would be the identity (see the fast path above)


# Staging renders each title twice (`title_rendered`, and inside `title_key`), and pages
# repeat titles; rendering is pure, so title-sized texts are memoised.
_MEMO_MAX_LEN = 1_000
_render_memo = functools.lru_cache(maxsize=1024)(_render)


def _weight(text: str) -> int:
    """How many TeX-special characters `text` holds (the fixpoint loop's progress measure)."""
    return sum(map(text.count, _SPECIAL))


def _render_once(text: str) -> str:
    """One left-to-right pass: math spans rendered as math, the rest as text."""
    out: list[str] = []
    pos = 0
    for match in _MATH.finditer(text):
        out.append(_render_span(text[pos : match.start()], math=False, depth=0))
        body = match.group("display") or match.group("inline") or ""
        out.append(_render_span(body, math=True, depth=0))
        pos = match.end()
    out.append(_render_span(text[pos:], math=False, depth=0))
    return "".join(out)


def _render_span(text: str, *, math: bool, depth: int) -> str:
    """Render one span token by token; `^`/`_` are scripts only when `math` is set."""
    plain = _PLAIN_MATH if math else _PLAIN_TEXT
    out: list[str] = []
    i = 0
    while i < len(text):
        run = plain.match(text, i)
        if run:
            out.append(run.group(0))
            i = run.end()
        elif text[i] == "\\":
            piece, i = _command(text, i, math=math, depth=depth)
            out.append(piece)
        else:
            piece, i = _script(text, i, depth=depth)
            out.append(piece)
    return "".join(out)


def _command(text: str, start: int, *, math: bool, depth: int) -> tuple[str, int]:
    """Render the control sequence at `start`; unknown ones come back verbatim."""
    match = _CONTROL.match(text, start)
    if match is None:  # a lone trailing backslash
        return "\\", start + 1
    word, end = match.group("word"), match.end()
    if word is None:
        return _control_symbol(text, match, depth=depth)
    if word in _GREEK or word in _SYMBOLS:
        return _GREEK.get(word) or _SYMBOLS[word], end
    if word in _OPERATORS:
        return word, end
    if word in _WRAPPERS or word in _ACCENTS:
        return _with_argument(text, start, end, word, math=math, depth=depth)
    return text[start:end], end


def _control_symbol(text: str, match: re.Match[str], *, depth: int) -> tuple[str, int]:
    """Render `\\&`-style escapes and `\\'e`-style accents; others stay verbatim."""
    symbol = match.group("symbol")
    if symbol in _ACCENTS:
        return _with_argument(text, match.start(), match.end(), symbol, math=False, depth=depth)
    if symbol in _CONTROL_SYMBOLS:
        return _CONTROL_SYMBOLS[symbol], match.end()
    return match.group(0), match.end()


def _with_argument(
    text: str, start: int, end: int, name: str, *, math: bool, depth: int
) -> tuple[str, int]:
    """Apply a one-argument command (wrapper or accent); verbatim when the argument is missing."""
    as_text = _WRAPPERS.get(name, not math)
    parsed = _argument(text, end, math=math and not as_text, depth=depth)
    if parsed is None:
        return ("√" if name == "sqrt" else text[start:end]), end
    content, after, _braced = parsed
    if name == "sqrt":
        return "√" + (content if len(content) <= 1 else f"({content})"), after
    if name == "mathbb" and content in _BLACKBOARD:
        return _BLACKBOARD[content], after
    if name in _WRAPPERS:
        return content, after
    return _accent(content, _ACCENTS[name]), after


def _accent(content: str, mark: str) -> str:
    """Put a combining `mark` on the first character of `content`, composed (NFC)."""
    if not content:
        return content
    return unicodedata.normalize("NFC", content[0] + mark) + content[1:]


def _argument(text: str, i: int, *, math: bool, depth: int) -> tuple[str, int, bool] | None:
    """Read one argument at `i`: `{group}`, a command, or one character.

    Returns (rendered content, index after it, whether it was braced), or None when there is
    no argument (end of text, or a closing brace or script marker in the way).
    """
    while i < len(text) and text[i] == " ":
        i += 1  # TeX skips spaces before an argument
    if i >= len(text) or text[i] in "}^_$":
        return None
    if text[i] == "{":
        close = _matching_brace(text, i)
        if close is None:
            return None
        inner = text[i + 1 : close]
        if depth >= _MAX_DEPTH:
            return inner, close + 1, True
        return _render_span(inner, math=math, depth=depth + 1), close + 1, True
    if text[i] == "\\":
        piece, after = _command(text, i, math=math, depth=depth + 1)
        return piece, after, False
    return text[i], i + 1, False


def _matching_brace(text: str, open_at: int) -> int | None:
    """Index of the `}` closing the `{` at `open_at` (escaped braces skipped), or None."""
    level = 0
    i = open_at
    while i < len(text):
        ch = text[i]
        if ch == "\\":
            i += 2
            continue
        if ch == "{":
            level += 1
        elif ch == "}":
            level -= 1
            if level == 0:
                return i
        i += 1
    return None


def _script(text: str, start: int, *, depth: int) -> tuple[str, int]:
    """Render a math `^x`/`_x`: Unicode when every character has a script form, else as written."""
    table = _SUPERSCRIPT if text[start] == "^" else _SUBSCRIPT
    parsed = _argument(text, start + 1, math=True, depth=depth)
    if parsed is None:
        return text[start], start + 1
    content, after, braced = parsed
    if all(ch in table for ch in content):
        return "".join(table[ch] for ch in content), after
    shown = "{" + content + "}" if braced else content
    return text[start] + shown, after
