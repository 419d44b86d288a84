"""Bugs made by rewriting one spot of a function with libcst.

A *site* is one place in one function where one kind of mutation applies:

    sites = find_sites(source, "pkg/mod.py")        # every site, in a fixed order
    order = order_sites(sites, seed=0)              # one per function first, kinds balanced
    new_source = apply_site(source, order[0])       # the rewritten file (it compiles)

Sites are numbered per (function, kind) in traversal order, so a site is named
by `file::qualname::kind::index` and re-applying it later gives the same text.
Only code inside function bodies is touched: never decorators, parameter
defaults, annotations, docstrings, or module- and class-level statements.
Everything else in the file keeps its exact formatting.

Why ~550 lines: one libcst transformer (`_Mutator`, about half the module)
has a visit method per mutation kind, and all of them share the traversal
state that names a site (the function being visited, the per-(function, kind)
counters); the operator tables it reads sit beside it. Splitting the kinds
apart would pass that state across modules for no reader's gain.
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

KINDS: tuple[str, ...] = (
    "flip_comparison",  # a < b -> a >= b, == <-> !=, in <-> not in, is <-> is not
    "shift_boundary",  # a < b -> a <= b, a >= b -> a > b
    "swap_operator",  # + <-> -, * <-> //, / -> *, & <-> |, << <-> >>, += <-> -=
    "swap_boolean",  # and <-> or
    "off_by_one",  # integer literal n -> n - 1 (0 -> 1), slice bounds and range() arguments +- 1
    "swap_arguments",  # f(a, b) -> f(b, a)
    "remove_statement",  # drop one simple statement (pass fills an emptied block)
    "remove_branch",  # drop an else/elif clause, or an if-block without one
    "flip_constant",  # True <-> False
    "negate_condition",  # if c: -> if not c:, x if c else y -> x if not c else y
)

MAX_REMOVED_LINES = 12  # a removed if-block is at most this long (the fix must stay writable)
_DECIMAL = re.compile(r"^[0-9][0-9_]*$")


class MutationError(ValueError):
    pass


@dataclass(frozen=True)
class Site:
    file: str  # path relative to the package tree
    qualname: str  # Class.method, outer.inner
    kind: str
    index: int  # the index-th site of this kind in this function
    line: int  # where it is in the original file (1-based)
    description: str

    @property
    def key(self) -> str:
        return f"{self.file}::{self.qualname}::{self.kind}::{self.index}"

    @property
    def digest(self) -> str:
        return hashlib.sha1(self.key.encode()).hexdigest()[:8]

    @property
    def function(self) -> tuple[str, str]:
        return (self.file, self.qualname)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Site":
        return cls(**{k: data[k] for k in ("file", "qualname", "kind", "index", "line", "description")})


@dataclass(frozen=True)
class Mutation:
    """One applied site: the file's original and mutated text."""

    site: Site
    original: str
    mutated: str

    @property
    def file(self) -> str:
        return self.site.file

    @property
    def qualname(self) -> str:
        return self.site.qualname

    @property
    def kind(self) -> str:
        return self.site.kind

    @property
    def description(self) -> str:
        return self.site.description


# --- operator tables --------------------------------------------------------------------

_FLIP: dict[type, type] = {
    cst.LessThan: cst.GreaterThanEqual, cst.GreaterThanEqual: cst.LessThan,
    cst.GreaterThan: cst.LessThanEqual, cst.LessThanEqual: cst.GreaterThan,
    cst.Equal: cst.NotEqual, cst.NotEqual: cst.Equal,
    cst.In: cst.NotIn, cst.NotIn: cst.In,
    cst.Is: cst.IsNot, cst.IsNot: cst.Is,
}
_SHIFT: dict[type, type] = {
    cst.LessThan: cst.LessThanEqual, cst.LessThanEqual: cst.LessThan,
    cst.GreaterThan: cst.GreaterThanEqual, cst.GreaterThanEqual: cst.GreaterThan,
}
_BINARY: dict[type, type] = {
    cst.Add: cst.Subtract, cst.Subtract: cst.Add,
    cst.Multiply: cst.FloorDivide, cst.FloorDivide: cst.Multiply,
    cst.Divide: cst.Multiply, cst.Modulo: cst.FloorDivide, cst.Power: cst.Multiply,
    cst.BitAnd: cst.BitOr, cst.BitOr: cst.BitAnd, cst.BitXor: cst.BitOr,
    cst.LeftShift: cst.RightShift, cst.RightShift: cst.LeftShift,
}
_AUGMENTED: dict[type, type] = {
    cst.AddAssign: cst.SubtractAssign, cst.SubtractAssign: cst.AddAssign,
    cst.BitOrAssign: cst.BitAndAssign, cst.BitAndAssign: cst.BitOrAssign,
}
_BOOLEAN: dict[type, type] = {cst.And: cst.Or, cst.Or: cst.And}
# Operands that make + * % mean concatenation/repetition/formatting: swapping those only raises TypeError.
_SEQUENCE_LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.List, cst.Tuple)
# Expressions that need no parentheses when `- 1` is appended or `not` is put in front.
_ATOMS = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.Integer, cst.Float)


def _swap_operator(op: cst.CSTNode, table: dict[type, type]) -> cst.CSTNode:
    """The operator of the other type, keeping the spacing around it."""
    new = table[type(op)]
    before = getattr(op, "whitespace_before", cst.SimpleWhitespace(" "))
    after = getattr(op, "whitespace_after", cst.SimpleWhitespace(" "))
    if new in (cst.NotIn, cst.IsNot):
        return new(whitespace_before=before, whitespace_between=cst.SimpleWhitespace(" "), whitespace_after=after)
    return new(whitespace_before=before, whitespace_after=after)


def _operator_text(op: type) -> str:
    return {
        cst.LessThan: "<", cst.GreaterThanEqual: ">=", cst.GreaterThan: ">", cst.LessThanEqual: "<=",
        cst.Equal: "==", cst.NotEqual: "!=", cst.In: "in", cst.NotIn: "not in", cst.Is: "is",
        cst.IsNot: "is not", cst.Add: "+", cst.Subtract: "-", cst.Multiply: "*", cst.FloorDivide: "//",
        cst.Divide: "/", cst.Modulo: "%", cst.Power: "**", cst.BitAnd: "&", cst.BitOr: "|", cst.BitXor: "^",
        cst.LeftShift: "<<", cst.RightShift: ">>", cst.AddAssign: "+=", cst.SubtractAssign: "-=",
        cst.BitOrAssign: "|=", cst.BitAndAssign: "&=", cst.And: "and", cst.Or: "or",
    }[op]


def _parenthesized(expr: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(expr, _ATOMS) or expr.lpar:
        return expr
    return expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def _plus_minus_one(expr: cst.BaseExpression, plus: bool) -> cst.BaseExpression:
    return cst.BinaryOperation(left=_parenthesized(expr), operator=cst.Add() if plus else cst.Subtract(),
                               right=cst.Integer("1"))


def _is_int_literal(expr: cst.BaseExpression | None) -> bool:
    if isinstance(expr, cst.Integer):
        return True
    return isinstance(expr, cst.UnaryOperation) and isinstance(expr.expression, cst.Integer)


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the transformer -----------------------------------------------------------------------


class _Mutator(cst.CSTTransformer):
    """Counts every site (collect mode) or rewrites the one named by `target` (apply mode)."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, module: cst.Module, file: str, kinds: Iterable[str],
                 target: tuple[str, str, int] | None = None):
        super().__init__()
        self.module = module
        self.file = file
        self.kinds = frozenset(kinds)
        self.target = target
        self.scope: list[str] = []
        self.functions = 0  # how many function bodies we are inside
        self.counts: dict[tuple[str, str], int] = defaultdict(int)
        self.sites: list[Site] = []
        self.applied: Site | None = None
        self.docstrings: set[int] = set()
        self.elifs: set[int] = set()

    # scope -----------------------------------------------------------------------------
    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.scope.append(node.name.value)
        return True

    def leave_ClassDef(self, original_node, updated_node):
        self.scope.pop()
        return updated_node

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.scope.append(node.name.value)
        self.functions += 1
        body = node.body
        if isinstance(body, cst.IndentedBlock) and body.body:
            first = body.body[0]
            if (isinstance(first, cst.SimpleStatementLine) and len(first.body) == 1
                    and isinstance(first.body[0], cst.Expr)
                    and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))):
                self.docstrings.add(id(first))
        return True

    def leave_FunctionDef(self, original_node, updated_node):
        self.scope.pop()
        self.functions -= 1
        return updated_node

    # never inside these
    def visit_Parameters(self, node) -> bool:
        return False

    def visit_Decorator(self, node) -> bool:
        return False

    def visit_Annotation(self, node) -> bool:
        return False

    # the bookkeeping of one site ----------------------------------------------------------
    def _site(self, kind: str, node: cst.CSTNode, describe: Callable[[], str],
              make: Callable[[], cst.CSTNode | cst.RemovalSentinel]):
        if not self.functions or kind not in self.kinds:
            return None
        qualname = ".".join(self.scope)
        index = self.counts[(qualname, kind)]
        self.counts[(qualname, kind)] += 1
        if self.target is None:
            line = self.get_metadata(PositionProvider, node).start.line
            self.sites.append(Site(self.file, qualname, kind, index, line, describe()))
            return None
        if self.target == (qualname, kind, index):
            line = self.get_metadata(PositionProvider, node).start.line
            self.applied = Site(self.file, qualname, kind, index, line, describe())
            return make()
        return None

    def _code(self, node: cst.CSTNode) -> str:
        return _short(self.module.code_for_node(node))

    # comparisons ----------------------------------------------------------------------------
    def leave_Comparison(self, original_node: cst.Comparison, updated_node: cst.Comparison):
        for j, target in enumerate(original_node.comparisons):
            op = type(target.operator)
            for kind, table in (("flip_comparison", _FLIP), ("shift_boundary", _SHIFT)):
                if op not in table:
                    continue

                def make(j=j, table=table):
                    targets = list(updated_node.comparisons)
                    targets[j] = targets[j].with_changes(operator=_swap_operator(targets[j].operator, table))
                    return updated_node.with_changes(comparisons=targets)

                def describe(op=op, table=table):
                    return (f"`{_operator_text(op)}` -> `{_operator_text(table[op])}` "
                            f"in `{self._code(original_node)}`")

                result = self._site(kind, original_node, describe, make)
                if result is not None:
                    return result
        return updated_node

    # arithmetic ------------------------------------------------------------------------------
    def leave_BinaryOperation(self, original_node: cst.BinaryOperation, updated_node: cst.BinaryOperation):
        op = type(original_node.operator)
        if op not in _BINARY:
            return updated_node
        if op in (cst.Add, cst.Multiply, cst.Modulo) and (isinstance(original_node.left, _SEQUENCE_LITERALS)
                                              or isinstance(original_node.right, _SEQUENCE_LITERALS)):
            return updated_node
        return self._operator_site("swap_operator", original_node, updated_node, _BINARY)

    def leave_AugAssign(self, original_node: cst.AugAssign, updated_node: cst.AugAssign):
        op = type(original_node.operator)
        if op not in _AUGMENTED or isinstance(original_node.value, _SEQUENCE_LITERALS):
            return updated_node
        return self._operator_site("swap_operator", original_node, updated_node, _AUGMENTED)

    def leave_BooleanOperation(self, original_node: cst.BooleanOperation, updated_node: cst.BooleanOperation):
        return self._operator_site("swap_boolean", original_node, updated_node, _BOOLEAN)

    def _operator_site(self, kind: str, original_node, updated_node, table):
        """A site that swaps the node's operator for its partner in `table`."""
        op = type(original_node.operator)
        result = self._site(
            kind, original_node,
            lambda: f"`{_operator_text(op)}` -> `{_operator_text(table[op])}` in `{self._code(original_node)}`",
            lambda: updated_node.with_changes(operator=_swap_operator(updated_node.operator, table)))
        return updated_node if result is None else result

    # off by one ------------------------------------------------------------------------------
    def leave_Integer(self, original_node: cst.Integer, updated_node: cst.Integer):
        if not _DECIMAL.match(original_node.value):
            return updated_node
        value = int(original_node.value.replace("_", ""))
        new = value - 1 if value > 0 else 1
        result = self._site("off_by_one", original_node, lambda: f"`{original_node.value}` -> `{new}`",
                            lambda: updated_node.with_changes(value=str(new)))
        return updated_node if result is None else result

    def leave_Slice(self, original_node: cst.Slice, updated_node: cst.Slice):
        for field, plus in (("lower", True), ("upper", False)):
            bound = getattr(original_node, field)
            if bound is None or _is_int_literal(bound):
                continue

            def make(field=field, plus=plus):
                return updated_node.with_changes(**{field: _plus_minus_one(getattr(updated_node, field), plus)})

            def describe(bound=bound, plus=plus, field=field):
                return (f"`{self._code(bound)}` -> `{self._code(_plus_minus_one(bound, plus))}` "
                        f"(slice {field} bound)")

            result = self._site("off_by_one", original_node, describe, make)
            if result is not None:
                return result
        return updated_node

    # calls -----------------------------------------------------------------------------------
    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call):
        args = original_node.args
        positional = [i for i, a in enumerate(args) if a.keyword is None and not a.star]
        if (isinstance(original_node.func, cst.Name) and original_node.func.value == "range"
                and 0 < len(args) <= 3 and len(positional) == len(args)):
            # range(stop) / range(start, stop[, step]): start + 1, stop - 1
            bounds = [(0, False)] if len(args) == 1 else [(0, True), (1, False)]
            for j, plus in bounds:
                if _is_int_literal(args[j].value):
                    continue

                def make(j=j, plus=plus):
                    new_args = list(updated_node.args)
                    new_args[j] = new_args[j].with_changes(value=_plus_minus_one(new_args[j].value, plus))
                    return updated_node.with_changes(args=new_args)

                def describe(j=j, plus=plus):
                    value = args[j].value
                    return f"`{self._code(value)}` -> `{self._code(_plus_minus_one(value, plus))}` (range() argument)"

                result = self._site("off_by_one", original_node, describe, make)
                if result is not None:
                    return result
        if len(positional) >= 2 and positional[:2] == [0, 1]:
            a, b = args[0].value, args[1].value
            if self.module.code_for_node(a) != self.module.code_for_node(b):
                def make():
                    new_args = list(updated_node.args)
                    new_args[0] = new_args[0].with_changes(value=updated_node.args[1].value)
                    new_args[1] = new_args[1].with_changes(value=updated_node.args[0].value)
                    return updated_node.with_changes(args=new_args)

                result = self._site(
                    "swap_arguments", original_node,
                    lambda: f"swapped `{self._code(a)}` and `{self._code(b)}` in `{self._code(original_node)}`",
                    make)
                if result is not None:
                    return result
        return updated_node

    # statements ------------------------------------------------------------------------------
    def leave_SimpleStatementLine(self, original_node: cst.SimpleStatementLine, updated_node):
        if id(original_node) in self.docstrings:
            return updated_node
        small = original_node.body
        if all(isinstance(s, (cst.Pass, cst.Global, cst.Nonlocal)) or
               (isinstance(s, cst.Expr) and isinstance(s.value, cst.Ellipsis)) for s in small):
            return updated_node
        result = self._site("remove_statement", original_node,
                            lambda: f"removed `{self._code(original_node)}`",
                            lambda: cst.RemoveFromParent())
        return updated_node if result is None else result

    def visit_If(self, node: cst.If) -> bool:
        if isinstance(node.orelse, cst.If):
            self.elifs.add(id(node.orelse))
        return True

    def leave_If(self, original_node: cst.If, updated_node: cst.If):
        test = original_node.test
        header = "elif" if id(original_node) in self.elifs else "if"
        orelse = original_node.orelse
        if orelse is not None:
            if isinstance(orelse, cst.Else):
                describe = lambda: f"removed the `else` branch of `{header} {self._code(test)}:`"
                make = lambda: updated_node.with_changes(orelse=None)
            else:
                describe = lambda: f"removed the `elif {self._code(orelse.test)}:` branch"
                make = lambda: updated_node.with_changes(orelse=updated_node.orelse.orelse)
            result = self._site("remove_branch", original_node, describe, make)
            if result is not None:
                return result
        elif header == "if" and self.module.code_for_node(original_node).strip().count("\n") < MAX_REMOVED_LINES:
            result = self._site("remove_branch", original_node,
                                lambda: f"removed the block `if {self._code(test)}: ...`",
                                lambda: cst.RemoveFromParent())
            if result is not None:
                return result
        result = self._site("negate_condition", original_node,
                            lambda: f"negated `{header} {self._code(test)}:`",
                            lambda: updated_node.with_changes(test=_negate(updated_node.test)))
        return updated_node if result is None else result

    def leave_IfExp(self, original_node: cst.IfExp, updated_node: cst.IfExp):
        result = self._site("negate_condition", original_node,
                            lambda: f"negated the condition `{self._code(original_node.test)}` of "
                                    f"`{self._code(original_node)}`",
                            lambda: updated_node.with_changes(test=_negate(updated_node.test)))
        return updated_node if result is None else result

    # constants -------------------------------------------------------------------------------
    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name):
        if original_node.value not in ("True", "False"):
            return updated_node
        new = "False" if original_node.value == "True" else "True"
        result = self._site("flip_constant", original_node, lambda: f"`{original_node.value}` -> `{new}`",
                            lambda: updated_node.with_changes(value=new))
        return updated_node if result is None else result

    # keep every block non-empty after a removal ----------------------------------------------
    def leave_IndentedBlock(self, original_node, updated_node: cst.IndentedBlock):
        if not updated_node.body:
            return updated_node.with_changes(body=[cst.SimpleStatementLine(body=[cst.Pass()])])
        return updated_node


def _negate(test: cst.BaseExpression) -> cst.BaseExpression:
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and not test.lpar:
        inner = test.expression
        return inner.with_changes(lpar=[], rpar=[]) if isinstance(inner, _ATOMS) else inner
    if isinstance(test, (cst.BooleanOperation, cst.Comparison, cst.IfExp, cst.Lambda, cst.NamedExpr)) \
            and not test.lpar:
        test = test.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.UnaryOperation(operator=cst.Not(), expression=test)


# --- the public functions ------------------------------------------------------------------


def _parse(source: str, file: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as e:
        raise MutationError(f"{file}: libcst cannot parse it: {str(e).splitlines()[0]}") from None


def find_sites(source: str, file: str, kinds: Iterable[str] = KINDS) -> list[Site]:
    """Every mutation site in `source`, in traversal order."""
    module = _parse(source, file)
    mutator = _Mutator(module, file, kinds)
    MetadataWrapper(module, unsafe_skip_copy=True).visit(mutator)
    return mutator.sites


def apply_site(source: str, site: Site) -> str:
    """`source` with `site` rewritten; raises MutationError if the site is gone or the result won't compile."""
    module = _parse(source, site.file)
    mutator = _Mutator(module, site.file, [site.kind], target=(site.qualname, site.kind, site.index))
    new = MetadataWrapper(module, unsafe_skip_copy=True).visit(mutator)
    if mutator.applied is None:
        raise MutationError(f"no site {site.key} in {site.file}")
    code = new.code
    if code == source:
        raise MutationError(f"{site.key} changes nothing")
    try:
        compile(code, site.file, "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as e:
        raise MutationError(f"{site.key} does not compile: {e}") from None
    return code


def mutate(root: Path, site: Site) -> Mutation:
    original = (Path(root) / site.file).read_text()
    return Mutation(site=site, original=original, mutated=apply_site(original, site))


def package_sites(root: Path, files: Iterable[str], kinds: Iterable[str] = KINDS) -> tuple[list[Site], list[str]]:
    """Sites in every file (relative to `root`), and the files that could not be parsed."""
    kinds = tuple(kinds)
    sites: list[Site] = []
    skipped: list[str] = []
    for file in files:
        try:
            sites.extend(find_sites((Path(root) / file).read_text(), file, kinds))
        except (MutationError, UnicodeDecodeError) as e:
            skipped.append(f"{file}: {e}")
    return sites, skipped


def order_sites(sites: list[Site], seed: int = 0) -> list[Site]:
    """The order to try sites in: kinds take turns, and functions are spread out.

    Kinds take turns in a shuffled cycle, so kinds with many sites (removable
    statements, integer literals) do not crowd out the rare ones. Each turn
    takes the kind's next site (in a seeded shuffle) among the functions tried
    the fewest times so far: every function with a site of that kind gets one
    before any gets a second. The result depends only on `sites` and `seed`.
    """
    rng = random.Random(seed)
    queues: dict[str, list[Site]] = {}
    for site in sorted(sites, key=lambda s: s.key):
        queues.setdefault(site.kind, []).append(site)
    for kind in sorted(queues):
        rng.shuffle(queues[kind])
        queues[kind].reverse()  # pop() from the end = take in shuffled order
    tried: Counter = Counter()
    deferred: dict[str, list[Site]] = {kind: [] for kind in queues}
    order: list[Site] = []
    level = 0  # take only sites whose function has been tried at most `level` times
    while any(queues.values()) or any(deferred.values()):
        progress = False
        kinds = sorted(k for k in queues if queues[k])
        rng.shuffle(kinds)
        for kind in kinds:
            queue = queues[kind]
            while queue:
                site = queue.pop()
                if tried[site.function] <= level:
                    order.append(site)
                    tried[site.function] += 1
                    progress = True
                    break
                deferred[kind].append(site)
        if not progress:  # every kind's queue is empty at this level: open the next one
            level += 1
            for kind in queues:
                queues[kind] = deferred[kind][::-1]  # keep their shuffled order
                deferred[kind] = []
    return order
