"""The case page renders its forms from the access table: every case action it lists needs a
console form, or people could do on the API what the console silently hides."""

from api.console.forms import ELSEWHERE_IN_THE_CONSOLE, FORMS, NOT_IN_THE_CONSOLE
from workflows.access import CASE_ACTIONS


def test_every_case_action_of_the_access_table_has_a_console_form():
    missing = [
        a.value
        for a in CASE_ACTIONS
        if a not in FORMS and a not in NOT_IN_THE_CONSOLE and a not in ELSEWHERE_IN_THE_CONSOLE
    ]
    assert missing == [], f"add a Form to api/console/forms.py for: {', '.join(missing)}"
