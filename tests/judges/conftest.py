"""Shared fixtures for judge tests: a small hand-written case (not ruler data)."""

from __future__ import annotations

import pytest

from loop.schemas import Answer, Case

GOLD = Answer(
    title="Paris Trip Plan",
    questions=[
        "When are you planning to travel to Paris?",
        "How many nights will you stay?",
        "What is your total budget for the trip, including flights?",
        "Who is coming with you?",
        "Which neighbourhood would you like to stay in?",
        "Which museums or landmarks are must-sees for you?",
        "Do you have any mobility needs we should plan around?",
    ],
)
GOOD = Answer(
    title="A Trip to Paris",
    questions=[
        "Which dates are you thinking of for Paris?",
        "How long do you want to stay in Paris?",
        "How much money can you spend on the whole trip?",
        "Are you travelling alone or with others?",
        "What kind of area do you want your hotel in?",
        "Which sights in Paris matter most to you?",
        "Does anyone in your group have trouble walking long distances?",
    ],
)
UNRELATED = Answer(
    title="Aquarium",
    questions=[
        "What size of tank do you have room for?",
        "Do you want freshwater or saltwater fish?",
        "Which fish species do you like?",
        "How often can you clean the tank?",
        "Is the tank for a child?",
        "Do you already own a filter?",
        "Where in the house will the tank stand?",
    ],
)


@pytest.fixture
def case() -> Case:
    return Case(id="c1", task="Plan a trip to Paris", gold=GOLD)


@pytest.fixture
def good() -> Answer:
    return GOOD


@pytest.fixture
def unrelated() -> Answer:
    return UNRELATED
