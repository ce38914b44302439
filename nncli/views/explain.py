"""`nncli explain`'s records as rich tables: the worked example, the backward pass, the linear collapse."""

from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text


def num(v: float | None) -> str:
    return "—" if v is None else f"{v:.10g}"


def engine_settings(record) -> str:
    settings = dict(record.engine_optimizer)
    name = settings.pop("name", "")
    return f"{name}: " + ", ".join(
        f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in settings.items()
    )


def short(v: float | None) -> str:
    return "—" if v is None else f"{v:.8g}"


def neuron_step(record, step) -> Group:
    """One step as the notes write it: forward, backward (engine | finite difference | torch), update."""
    x = ", ".join(f"{v:g}" for v in step.x)
    which = " (standardised)" if record.standardized else ""
    head = Text(
        f"step {step.step}: example {step.sample}, x{which} = ({x}), y* = {step.target:g}", style="bold"
    )
    table = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    table.add_column("", no_wrap=True)
    table.add_column("formula", no_wrap=True)
    table.add_column("nncli engine", justify="right")
    table.add_column("finite difference", justify="right")
    torch_label = f"PyTorch {record.torch_version}" if record.torch_version else "PyTorch (not used)"
    table.add_column(torch_label, justify="right")
    table.add_row(Text("forward", style="bold cyan"))
    for q in step.forward:
        table.add_row(q.symbol, q.formula, num(q.engine), "", num(q.torch))
    table.add_row(Text("backward", style="bold cyan"))
    footnotes = []
    for q in step.backward:
        mark = "¹²³⁴"[len(footnotes)] if q.note else ""
        table.add_row(q.symbol + mark, q.formula, num(q.engine), num(q.fd), num(q.torch))
        if q.note:
            footnotes.append(Text(f"{mark} the notes' value {num(q.notes)}: {q.note}", style="dim italic"))
    lines = [
        head,
        table,
        *footnotes,
        Text(f"update ({record.optimizer}; the engine's {engine_settings(record)})", style="bold cyan"),
    ]
    update = Table(show_edge=False, pad_edge=False, box=None, header_style="bold")
    for name in ("", "the notes' formula", "with the numbers", "=", "engine"):
        numbers = (
            name == "with the numbers"
        )  # wraps on a narrow terminal, never cut short: every number shows
        update.add_column(
            name,
            no_wrap=not numbers,
            overflow="fold" if numbers else "ellipsis",
            justify="right" if name in "=engine" else "left",
        )
    for u in step.update:
        for term in u.terms:
            agree = term.engine is not None and abs(term.notes - term.engine) <= 1e-12 * max(
                1.0, abs(term.engine)
            )
            engine = Text(short(term.engine), style="green" if agree else "yellow")
            update.add_row(term.name, term.formula, term.expression, short(term.notes), engine)
    lines.append(update)
    if record.differs:
        lines.append(Text(f"  where the notes differ: {record.differs}", style="dim italic"))
    return Group(*lines)


def neuron_explanation(record) -> Group:
    title = Text(
        f"{record.name}: y = f(Wx + b) with f = {record.activation}, E = {record.loss}",
        style="bold underline",
    )
    diff = record.largest_differences()
    check = f"largest |engine − finite difference| {diff['finite difference']:.1e}"
    if diff["torch"] is not None:
        check += f", |engine − PyTorch| {diff['torch']:.1e}"
        if record.torch_from_cache:
            check += " (PyTorch's values kept from an earlier run of these inputs)"
    return Group(title, *(neuron_step(record, s) for s in record.steps), Text(check, style="green"))


def layer_table(record) -> Group:
    """The chain rule as a table: each layer's output gradient and its parameters' gradients."""
    table = Table(
        title=f"{record.name}: the backward pass, layer by layer, as it runs ({record.batch} examples)",
        caption=f"largest relative error against finite differences ({record.samples} entries a parameter): "
        f"{record.max_rel_error:.1e}",
    )
    for name, justify in [
        ("layer", "left"),
        ("kind", "left"),
        ("∂E/∂output shape", "left"),
        ("‖∂E/∂output‖", "right"),
        ("parameter", "left"),
        ("shape", "left"),
        ("‖∂E/∂p‖", "right"),
        ("max rel. error vs FD", "right"),
    ]:
        table.add_column(name, justify=justify)
    for row in reversed(record.layers):
        params = row.params or [None]
        for i, p in enumerate(params):
            first = i == 0
            table.add_row(
                row.name if first else "",
                row.kind if first else "",
                str(row.grad_shape) if first and row.grad_shape else "",
                num(row.grad_norm) if first and row.grad_norm is not None else "",
                p.name.removeprefix(row.name + ".") if p else "",
                str(p.shape) if p else "",
                f"{p.grad_norm:.6g}" if p else "",
                f"{p.max_rel_error:.1e}" if p else "",
            )
    return Group(
        table, *(Text(f"where the notes differ: {line}", style="dim italic") for line in record.notes)
    )


def collapse(record) -> Group:
    """A linear model multiplied out into one map, next to the same model with tanh."""
    lines = [
        Text(f"{record.name}: every activation is identity, so the layers are one linear map", style="bold")
    ]
    lines.append(Text(f"  W_eff = {record.weight_product}  ({record.in_features} → {record.out_features})"))
    lines.append(Text(f"  W_eff = {_matrix(record.W_eff)}"))
    lines.append(Text(f"  b_eff = {_matrix(record.b_eff)}"))
    lines.append(
        Text(
            f"  max |deep model(x) − (W_eff x + b_eff)| over the {record.samples} training inputs = "
            f"{record.linear_gap:.2e}  (rounding)"
        )
    )
    lines.append(
        Text(
            f"  the same layers with tanh: max |model(x) − its multiplied-out map| = {record.tanh_gap:.3g}",
            style="yellow",
        )
    )
    return Group(*lines)


def _matrix(rows) -> str:
    if rows and isinstance(rows[0], list):
        return "[" + "; ".join(" ".join(f"{v:.6g}" for v in r) for r in rows) + "]"
    return "[" + " ".join(f"{v:.6g}" for v in rows) + "]"
