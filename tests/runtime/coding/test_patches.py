"""normalize_patch: equivalent diffs compare equal, different ones do not."""

from __future__ import annotations

from agentforge.runtime.coding import normalize_patch

A = """diff --git a/calc.py b/calc.py
index 1111111..2222222 100644
--- a/calc.py
+++ b/calc.py
@@ -1,2 +1,2 @@ def add(a, b):
 def add(a, b):
-    return a - b
+    return a + b
"""
B = """diff --git a/util.py b/util.py
new file mode 100644
index 0000000..3333333
--- /dev/null
+++ b/util.py
@@ -0,0 +1 @@
+X = 1
"""


def test_index_lines_hunk_numbers_whitespace_and_order_do_not_matter():
    other = (B.replace("3333333", "4444444") + A.replace("index 1111111..2222222", "index aaaaaaa..bbbbbbb")
             .replace("@@ -1,2 +1,2 @@ def add(a, b):", "@@ -10,2 +10,2 @@").replace("a + b\n", "a + b   \n"))
    assert normalize_patch(A + B) == normalize_patch(other)
    assert normalize_patch(A + B).count("diff --git") == 2


def test_different_changes_differ():
    assert normalize_patch(A) != normalize_patch(A.replace("a + b", "b + a"))
    assert normalize_patch(A) != normalize_patch(A + B)


def test_plain_unified_diffs_drop_timestamps():
    one = "--- calc.py\t2024-01-01 10:00:00\n+++ calc.py\t2024-01-01 10:01:00\n@@ -1 +1 @@\n-x\n+y\n"
    two = "--- calc.py\t2025-05-05 12:00:00\n+++ calc.py\t2025-05-05 12:00:01\n@@ -7 +7 @@\n-x\n+y\n"
    assert normalize_patch(one) == normalize_patch(two) == "--- calc.py\n+++ calc.py\n@@\n-x\n+y\n"


def test_empty_patches():
    assert normalize_patch("") == normalize_patch("\n  \n") == ""
