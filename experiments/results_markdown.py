"""Markdown for an experiment's results.md from `facebench eval` results (results.json dictionaries).

A table has a row per enhancer and a column per (results, QF) pair — the QFs of one run, or one QF across
the runs of several darkness levels. Every number is read through facebench.evaluation (`ap_entry`,
`difference_entry`) and printed with 4 decimals; nothing is recomputed. A paired difference is AP(enhancer)
- AP(baseline) on the same images; it is significant when its 95% paired bootstrap interval excludes 0.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

from facebench.evaluation import ap_entry, difference_entry

Column = Tuple[str, dict, str]  # (header, results.json dictionary, QF label)
_VERDICTS = (("better", "better than", "above 0"), ("worse", "worse than", "below 0"),
             ("unclear", "no clear difference from", "contains 0"))


def number(value: Optional[float], sign: bool = False) -> str:
    """4 decimals ('+' in front of positive numbers when `sign`), 'n/a' for None."""
    if value is None:
        return "n/a"
    return f"{value:+.4f}" if sign else f"{value:.4f}"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GitHub-flavoured Markdown table (no trailing newline)."""
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def qf_columns(results: dict) -> List[Column]:
    """One column per QF of a run: ('QF 90', results, '90'), ..."""
    return [(f"QF {qf}", results, qf) for qf in results["qfs"]]


def find_run(results: dict, spec: str, qf: str) -> dict:
    """The run of enhancer `spec` at QF label `qf` in a results.json dictionary."""
    return next(r for r in results["runs"] if r["enhancer_spec"] == spec and r["qf"] == qf)


def _comparison(run: dict) -> Optional[dict]:
    return next((value for key, value in run.items() if key.startswith("vs_")), None)


def _ap_cell(results: dict, spec: str, qf: str, iou: float, protocol: str) -> str:
    entry = ap_entry(find_run(results, spec, qf)["metrics"], protocol, iou)
    ci = entry["ci"]
    return number(entry["ap"]) + (f" [{number(ci[0])}, {number(ci[1])}]" if ci and None not in ci else "")


def verdict(diff: dict) -> Optional[str]:
    """'better' / 'worse' when the 95% interval of a difference excludes 0, 'unclear' when it contains 0, None
    without an interval (--bootstrap 0) or a difference (no faces)."""
    if diff["diff"] is None or diff["ci_low"] is None or diff["ci_high"] is None:
        return None
    return "better" if diff["ci_low"] > 0 else "worse" if diff["ci_high"] < 0 else "unclear"


def _difference(results: dict, spec: str, qf: str, iou: float, protocol: str) -> Optional[dict]:
    comparison = _comparison(find_run(results, spec, qf))
    return difference_entry(comparison, protocol, iou) if comparison else None


def _diff_cell(diff: Optional[dict]) -> str:
    if diff is None:
        return "n/a"
    text = number(diff["diff"], sign=True)
    if diff["ci_low"] is not None and diff["ci_high"] is not None:
        text += f" [{number(diff['ci_low'], True)}, {number(diff['ci_high'], True)}]"
    mark = verdict(diff)
    return text + (f" **{mark}**" if mark in ("better", "worse") else "")


def ap_table(columns: Sequence[Column], iou: float, protocol: str = "official") -> str:
    """AP at `iou` with its 95% bootstrap interval: a row per enhancer of the first column's run."""
    specs = columns[0][1]["enhancers"]
    rows = [[spec] + [_ap_cell(results, spec, qf, iou, protocol) for _, results, qf in columns] for spec in specs]
    return markdown_table(["enhancer"] + [title for title, _, _ in columns], rows)


def difference_table(columns: Sequence[Column], iou: float, protocol: str = "official") -> str:
    """AP(enhancer) - AP(baseline) at `iou` [95% paired bootstrap interval], **better**/**worse** when it excludes 0."""
    specs = columns[0][1]["enhancers"]
    rows = [[spec] + [_diff_cell(_difference(results, spec, qf, iou, protocol)) for _, results, qf in columns]
            for spec in specs[1:]]
    return markdown_table([f"enhancer - {specs[0]}"] + [title for title, _, _ in columns], rows)


def significance(columns: Sequence[Column], iou: float, protocol: str = "official") -> str:
    """One paragraph: which differences against the baseline are significant (95% interval excludes 0), which not."""
    specs = columns[0][1]["enhancers"]
    groups: Dict[Optional[str], List[str]] = {}
    for spec in specs[1:]:
        for title, results, qf in columns:
            diff = _difference(results, spec, qf, iou, protocol)
            groups.setdefault(verdict(diff) if diff else None, []).append(f"{spec} ({title})")
    total = sum(len(v) for v in groups.values())
    if None in groups:
        return f"AP@{iou:g}: no paired intervals (run with --bootstrap > 0) for {', '.join(groups[None])}."
    parts = [f"AP@{iou:g}, paired bootstrap over images, {total} comparisons with {specs[0]}:"]
    for key, words, where in _VERDICTS:
        parts.append(f"{words} {specs[0]} (95% CI {where}): {', '.join(groups.get(key, [])) or '-'}.")
    parts.append(f"At 95% about {0.05 * total:.1f} of {total} intervals exclude 0 by chance alone (no correction "
                 "for multiple comparisons).")
    return " ".join(parts)


def provenance(results: dict, skipped: Sequence[str], command: str, dataset: Optional[str] = None) -> str:
    """Markdown bullet list: the experiment's command, dataset (`dataset`, else the run's), detector, enhancers,
    bootstrap, versions."""
    data, det, env = results["dataset"], results["detector"], results["environment"]
    dataset = dataset or (f"{data['name']} ({data['format']}), {data['images']} images, {data['faces']} faces, "
                          f"content sha256 {data['content_sha256'][:16]}...")
    lines = [f"- command: `{command}`", f"- dataset: {dataset}",
             f"- detector: {det['name']} {det.get('settings') or {}}",
             f"- enhancers: {', '.join(results['enhancers'])}"]
    lines += [f"- left out (weights not found): {line}" for line in skipped]
    lines += [f"- metrics: official DARK FACE protocol; 95% bootstrap CIs from {results['bootstrap_resamples']} "
              f"resamples over images (seed {results['seed']})",
              f"- facebench {env['packages'].get('facebench')}, git {env['git_revision']}, device {env['device']}, "
              f"{env['time_utc']}"]
    if results["synthetic_data"]:
        lines.insert(0, "- **SYNTHETIC data: these numbers say nothing about real dark photos**")
    return "\n".join(lines)
