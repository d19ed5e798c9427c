"""The monthly analysis report (月研判): Markdown + CSV + PNG charts for one org unit and period.

``write_report`` computes the KPIs (engine/kpi) and writes into a folder:

* ``<org>-<period>.md``   — 总体情况, 化解层级分布 (against targets), 各单位情况, 超期未办结案件,
  近六个月趋势, 口径说明;
* ``<org>-<period>.csv``  — one row per child unit plus the total: every count and rate;
* ``overdue_by_unit.png``, ``resolution_tiers.png``, ``trend.png``.

Charts use matplotlib's Agg backend. With a CJK font installed (WenQuanYi, Noto CJK, Droid Sans
Fallback…) the labels are Chinese; without one they fall back to pinyin/English.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from engine.clock import CHINA
from engine.kpi.labels import SEVERITY, TIER
from engine.kpi.ranking import rank_units
from engine.kpi.rollup import (
    DEFAULT_TARGETS,
    KpiReport,
    KpiSet,
    Period,
    Rate,
    TierTarget,
    as_mapping,
    compute,
    trend,
)
from engine.vocabulary import TIERS

CJK_FONTS = (
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "SimHei",
    "Microsoft YaHei",
    "Droid Sans Fallback",
)
PINYIN_TIER = {"grid": "wangge", "village": "cun", "township": "xiangzhen", "county": "xian"}


@dataclass(frozen=True)
class ReportFiles:
    markdown: Path
    csv: Path
    charts: tuple[Path, ...]


# ------------------------------------------------------------------------------ tables

COUNT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("registered", "登记数"),
    ("due", "应办结数"),
    ("due_closed", "已办结数"),
    ("due_on_time", "按期办结数"),
    ("due_closed_on_time", "按期结案数"),
    ("overdue", "超期数"),
    ("closed", "本期办结数"),
    ("resolved", "化解数"),
    ("unverified", "回访未联系上数"),
    ("escalated_up", "上行数"),
    ("reopened", "重办数"),
    ("reworked", "返工案件数"),
    ("rework_events", "返工次数"),
    ("corrections", "错派数"),
    ("dispatched", "交办数"),
    ("returned", "退单数"),
    ("responded", "按时响应数"),
    ("improper_returns", "不当退单数"),
    ("revisited", "回访数"),
    ("satisfied", "满意数"),
    ("agreements", "调解协议数"),
    ("jc_applied", "司法确认数"),
    ("agreements_due", "应核实履行协议数"),
    ("agreements_performed", "已履行协议数"),
    ("red_open", "期初红案数"),
    ("red_cleared", "红案化解数"),
    ("supervisions", "督办数"),
    ("supervised_open", "督办未处理数"),
)


def rates(k: KpiSet) -> list[tuple[str, Rate]]:
    """The rates in report order (the tier shares have their own section)."""
    return [(name, r) for name, r in as_mapping(k).items() if not name.startswith("化解层级")]


def slug(text: str) -> str:
    """A file-name-safe form of an org id or path (``/c/t1/`` → ``c_t1``)."""
    return re.sub(r"[^\w.-]+", "_", text.strip("/")).strip("_") or "all"


def _local(moment: datetime | None) -> str:
    return moment.astimezone(CHINA).strftime("%Y-%m-%d %H:%M") if moment else "—"


def _target_text(target: TierTarget) -> str:
    parts = []
    if target.minimum is not None:
        parts.append(f"≥{target.minimum * 100:.0f}%")
    if target.maximum is not None:
        parts.append(f"≤{target.maximum * 100:.0f}%")
    return "、".join(parts)


def render_markdown(
    report: KpiReport, history: Sequence[tuple[Period, KpiSet]], charts: Sequence[Path]
) -> str:
    k = report.total
    out = [
        f"# {report.name} {report.period.label} 矛盾纠纷月研判报告",
        "",
        f"统计范围：{report.org_path}（含下级单位）；统计截至 {_local(report.as_of)}（北京时间）。",
        "",
        "## 一、总体情况",
        "",
        "| 指标 | 数值 | 分子/分母 |",
        "|---|---|---|",
    ]
    out += [f"| {name} | {r.percent()} | {r.numerator}/{r.denominator} |" for name, r in rates(k)]
    out += ["", "| 计数 | 数值 |", "|---|---|"]
    out += [f"| {label} | {getattr(k, name)} |" for name, label in COUNT_COLUMNS]
    out += ["", "## 二、化解层级分布", "", "| 层级 | 化解数 | 占比 | 目标 | 是否达标 |"]
    out += ["|---|---|---|---|---|"]
    targets = {t.tier: t for t in report.targets}
    for tier in TIERS:
        share = k.tier_share(tier)
        target = targets.get(tier)
        met = target.met(share.value) if target else None
        verdict = "—" if met is None else ("达标" if met else "未达标")
        out.append(
            f"| {TIER[tier]} | {share.numerator} | {share.percent()} | "
            f"{_target_text(target) if target else '—'} | {verdict} |"
        )
    out += ["", "## 三、各单位情况", ""]
    if report.units:
        out += [
            "| 单位 | 登记数 | 应办结数 | 按期办结率 | 超期数 | 化解率 | 满意率 | 督办数 |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for unit in report.units:
            u = unit.kpis
            out.append(
                f"| {unit.name} | {u.registered} | {u.due} | {u.on_time_rate.percent()} | "
                f"{u.overdue} | {u.resolution_rate.percent()} | {u.satisfaction_rate.percent()} "
                f"| {u.supervisions} |"
            )
    else:
        out.append("（无下级单位数据）")
    out += ["", "## 四、承办单位排名（月度通报）", ""]
    out += _ranking_lines(report)
    out += ["", "## 五、超期未办结案件", ""]
    if report.overdue_open:
        out += ["| 案件编号 | 单位 | 风险等级 | 办理时限 | 督办等级 |", "|---|---|---|---|---|"]
        for f in report.overdue_open[:50]:
            severity = SEVERITY.get(f.severity or "", f.severity or "—")
            out.append(
                f"| {f.case_no} | {f.org_path or '—'} | {severity} | {_local(f.due_at)} | "
                f"{f.ladder_level if f.ladder_level >= 0 else '—'} |"
            )
        if len(report.overdue_open) > 50:
            out.append(f"\n另有 {len(report.overdue_open) - 50} 件，见 CSV。")
    else:
        out.append("无。")
    out += ["", "## 六、近六个月趋势", "", "| 月份 | 按期办结率 | 化解率 | 超期数 | 满意率 |"]
    out += ["|---|---|---|---|---|"]
    for period, kpis in history:
        out.append(
            f"| {period.label} | {kpis.on_time_rate.percent()} | "
            f"{kpis.resolution_rate.percent()} | {kpis.overdue} | "
            f"{kpis.satisfaction_rate.percent()} |"
        )
    if charts:
        out += ["", "## 图表", ""]
        out += [f"![{chart.stem}]({chart.name})" for chart in charts]
    out += [
        "",
        "## 七、口径说明",
        "",
        "全部指标由审计事件记录计算（见 docs/kpis.md）：按期办结率、办结率、超期率以本期到期案件为"
        "分母，按期办结以承办单位反馈办理结果的时间计（不含中心审核和回访的时间）；化解率、层级分布、"
        "重办率、返工率、回访率、满意率、协议履行率以本期办结案件为分母，化解指承办单位反馈已化解且"
        "回访联系上当事人、当事人确认问题已解决；满意率不含“不计入满意率”案件；返工（核查不通过）与"
        "错派（退单同意后改派）分开统计；各单位情况按矛盾发生地统计，承办单位排名按承办单位统计。",
        "",
    ]
    return "\n".join(out)


def _ranking_lines(report: KpiReport) -> list[str]:
    ranked = rank_units((h.unit, h.name, h.kpis) for h in report.handlers)
    if not ranked:
        return ["（本期无承办单位数据）"]
    out = [
        "得分 = 按期办结率×50 + 化解率×30 + (1−返工率)×10（无案件的指标不计，权重按比例放大）"
        " + (10 − 督办数×0.5 − 督办未处理数)。",
        "",
        "| 名次 | 承办单位 | 得分 | 按期办结率 | 化解率 | 返工率 | 满意率 | 督办数 | 超期数 |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in ranked:
        k = r.kpis
        out.append(
            f"| {r.rank or '—'} | {r.name} | {'—' if r.score is None else f'{r.score:.1f}'} | "
            f"{k.on_time_rate.percent()} | {k.resolution_rate.percent()} | "
            f"{k.rework_rate.percent()} | {k.satisfaction_rate.percent()} | {k.supervisions} | "
            f"{k.overdue} |"
        )
    return out


def write_csv(report: KpiReport, path: Path) -> None:
    rows = [(report.name, report.org_path, report.total)]
    rows += [(u.name, u.org_path, u.kpis) for u in report.units]
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        header = ["单位", "路径", "期间"] + [label for _, label in COUNT_COLUMNS]
        header += [name for name, _ in rates(report.total)]
        header += [f"化解层级·{TIER[t]}" for t in TIERS]
        writer.writerow(header)
        for name, path_, k in rows:
            line: list[object] = [name, path_, report.period.label]
            line += [getattr(k, field) for field, _ in COUNT_COLUMNS]
            line += ["" if r.value is None else f"{r.value:.4f}" for _, r in rates(k)]
            line += [k.resolved_by_tier.get(t, 0) for t in TIERS]
            writer.writerow(line)


# ------------------------------------------------------------------------------ charts


def _cjk_font() -> str | None:
    from matplotlib import font_manager

    available = {f.name for f in font_manager.fontManager.ttflist}
    return next((name for name in CJK_FONTS if name in available), None)


def write_charts(
    report: KpiReport, history: Sequence[tuple[Period, KpiSet]], folder: Path
) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    font = _cjk_font()
    zh = font is not None
    written = []
    with plt.rc_context():  # restores the settings below on exit
        matplotlib.rcParams["axes.unicode_minus"] = False
        if font:
            matplotlib.rcParams["font.family"] = [font, "sans-serif"]
        # 1. overdue by unit
        fig, ax = plt.subplots(figsize=(8, 4.5))
        names = [u.name if zh else u.org_path for u in report.units] or ["—"]
        values = [u.kpis.overdue for u in report.units] or [0]
        ax.bar(names, values, color="#c0392b")
        ax.set_title("各单位超期数" if zh else "Overdue cases by unit (chaoqi)")
        ax.set_ylabel("件" if zh else "cases")
        ax.tick_params(axis="x", labelrotation=30)
        written.append(_save(fig, folder / "overdue_by_unit.png"))
        # 2. resolution tiers
        fig, ax = plt.subplots(figsize=(6, 4.5))
        labels = [TIER[t] if zh else PINYIN_TIER[t] for t in TIERS]
        counts = [report.total.resolved_by_tier.get(t, 0) for t in TIERS]
        ax.bar(labels, counts, color="#2e86c1")
        for target in report.targets:
            if target.minimum is not None and report.total.resolved:
                i = TIERS.index(target.tier)
                ax.hlines(target.minimum * report.total.resolved, i - 0.4, i + 0.4,
                          colors="#27ae60", linestyles="dashed")  # fmt: skip
        ax.set_title("化解层级分布" if zh else "Resolution tier distribution (huajie cengji)")
        written.append(_save(fig, folder / "resolution_tiers.png"))
        # 3. trend
        fig, ax = plt.subplots(figsize=(8, 4.5))
        months = [p.label for p, _ in history]
        lines: tuple[tuple[str, str, Callable[[KpiSet], Rate]], ...] = (
            ("按期办结率", "on-time closure", lambda k: k.on_time_rate),
            ("化解率", "resolution", lambda k: k.resolution_rate),
            ("满意率", "satisfaction", lambda k: k.satisfaction_rate),
        )
        for label, en, pick in lines:
            series = [pick(k).value for _, k in history]
            ax.plot(months, [v * 100 if v is not None else float("nan") for v in series],
                    marker="o", label=label if zh else en)  # fmt: skip
        ax.set_ylim(0, 105)
        ax.set_ylabel("%")
        ax.set_title("近六个月趋势" if zh else "Six-month trend (qushi)")
        ax.legend()
        written.append(_save(fig, folder / "trend.png"))
    return written


def _save(fig: object, path: Path) -> Path:
    from matplotlib.figure import Figure

    assert isinstance(fig, Figure)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    from matplotlib import pyplot as plt

    plt.close(fig)
    return path


# ------------------------------------------------------------------------------ entry point


def write_report(
    session: Session,
    org: str,
    period: Period,
    folder: Path,
    now: datetime,
    *,
    targets: Sequence[TierTarget] = DEFAULT_TARGETS,
    charts: bool = True,
) -> ReportFiles:
    """Compute and write the period's report for ``org`` (a unit id or path) into ``folder``."""
    report = compute(session, org, period, now, targets=targets)
    monthly = re.fullmatch(r"\d{4}-\d{2}", period.label) is not None
    history = trend(session, org, period, now) if monthly else []
    folder.mkdir(parents=True, exist_ok=True)
    stem = f"{slug(org)}-{period.label}"
    pictures = write_charts(report, history, folder) if charts else []
    md = folder / f"{stem}.md"
    md.write_text(render_markdown(report, history, pictures), encoding="utf-8")
    table = folder / f"{stem}.csv"
    write_csv(report, table)
    return ReportFiles(md, table, tuple(pictures))
