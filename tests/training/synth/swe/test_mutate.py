"""Each mutator on small code: the exact rewritten source, and what is never touched."""

from __future__ import annotations

import pytest

from agentforge.training.synth.swe.mutate import (KINDS, MutationError, Site, apply_site, find_sites,
                                                  order_sites, package_sites)


def rewrites(source: str, kind: str) -> list[str]:
    """Every rewrite of `source` by `kind`, in site order."""
    return [apply_site(source, s) for s in find_sites(source, "m.py", [kind])]


def test_flip_comparison():
    src = "def f(a, b):\n    return a < b or a == b or a in b or a is not b\n"
    assert rewrites(src, "flip_comparison") == [
        "def f(a, b):\n    return a >= b or a == b or a in b or a is not b\n",
        "def f(a, b):\n    return a < b or a != b or a in b or a is not b\n",
        "def f(a, b):\n    return a < b or a == b or a not in b or a is not b\n",
        "def f(a, b):\n    return a < b or a == b or a in b or a is b\n",
    ]


def test_flip_comparison_in_a_chain():
    src = "def f(a, b, c):\n    return a <= b > c\n"
    assert rewrites(src, "flip_comparison") == ["def f(a, b, c):\n    return a > b > c\n",
                                                "def f(a, b, c):\n    return a <= b <= c\n"]


def test_shift_boundary():
    src = "def f(a, b):\n    return a < b, a >= b, a == b\n"
    assert rewrites(src, "shift_boundary") == ["def f(a, b):\n    return a <= b, a >= b, a == b\n",
                                               "def f(a, b):\n    return a < b, a > b, a == b\n"]


def test_swap_operator_binary_and_augmented():
    src = "def f(a, b):\n    a += b\n    return a * b - 1\n"
    assert rewrites(src, "swap_operator") == [
        "def f(a, b):\n    a -= b\n    return a * b - 1\n",
        "def f(a, b):\n    a += b\n    return a // b - 1\n",
        "def f(a, b):\n    a += b\n    return a * b + 1\n",
    ]


def test_swap_operator_skips_concatenation_and_formatting_of_literals():
    src = "def f(a):\n    a += 'x'\n    return 'p' + a, [1] * 2, (a,) + a, '%s' % a\n"
    assert rewrites(src, "swap_operator") == []


def test_swap_boolean():
    src = "def f(a, b):\n    return a and b\n"
    assert rewrites(src, "swap_boolean") == ["def f(a, b):\n    return a or b\n"]


def test_off_by_one_literals_slices_and_range():
    src = "def f(xs, n):\n    for i in range(n):\n        xs[i:n] = xs[:2]\n    return 0\n"
    assert rewrites(src, "off_by_one") == [
        "def f(xs, n):\n    for i in range(n - 1):\n        xs[i:n] = xs[:2]\n    return 0\n",
        "def f(xs, n):\n    for i in range(n):\n        xs[i + 1:n] = xs[:2]\n    return 0\n",
        "def f(xs, n):\n    for i in range(n):\n        xs[i:n - 1] = xs[:2]\n    return 0\n",
        "def f(xs, n):\n    for i in range(n):\n        xs[i:n] = xs[:1]\n    return 0\n",
        "def f(xs, n):\n    for i in range(n):\n        xs[i:n] = xs[:2]\n    return 1\n",
    ]


def test_off_by_one_range_start_and_parenthesized_bound():
    src = "def f(a, b):\n    return range(a, b or 3)\n"
    assert rewrites(src, "off_by_one") == [
        "def f(a, b):\n    return range(a, b or 2)\n",
        "def f(a, b):\n    return range(a + 1, b or 3)\n",
        "def f(a, b):\n    return range(a, (b or 3) - 1)\n",
    ]


def test_off_by_one_leaves_hex_literals_alone():
    assert rewrites("def f():\n    return 0xFF\n", "off_by_one") == []


def test_swap_arguments():
    src = "def f(a, b):\n    return g(a, b, key=1), h(a, a)\n"
    assert rewrites(src, "swap_arguments") == ["def f(a, b):\n    return g(b, a, key=1), h(a, a)\n"]


def test_remove_statement_fills_an_emptied_block_with_pass():
    src = 'def f(a):\n    """Doc."""\n    if a:\n        a.x = 1\n    return a\n'
    assert rewrites(src, "remove_statement") == [
        'def f(a):\n    """Doc."""\n    if a:\n        pass\n    return a\n',
        'def f(a):\n    """Doc."""\n    if a:\n        a.x = 1\n',
    ]


def test_remove_statement_skips_pass_ellipsis_and_global():
    src = "def f():\n    global X\n    pass\n    ...\n"
    assert rewrites(src, "remove_statement") == []


def test_remove_branch():
    src = ("def f(x):\n    if x > 1:\n        return 'a'\n    elif x:\n        return 'b'\n    else:\n"
           "        return 'c'\n")
    assert rewrites(src, "remove_branch") == [
        "def f(x):\n    if x > 1:\n        return 'a'\n    elif x:\n        return 'b'\n",
        "def f(x):\n    if x > 1:\n        return 'a'\n    else:\n        return 'c'\n",
    ]


def test_remove_branch_drops_an_if_without_else():
    src = "def f(x):\n    if x:\n        x = 2\n    return x\n"
    assert rewrites(src, "remove_branch") == ["def f(x):\n    return x\n"]


def test_remove_branch_keeps_the_body_valid():
    src = "def f(x):\n    if x:\n        x = 2\n"
    assert rewrites(src, "remove_branch") == ["def f(x):\n    pass\n"]


def test_flip_constant():
    src = "def f():\n    return True, False, None\n"
    assert rewrites(src, "flip_constant") == ["def f():\n    return False, False, None\n",
                                              "def f():\n    return True, True, None\n"]


def test_negate_condition():
    src = "def f(a, b):\n    if a and b:\n        return 1 if not a else 2\n    elif a < b:\n        pass\n"
    assert rewrites(src, "negate_condition") == [
        "def f(a, b):\n    if a and b:\n        return 1 if a else 2\n    elif a < b:\n        pass\n",
        "def f(a, b):\n    if a and b:\n        return 1 if not a else 2\n    elif not (a < b):\n        pass\n",
        "def f(a, b):\n    if not (a and b):\n        return 1 if not a else 2\n    elif a < b:\n        pass\n",
    ]


def test_only_function_bodies_are_touched():
    src = ('X = 1 + 2\n\n\nclass A:\n    Y = True\n\n    @deco(1 < 2)\n    def m(self, a: int = 3, b=True) -> bool:\n'
           '        """1 < 2"""\n        return a\n')
    sites = find_sites(src, "m.py")
    assert [(s.qualname, s.kind) for s in sites] == [("A.m", "remove_statement")]


def test_sites_carry_qualname_line_and_a_stable_key():
    src = "class A:\n    def m(self):\n        def inner():\n            return 1 < 2\n        return inner\n"
    site = find_sites(src, "pkg/m.py", ["flip_comparison"])[0]
    assert (site.qualname, site.line, site.index) == ("A.m.inner", 4, 0)
    assert site.key == "pkg/m.py::A.m.inner::flip_comparison::0"
    assert Site.from_dict(site.to_dict()) == site
    assert site.digest == find_sites(src, "pkg/m.py", ["flip_comparison"])[0].digest


def test_formatting_elsewhere_is_kept_exactly():
    src = "def f(a,b):  # note\n    x  =  a<b\n    return   x\n"
    assert rewrites(src, "flip_comparison") == ["def f(a,b):  # note\n    x  =  a>=b\n    return   x\n"]


def test_apply_site_refuses_a_site_that_is_gone():
    site = find_sites("def f(a):\n    return a < 1\n", "m.py", ["flip_comparison"])[0]
    with pytest.raises(MutationError):
        apply_site("def f(a):\n    return a\n", site)


def test_every_site_of_every_kind_compiles():
    src = ("def f(xs, n=0):\n    total = 0\n    for i in range(len(xs)):\n        if xs[i] > n and i % 2:\n"
           "            total += xs[i] * 2\n        elif not xs[i]:\n            continue\n        else:\n"
           "            total -= 1\n    return max(total, 1) if total >= 0 else None\n")
    sites = find_sites(src, "m.py")
    assert {s.kind for s in sites} == set(KINDS) - {"flip_constant"}
    for site in sites:
        out = apply_site(src, site)
        compile(out, "m.py", "exec")
        assert out != src


def test_order_sites_is_seeded_and_a_permutation():
    src = "".join(f"def f{i}(a, b):\n    return a < b and a + 1 > b\n\n" for i in range(5))
    sites = find_sites(src, "m.py")
    first = order_sites(sites, seed=1)
    assert first == order_sites(list(reversed(sites)), seed=1)
    assert first != order_sites(sites, seed=2)
    assert sorted(first, key=lambda s: s.key) == sorted(sites, key=lambda s: s.key)


def test_order_sites_lets_kinds_take_turns_and_spreads_functions():
    # 5 functions with many literal sites each, one function with the only comparison
    src = "".join(f"def f{i}(a):\n    return [1, 2, 3, 4, 5, 6]\n\n" for i in range(5))
    src += "def g(a, b):\n    return a < b\n"
    order = order_sites(find_sites(src, "m.py", ["off_by_one", "flip_comparison"]), seed=0)
    assert {s.kind for s in order[:2]} == {"off_by_one", "flip_comparison"}  # the rare kind is not starved
    literal_functions = [s.qualname for s in order if s.kind == "off_by_one"]
    assert len(set(literal_functions[:5])) == 5  # each function once before any twice
    assert len(set(literal_functions[5:10])) == 5


def test_package_sites_reports_files_it_cannot_parse(tmp_path):
    (tmp_path / "good.py").write_text("def f(a):\n    return a < 1\n")
    (tmp_path / "bad.py").write_text("def f(:\n")
    sites, skipped = package_sites(tmp_path, ["good.py", "bad.py"], ["flip_comparison"])
    assert [s.file for s in sites] == ["good.py"]
    assert len(skipped) == 1 and skipped[0].startswith("bad.py")
