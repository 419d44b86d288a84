"""Training rows are the ids the engine read and wrote; merged only where the prompt extends the row."""

import pytest

from agentforge.training.rl.sample import Turn, rows_of


def test_a_turn_whose_prompt_extends_the_row_is_merged_with_the_gap_masked():
    first = Turn([1, 2, 3], [4, 5], [-0.1, -0.2])
    second = Turn([1, 2, 3, 4, 5, 6, 7], [8], [-0.3])  # 6, 7: a tool result the model did not write
    [row] = rows_of([first, second])
    assert row.input_ids == [1, 2, 3, 4, 5, 6, 7, 8]
    assert row.loss_mask == [0, 0, 0, 1, 1, 0, 0, 1]
    assert row.infer_logprobs == [0, 0, 0, -0.1, -0.2, 0, 0, -0.3]


def test_a_turn_that_does_not_extend_the_row_starts_a_new_one_never_retokenized():
    first = Turn([1, 2, 3], [4, 5], [-0.1, -0.2])
    second = Turn([1, 2, 3, 4, 9, 6], [8], [-0.3])  # the template rendered the reply differently (9, not 5)
    rows = rows_of([first, second])
    assert [r.input_ids for r in rows] == [[1, 2, 3, 4, 5], [1, 2, 3, 4, 9, 6, 8]]
    assert [r.loss_mask for r in rows] == [[0, 0, 0, 1, 1], [0, 0, 0, 0, 0, 0, 1]]


def test_ids_and_logprobs_must_pair():
    with pytest.raises(ValueError, match="logprobs"):
        Turn([1], [2, 3], [-0.5])
