"""The judge sanity suite's data: ruler-LIKE tasks of our own (none of them is a ruler or holdout task),
each with a ladder of candidate sets whose order is known:

    gold paraphrase > a good set written independently > a generic set > template echoes
                    > near-duplicates > off-topic

The gold, paraphrase, independent and near-duplicate sets are hand-written here. The generic set is one
boilerplate list shared by every task (that is what makes it generic). The template echoes are exactly
what the replay runner answers (`loop.runners.replay_server.generic_answer`). The off-topic set of a
task is the gold of the next task in the list.
"""

from __future__ import annotations

from dataclasses import dataclass

from loop.runners.replay_server import generic_answer
from loop.schemas import Answer, Case

RUNGS = ("paraphrase", "independent", "generic", "template", "near_duplicates", "off_topic")

GENERIC = [
    "How much are you willing to spend?",
    "What is your deadline?",
    "What would a great result look like for you?",
    "Do you have any particular preferences?",
    "Who else should be consulted?",
    "Are there any limitations we should plan around?",
    "Is there anything else you'd like me to know?",
]

TASKS: list[dict] = [
    {
        "id": "s1", "task": "Buy a used car", "title": "Buying a Used Car",
        "gold": [
            "What is the most you want to spend, including taxes and fees?",
            "What will you mainly use the car for, such as commuting or family trips?",
            "How many people do you usually need to seat?",
            "Are you paying in cash or planning to finance?",
            "Do you have a preference between automatic and manual transmission?",
            "How many miles a year do you expect to drive?",
            "Do you have a car to trade in?",
        ],
        "paraphrase": [
            "What's your maximum budget once taxes and fees are included?",
            "What will the car mostly be used for, like commuting or family outings?",
            "How many passengers do you normally need room for?",
            "Will you pay cash or take out a car loan?",
            "Would you rather have an automatic or a manual gearbox?",
            "Roughly how many miles will you drive each year?",
            "Is there a current vehicle you'd like to trade in?",
        ],
        "independent": [
            "How much can you afford as a monthly payment or total price?",
            "Which body style are you leaning toward: sedan, SUV, or hatchback?",
            "How old a car, or how high a mileage, would you accept?",
            "Do you want a certified pre-owned car with a warranty?",
            "Will you buy from a dealer or a private seller?",
            "How important is fuel economy to you?",
            "Do you need the car by a particular date?",
        ],
        "near_duplicates": [
            "What is your budget for the used car?",
            "How much do you want to spend on the car?",
            "What price range are you looking at for the car?",
            "What's the most you'd pay for a used car?",
            "What kind of car do you want?",
            "Which type of car are you looking for?",
            "What sort of car would you like to buy?",
        ],
    },
    {
        "id": "s2", "task": "Plan a cycling holiday in Portugal", "title": "Cycling Holiday in Portugal",
        "gold": [
            "When in the year are you hoping to ride?",
            "How many days do you have for the trip?",
            "How many kilometres a day are you comfortable cycling?",
            "Will you bring your own bike or rent one there?",
            "Do you want a guided tour or to ride on your own?",
            "Which region appeals to you, such as the coast, the Douro valley or the Algarve?",
            "What kind of accommodation do you want at the end of each day?",
        ],
        "paraphrase": [
            "What time of year do you plan to cycle?",
            "How many days can you spend on the trip?",
            "How far can you comfortably ride in a day, in kilometres?",
            "Are you taking your own bike or hiring one locally?",
            "Would you prefer a guided group tour or riding independently?",
            "Which part of Portugal draws you, like the coast, the Douro or the Algarve?",
            "Where would you like to sleep each night?",
        ],
        "independent": [
            "How much hill climbing can you handle in a day?",
            "Are you travelling alone or with a group?",
            "Would you like your luggage transferred between stops?",
            "Do you prefer quiet back roads or dedicated cycle paths?",
            "What is your total budget for the holiday?",
            "Would you like to combine the riding with wine tasting or sightseeing?",
            "Which airport would you fly into?",
        ],
        "near_duplicates": [
            "How many days is the cycling holiday?",
            "How long will the trip last?",
            "How many days will you be cycling in Portugal?",
            "What is the length of your holiday?",
            "What's your budget for the trip?",
            "How much money do you plan to spend?",
            "What budget do you have for the holiday?",
        ],
    },
    {
        "id": "s3", "task": "Start a neighbourhood book club", "title": "Neighbourhood Book Club",
        "gold": [
            "How many members would you like the club to have?",
            "How often do you want to meet?",
            "Where will the meetings take place?",
            "What kinds of books do you want to read together?",
            "How will you choose each month's book?",
            "Do you already know people who want to join?",
            "Should meetings include food or drinks?",
        ],
        "paraphrase": [
            "What size of group are you hoping for?",
            "How frequently should the club get together?",
            "Where do you plan to hold the meetings?",
            "Which genres or types of books should the club read?",
            "How will the group pick the next book?",
            "Are there already neighbours interested in joining?",
            "Do you want snacks or drinks at the meetings?",
        ],
        "independent": [
            "Which day of the week and time suit you for meeting?",
            "Will you meet in person, online, or both?",
            "How will you invite neighbours, for example through flyers or a local group chat?",
            "Do you want one person to lead each discussion?",
            "Should the club be free, or will members share costs?",
            "How long should each meeting last?",
            "What age range do you expect among members?",
        ],
        "near_duplicates": [
            "When will the book club meet?",
            "What day will the club meet?",
            "At what time will you meet?",
            "When are the meetings held?",
            "What books will you read?",
            "Which books will the club read?",
            "What will the members read?",
        ],
    },
    {
        "id": "s4", "task": "Learn to bake sourdough bread", "title": "Learning Sourdough Baking",
        "gold": [
            "Do you already have an active sourdough starter?",
            "How much baking experience do you have?",
            "What equipment do you have, such as a Dutch oven or a kitchen scale?",
            "How much time can you spend on a bake, given the long rises?",
            "What kind of loaf do you want to make, like a crusty boule or a sandwich loaf?",
            "Do you prefer learning from a book, videos or a class?",
            "Do you need to avoid any flours or ingredients?",
        ],
        "paraphrase": [
            "Is there a sourdough starter you already keep going?",
            "How experienced are you with baking bread?",
            "Which tools do you own, for example a Dutch oven or digital scale?",
            "How much time can you set aside for each bake with its long proofing?",
            "Which style of loaf are you aiming for, a rustic boule or a sandwich bread?",
            "Would you rather learn from a book, online videos or an in-person class?",
            "Are there any flours or ingredients you can't use?",
        ],
        "independent": [
            "How warm does your kitchen usually get?",
            "Which flour can you easily buy where you live?",
            "How often would you like to bake?",
            "Do you want to make your own starter from scratch?",
            "Does your oven reach 250 °C?",
            "Are you baking for yourself or for a household?",
            "What has gone wrong when you have tried bread before?",
        ],
        "near_duplicates": [
            "How often will you bake?",
            "How frequently do you plan to bake bread?",
            "How many times a week will you bake?",
            "How regularly do you want to bake?",
            "What flour will you use?",
            "Which flour do you plan to use?",
            "What kind of flour do you have?",
        ],
    },
    {
        "id": "s5", "task": "Throw a retirement party for a colleague", "title": "Colleague's Retirement Party",
        "gold": [
            "When is your colleague's last day at work?",
            "How many guests do you expect?",
            "Who is paying for the party?",
            "Do you want it at the office or at an outside venue?",
            "Would the colleague prefer a big celebration or a quiet gathering?",
            "Should there be speeches during the party?",
            "Does the colleague have any dietary restrictions?",
        ],
        "paraphrase": [
            "What date does your colleague retire?",
            "About how many people will attend?",
            "Who will cover the cost of the party?",
            "Should the party be in the office or at a separate venue?",
            "Would your colleague enjoy a large party or something low-key?",
            "Do you plan to have speeches at the event?",
            "Are there foods your colleague cannot eat?",
        ],
        "independent": [
            "Is the party meant to be a surprise?",
            "Should family members of the colleague be invited?",
            "What does your colleague enjoy outside work?",
            "Would you like a shared gift from the team?",
            "What time of day suits most of the team?",
            "How much can the team spend in total?",
            "Who will help you organise it?",
        ],
        "near_duplicates": [
            "Where will the party be?",
            "Where is the party taking place?",
            "What venue will you use for the party?",
            "Where should we hold it?",
            "When is the party?",
            "What date is the party?",
            "When will the party happen?",
        ],
    },
]


@dataclass(frozen=True)
class Ladder:
    case: Case
    sets: dict[str, Answer]  # rung name -> candidate set, best first in RUNGS order


def ladders() -> list[Ladder]:
    out = []
    for i, task in enumerate(TASKS):
        gold = Answer(title=task["title"], questions=task["gold"])
        following = TASKS[(i + 1) % len(TASKS)]
        sets = {
            "paraphrase": Answer(title=task["title"], questions=task["paraphrase"]),
            "independent": Answer(title=task["title"], questions=task["independent"]),
            "generic": Answer(title=task["title"], questions=GENERIC),
            "template": Answer.model_validate(generic_answer(task["task"])),
            "near_duplicates": Answer(title=task["title"], questions=task["near_duplicates"]),
            "off_topic": Answer(title=following["title"], questions=following["gold"]),
        }
        out.append(Ladder(case=Case(id=task["id"], task=task["task"], gold=gold), sets=sets))
    return out


def ladder_pairs(scores: dict[str, dict[str, float]]) -> tuple[int, int, list[str]]:
    """(pairs ordered strictly right, pairs in all, the wrong ones) over {case id: {rung: contribution}}."""
    right, total, wrong = 0, 0, []
    for case_id, by_rung in scores.items():
        for i, better in enumerate(RUNGS):
            for worse in RUNGS[i + 1:]:
                total += 1
                if by_rung[better] > by_rung[worse]:
                    right += 1
                else:
                    wrong.append(f"{case_id}: {better} {by_rung[better]:.3f} <= {worse} {by_rung[worse]:.3f}")
    return right, total, wrong
