"""``flask push check``'s engine: what can be verified about an app's pushes without
requesting its pages.

Every manifest the app uses and every ``{% push %}`` with constant arguments are checked for
validity, for local assets that do not exist, and against the header budget. It runs in a
request context for the app's root (``APPLICATION_ROOT``, ``SERVER_NAME``), so that asset
names resolve as a request's do, and the budget is computed by the pipeline that builds
the served header (:mod:`..pipeline`), from what is known without running views: the
templates' constant pushes and the manifests.
"""

from __future__ import annotations

import contextlib
import difflib
import logging
import os
import warnings
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from flask import Flask
from jinja2 import TemplateSyntaxError
from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.security import safe_join

from .. import resolver
from ..attributes import attribute_typos
from ..decorator import view_manifest_path
from ..errors import ManifestError, PushError, PushWarning
from ..jinja_ext import static_pushes
from ..manifest import Manifest, line_of, load_manifest
from ..pipeline import (
    collect_links,
    fit_links,
    header_candidates,
    header_size,
    left_out,
    prepare,
)
from ..pushes import AssetPush, UnresolvableAsset
from ..recording import PageRecord
from ..resolver import RequestUrls
from ..settings import unknown_keys
from ..state import PushState, get_state
from ..uri import is_url

APP_MANIFEST_USER = "PUSH_MANIFEST"


def display_path(path: str) -> str:
    """``path`` relative to the working directory when it is below it, else absolute."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


@dataclass
class CheckReport:
    problems: list[str] = field(default_factory=list)
    manifests: int = 0
    entries: int = 0
    templates: int = 0
    pushes: int = 0
    #: The largest header a page could get: (bytes, links, what gets it).
    largest: tuple[int, int, str] = (0, 0, "")


def check_app(app: Flask) -> CheckReport:
    """Check the app's manifests and templates."""
    report = CheckReport()
    # Templates compile during the check, and the tag warns about misspelled attributes:
    # the check reports those itself (_check_template), once.
    with (
        warnings.catch_warnings(),
        guard(report, "flask push check"),
        app.test_request_context(),
        _reported_as_problems(),
    ):
        warnings.simplefilter("ignore", PushWarning)
        checker = _Checker(app, report)
        for step in (
            checker.check_settings,
            checker.check_manifests,
            checker.check_vite_manifest,
            checker.check_templates,
            checker.check_budgets,
        ):
            with guard(report, "flask push check"):
                step()
    return report


@contextmanager
def guard(report: CheckReport, where: str) -> Iterator[Outcome]:
    """Check one item: an exception raised meanwhile becomes its one problem line, and the
    code after the ``with`` goes on with the next item (the outcome says it failed).

    A :class:`~..errors.PushError` says what is wrong in its message; anything else is
    unexpected (a bug here or in the app), so its type is named too.
    """
    outcome = Outcome()
    try:
        yield outcome
    except Exception as error:
        outcome.failed = True
        detail = (
            str(error) if isinstance(error, PushError) else f"unexpected {describe_error(error)}"
        )
        report.problems.append(f"{where}: {detail}")


@dataclass
class Outcome:
    """Whether the item checked under :func:`guard` raised."""

    failed: bool = False


def describe_error(error: BaseException) -> str:
    """``error`` as one line: its type, and its message when it has one."""
    message = " ".join(str(error).split())
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


@contextlib.contextmanager
def _reported_as_problems() -> Iterator[None]:
    """Silences the resolver's log of pushes left out for an unknown endpoint: the check
    lists each of them as a problem, with its file and line."""
    logger = logging.getLogger(resolver.__name__)
    # A Filter named after no logger lets no record through.
    muted = logging.Filter("muted while flask push check runs")
    logger.addFilter(muted)
    try:
        yield
    finally:
        logger.removeFilter(muted)


def manifests_in_use(app: Flask) -> dict[str, list[str]]:
    """The absolute path of every manifest the app uses, with who uses it."""
    users: dict[str, list[str]] = {}
    app_manifest = get_state(app).manifest_path
    if app_manifest is not None:
        users.setdefault(app_manifest, []).append(APP_MANIFEST_USER)
    for endpoint, view in sorted(app.view_functions.items()):
        path = view_manifest_path(app, view)
        if path is not None:
            users.setdefault(path, []).append(f"@http2push on view {endpoint!r}")
    return users


class _Checker:
    def __init__(self, app: Flask, report: CheckReport) -> None:
        self.app = app
        self.state: PushState = get_state(app)
        self.report = report
        self.urls = self.state.resolver.for_request()
        #: The resolvers a bare name may be built by: with a relative static endpoint
        #: (``.static``) a template may be rendered by any blueprint, so each one's.
        self.candidates = _candidate_urls(app, self.state, self.urls)
        self.urls = self.candidates[0]
        self.locator = AssetLocator(app)
        self.manifests: dict[str, Manifest] = {}
        self.template_names = sorted(app.jinja_env.list_templates())
        #: Constant pushes by template name, from templates that parse.
        self.static_pushes: dict[str, list[AssetPush]] = {}

    def problem(self, message: str) -> None:
        self.report.problems.append(message)

    def guard(self, where: str) -> AbstractContextManager[Outcome]:
        return guard(self.report, where)

    # --- settings -------------------------------------------------------------------------

    def check_settings(self) -> None:
        """The ``PUSH_*`` keys that are no setting (init_app warned about them too)."""
        for typo in unknown_keys(self.app.config):
            self.problem(f"app.config: {typo}")

    # --- manifests ------------------------------------------------------------------------

    def check_manifests(self) -> None:
        app_manifest = self.state.manifest_path
        for path, users in sorted(manifests_in_use(self.app).items()):
            self.report.manifests += 1
            where = f"push manifest {display_path(path)}"
            with self.guard(where):
                self._check_manifest(path, where, path == app_manifest, users)

    def _check_manifest(
        self, path: str, where: str, is_app_manifest: bool, users: list[str]
    ) -> None:
        try:
            manifest = load_manifest(path)
        except ManifestError as error:
            self.problem(str(error).replace(path, display_path(path), 1))
            return
        self.manifests[path] = manifest
        text = _read_text(path)
        for entry in manifest.entries:
            self._check_entry(where, text, entry, None)
        for group, entries in sorted(manifest.groups.items()):
            self._check_group(where, text, group, is_app_manifest, users)
            for entry in entries:
                self._check_entry(where, text, entry, group)

    def _check_group(
        self, where: str, text: str, group: str, is_app_manifest: bool, users: list[str]
    ) -> None:
        line = line_of(text, group)
        where_line = f"{where}, line {line}" if line else where
        if not is_app_manifest:
            # The decorator applies a manifest's flat entries only (headers.collect_links).
            self.problem(
                f"{where_line}: group {group!r} is ignored: {', '.join(users)} applies only "
                "flat entries; set PUSH_MANIFEST to this file for per-template groups"
            )
        elif group not in self.template_names:
            close = difflib.get_close_matches(group, self.template_names, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            self.problem(
                f"{where_line}: group {group!r} names no template of the app "
                f"(renamed or deleted?){hint}"
            )

    def _missing_asset(self, push: AssetPush) -> str | None:
        """Why the file of a push of a single file is missing, or ``None``: it exists for
        one of :attr:`candidates`, or is not local."""
        reasons: list[str] = []
        for urls in self.candidates:
            try:
                url = urls.asset_url(push)
                if not is_url(push.asset) and urlsplit(url).netloc:
                    # A CDN's URL of a file the app serves too: look for the app's copy.
                    url = urls.origin_url(push)
            except UnresolvableAsset as error:
                # Also what a CDN builder that reads the file says when it is missing.
                reasons.append(self._missing_origin_file(urls, push) or error.reason)
                continue
            missing = self.locator.missing(url)
            if missing is None:
                return None
            reasons.append(missing)
        return reasons[0]

    def _missing_origin_file(self, urls: RequestUrls, push: AssetPush) -> str | None:
        try:
            return self.locator.missing(urls.origin_url(push))
        except UnresolvableAsset:
            return None

    def _check_entry(self, where: str, text: str, entry: AssetPush, group: str | None) -> None:
        self.report.entries += 1
        line = line_of(text, entry.asset, after=group)
        where_line = f"{where}, line {line}" if line else where
        of_group = f" of {group!r}" if group is not None else ""
        where_entry = f"{where_line}: entry {entry.asset!r}{of_group}"
        for typo in attribute_typos(name for name, _ in entry.attributes):
            self.problem(f"{where_entry}: {typo}")
        with self.guard(where_entry):
            missing = self._missing_asset(entry)
            if missing is not None:
                self.problem(f"{where_entry}: {missing}")

    def check_vite_manifest(self) -> None:
        """``PUSH_VITE_MANIFEST`` must be a valid manifest (its entries are checked where
        templates push them)."""
        build = self.state.vite
        if build is None:
            return
        self.report.manifests += 1
        try:
            self.report.entries += len(build.load().entries())
        except ManifestError as error:
            self.problem(self._vite_message(str(error)))

    def _vite_message(self, message: str) -> str:
        """``message`` with the Vite manifest's path as the other messages show paths."""
        build = self.state.vite
        if build is None:
            return message
        return message.replace(build.manifest_path, display_path(build.manifest_path))

    def _missing_pushes(self, push: AssetPush) -> Iterator[str]:
        """Why the files of a constant push are missing: its own, or its Vite entry's."""
        build = self.state.vite
        manifest = build.manifest(self.app.jinja_env.auto_reload) if build is not None else None
        for each in self.urls.expand(push):
            missing = self._missing_asset(each)
            if missing is None:
                continue
            if each == push and manifest is not None and manifest.close_match(push.asset):
                # Not a static file, but a misspelled entry.
                yield self._vite_message(manifest.unknown_entry(push.asset))
            else:
                yield missing

    # --- templates ------------------------------------------------------------------------

    def check_templates(self) -> None:
        env = self.app.jinja_env
        if env.loader is None:
            return
        for name in self.template_names:
            try:
                source, filename, _ = env.loader.get_source(env, name)
            except (UnicodeDecodeError, OSError):
                continue  # not a text file (an image kept beside the templates)
            self.report.templates += 1
            where = display_path(filename) if filename else name
            with self.guard(where):
                self._check_template(name, source, filename, where)

    def _check_template(self, name: str, source: str, filename: str | None, where: str) -> None:
        # The tag warns about misspelled attributes as it compiles (jinja_ext._warn_typos):
        # here each warning is the template's problem.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", PushWarning)
            try:
                tree = self.app.jinja_env.parse(source, name, filename)
            except TemplateSyntaxError as error:
                # Includes every constant push that build_link refuses: the tag raises then.
                message = self._vite_message(error.message or "")
                self.problem(f"{where}, line {error.lineno}: {message}")
                return
        for warning in caught:
            if issubclass(warning.category, PushWarning):
                self.problem(f"{where}, line {warning.lineno}: {warning.message}")
            else:  # not ours to report: as if it had not been caught
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        pushes = self.static_pushes.setdefault(name, [])
        for lineno, push in static_pushes(tree):
            self.report.pushes += 1
            where_push = f"{where}, line {lineno}: push of {push.asset!r}"
            with self.guard(where_push) as outcome:
                # First what the budgets need: a push that cannot be resolved fails here
                # once, and is left out of them.
                self.urls.push_links(push)
                for missing in self._missing_pushes(push):
                    self.problem(f"{where_push}: {missing}")
            if not outcome.failed:
                pushes.append(push)

    # --- budgets --------------------------------------------------------------------------

    def check_budgets(self) -> None:
        """Each template's links and each decorated view's, against the configured budget.

        A template's links are what the pipeline gives a page that renders it and pushes
        every constant ``{% push %}`` of it and of what it extends or includes: without the
        view's own pushes and the dynamic ones, which only ``flask push show URL`` sees.
        """
        for name in self.template_names:
            if name in self.static_pushes:
                with self.guard(f"template {name!r}"):
                    page = self._page(templates=[name])
                    for template in self.state.templates.closure(self.app.jinja_env, [name]):
                        for push in self.static_pushes.get(template, ()):
                            page.links.update(self.urls.push_links(push))
                    self._check_budget(f"template {name!r}", page)
        for path, users in sorted(manifests_in_use(self.app).items()):
            views = [user for user in users if user != APP_MANIFEST_USER]
            if path in self.manifests and views:
                what = ", ".join(views)
                with self.guard(what):
                    self._check_budget(what, self._page(view_manifests=[path]))

    def _page(
        self, templates: list[str] | None = None, view_manifests: list[str] | None = None
    ) -> PageRecord:
        return PageRecord.predicted(self.state, templates or [], view_manifests or [])

    def _check_budget(self, what: str, page: PageRecord) -> None:
        settings = self.state.settings
        links = collect_links(self.app, self.state, page)
        candidates = header_candidates(links, self.state)
        candidates = prepare(candidates, self.state, pushed_before=None, nonce=False)
        size = header_size(candidates)
        if size > self.report.largest[0]:
            self.report.largest = (size, len(candidates), what)
        kept = fit_links(candidates, settings.max_links, settings.max_header_bytes)
        if len(kept) == len(candidates):
            return
        dropped = [link.url for link in left_out(candidates, kept)]
        shown = ", ".join(dropped[:3]) + (", ..." if len(dropped) > 3 else "")
        self.problem(
            f"{what}: {len(candidates)} links make a {size}-byte Link header, over "
            f"PUSH_MAX_LINKS={settings.max_links} or "
            f"PUSH_MAX_HEADER_BYTES={settings.max_header_bytes}: {len(dropped)} that do not fit "
            f"would be left out ({shown})"
        )


def _candidate_urls(app: Flask, state: PushState, urls: RequestUrls) -> list[RequestUrls]:
    """``urls``, or with a relative static endpoint the resolver of each blueprint whose
    own or fallback static endpoint exists (the app's first), one per endpoint."""
    resolver = state.resolver
    if resolver.static_endpoint[:1] != ".":
        return [urls]
    by_endpoint: dict[str, RequestUrls] = {}
    for blueprint in [None, *app.blueprints]:
        candidate = resolver.for_blueprint(blueprint)
        if candidate.static_endpoint in app.view_functions:
            by_endpoint.setdefault(candidate.static_endpoint, candidate)
    return list(by_endpoint.values()) or [urls]


def _read_text(path: str) -> str:
    with open(path, encoding="utf-8-sig") as file:
        return file.read()


class AssetLocator:
    """Tells whether a URL names a local asset that does not exist.

    Only what a static route serves can be checked: a URL of another origin or one a view
    generates is taken on trust.
    """

    def __init__(self, app: Flask) -> None:
        self.app = app
        config = app.config
        self.script_root = "/" + (config.get("APPLICATION_ROOT") or "/").strip("/")
        self.host = config.get("SERVER_NAME") or "localhost"
        self.adapter = app.url_map.bind(self.host, script_name=self.script_root)

    def missing(self, url: str) -> str | None:
        """Why ``url`` is a missing local asset, or ``None`` if it exists or is not local."""
        parts = urlsplit(url)
        if parts.scheme or parts.netloc:
            return None  # another origin (or this one spelled out): not ours to check
        path = unquote(parts.path)
        if self.script_root != "/":
            if not path.startswith(self.script_root + "/"):
                return None
            path = path[len(self.script_root) :]
        try:
            endpoint, values = self.adapter.match(path, method="GET")
        except NotFound:
            return f"{url} is served by no route of the app (404)"
        except MethodNotAllowed:
            return f"{url} is served by no GET route of the app (405)"
        except RequestRedirect as redirect:
            return f"{url} redirects to {redirect.new_url}: push the final URL"
        return self._missing_static_file(url, endpoint, values)

    def _missing_static_file(
        self, url: str, endpoint: str, values: Mapping[str, object]
    ) -> str | None:
        folder = self._static_folder(endpoint)
        filename = values.get("filename")
        if folder is None or not isinstance(filename, str):
            return None
        file_path = safe_join(folder, filename)
        if file_path is not None and os.path.isfile(file_path):
            return None
        looked = display_path(file_path or os.path.join(folder, filename))
        return f"{url} does not exist (looked for {looked})"

    def _static_folder(self, endpoint: str) -> str | None:
        """The folder behind the app's or a blueprint's ``static`` endpoint, else ``None``."""
        owner_name, _, name = endpoint.rpartition(".")
        if name != "static":
            return None
        owner = self.app.blueprints.get(owner_name) if owner_name else self.app
        folder = getattr(owner, "static_folder", None)
        return folder if isinstance(folder, str) else None
