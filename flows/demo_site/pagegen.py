"""Builders for realistic Hugging Face Papers pages (HTML with the `DailyPapers` island, and
`/api/daily_papers` JSON), shared by the demo-site generator and the test-fixture generator.

The shapes follow docs `formats.md` §1.2–1.5: Svelte SSR page chrome with several islands, the
paper list as HTML-escaped JSON in `data-props` of `div[data-target="DailyPapers"]`, and the
server-rendered cards inside that div. Everything is deterministic: ids are hashes of the
paper id, so regenerating produces byte-identical files.
"""

from __future__ import annotations

import hashlib
import html
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

JSON = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Org:
    """An HF organisation (`name` is the handle, `fullname` the display name)."""

    name: str
    fullname: str


@dataclass(frozen=True, slots=True)
class Paper:
    """One invented paper, with the fields an HF daily-papers item carries."""

    arxiv_id: str
    title: str
    summary: str
    authors: tuple[str, ...]
    published: date
    submitted_at: datetime
    upvotes: int
    submitter: str
    num_comments: int = 0
    github_repo: str | None = None
    github_stars: int | None = None
    project_page: str | None = None
    organization: Org | None = None
    ai_summary: str | None = None
    ai_keywords: tuple[str, ...] = ()
    claimed_authors: tuple[int, ...] = ()  # indexes of authors with an HF account


def hex_id(*parts: object) -> str:
    """A stable 24-hex Mongo-style id derived from `parts`."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return "6" + digest[:23]


def iso_ms(moment: datetime) -> str:
    """`2026-05-08T10:01:31.399Z` (HF's timestamp style)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def iso_day(day: date) -> str:
    """Midnight UTC of `day` in HF's style."""
    return f"{day.isoformat()}T00:00:00.000Z"


def handle(name: str) -> str:
    """A plausible HF username for a person's display name."""
    ascii_name = name.encode("ascii", "ignore").decode().lower()
    return "".join(ch for ch in ascii_name if ch.isalnum()) or hex_id(name)[:8]


def _avatar(name: str) -> str:
    return f"/avatars/{hashlib.md5(name.encode()).hexdigest()}.svg"  # noqa: S324 - not security


def user_b(name: str) -> JSON:
    """The short user object (`submittedOnDailyBy`, `author.user`)."""
    return {
        "_id": hex_id("user", name),
        "avatarUrl": _avatar(name),
        "isPro": False,
        "fullname": name,
        "user": handle(name),
        "type": "user",
        "name": handle(name),
    }


def user_a(name: str) -> JSON:
    """The long user object (`submittedBy`)."""
    return {
        "_id": hex_id("user", name),
        "avatarUrl": _avatar(name),
        "fullname": name,
        "name": handle(name),
        "type": "user",
        "isPro": False,
        "isHf": False,
        "isHfAdmin": False,
        "isMod": False,
        "followerCount": len(name) % 17,
        "isUserFollowing": False,
    }


_CDN_AVATARS = "https://cdn-avatars.huggingface.co/v1/production/uploads"


def org_json(org: Org) -> JSON:
    return {
        "_id": hex_id("org", org.name),
        "name": org.name,
        "fullname": org.fullname,
        "avatar": f"{_CDN_AVATARS}/{hex_id('av', org.name)}/logo.png",
    }


def author_json(paper: Paper, index: int, name: str) -> JSON:
    author: JSON = {"_id": hex_id(paper.arxiv_id, "author", index), "name": name, "hidden": False}
    if index in paper.claimed_authors:
        changed = paper.submitted_at + timedelta(hours=6 + index)
        author.update(
            status="claimed_verified", statusLastChangedAt=iso_ms(changed), user=user_b(name)
        )
    return author


def paper_json(paper: Paper, upvotes: int | None = None) -> JSON:
    """The `paper` object of an item; `upvotes` overrides the count (later snapshots)."""
    obj: JSON = {
        "id": paper.arxiv_id,
        "authors": [author_json(paper, i, n) for i, n in enumerate(paper.authors)],
        "publishedAt": iso_day(paper.published),
        "submittedOnDailyAt": iso_ms(paper.submitted_at),
        "title": paper.title,
        "summary": paper.summary,
        "upvotes": paper.upvotes if upvotes is None else upvotes,
        "discussionId": hex_id(paper.arxiv_id, "discussion"),
        "submittedOnDailyBy": user_b(paper.submitter),
    }
    if paper.github_repo:
        obj["githubRepo"] = paper.github_repo
        obj["githubRepoAddedBy"] = "user"
        obj["githubStars"] = paper.github_stars or 0
    if paper.project_page:
        obj["projectPage"] = paper.project_page
    if paper.ai_summary:
        obj["ai_summary"] = paper.ai_summary
    if paper.ai_keywords:
        obj["ai_keywords"] = list(paper.ai_keywords)
    if paper.organization:
        obj["organization"] = org_json(paper.organization)
    return obj


def item_json(paper: Paper, upvotes: int | None = None) -> JSON:
    """One `dailyPapers` item (also one element of the `/api/daily_papers` array)."""
    item: JSON = {
        "paper": paper_json(paper, upvotes),
        "publishedAt": iso_ms(
            datetime.combine(paper.published, datetime.min.time()) - timedelta(hours=4)
        ),
        "title": paper.title,
        "summary": paper.summary,
        "thumbnail": f"https://cdn-thumbnails.huggingface.co/social-thumbnails/papers/{paper.arxiv_id}.png",
        "numComments": paper.num_comments,
        "submittedBy": user_a(paper.submitter),
        "isAuthorParticipating": bool(paper.claimed_authors),
    }
    if paper.organization:
        item["organization"] = org_json(paper.organization)
    return item


def dumps(value: Any) -> str:
    """Compact JSON the way HF serialises it (non-ASCII kept)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def props_json(
    *,
    date_string: str,
    items: list[JSON],
    period: str = "day",
    prev_date: str | None = None,
    query: Any = "",
    is_trending: bool = False,
    search_results: list[JSON] | None = None,
) -> JSON:
    """DailyPapers island props, keys in the order seen on live pages (§1.3)."""
    props: JSON = {
        "canSubmit": False,
        "dateString": date_string,
        "dailyPapers": items,
        "prevDate": prev_date,
        "publisher": None,
        "periodType": period,
        "query": query,
        "isTrending": is_trending,
    }
    if search_results is not None:
        props["searchResults"] = search_results
    return props


def island(target: str, props: Any, inner: str, *, tag: str = "div") -> str:
    """A Svelte hydration island: escaped JSON props plus its SSR markup."""
    escaped = html.escape(dumps(props), quote=True)
    return (
        f'<{tag} class="SVELTE_HYDRATER contents" data-target="{target}" '
        f'data-props="{escaped}">{inner}</{tag}>'
    )


def _title_html(title: str, highlight: str | None) -> str:
    """Escaped title, with the search term wrapped the way search pages do."""
    if not highlight:
        return html.escape(title, quote=False)
    out, rest, needle = [], title, highlight.lower()
    while (pos := rest.lower().find(needle)) >= 0:
        out.append(html.escape(rest[:pos], quote=False))
        hit = html.escape(rest[pos : pos + len(needle)], quote=False)
        out.append(f'<span class="highlight">{hit}</span>')
        rest = rest[pos + len(needle) :]
    out.append(html.escape(rest, quote=False))
    return "".join(out)


_UPVOTE_SVG = (
    '<svg class="text-sm" xmlns="http://www.w3.org/2000/svg" width="1em" height="1em" '
    'viewBox="0 0 12 12"><path fill="currentColor" d="M5.19 2.67a.94.94 0 0 1 1.62 0l3.31 '
    '5.72a.94.94 0 0 1-.82 1.4H2.7a.94.94 0 0 1-.82-1.4l3.31-5.7v-.02Z"></path></svg>'
)


def card_2026(item: JSON, highlight: str | None = None) -> str:
    """A compact 2026 card: upvote label, title link, submitter, org chip, stars, comments."""
    paper = item["paper"]
    pid, href = paper["id"], f"/papers/{paper['id']}"
    sub = item["submittedBy"]
    org = item.get("organization") or paper.get("organization")
    org_html = (
        f'<a href="/{org["name"]}" class="flex items-center gap-1 rounded-md border px-1.5 py-0.5 '
        f'hover:border-gray-300"><img alt="" class="size-3.5 rounded-sm" src="{org["avatar"]}">'
        f'<span class="truncate">{html.escape(org["fullname"])}</span></a>'
        if org
        else ""
    )
    stars = (
        f'<span class="flex items-center gap-0.5" title="GitHub stars"><svg class="size-3" '
        f'viewBox="0 0 16 16"></svg>{paper.get("githubStars", 0)}</span>'
        if paper.get("githubRepo")
        else ""
    )
    return (
        '<article class="flex flex-col overflow-hidden rounded-xl border border-gray-100 bg-white '
        'shadow-sm dark:border-gray-800 dark:bg-gray-950">'
        f'<a href="{href}" class="block aspect-[2/1] w-full overflow-hidden border-b" '
        'tabindex="-1">'
        f'<img src="{item["thumbnail"]}" class="h-full w-full object-cover object-top" alt="" '
        'loading="lazy"></a>'
        '<div class="flex gap-3 p-3">'
        '<label class="flex h-12 w-10 flex-none cursor-pointer select-none flex-col items-center '
        'justify-center gap-0.5 rounded-lg border bg-white text-sm hover:bg-gray-50">'
        f'<input type="checkbox" class="peer hidden">{_UPVOTE_SVG}'
        f'<div class="leading-none">{paper["upvotes"]}</div></label>'
        '<div class="min-w-0 flex-1">'
        '<h3 class="text-base font-semibold leading-snug hover:underline">'
        f'<a href="{href}" class="line-clamp-3 cursor-pointer text-balance">'
        f"{_title_html(item['title'], highlight)}</a></h3>"
        '<div class="mt-1.5 flex flex-wrap items-center gap-x-2 gap-y-1 text-xs text-gray-500">'
        f'<span class="flex items-center gap-1">Submitted by <a href="/{sub["name"]}" '
        f'class="font-medium text-gray-700">{html.escape(sub["fullname"])}</a></span>'
        f"{org_html}{stars}"
        f'<a href="{href}#community" class="flex items-center gap-0.5 hover:text-gray-700">'
        f'<svg class="size-3" viewBox="0 0 32 32"></svg>{item["numComments"]}</a>'
        f'</div></div></div><span class="sr-only">{pid}</span></article>'
    )


def card_2024(item: JSON) -> str:
    """A 2024-era card (thumbnail, gradient block, `shadow-alternate` upvote box)."""
    paper = item["paper"]
    href = f"/papers/{paper['id']}"
    return (
        '<article class="relative flex flex-col overflow-hidden rounded-xl border">'
        f'<a href="{href}" class="shadow-alternate-sm peer relative block h-56 w-full '
        'cursor-pointer overflow-hidden rounded-xl bg-white md:h-64">'
        f'<img src="{item["thumbnail"]}" class="h-full w-full object-cover object-top opacity-80 '
        'transition-opacity hover:opacity-100" alt=""></a>'
        '<div class="from-gray-50-to-white -mt-2 flex bg-gradient-to-b px-6 pb-6 pt-8">'
        '<div class="flex flex-col items-center justify-center pr-3"><div class="shadow-alternate '
        "flex h-14 w-12 gap-1 rounded-xl flex-none cursor-pointer select-none flex-col "
        'items-center justify-center border bg-white hover:bg-gray-50">'
        f'<input type="checkbox" class="peer hidden">{_UPVOTE_SVG}'
        f'<div class="leading-none">{paper["upvotes"]}</div></div></div>'
        '<div class="w-full"><h3 class="mb-1 text-lg font-semibold leading-[1.2] hover:underline '
        'peer-hover:underline md:text-[1.3rem]">'
        f'<a href="{href}" class="line-clamp-3 cursor-pointer text-balance">'
        f"{html.escape(item['title'], quote=False)}</a></h3>"
        '<div class="flex items-center justify-between"><div class="flex items-center text-sm '
        f'text-gray-400"><a href="{href}#community" class="flex items-center rounded-md px-1">'
        f'<svg class="mr-1" viewBox="0 0 32 32"></svg>{item["numComments"]}</a></div></div>'
        "</div></div></article>"
    )


_HEAD = """<!doctype html>
<html class="">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0, user-scalable=no">
<meta name="description" content="Join the discussion on this paper page">
<meta property="fb:app_id" content="1321688464574422">
<meta name="twitter:card" content="summary_large_image">
<meta name="twitter:site" content="@huggingface">
<meta property="og:title" content="{title}">
<meta property="og:type" content="website">
<meta property="og:url" content="https://huggingface.co{path}">
<meta property="og:image" content="https://huggingface.co/front/thumbnails/papers.png">
<link rel="stylesheet" href="/front/build/kube-6d3f1a2/style.css">
<link rel="preconnect" href="https://fonts.gstatic.com">
<link rel="canonical" href="https://huggingface.co{path}">
<title>{title}</title>
<script defer data-domain="huggingface.co" src="/js/script.js"></script>
</head>
<body class="flex flex-col min-h-dvh bg-white dark:bg-gray-950 text-black PapersPage">
<div class="flex min-h-dvh flex-col">"""


def _header() -> str:
    nav = "".join(
        f'<li><a class="group flex items-center px-0.5 py-0.5 hover:text-gray-600" '
        f'href="/{p.lower()}">{p}</a></li>'
        for p in ("Models", "Datasets", "Spaces", "Docs", "Pricing")
    )
    inner = (
        '<header class="border-b border-gray-100"><div class="w-full px-4 container flex h-16 '
        'items-center"><a href="/" class="mr-5 flex flex-none items-center lg:mr-6">'
        '<img alt="Hugging Face\'s logo" class="w-7 md:mr-2" '
        'src="/front/assets/huggingface_logo-noborder.svg">'
        '<span class="hidden whitespace-nowrap text-lg font-bold md:block">Hugging Face</span></a>'
        '<nav aria-label="Main" class="ml-auto hidden lg:block">'
        f'<ul class="flex items-center space-x-1.5">{nav}'
        '<li><a class="block cursor-pointer px-2 py-0.5" href="/login">Log In</a></li>'
        '<li><a class="btn ml-2" href="/join">Sign Up</a></li></ul></nav></div></header>'
    )
    return "".join(
        [
            island("DeviceProvider", {}, ""),
            island("SystemThemeMonitor", {"isLoggedIn": False}, ""),
            island("MainHeader", {"classNames": "", "isWide": False, "isZh": False}, inner),
        ]
    )


def _footer() -> str:
    links = "".join(
        f'<li><a class="hover:underline" href="{href}">{label}</a></li>'
        for label, href in (
            ("TOS", "/terms-of-service"),
            ("Privacy", "/privacy"),
            ("About", "/huggingface"),
            ("Careers", "https://apply.workable.com/huggingface/"),
        )
    )
    inner = (
        '<footer class="b-12 mb-2 flex border-t border-gray-100 md:h-14"><nav class="container '
        'relative flex flex-col justify-between space-y-2 py-6 text-gray-500 md:flex-row">'
        f'<ul class="flex flex-wrap items-center space-x-4">{links}</ul>'
        '<div class="text-sm">© Hugging Face</div></nav></footer>'
    )
    return island("Footer", {"isWide": False}, inner, tag="div")


_ACTIVE = " bg-gray-100 font-semibold"


def _period_switch(period: str) -> str:
    buttons = "".join(
        f'<button class="rounded-md px-2 py-1{_ACTIVE if p == period else ""}">{label}</button>'
        for p, label in (("day", "Daily"), ("week", "Weekly"), ("month", "Monthly"))
    )
    return f'<div class="flex items-center gap-1 text-sm">{buttons}</div>'


def list_markup(heading: str, cards: list[str], period: str) -> str:
    """The SSR markup the DailyPapers island renders around its cards."""
    return (
        '<section class="container relative mb-20 mt-8 md:mt-14">'
        '<div class="mb-6 flex flex-wrap items-center justify-between gap-3">'
        f'<h1 class="text-2xl font-bold md:text-3xl">{html.escape(heading)}</h1>'
        f"{_period_switch(period)}</div>"
        '<div class="relative grid grid-cols-1 gap-5 lg:grid-cols-2 xl:grid-cols-3">'
        f"{''.join(cards)}</div></section>"
    )


def page(*, path: str, main: str, title: str = "Daily Papers - Hugging Face") -> str:
    """A full HF page: head, header islands, `<main>` holding `main`, footer."""
    return (
        _HEAD.format(title=html.escape(title), path=html.escape(path))
        + _header()
        + f'\n<main class="flex flex-1 flex-col">{main}</main>\n'
        + _footer()
        + "\n</div>\n</body>\n</html>\n"
    )


def daily_papers_page(*, path: str, props: JSON, heading: str, highlight: str | None = None) -> str:
    """A page with the DailyPapers island (props + 2026 compact cards inside it)."""
    items = props.get("searchResults") or props.get("dailyPapers") or []
    cards = [card_2026(item, highlight) for item in items]
    period = str(props.get("periodType", "day"))
    main = island("DailyPapers", props, list_markup(heading, cards, period))
    return page(path=path, main=main)


def cards_only_page(*, path: str, items: list[JSON], heading: str, layout: str) -> str:
    """A page whose paper list is plain card markup, no island (fallback layouts)."""
    cards = [card_2024(i) if layout == "2024" else card_2026(i) for i in items]
    return page(path=path, main=list_markup(heading, cards, "day"))


def day_heading(day: date) -> str:
    return f"Daily Papers — {day.strftime('%b')} {day.day}"
