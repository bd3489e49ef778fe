import unicodedata

import pytest

from kv_api.domain.errors import InvalidField
from kv_api.domain.users import Email, PasswordPolicy, PersonName, Username


def problems_of(exc: pytest.ExceptionInfo[InvalidField]) -> dict[str, list[str]]:
    return exc.value.fields


class TestUsername:
    @pytest.mark.parametrize("name", ["ab", "a" * 64, "John.Doe-1_x", "__", "9.9", "A-"])
    def test_accepts_2_to_64_of_letters_digits_dot_dash_underscore(self, name: str) -> None:
        assert Username(name).value == name

    @pytest.mark.parametrize(
        "name",
        ["", "a", "a" * 65, "ab cd", "user@x", "ab/c", "юзер", "ab\n", "\tab", "ab\u0661", "a+b"],
    )
    def test_rejects_anything_else(self, name: str) -> None:
        with pytest.raises(InvalidField) as exc:
            Username(name)
        assert list(problems_of(exc)) == ["username"]
        assert exc.value.code == "validation_error"

    def test_normalised_form_is_casefolded(self) -> None:
        assert Username("John.DOE").normalized == "john.doe"
        assert Username("John.DOE").value == "John.DOE"


class TestEmail:
    @pytest.mark.parametrize(
        "address",
        [
            "user@example.com",
            "first.last+tag@sub.example.co.uk",
            "a@b.io",
            "x_y-z@xn--80ak6aa92e.com",
            "o'neil@example.org",
        ],
    )
    def test_accepts_valid_addresses(self, address: str) -> None:
        assert Email(address).value == address

    @pytest.mark.parametrize(
        "address",
        [
            "",
            "user",
            "user@",
            "@example.com",
            "user@example",
            "user @example.com",
            "user@@example.com",
            "user@-example.com",
            "user@example-.com",
            "user@exa_mple.com",
            "user@example..com",
            "user@example.com\n",
            "us\x00er@example.com",
            "a" * 65 + "@example.com",
        ],
    )
    def test_rejects_invalid_addresses(self, address: str) -> None:
        with pytest.raises(InvalidField) as exc:
            Email(address)
        assert list(problems_of(exc)) == ["email"]

    def test_total_length_is_at_most_254(self) -> None:
        domain = ".".join(["d" * 63] * 3) + ".com"
        local = "u" * (254 - len(domain) - 1)
        assert len(Email(f"{local}@{domain}").value) == 254
        with pytest.raises(InvalidField):
            Email(f"{local}u@{domain}")


class TestPersonName:
    @pytest.mark.parametrize(
        "name",
        [
            "X",
            "Anna",
            "Mary Jane",
            "O'Brien",
            "Jean-Luc",
            "Ёжик",
            "Zoë",
            "a" * 64,
            unicodedata.normalize("NFD", "José"),
            "प्रिया",
        ],
    )
    def test_accepts_letters_spaces_dashes_apostrophes(self, name: str) -> None:
        assert PersonName(name).value == name

    @pytest.mark.parametrize(
        "name",
        ["", "a" * 65, "R2D2", "Anna_", "Anna!", "Anna\n", "-", "'", "   ", "x²", "Ⅻ", "\u0301a"],
    )
    def test_rejects_anything_else(self, name: str) -> None:
        with pytest.raises(InvalidField) as exc:
            PersonName(name)
        assert list(problems_of(exc)) == ["name"]

    def test_error_names_the_field_it_was_given(self) -> None:
        with pytest.raises(InvalidField) as exc:
            PersonName("R2D2", "last_name")
        assert list(problems_of(exc)) == ["last_name"]


class TestPasswordPolicy:
    @pytest.mark.parametrize("length", [8, 9, 127, 128])
    def test_accepts_8_to_128_characters(self, length: int) -> None:
        assert PasswordPolicy().problems("p" * length, "alice") == []

    @pytest.mark.parametrize("length", [0, 7, 129, 1000])
    def test_rejects_other_lengths(self, length: int) -> None:
        assert PasswordPolicy().problems("p" * length, "alice") == ["must be 8-128 characters"]

    def test_length_counts_characters_not_bytes(self) -> None:
        assert PasswordPolicy().problems("ЖЩЮЯЖЩЮЯ", None) == []

    @pytest.mark.parametrize("password", ["alice.smith", "ALICE.SMITH", "Alice.Smith"])
    def test_rejects_the_username_in_any_case(self, password: str) -> None:
        problems = PasswordPolicy().problems(password, "alice.Smith")
        assert problems == ["must not equal the username"]

    def test_without_a_username_only_length_matters(self) -> None:
        assert PasswordPolicy().problems("alice.smith", None) == []

    def test_reports_every_problem_at_once(self) -> None:
        assert PasswordPolicy().problems("bob", "BOB") == [
            "must be 8-128 characters",
            "must not equal the username",
        ]

    def test_composition_is_not_required_by_default(self) -> None:
        assert PasswordPolicy().problems("aaaaaaaa", None) == []

    @pytest.mark.parametrize(
        ("password", "missing"),
        [
            ("AAAA1111!!", "must contain a lowercase letter"),
            ("aaaa1111!!", "must contain an uppercase letter"),
            ("aaaaAAAA!!", "must contain a digit"),
            ("aaaaAAAA11", "must contain a special character"),
        ],
    )
    def test_composition_rules_apply_when_enabled(self, password: str, missing: str) -> None:
        policy = PasswordPolicy(require_composition=True)
        assert policy.problems(password, None) == [missing]

    def test_composition_lists_every_missing_class(self) -> None:
        policy = PasswordPolicy(require_composition=True)
        assert policy.problems("aaaaaaaa", None) == [
            "must contain an uppercase letter",
            "must contain a digit",
            "must contain a special character",
        ]

    def test_composed_password_passes(self) -> None:
        policy = PasswordPolicy(require_composition=True)
        assert policy.problems("Corr3ct horse", None) == []

    def test_check_raises_with_every_problem_under_the_given_field(self) -> None:
        with pytest.raises(InvalidField) as exc:
            PasswordPolicy().check("bob", "bob", field="new_password")
        assert problems_of(exc) == {
            "new_password": ["must be 8-128 characters", "must not equal the username"]
        }

    def test_check_passes_a_good_password(self) -> None:
        PasswordPolicy().check("correct-horse", "alice")
