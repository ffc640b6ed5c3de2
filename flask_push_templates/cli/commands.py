"""The ``flask push`` commands: they print and exit; the work is done by crawl.py
(manifest), checks.py and page_check.py (check) and provenance.py (show), which take an app
and return plain results."""

from __future__ import annotations

import difflib
import functools
import inspect
import json
import os
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from werkzeug.http import parse_cookie

from ..errors import ManifestError
from ..hint_policy import serves_files
from ..manifest import Manifest, load_manifest, parse_manifest
from ..settings import template_map
from ..state import get_state
from .checks import CheckReport, check_app, display_path, guard
from .crawl import (
    CrawlOptions,
    CrawlSetupError,
    PageResult,
    SiteCrawler,
    crawl_options,
    plan_pages,
)
from .manifest_writer import (
    ManifestUpdate,
    PortableKeys,
    TemplateMapUpdate,
    endpoint_templates,
    group_assets,
    manifest_text,
    template_map_text,
    update_manifest,
    update_template_map,
)
from .page_check import PageCheck, check_page
from .provenance import PageLinks, ShownLink, explain

#: Where ``flask push manifest`` writes when ``PUSH_MANIFEST`` is not set (flask-http2-push's
#: and the @http2push decorator's default name).
DEFAULT_MANIFEST = "push_manifest.json"

#: The commands, registered on an ``AppGroup`` (which runs each in an app context); the
#: lazy ``flask push`` group of the package's ``cli`` module hands them out.
push_commands = AppGroup("push")


def _app() -> Flask:
    return current_app._get_current_object()  # type: ignore[attr-defined,no-any-return]


# --- the crawl's options, shared by the commands that request pages ----------------------

#: What every crawling command's help says about side effects.
REAL_REQUESTS = (
    "Pages are requested through the app itself, with its real configuration, database "
    "and services: a GET view that changes state does so when it is crawled."
)


def _header(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    headers = []
    for value in values:
        name, colon, content = value.partition(":")
        name, content = name.strip(), content.strip()
        if not colon or not name or " " in name or any(c in value for c in "\r\n"):
            raise click.BadParameter(f"{value!r} is not 'Name: value'", ctx, param)
        if name.lower() == "host":
            raise click.BadParameter(
                "the host is SERVER_NAME's (else localhost); 'flask push show' takes --host",
                ctx,
                param,
            )
        headers.append((name, content))
    return tuple(headers)


def _cookie(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Any:
    cookies = []
    for value in values:
        name, equals, content = value.partition("=")
        if not equals or not name.strip():
            raise click.BadParameter(f"{value!r} is not 'name=value'", ctx, param)
        cookies.append((name.strip(), content.strip()))
    return tuple(cookies)


_LOGIN_OPTIONS = (
    click.option(
        "--header",
        "headers",
        multiple=True,
        metavar="'NAME: VALUE'",
        callback=_header,
        help="A request header for every page (repeatable), such as an Authorization. "
        "A Cookie header's cookies go into the client's cookie jar.",
    ),
    click.option(
        "--cookie",
        "cookies",
        multiple=True,
        metavar="NAME=VALUE",
        callback=_cookie,
        help="A cookie for every page (repeatable), such as a session cookie.",
    ),
    click.option(
        "--client-setup",
        metavar="MODULE:FUNCTION",
        help="A function that prepares the test client before any page is requested, "
        "such as one that logs it in: it is called with the client. Default: "
        "PUSH_CRAWL_CLIENT.",
    ),
)

_EXCLUDE_OPTION = click.option(
    "--exclude",
    multiple=True,
    metavar="RULE",
    help="A route never to request (repeatable): an endpoint name (admin.clear_cache), a "
    "path (/admin/clear-cache), or an fnmatch pattern of either (admin.*, /admin/*). "
    "Added to PUSH_CRAWL_EXCLUDE. Routes whose endpoint or path says log out or sign "
    "out are never requested unless their URL is given.",
)


def crawling(exclude: bool) -> Callable[[Callable[..., None]], Callable[..., None]]:
    """Add the crawl's options to a command (the login options, and ``--exclude`` if
    ``exclude``), which receives them as one :class:`~.crawl.CrawlOptions`, ``crawl``."""

    def decorate(command: Callable[..., None]) -> Callable[..., None]:
        @functools.wraps(command)
        def run(
            *args: Any,
            headers: tuple[tuple[str, str], ...],
            cookies: tuple[tuple[str, str], ...],
            client_setup: str | None,
            **kwargs: Any,
        ) -> None:
            # A Cookie header would be replaced by the client's jar: its cookies join it.
            jar = [
                pair
                for header, content in headers
                if header.lower() == "cookie"
                for pair in parse_cookie(content).items(multi=True)
            ]
            kwargs["crawl"] = crawl_options(
                _app(),
                headers=[(name, value) for name, value in headers if name.lower() != "cookie"],
                cookies=[*jar, *cookies],
                client_setup=client_setup,
                exclude=kwargs.pop("exclude", ()),
            )
            try:
                command(*args, **kwargs)
            except CrawlSetupError as error:
                raise click.ClickException(str(error)) from None

        # Every crawling command's --help says it.
        run.__doc__ = f"{inspect.getdoc(command) or ''}\n\n{REAL_REQUESTS}"
        options = (*_LOGIN_OPTIONS, _EXCLUDE_OPTION) if exclude else _LOGIN_OPTIONS
        for option in reversed(options):
            run = option(run)
        return run

    return decorate


def _file_option(app: Flask, value: str) -> str:
    """A file named on the command line, read as the config's are: relative to the app's
    root path. '-' (standard output) is kept."""
    return value if value == "-" else os.path.join(app.root_path, value)


# --- flask push manifest ------------------------------------------------------------------


#: ``--early-hints`` given without a file: the one PUSH_EARLY_HINTS_TEMPLATES names.
_CONFIGURED = "\0configured"


@push_commands.command("manifest")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    help="Where to write the manifest ('-' for standard output), relative to the app's "
    f"root path as PUSH_MANIFEST is. Default: PUSH_MANIFEST, else {DEFAULT_MANIFEST}.",
)
@click.option(
    "--early-hints",
    "early_hints",
    metavar="[FILE]",
    is_flag=False,
    flag_value=_CONFIGURED,
    help="Also write the PUSH_EARLY_HINTS_TEMPLATES map ('-' for standard output; "
    "without FILE, the file PUSH_EARLY_HINTS_TEMPLATES names; relative to the app's root "
    "path): each "
    "endpoint requested -> the templates its pages rendered, in render order. When several "
    "URLs of one endpoint are requested, only the templates all of them rendered are listed "
    "(what every request to it certainly needs), then any layout they all extend or include; "
    "an endpoint whose pages share nothing is left out, for workers to learn. With "
    "PUSH_EARLY_HINTS_TEMPLATES naming FILE, every worker's first request to a listed "
    "endpoint gets a full 103 Early Hints.",
)
@click.option(
    "--check",
    "check_only",
    is_flag=True,
    help="Write nothing; exit with status 1 and show the difference if FILE (either one) "
    "is out of date. The pages are still requested.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="Request nothing: list the pages that would be requested, and those left out.",
)
@crawling(exclude=True)
def manifest_command(
    urls: tuple[str, ...],
    output: str | None,
    early_hints: str | None,
    check_only: bool,
    dry_run: bool,
    crawl: CrawlOptions,
) -> None:
    """Write a multi-page push manifest by requesting the app's pages.

    Each page is requested through the test client; its HTML, the same-origin stylesheets
    it links (with their @import and @font-face fonts) and its module scripts (with their
    static imports) are read, and what they reference is listed under the template the
    page rendered. Assets of other origins are left out.

    An existing file is updated, not replaced: its flat entries and any attribute added
    by hand (weight, nopush...) are kept, and so are the groups of templates no page
    rendered this time, as long as the template exists.

    With --early-hints, the same pages also give the map of PUSH_EARLY_HINTS_TEMPLATES,
    updated the same way: entries of endpoints no page answered for this time are kept
    while the endpoint exists.

    URL: paths of pages to request, such as /post/1. Default: every GET route that takes
    no argument (routes with arguments need their URLs given), except those excluded
    (--exclude, PUSH_CRAWL_EXCLUDE) and those whose endpoint or path says log out or sign
    out. Each is requested once, logged in if --cookie, --header or --client-setup
    (PUSH_CRAWL_CLIENT) say how; JSON answers, redirects and 4xx pages are skipped.
    """
    app = _app()
    target = _file_option(app, output) if output else _default_output(app)
    early_hints = _early_hints_option(app, early_hints, urls)
    if target == "-" and early_hints == "-":
        raise click.UsageError("only one of -o and --early-hints can be '-' (standard output)")
    hints_existing = _existing_map_path(app, early_hints, check_only)
    crawler = SiteCrawler(app, crawl)
    paths = _page_paths(crawler, urls)
    if dry_run:
        for path in paths:
            click.echo(f"GET {path}")
        return
    existing_path = _default_output(app) if target == "-" else target
    existing = _existing_manifest(existing_path)
    results = [_scan_page(crawler, path) for path in paths]
    update = update_manifest(
        group_assets(results),
        existing,
        set(app.jinja_env.list_templates()),
        get_state(app).resolver.for_request().url,
        PortableKeys(app, crawler.script_root).key,
    )
    text = manifest_text(update)
    _validate(text, target)
    _report_merge(update, existing_path)
    hints: tuple[str, TemplateMapUpdate, str] | None = None  # FILE, the map, its JSON
    if early_hints is not None:
        hints_update = _template_map(app, results, hints_existing)
        hints = (early_hints, hints_update, _map_text(hints_update))
    if check_only:
        compared = [(text, existing_path)]
        if hints is not None and hints_existing is not None:
            compared.append((hints[2], hints_existing))
        stale = [display_path(path) for fresh, path in compared if not _compare(fresh, path)]
        if stale:
            raise click.ClickException(
                f"{' and '.join(stale)} {'is' if len(stale) == 1 else 'are'} out of date: "
                "run 'flask push manifest' and commit the result"
            )
    else:
        # A JSON document on standard output must be all it holds: the summaries go to
        # standard error then.
        on_stdout = "-" in (target, early_hints)
        if target == "-":
            click.echo(text, nl=False)
        else:
            _write_atomically(target, text)
            _summarize(update, results, target, on_stdout)
            _hint_unused(app, target)
        if hints is not None:
            _write_map(app, *hints, on_stdout)
    _fail_if_pages_failed(results)


def _early_hints_option(app: Flask, value: str | None, urls: tuple[str, ...]) -> str | None:
    """``--early-hints``' file: the configured one when none is given, relative to the
    app's root path."""
    if value is None or value == "-":
        return value
    if value == _CONFIGURED:
        configured = _configured_map_path(app)
        if configured is None:
            raise click.UsageError(
                "--early-hints without FILE writes the file PUSH_EARLY_HINTS_TEMPLATES names, "
                "and it names none: give the file, such as --early-hints early_hints.json"
            )
        return configured
    # `--early-hints /about`: the option took the URL meant for the crawl as its file.
    adapter = app.url_map.bind("localhost")
    if not value.endswith(".json") and adapter.test(value, "GET"):
        raise click.UsageError(
            f"--early-hints took {value!r}, a page of the app, as its file: put the URLs "
            "first (flask push manifest /about --early-hints) or write --early-hints=FILE"
        )
    return _file_option(app, value)


def _existing_map_path(app: Flask, early_hints: str | None, check_only: bool) -> str | None:
    """The template map to update: FILE, or with '-' the file the app reads, if any."""
    if early_hints is None:
        return None
    if early_hints != "-":
        return early_hints
    configured = _configured_map_path(app)
    if configured is None and check_only:
        raise click.UsageError(
            "--check --early-hints - compares with the file PUSH_EARLY_HINTS_TEMPLATES names, "
            "and it names none: give the file to compare with"
        )
    return configured


def _configured_map_path(app: Flask) -> str | None:
    configured = get_state(app).settings.early_hints_templates
    # A mapping in the config is not a file that could be updated.
    return os.path.join(app.root_path, configured) if isinstance(configured, str) else None


def _page_paths(
    crawler: SiteCrawler, urls: tuple[str, ...], command: str = "flask push manifest"
) -> list[str]:
    if not urls:
        plan = plan_pages(crawler.app, crawler.options)
        for path, why in plan.excluded:
            click.echo(
                f"GET {path} ... not requested: {why} (give its URL to request it)", err=True
            )
        for pattern in plan.unmatched:
            click.echo(f"warning: the exclusion {pattern!r} matches no route", err=True)
        if not plan.paths:
            raise click.ClickException(
                "no GET route without arguments to request: give the pages' URLs, "
                f"such as '{command} /post/1'"
            )
        return plan.paths
    paths = []
    for url in urls:
        given = crawler.page_path(url)
        if given is None:
            raise click.BadParameter(
                f"{url!r} is not a page of this app (another origin, or outside "
                "APPLICATION_ROOT): give a path such as /about",
                param_hint="URL",
            )
        paths.append(given)
    return paths


def _scan_page(crawler: SiteCrawler, path: str) -> PageResult:
    result = crawler.scan(path)
    click.echo(f"GET {path} ... {_outcome(result)}", err=True)
    for warning in result.warnings:
        click.echo(f"  warning: {warning}", err=True)
    return result


def _outcome(result: PageResult) -> str:
    if result.error is not None:
        return f"FAILED: {result.error}"
    if result.skipped is not None:
        return f"skipped: {result.skipped}"
    if result.group is None:
        return f"{result.status}, no named template rendered: its assets are not listed"
    extra = f" ({result.other_origin} of other origins left out)" if result.other_origin else ""
    return f"{result.status}, {result.group}: {_count(len(result.assets), 'asset')}{extra}"


def _default_output(app: Flask) -> str:
    configured = get_state(app).manifest_path
    return configured if configured is not None else os.path.join(app.root_path, DEFAULT_MANIFEST)


def _existing_manifest(path: str) -> Manifest | None:
    if not os.path.exists(path):
        return None
    try:
        return load_manifest(path)
    except ManifestError as error:
        raise click.ClickException(
            f"cannot update {display_path(path)}: {error}; fix the file or delete it"
        ) from None


def _template_map(
    app: Flask, results: list[PageResult], existing_path: str | None
) -> TemplateMapUpdate:
    state = get_state(app)
    # Endpoints that serve files are never hinted (early_hints.py): listing them is noise.
    pages = [
        result
        for result in results
        if result.endpoint is None or not serves_files(app, state.settings, result.endpoint)
    ]
    found = endpoint_templates(pages, lambda names: state.templates.closure(app.jinja_env, names))
    existing = _existing_map(existing_path) if existing_path is not None else None
    update = update_template_map(found, existing, app.view_functions)
    _list_names(
        "left out of the Early Hints map the endpoints whose pages rendered no template "
        "in common (workers learn them)",
        found.unpredictable,
    )
    name = display_path(existing_path) if existing_path is not None else ""
    _list_names(f"kept from {name} the endpoints no page answered for this time", update.kept)
    _list_names(f"dropped from {name} the endpoints that no longer exist", update.dropped)
    return update


def _existing_map(path: str) -> Mapping[str, Sequence[str]] | None:
    if not os.path.exists(path):
        return None
    try:
        # utf-8-sig, as the app reads it (early_hints.deployed_templates).
        with open(path, encoding="utf-8-sig") as file:
            return dict(template_map(json.load(file)))
    except (OSError, ValueError) as error:  # JSONDecodeError is a ValueError
        raise click.ClickException(
            f"cannot update {display_path(path)}: {error}; fix the file or delete it"
        ) from None


def _map_text(update: TemplateMapUpdate) -> str:
    text = template_map_text(update)
    # What is written must load: the app refuses to start with an invalid map.
    try:
        template_map(json.loads(text))
    except ValueError as error:
        raise click.ClickException(
            f"the generated Early Hints map is not valid (a bug): {error}"
        ) from None
    return text


def _report_merge(update: ManifestUpdate, path: str) -> None:
    name = display_path(path)
    _list_names(f"kept from {name} the groups of templates no page rendered this time", update.kept)
    _list_names(f"dropped from {name} the groups of templates that no longer exist", update.dropped)


def _list_names(what: str, names: list[str]) -> None:
    """Say on standard error ``what`` was done to ``names``, if there are any."""
    if names:
        click.echo(f"{what}: {', '.join(sorted(names))}", err=True)


def _validate(text: str, target: str) -> None:
    # What is written must load: a manifest the app refuses at start-up would break it.
    try:
        parse_manifest(text, target)
    except ManifestError as error:
        raise click.ClickException(
            f"the generated manifest is not valid (a bug): {error}"
        ) from None


def _compare(text: str, target: str) -> bool:
    """Whether ``target`` holds ``text``; prints how it differs if it does not."""
    try:
        with open(target, encoding="utf-8") as file:
            current = file.read()
    except FileNotFoundError:
        current = ""
    if current == text:
        click.echo(f"{display_path(target)} is up to date")
        return True
    name = display_path(target)
    diff = difflib.unified_diff(
        current.splitlines(keepends=True),
        text.splitlines(keepends=True),
        f"{name} (current)",
        f"{name} (generated)",
    )
    click.echo("".join(diff), nl=False)
    return False


def _write_atomically(target: str, text: str) -> None:
    # A running dev server may reload the manifest at any moment, and a worker starting
    # reads the Early Hints map: neither must see a half-written file, so the new one
    # replaces the old in one rename.
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise click.ClickException(
            f"cannot write {display_path(target)}: the folder {display_path(directory)} "
            "does not exist"
        )
    prefix = f".{os.path.basename(target)}."
    descriptor, temporary = tempfile.mkstemp(prefix=prefix, suffix=".tmp", dir=directory)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="\n") as file:
            file.write(text)
        os.replace(temporary, target)
    except BaseException:
        os.unlink(temporary)
        raise


def _summarize(update: ManifestUpdate, results: list[PageResult], target: str, err: bool) -> None:
    click.echo(
        f"Wrote {display_path(target)}: {_count(len(update.groups), 'template')}, "
        f"{_count(update.asset_count(), 'entry')}, from {_count(len(results), 'page')}",
        err=err,
    )


def _hint_unused(app: Flask, target: str) -> None:
    configured = get_state(app).manifest_path
    if configured is not None and os.path.abspath(configured) == os.path.abspath(target):
        return
    # A multi-page manifest only takes effect as PUSH_MANIFEST: the @http2push decorator
    # applies flat entries alone.
    click.echo(
        f"note: PUSH_MANIFEST does not name {display_path(target)}, so no page uses its "
        f"per-template groups; set PUSH_MANIFEST = {_config_value(app, target)!r} to use it",
        err=True,
    )


def _config_value(app: Flask, target: str) -> str:
    """``target`` as a config value naming it: relative to the app's root (as PUSH_MANIFEST
    and PUSH_EARLY_HINTS_TEMPLATES are read) when below it, else absolute."""
    relative = os.path.relpath(os.path.abspath(target), app.root_path)
    return os.path.abspath(target) if relative.startswith("..") else relative


def _write_map(app: Flask, target: str, update: TemplateMapUpdate, text: str, err: bool) -> None:
    if target == "-":
        click.echo(text, nl=False)
        return
    _write_atomically(target, text)
    templates = {name for names in update.endpoints.values() for name in names}
    click.echo(
        f"Wrote {display_path(target)}: {_count(len(update.endpoints), 'endpoint')}, "
        f"{_count(len(templates), 'template')}",
        err=err,
    )
    settings = get_state(app).settings
    configured = _configured_map_path(app)
    named = configured is not None and os.path.abspath(configured) == os.path.abspath(target)
    if named and settings.early_hints:
        return
    if named:
        click.echo(
            f"note: PUSH_EARLY_HINTS is off, so no 103 Early Hints are sent; set "
            f"PUSH_EARLY_HINTS = True to use {display_path(target)}",
            err=True,
        )
        return
    enable = "" if settings.early_hints else "PUSH_EARLY_HINTS = True and "
    click.echo(
        f"note: PUSH_EARLY_HINTS_TEMPLATES does not name {display_path(target)}, so each "
        "worker's first request to an endpoint hints only what the manifests list; set "
        f"{enable}PUSH_EARLY_HINTS_TEMPLATES = {_config_value(app, target)!r} to use it",
        err=True,
    )


def _fail_if_pages_failed(results: list[PageResult]) -> None:
    failed = [result.path for result in results if result.error is not None]
    if failed:
        raise click.ClickException(
            f"{_count(len(failed), 'page')} failed ({', '.join(failed)}); "
            "the manifest lists the pages that rendered"
        )


# --- flask push check ---------------------------------------------------------------------


@push_commands.command("check")
@click.argument("urls", nargs=-1, metavar="[URL]...")
@click.option(
    "--pages",
    is_flag=True,
    help="Also request the app's pages (the URLs given, else every GET route without "
    "arguments, as 'flask push manifest' does: through the app, with its real "
    "configuration) and check that each uses what its Link header and 103 preload.",
)
@crawling(exclude=True)
def check_command(urls: tuple[str, ...], pages: bool, crawl: CrawlOptions) -> None:
    """Check the app's manifests and {% push %} tags, and with --pages its pages.

    Checks every manifest the app uses (PUSH_MANIFEST and those of @http2push views) and
    every {% push %} with constant arguments: invalid entries, local assets that do not
    exist, manifest groups naming no template, Link headers over PUSH_MAX_LINKS or
    PUSH_MAX_HEADER_BYTES, misspelled attribute names and PUSH_* keys.

    With --pages, each page's preloads (Link header and 103 Early Hints) are compared with
    what its HTML, stylesheets and module scripts fetch: a preload the page does not use,
    one whose URL differs from the page's by a digest, a ?v= query or a host (CDN), and a
    crossorigin, integrity or as that makes the browser fetch the file twice.

    Prints one line per problem and exits with status 1 if any.

    URL: with --pages, the paths of the pages to check, such as /post/1.
    """
    if urls and not pages:
        raise click.UsageError("URLs name the pages to check: add --pages")
    app = _app()
    report = check_app(app)
    checked = _check_pages(app, report, urls, crawl) if pages else None
    for problem in report.problems:
        click.echo(problem)
    if report.problems:
        raise click.ClickException(f"{_count(len(report.problems), 'problem')} found")
    click.echo(_check_summary(report, checked))


def _check_pages(
    app: Flask, report: CheckReport, urls: tuple[str, ...], crawl: CrawlOptions
) -> tuple[int, int]:
    """Check each page, adding its findings to ``report``; how many pages and preloads."""
    crawler = SiteCrawler(app, crawl)
    pages = preloads = 0
    for path in _page_paths(crawler, urls, "flask push check --pages"):
        with guard(report, f"GET {path}"):
            page = check_page(app, crawler, path)
            click.echo(f"GET {path} ... {_page_outcome(page)}", err=True)
            for warning in page.warnings:
                click.echo(f"  warning: {warning}", err=True)
            if page.error is not None:
                report.problems.append(f"GET {path}: the page failed: {page.error}")
            report.problems.extend(page.findings)
            if page.skipped is None and page.error is None:
                pages += 1
                preloads += page.preloads
    return pages, preloads


def _page_outcome(page: PageCheck) -> str:
    if page.error is not None:
        return f"FAILED: {page.error}"
    if page.skipped is not None:
        return f"skipped: {page.skipped}"
    found = f", {_count(len(page.findings), 'problem')}" if page.findings else ""
    unread = (
        f" ({', '.join(page.unread)} not read: another origin, so preloads of fonts and "
        "images count as used)"
        if page.unread
        else ""
    )
    return f"{_count(page.preloads, 'preload')} checked{found}{unread}"


def _check_summary(report: CheckReport, pages: tuple[int, int] | None) -> str:
    size, links, what = report.largest
    largest = (
        f"; the largest known Link header is {size} bytes, {_count(links, 'link')} ({what}), "
        "counting constant pushes and manifests only: the pushes of views and push_url() are "
        "known only by requesting pages ('flask push show URL' gives a page's served header)"
    )
    checked = (
        f"; {_count(pages[0], 'page')} checked against {_count(pages[1], 'preload')}"
        if pages is not None
        else ""
    )
    return (
        f"OK: {_count(report.manifests, 'manifest')} ({_count(report.entries, 'entry')}) "
        f"and {_count(report.templates, 'template')} ({_count(report.pushes, 'constant push')})"
        f" checked{largest if what else ''}{checked}"
    )


# --- flask push show ----------------------------------------------------------------------


@push_commands.command("show")
@click.argument("url")
@click.option(
    "--host",
    metavar="NAME[:PORT]",
    help="Request the page at this host (or scheme://host), as a proxy in front of the app "
    "would pass it. Default: SERVER_NAME, else localhost.",
)
@click.option(
    "--script-root",
    metavar="PREFIX",
    help="Request the page with the app mounted under this prefix (SCRIPT_NAME), such as "
    "/shop behind a proxy or DispatcherMiddleware. Default: APPLICATION_ROOT.",
)
@crawling(exclude=False)
def show_command(url: str, host: str | None, script_root: str | None, crawl: CrawlOptions) -> None:
    """Show the Link header a page gets, and where each link comes from.

    URL: the path of the page, such as / or /post/1. The page is requested through the
    test client; each link is listed with its sources: {% push %} tags and push_url()
    calls in templates, the view, @http2push manifests and PUSH_MANIFEST. On a streamed
    page, the pushes made while its body rendered (after the header left) are listed too.
    """
    app = _app()
    if script_root is not None and not script_root.startswith("/"):
        raise click.BadParameter("a path such as /shop", param_hint="--script-root")
    crawler = SiteCrawler(app, replace(crawl, host=host, script_root=script_root))
    path = crawler.page_path(url)
    if path is None:
        raise click.BadParameter(f"{url!r} is not a page of this app", param_hint="URL")
    # A simulated place is shown in full: the request is not the app's usual one.
    shown = crawler.document_url(path) if host or script_root else path
    page = explain(crawler, path)
    if page.error is not None:
        raise click.ClickException(f"GET {shown} {page.error}")
    for line in _show_lines(page, app, shown):
        click.echo(line)
    if page.status and page.status[:1] != "2":
        raise click.ClickException(f"GET {shown} answered {page.status}")


def _show_lines(page: PageLinks, app: Flask, shown: str) -> list[str]:
    templates = ", ".join(page.templates) or "none"
    view = f"view {page.endpoint!r}" if page.endpoint is not None else "no view"
    lines = [f"GET {shown} -> {page.status} ({view}, templates: {templates})"]
    if page.no_links is not None and not page.fields:
        lines.append(f"No Link header: {page.no_links}")
    for field_value in page.fields:
        lines.append(f"Link: {field_value}")
    lines.extend(_link_lines(page.links))
    if page.left_out and page.no_links is None:
        settings = get_state(app).settings
        lines.append(
            f"Left out (over PUSH_MAX_LINKS={settings.max_links} or "
            f"PUSH_MAX_HEADER_BYTES={settings.max_header_bytes}; those that did not fit):"
        )
        lines.extend(_link_lines(page.left_out))
    if page.after_header:
        lines.append(
            "Not in the header (pushed while the streamed body rendered, after the header "
            "had left):"
        )
        lines.extend(_link_lines(page.after_header))
    lines.extend(_early_hint_lines(page))
    return lines


def _link_lines(links: list[ShownLink]) -> list[str]:
    """Each link-value, and where it came from on the line below."""
    lines = []
    for link in links:
        lines.append(f"  {link.value}")
        lines.append(f"      from {'; '.join(link.sources) or 'unknown'}")
    return lines


def _early_hint_lines(page: PageLinks) -> list[str]:
    if page.early_hints is None:
        return ["103 Early Hints: off (PUSH_EARLY_HINTS is False)"]
    cold, learned = page.early_hints
    return [
        f"103 Early Hints, first request to a worker: {cold or '(none)'}",
        f"103 Early Hints, once the worker has seen this page: {learned or '(none)'}",
    ]


def _count(number: int, noun: str) -> str:
    if number == 1:
        return f"1 {noun}"
    if noun.endswith("y"):
        return f"{number} {noun[:-1]}ies"
    return f"{number} {noun}{'es' if noun.endswith(('s', 'sh')) else 's'}"
