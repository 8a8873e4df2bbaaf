"""The proxy's form rules read text through the one normaliser (loop.textnorm.fold): disguises of a
compound or badly formed question are judged as the question they spell."""

from loop.judges.proxy_rules import is_atomic, naturalness, topic_kind

COMPOUND = "What is your budget, and when do you want to travel?"


def test_a_zero_width_space_after_every_space_does_not_make_a_compound_question_atomic():
    disguised = COMPOUND.replace(" ", " \u200b")
    assert is_atomic(COMPOUND) == 0.0
    assert is_atomic(disguised) == 0.0


def test_look_alike_letters_do_not_hide_the_second_ask_or_the_interrogative():
    cyrillic = COMPOUND.replace("and", "\u0430nd").replace("when", "wh\u0435n")
    assert is_atomic(cyrillic) == 0.0
    assert naturalness("\u0421\u0430n you share the budget?") == naturalness("Can you share the budget?") == 1.0


def test_topic_kinds_see_through_disguises():
    assert topic_kind("What is your b\u200bu\u200bd\u200bg\u200be\u200bt?") == "budget/cost"
