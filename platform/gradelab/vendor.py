"""Browser libraries installed from npm by `make setup`, served from node_modules as they were published."""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, abort, current_app, send_from_directory
from werkzeug.wrappers import Response

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

# Only the built files of the packages in platform/package.json; nothing else under node_modules.
SERVED = {
    "ace-builds": "src-min-noconflict",
    "chart.js": "dist",
    "htmx.org": "dist",
    "katex": "dist",
}


@bp.get("/<package>/<path:filename>")
def asset(package: str, filename: str) -> Response:
    if package not in SERVED:
        abort(404)
    folder = Path(current_app.config["VENDOR_DIR"]) / package / SERVED[package]
    return send_from_directory(folder, filename, max_age=7 * 24 * 3600)


def missing_assets(vendor_dir: str) -> list[str]:
    """The npm packages that `make setup` has not installed yet."""
    return [package for package, folder in SERVED.items() if not (Path(vendor_dir) / package / folder).is_dir()]
