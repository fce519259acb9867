"""The student's way through the site in a real browser: Debian's Chromium driven by Playwright.

Screenshots of each page go to test-artifacts/screenshots/ (not committed).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradelab.queue import grading_queue
from playwright.sync_api import Browser, Page, expect, sync_playwright
from flask import Flask
from site_helpers import give_role, make_app
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
# Chromium on a machine without network: no background connections, no sandbox as root.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SEED = (ROOT / "exercises/linear/solutions/seed.py").read_text()
NO_ZERO_GRAD = (ROOT / "exercises/linear/mistakes/no_zero_grad.py").read_text()


@pytest.fixture(scope="module")
def site_app(tmp_path_factory, pool) -> Iterator[Flask]:
    app = make_app(tmp_path_factory.mktemp("site"), pool)
    yield app
    grading_queue(app).close()


@pytest.fixture(scope="module")
def site(site_app: Flask) -> Iterator[str]:
    server = make_server("127.0.0.1", 0, site_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# Runs before any script of a page, outside its Content-Security-Policy: it reports every violation.
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) =>
  console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile}:${e.lineNumber}`));
"""


def is_csp_violation(text: str) -> bool:
    return "CSP violation" in text or "Content Security Policy" in text


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="en-US")
    context.add_init_script(REPORT_CSP_VIOLATIONS)
    page = context.new_page()
    errors: list[str] = []
    violations: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: violations.append(message.text) if is_csp_violation(message.text) else None)
    yield page
    context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"
    assert violations == [], f"the Content-Security-Policy blocked parts of the page: {violations}"


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_up(page: Page, site: str, email: str) -> None:
    page.goto(f"{site}/signup")
    page.get_by_label("Name").fill("Grace")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password", exact=True).fill("a long enough password")
    page.get_by_label("Repeat the password").fill("a long enough password")
    screenshot(page, "signup")
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("heading", name="Exercises")).to_be_visible()


def write_in_editor(page: Page, source: str) -> None:
    """Select the starter in the Ace editor and type the new code over it, as a paste."""
    page.locator("#editor .ace_content").click()
    page.keyboard.press("Control+A")
    page.keyboard.insert_text(source)
    assert page.evaluate("window.gradelabEditor.getValue()") == source
    assert page.locator("#source").input_value() == source  # what the form will send


def submit_and_wait(page: Page) -> float:
    """Click Submit; seconds until the graded result is on screen, without a reload."""
    started = time.perf_counter()
    page.get_by_role("button", name="Submit").click()
    expect(page.locator("#status")).to_have_attribute("data-status", "graded", timeout=60_000)
    return time.perf_counter() - started


def test_a_new_student_solves_linear_and_sees_the_plot(page: Page, site: str):
    sign_up(page, site, "grace@example.com")
    screenshot(page, "exercises")
    page.get_by_role("link", name="Linear model ŷ = x·w").click()
    expect(page.locator("#statement .katex").first).to_be_visible()  # KaTeX rendered the math
    expect(page.locator("#editor .ace_content")).to_contain_text("def forward(x):")  # the starter
    screenshot(page, "exercise")
    write_in_editor(page, SEED)
    submit_and_wait(page)
    expect(page.locator("#score")).to_have_text("100 / 100")
    expect(page.locator("#report")).to_contain_text("Every check passes.")
    expect(page.locator("#loss-chart")).to_be_visible()
    drawn = page.evaluate("Chart.getChart('loss-chart').data.datasets.map(d => d.data.length)")
    assert drawn[0] == drawn[1] > 0  # the reference and the student, step by step
    screenshot(page, "submission-full-marks")
    page.goto(f"{site}/")
    expect(page.locator("table.exercises")).to_contain_text("100/100")


def test_a_buggy_submission_shows_its_diagnosis(page: Page, site: str):
    sign_up(page, site, "linus@example.com")
    page.goto(f"{site}/exercises/linear")
    write_in_editor(page, NO_ZERO_GRAD)
    submit_and_wait(page)
    expect(page.locator(".diagnoses")).to_contain_text("missing_zero_grad")
    expect(page.locator(".diagnoses")).to_contain_text("The gradient of w keeps growing")
    expect(page.locator("#first-divergence")).to_contain_text("step 2")
    screenshot(page, "submission-diagnosis")


def test_switching_to_chinese(page: Page, site: str):
    sign_up(page, site, "mei@example.com")
    page.goto(f"{site}/exercises/linear")
    page.locator("#switch-language").click()
    expect(page.get_by_role("button", name="提交")).to_be_visible()
    expect(page.locator("#statement")).to_contain_text("线性模型")
    expect(page.locator("html")).to_have_attribute("lang", "zh-Hans")
    screenshot(page, "exercise-zh")
    page.locator("#switch-language").click()
    expect(page.get_by_role("button", name="Submit")).to_be_visible()


def test_the_instructor_dashboard(page: Page, site: str, site_app: Flask):
    sign_up(page, site, "student-for-dashboard@example.com")
    page.goto(f"{site}/exercises/linear")
    write_in_editor(page, NO_ZERO_GRAD)
    submit_and_wait(page)
    page.get_by_role("button", name="Sign out").click()
    sign_up(page, site, "teacher@example.com")
    give_role(site_app, "teacher@example.com", "instructor")

    page.goto(f"{site}/")
    page.locator("#nav-dashboard").click()
    expect(page.locator("#exercise-summary")).to_contain_text("Linear model")
    screenshot(page, "instructor-dashboard")
    page.get_by_role("link", name="Gradebook").click()
    expect(page.locator('#gradebook tr[data-email="student-for-dashboard@example.com"] td.cell[data-slug="linear"]')).to_contain_text("45 · 45 · 1")
    screenshot(page, "instructor-gradebook")
    page.goto(f"{site}/instructor/exercises/linear")
    expect(page.locator("#diagnosis-counts")).to_contain_text("missing_zero_grad")
    bars = page.evaluate("Chart.getChart('histogram-chart').data.datasets[0].data")
    assert sum(bars) >= 1  # students by best score, drawn
    screenshot(page, "instructor-exercise")
    page.get_by_role("link", name="Browse the submissions of this exercise").click()
    page.locator("#submission-list tbody a").first.click()
    expect(page.locator("#status")).to_have_attribute("data-status", "graded")
    expect(page.locator("#loss-chart")).to_be_visible()
    screenshot(page, "instructor-submission")
    page.get_by_role("button", name="Regrade").click()
    expect(page.locator("#status .timeline")).to_contain_text("regrade requested by Grace")
    expect(page.locator("#status")).to_have_attribute("data-status", "graded", timeout=60_000)  # updated in place
    page.reload()
    expect(page.locator("#gradings tbody tr")).to_have_count(2)  # the first grading is kept
