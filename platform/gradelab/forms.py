"""The site's forms; every one carries a CSRF token (Flask-WTF)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, HiddenField, PasswordField, StringField, TextAreaField
from wtforms.validators import DataRequired, EqualTo, Length, Regexp

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
