"""The weekly report: chains over 12 weeks, this week against their average, publishers, the week's releases
with their evidence, and source health. Read from the `reporting` views only, drawn with matplotlib.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pressmon.alerts import evidence_terms, excerpt
from pressmon.errors import PressmonError

BEIJING = ZoneInfo("Asia/Shanghai")
WEEKS = 12
WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")
# Several departments holding one conference are listed with these between them.
PUBLISHER_SEPARATORS = re.compile(r"[、，,；;/]+")
# Fonts with the CJK glyphs, in order of preference: Debian's fonts-wqy-microhei (what `make` installs),
# then the Noto / Source Han families a desktop or another distribution may have.
CJK_FONT_FAMILIES = (
    "WenQuanYi Micro Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "Source Han Sans CN",
    "WenQuanYi Zen Hei",
)
CJK_FONT_FILES = ("wqy-microhei", "notosanscjk", "notosanssc", "sourcehansans", "wqy-zenhei")
CSS_FONTS = "'WenQuanYi Micro Hei','Noto Sans CJK SC','PingFang SC','Microsoft YaHei',sans-serif"
CHARTS = (
    ("chains_by_week", "各产业链每周发布数（近 12 周）"),
    ("this_week_vs_average", "本周与前 12 周周均对比"),
)
UNCHAINED = "未归入产业链"
CRAWL_STATES = {"succeeded": "成功", "failed": "失败", "running": "进行中"}
HEALTH_STATES = {
    "ok": "正常",
    "no_new_items": "无新发布",
    "stale": "久未更新",
    "parse_errors": "解析失败",
    "encoding_error": "编码错误",
    "empty_list": "列表为空",
    "blocked": "被拦截",
}


class ReportError(PressmonError):
    """The weekly report cannot be made (a bad week, or no font that can draw Chinese)."""


# -- weeks ----------------------------------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class Week:
    """An ISO week (Monday to Sunday), the unit of the weekly report."""

    monday: date

    @classmethod
    def parse(cls, label: str) -> Week:
        """Read YYYY-Www, e.g. 2025-W52."""
        match = WEEK_LABEL.match(label.strip())
        if not match:
            raise ReportError(f"a week is written YYYY-Www, e.g. 2025-W52; got {label!r}")
        try:
            return cls(date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1))
        except ValueError as exc:
            raise ReportError(f"no week {label}: {exc}") from None

    @classmethod
    def of(cls, day: date) -> Week:
        return cls(day - timedelta(days=day.weekday()))

    @classmethod
    def last_complete(cls, moment: datetime) -> Week:
        """The last week that had ended by a moment, in Beijing time (on a Monday: the week just ended)."""
        return cls.of(moment.astimezone(BEIJING).date() - timedelta(days=7))

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def label(self) -> str:
        year, week, _ = self.monday.isocalendar()
        return f"{year}-W{week:02d}"

    def minus(self, weeks: int) -> Week:
        return Week(self.monday - timedelta(weeks=weeks))


# -- the data -------------------------------------------------------------------------------------------


@dataclass
class WeeklyData:
    """Everything the report shows, read from the reporting views."""

    week: Week
    chains: list[str]
    weeks: list[Week]  # the WEEKS weeks shown, ending with `week`
    counts: dict[tuple[str, Week], int]  # (chain, week) -> distinct releases, over `weeks` and the baseline
    baseline: list[Week]  # the WEEKS weeks before `week`
    releases: list[dict[str, Any]]  # the week's releases, each with its tags and evidence
    publishers: list[tuple[str, int, int]]  # (publisher, releases this week, releases over `weeks`)
    sources: list[dict[str, Any]]
    baseline_releases: int  # distinct releases over the baseline weeks
    generated_at: datetime = field(default_factory=lambda: datetime.now(BEIJING))

    def count(self, chain: str, week: Week) -> int:
        return self.counts.get((chain, week), 0)

    def average(self, chain: str) -> float:
        return sum(self.count(chain, w) for w in self.baseline) / len(self.baseline)

    @property
    def total_this_week(self) -> int:
        return len(self.releases)

    def by_chain(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The week's releases grouped by chain (a release under each of its chains), busiest chain first."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for release in self.releases:
            for chain in release["chains"] or [UNCHAINED]:
                groups.setdefault(chain, []).append(release)
        order = {chain: i for i, chain in enumerate(self.chains)}
        return sorted(groups.items(), key=lambda kv: (kv[0] == UNCHAINED, -len(kv[1]), order.get(kv[0], 99)))


def gather(conn: Any, week: Week, weeks: int = WEEKS) -> WeeklyData:
    """Read the report's data through a connection (the read-only role's) from the reporting views."""
    shown = [week.minus(n) for n in reversed(range(weeks))]
    baseline = [week.minus(n) for n in reversed(range(1, weeks + 1))]
    first = min(shown[0], baseline[0])
    with conn.cursor() as cur:
        cur.execute("SELECT chain FROM reporting.chains WHERE current_scheme ORDER BY chain_group, chain")
        chains = [row[0] for row in cur.fetchall()]
        cur.execute(
            """SELECT (day - extract(isodow FROM day)::integer + 1) AS monday, chain, sum(releases)::integer
                 FROM reporting.daily_chain_counts
                WHERE day BETWEEN %s AND %s
                GROUP BY 1, 2""",
            (first.monday, week.sunday),
        )
        counts = {(chain, Week(monday)): n for monday, chain, n in cur.fetchall()}
        cur.execute(
            """SELECT cluster_id, release_id, title, url, published_at, publisher, source_name, chains,
                      duplicates, body
                 FROM reporting.releases
                WHERE coalesce(published_at, (first_seen_at AT TIME ZONE 'Asia/Shanghai')::date)
                      BETWEEN %s AND %s
                ORDER BY published_at, cluster_id""",
            (week.monday, week.sunday),
        )
        columns = [d.name for d in cur.description]
        releases = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
        cur.execute(
            """SELECT release_id, chain, evidence FROM reporting.release_chains
                WHERE current_scheme AND release_id = ANY (%s) ORDER BY score DESC, chain""",
            ([r["release_id"] for r in releases],),
        )
        evidence: dict[int, list[dict[str, Any]]] = {}
        for release_id, chain, found in cur.fetchall():
            evidence.setdefault(release_id, []).append({"chain": chain, "evidence": found})
        cur.execute(
            """SELECT publisher, coalesce(published_at, (first_seen_at AT TIME ZONE 'Asia/Shanghai')::date)
                 FROM reporting.releases
                WHERE coalesce(published_at, (first_seen_at AT TIME ZONE 'Asia/Shanghai')::date)
                      BETWEEN %s AND %s""",
            (shown[0].monday, week.sunday),
        )
        published = cur.fetchall()
        cur.execute(
            """SELECT count(*) FROM reporting.releases
                WHERE coalesce(published_at, (first_seen_at AT TIME ZONE 'Asia/Shanghai')::date)
                      BETWEEN %s AND %s""",
            (baseline[0].monday, baseline[-1].sunday),
        )
        baseline_releases = cur.fetchone()[0]
        cur.execute(
            """SELECT l.*, h.state AS health, h.reason AS health_reason
                 FROM reporting.source_last_crawl l LEFT JOIN reporting.source_health h USING (source)
                ORDER BY l.source"""
        )
        columns = [d.name for d in cur.description]
        sources = [dict(zip(columns, row, strict=True)) for row in cur.fetchall()]
    for release in releases:
        release["terms"] = evidence_terms(evidence.get(release["release_id"], []))
        ordered = list(dict.fromkeys(t for c in release["chains"] for t in release["terms"].get(c, [])))
        release["excerpt"] = excerpt(release.pop("body"), ordered)
    known = set(chains)
    chains += sorted({chain for chain, _ in counts} - known)  # chains of an older scheme, carried in counts
    return WeeklyData(
        week=week,
        chains=chains,
        weeks=shown,
        counts=counts,
        baseline=baseline,
        releases=releases,
        publishers=_publishers(published, week),
        sources=sources,
        baseline_releases=baseline_releases,
    )


def _publishers(rows: Iterable[tuple[str | None, date]], week: Week) -> list[tuple[str, int, int]]:
    this_week: Counter[str] = Counter()
    overall: Counter[str] = Counter()
    for publisher, day in rows:
        for name in dict.fromkeys(p.strip() for p in PUBLISHER_SEPARATORS.split(publisher or "未注明")):
            if not name:
                continue
            overall[name] += 1
            if week.monday <= day <= week.sunday:
                this_week[name] += 1
    ranked = sorted(overall, key=lambda name: (-this_week[name], -overall[name], name))
    return [(name, this_week[name], overall[name]) for name in ranked[:10]]


# -- charts ---------------------------------------------------------------------------------------------


@cache
def cjk_font() -> Path:
    """Return the font file charts draw Chinese with.

    Raises:
        ReportError: no font with CJK glyphs is installed (charts would show empty boxes).
    """
    from matplotlib import font_manager

    by_name = {f.name: Path(f.fname) for f in font_manager.fontManager.ttflist}
    for family in CJK_FONT_FAMILIES:
        if family in by_name:
            return by_name[family]
    # matplotlib's font cache may predate the font's installation: look at the files themselves.
    for path in sorted(
        font_manager.findSystemFonts(fontext="ttf") + font_manager.findSystemFonts(fontext="otf")
    ):
        stem = Path(path).name.lower().replace("-", "").replace("_", "")
        if any(key.replace("-", "") in stem for key in CJK_FONT_FILES):
            return Path(path)
    raise ReportError(
        "no font that can draw Chinese is installed; run `make fonts` "
        "(Debian: apt-get install fonts-wqy-microhei)"
    )


def render_charts(data: WeeklyData) -> dict[str, bytes]:
    """Draw the report's charts; return PNG bytes by chart name."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager
    from matplotlib import pyplot as plt

    font = cjk_font()
    font_manager.fontManager.addfont(str(font))
    family = font_manager.FontProperties(fname=str(font)).get_name()
    with plt.rc_context(
        {
            "font.family": [family, "DejaVu Sans"],
            "axes.unicode_minus": False,
            "figure.dpi": 100,
            "savefig.dpi": 100,
        }
    ):
        return {
            "chains_by_week": _png(_chains_by_week(plt, data)),
            "this_week_vs_average": _png(_this_week_vs_average(plt, data)),
        }


def _png(figure: Any) -> bytes:
    from matplotlib import pyplot as plt

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    plt.close(figure)
    return buffer.getvalue()


def _chains_by_week(plt: Any, data: WeeklyData) -> Any:
    import numpy as np

    grid = np.array([[data.count(chain, week) for week in data.weeks] for chain in data.chains], dtype=float)
    figure, axes = plt.subplots(figsize=(10.5, 0.42 * len(data.chains) + 1.6))
    top = max(1.0, grid.max())
    axes.imshow(grid, cmap="Blues", vmin=0, vmax=top * 1.25, aspect="auto")
    for (row, column), value in np.ndenumerate(grid):
        if value:
            axes.text(
                column,
                row,
                f"{int(value)}",
                ha="center",
                va="center",
                fontsize=10,
                color="white" if value > top * 0.6 else "#123",
            )
    axes.set_xticks(range(len(data.weeks)), [_week_tick(w) for w in data.weeks], fontsize=9)
    axes.set_yticks(range(len(data.chains)), data.chains, fontsize=10)
    axes.set_xticks(np.arange(-0.5, len(data.weeks)), minor=True)
    axes.set_yticks(np.arange(-0.5, len(data.chains)), minor=True)
    axes.grid(which="minor", color="white", linewidth=1.5)
    axes.tick_params(which="minor", length=0)
    axes.get_xticklabels()[-1].set_color("#1f5fa8")
    axes.set_title(f"{CHARTS[0][1]}：{data.weeks[0].label} 至 {data.week.label}", fontsize=12, loc="left")
    for spine in axes.spines.values():
        spine.set_visible(False)
    return figure


def _this_week_vs_average(plt: Any, data: WeeklyData) -> Any:
    import numpy as np

    chains = sorted(data.chains, key=lambda c: (data.count(c, data.week), data.average(c)))
    now = [data.count(c, data.week) for c in chains]
    mean = [data.average(c) for c in chains]
    figure, axes = plt.subplots(figsize=(10.5, 0.42 * len(chains) + 1.6))
    rows = np.arange(len(chains))
    axes.barh(rows + 0.2, now, height=0.4, color="#1f5fa8", label=f"本周（{data.week.label}）")
    axes.barh(rows - 0.2, mean, height=0.4, color="#9ec3e6", label="前 12 周周均")
    for row, (n, m) in enumerate(zip(now, mean, strict=True)):
        axes.text(n + 0.03, row + 0.2, str(n), va="center", fontsize=9)
        axes.text(m + 0.03, row - 0.2, f"{m:.2f}", va="center", fontsize=9, color="#555")
    axes.set_yticks(rows, chains, fontsize=10)
    axes.set_xlabel("发布数（条）", fontsize=10)
    axes.set_xlim(0, max([1.0, *now, *mean]) * 1.2)
    axes.legend(loc="lower right", fontsize=9, frameon=False)
    axes.set_title(CHARTS[1][1], fontsize=12, loc="left")
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    return figure


def _week_tick(week: Week) -> str:
    return f"{week.label[5:]}\n{week.monday:%m-%d}"


def chart_texts(data: WeeklyData) -> str:
    """Every text the charts draw, for checking that the font holds each character."""
    texts = [title for _, title in CHARTS] + data.chains + [_week_tick(w) for w in data.weeks]
    texts += ["本周", "前 12 周周均", "发布数（条）", data.week.label, "至"]
    return "".join(texts)


# -- HTML -----------------------------------------------------------------------------------------------


def render_html(data: WeeklyData, image_src: Callable[[str], str]) -> str:
    """The report as one HTML page; image_src gives each chart's src (a data: URI, a file, or a cid:)."""
    e = html.escape
    busiest = sorted(
        ((c, data.count(c, data.week), data.average(c)) for c in data.chains),
        key=lambda t: (-t[1], -t[2], t[0]),
    )
    above = [f"{c}（{n} 条，周均 {m:.2f}）" for c, n, m in busiest if n > m]
    parts = [
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">',
        f"<title>pressmon 周报 {e(data.week.label)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>pressmon 周报 · {e(data.week.label)}</h1>",
        f'<p class="muted">{data.week.monday:%Y-%m-%d}（周一）至 {data.week.sunday:%Y-%m-%d}（周日），按发布日期统计；'
        f"生成于 {data.generated_at:%Y-%m-%d %H:%M}（北京时间）。</p>",
        '<div class="summary">',
        f"<p>本周共 <strong>{data.total_this_week}</strong> 条新闻发布，"
        f"前 12 周平均每周 {_weekly_mean(data):.2f} 条。</p>",
        f"<p>高于前 12 周周均的产业链：{e('、'.join(above)) if above else '无'}。</p>",
        "</div>",
        "<h2>产业链热度</h2>",
    ]
    for name, title in CHARTS:
        parts.append(
            f'<figure><img id="{name}" src="{e(image_src(name), quote=True)}" alt="{e(title)}">'
            f"<figcaption>{e(title)}</figcaption></figure>"
        )
    parts.append(_chain_table(data))
    parts += ["<h2>发布单位（近 12 周）</h2>", _publisher_table(data)]
    parts += ["<h2>本周发布（按产业链）</h2>", _releases_by_chain(data)]
    parts += ["<h2>数据源状态</h2>", _source_table(data)]
    parts.append(
        '<p class="muted">数据来自只读视图 reporting.*（角色 pressmon_reader）。'
        "产业链按现行“10+1”体系标注；证据词为打标时命中的词语。</p></body></html>"
    )
    return "".join(parts)


def _weekly_mean(data: WeeklyData) -> float:
    # Distinct releases per week are not the sum over chains (a release can have several): counted apart.
    return data.baseline_releases / len(data.baseline)


def _chain_table(data: WeeklyData) -> str:
    e = html.escape
    rows = "".join(
        f"<tr><td>{e(chain)}</td><td class='n'>{data.count(chain, data.week)}</td>"
        f"<td class='n'>{data.average(chain):.2f}</td>"
        f"<td class='n'>{sum(data.count(chain, w) for w in data.weeks)}</td></tr>"
        for chain in data.chains
    )
    return (
        "<table><tr><th>产业链</th><th>本周</th><th>前 12 周周均</th><th>近 12 周合计</th></tr>"
        f"{rows}</table>"
    )


def _publisher_table(data: WeeklyData) -> str:
    e = html.escape
    if not data.publishers:
        return '<p class="muted">近 12 周没有发布。</p>'
    rows = "".join(
        f"<tr><td>{e(name)}</td><td class='n'>{week}</td><td class='n'>{total}</td></tr>"
        for name, week, total in data.publishers
    )
    return f"<table><tr><th>发布单位</th><th>本周</th><th>近 12 周</th></tr>{rows}</table>"


def _releases_by_chain(data: WeeklyData) -> str:
    e = html.escape
    if not data.releases:
        return '<p class="muted">本周没有新闻发布。</p>'
    blocks = []
    for chain, releases in data.by_chain():
        items = []
        for release in releases:
            terms = release["terms"].get(chain, [])[:6]
            quoted = "".join(f"<mark>{e(t)}</mark>" if hit else e(t) for t, hit in release["excerpt"])
            copies = f" · 另有 {release['duplicates']} 处转载" if release["duplicates"] else ""
            evidence = (
                "证据词：" + "".join(f'<span class="term">{e(t)}</span>' for t in terms)
                if terms
                else "证据词：无（按来源或关键词收录）"
            )
            items.append(
                f'<li><a href="{e(release["url"], quote=True)}">{e(release["title"])}</a>'
                f'<div class="muted">{release["published_at"] or "日期不详"} · '
                f"{e(release['publisher'] or '未注明')}{e(copies)}</div>"
                f'<div class="evidence">{evidence}</div><blockquote>{quoted}</blockquote></li>'
            )
        blocks.append(
            f'<h3>{e(chain)} <span class="muted">{len(releases)} 条</span></h3><ul>{"".join(items)}</ul>'
        )
    return "".join(blocks)


def _source_table(data: WeeklyData) -> str:
    e = html.escape
    rows = []
    for s in data.sources:
        state = (
            f"{CRAWL_STATES.get(s['status'], s['status'])}（{s['status']}）" if s["status"] else "从未抓取"
        )
        css = {"succeeded": "ok", "failed": "bad", "running": "warn"}.get(s["status"] or "", "warn")
        finished = (
            s["finished_at"].astimezone(BEIJING).strftime("%Y-%m-%d %H:%M") if s["finished_at"] else "—"
        )
        codes = "、".join(s["error_codes"] or []) or "—"
        health = (
            f"{HEALTH_STATES.get(s['health'], s['health'])}（{s['health']}）" if s["health"] else "未评估"
        )
        health_css = {"ok": "ok", "no_new_items": "ok", None: "warn"}.get(s["health"], "bad")
        rows.append(
            f"<tr><td>{e(s['source'])}</td><td>{e(s['source_name'])}</td>"
            f"<td class='{health_css}' title='{e(s['health_reason'] or '', quote=True)}'>{e(health)}</td>"
            f"<td class='{css}'>{e(state)}{'' if s['enabled'] else '（已停用）'}</td><td>{finished}</td>"
            f"<td class='n'>{s['errors'] or 0}</td><td>{e(codes)}</td>"
            f"<td class='n'>{s['owed']}</td><td class='n'>{s['given_up']}</td></tr>"
        )
    return (
        "<table><tr><th>数据源</th><th>名称</th><th>健康状态</th><th>最近抓取</th><th>结束时间</th><th>错误数</th>"
        "<th>错误类型</th><th>待补抓</th><th>已放弃</th></tr>" + "".join(rows) + "</table>"
    )


_CSS = (
    f"body{{font-family:{CSS_FONTS};font-size:14px;line-height:1.7;color:#222;max-width:1100px;"
    "margin:0 auto;padding:20px}"
    "h1{font-size:24px;margin:0 0 4px}h2{font-size:19px;margin:28px 0 10px;border-bottom:2px solid #1f5fa8;"
    "padding-bottom:3px}h3{font-size:16px;margin:16px 0 6px}"
    ".muted{color:#666;font-size:13px}.summary{background:#f3f7fc;padding:8px 14px;border-radius:6px}"
    "figure{margin:12px 0}figure img{max-width:100%;height:auto;border:1px solid #eee}"
    "figcaption{color:#666;font-size:13px}"
    "table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #ddd;padding:4px 10px;text-align:left}"
    "th{background:#f5f5f5}td.n{text-align:right}td.ok{color:#137333}td.bad{color:#c5221f;font-weight:bold}"
    "td.warn{color:#b06000}ul{padding-left:20px}li{margin-bottom:12px}"
    "blockquote{margin:4px 0;padding:4px 10px;border-left:3px solid #ccc;background:#fafafa}"
    "mark{background:#ffe58f}.term{display:inline-block;background:#e8f0fe;color:#174ea6;border-radius:3px;"
    "padding:0 6px;margin:0 4px 0 0;font-size:13px}.evidence{font-size:13px}"
)


# -- files and mail -------------------------------------------------------------------------------------


def write_report(data: WeeklyData, charts: dict[str, bytes], out_dir: Path) -> Path:
    """Write the self-contained HTML report and the charts as PNG files; return the HTML file's path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"weekly-{data.week.label}"
    for name, png in charts.items():
        (out_dir / f"{stem}-{name}.png").write_bytes(png)
    page = render_html(
        data, lambda name: "data:image/png;base64," + base64.b64encode(charts[name]).decode("ascii")
    )
    path = out_dir / f"{stem}.html"
    path.write_text(page, encoding="utf-8")
    return path


def report_message(
    data: WeeklyData,
    charts: dict[str, bytes],
    *,
    sender: str,
    recipient: str,
    subscription_id: int,
    sent_at: datetime,
) -> EmailMessage:
    """The report as an email: a text summary, and the HTML page with its charts attached inline."""
    domain = sender.rsplit("@", 1)[-1].strip("> ") or "pressmon.local"
    cids = {name: f"<{name}.{data.week.label}@{domain}>" for name in charts}
    message = EmailMessage()
    message["Subject"] = report_subject(data)
    message["From"] = sender
    message["To"] = recipient
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<pressmon.weekly.{subscription_id}.{data.week.label}@{domain}>"
    message["X-Pressmon-Subscription"] = str(subscription_id)
    message.set_content(report_text(data), charset="utf-8")
    message.add_alternative(render_html(data, lambda name: "cid:" + cids[name][1:-1]), subtype="html")
    page = message.get_payload()[1]
    for name, png in charts.items():
        page.add_related(png, "image", "png", cid=cids[name], filename=f"{name}.png")
    return message


def report_subject(data: WeeklyData) -> str:
    busiest = sorted(((c, data.count(c, data.week)) for c in data.chains), key=lambda t: (-t[1], t[0]))
    named = [f"{c} {n} 条" for c, n in busiest if n][:3]
    return f"pressmon 周报 {data.week.label}：{data.total_this_week} 条新发布" + (
        f"（{'、'.join(named)}）" if named else ""
    )


def report_text(data: WeeklyData) -> str:
    lines = [
        f"pressmon 周报 {data.week.label}（{data.week.monday} 至 {data.week.sunday}）",
        f"本周共 {data.total_this_week} 条新闻发布。",
        "",
        "产业链：本周 / 前 12 周周均",
    ]
    for chain in data.chains:
        lines.append(f"  {chain}：{data.count(chain, data.week)} / {data.average(chain):.2f}")
    lines += ["", "本周发布："]
    for chain, releases in data.by_chain():
        lines.append(f"【{chain}】")
        for release in releases:
            terms = "、".join(release["terms"].get(chain, [])[:6]) or "无"
            lines.append(f"  {release['published_at']} {release['title']}（证据词：{terms}）")
            lines.append(f"    {release['url']}")
    lines += ["", "数据源："]
    for s in data.sources:
        lines.append(
            f"  {s['source']}：{s['health'] or '未评估'}，{s['status'] or '从未抓取'}，错误 {s['errors'] or 0}，"
            f"待补抓 {s['owed']}，已放弃 {s['given_up']}"
        )
    lines += ["", "图表与完整报告见本邮件的 HTML 版本。"]
    return "\n".join(lines)
