"""The site's forms; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, EqualTo, Length, NumberRange, Optional, Regexp

from .models import LatePolicy, Role

EMAIL_SHAPE = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


class SignUpForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    email = EmailField(
        _l("Email"), validators=[DataRequired(), Length(max=254), Regexp(EMAIL_SHAPE, message=_l("Enter an email address."))]
    )
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200, message=_l("Use 8 to 200 characters."))])
    confirm = PasswordField(_l("Repeat the password"), validators=[EqualTo("password", message=_l("The two passwords differ."))])


class SignInForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])


class SubmitForm(FlaskForm):
    # Not DataRequired: an empty or blank file gets its own message from the view, with a 400.
    source = TextAreaField(_l("Your code"))
    client_token = HiddenField(validators=[DataRequired(), Length(max=64)])


class ExerciseSettingsForm(FlaskForm):
    published = BooleanField(_l("Published: students see it and can submit"))
    deadline = DateTimeLocalField(_l("Deadline (UTC)"), validators=[Optional()], format="%Y-%m-%dT%H:%M")
    late_policy = SelectField(
        _l("After the deadline"),
        choices=[SelectChoice(LatePolicy.PENALTY.value, _l("accept, with a penalty")), SelectChoice(LatePolicy.REFUSE.value, _l("refuse"))],
    )
    late_penalty = IntegerField(_l("Penalty on late submissions (%)"), default=0, validators=[NumberRange(0, 100)])


class ActionForm(FlaskForm):
    """A button that changes something: only its CSRF token."""


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=[SelectChoice(role.value, role.value) for role in Role])


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=80)])
