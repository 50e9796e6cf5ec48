"""The beneficiary's receipt: the same facts as JSON for apps and as text for slip printers."""

from __future__ import annotations

from collections.abc import Sequence

from gateway.payouts.models import Payout, PayoutLine

RECEIPT_WIDTH = 40


def receipt_data(
    *, payout: Payout, lines: Sequence[PayoutLine], household_reference: str
) -> dict[str, object]:
    return {
        "reference": payout.reference,
        "household": household_reference,
        "terminal": payout.terminal_id,
        "state": payout.state,
        "channel": payout.channel,
        "created_at": payout.created_at.isoformat(),
        "lines": [
            {
                "programme": line.programme,
                "component": line.component,
                "period": line.period,
                "amount": line.amount,
            }
            for line in lines
        ],
        "total": payout.amount,
        "bank_transaction_id": payout.bank_transaction_id,
    }


def _rupiah(amount: int) -> str:
    return "Rp " + f"{amount:,}".replace(",", ".")


def receipt_text(data: dict[str, object]) -> str:
    """A fixed-width slip: no NIK and no names, only references a beneficiary can quote."""

    def row(left: str, right: str) -> str:
        return f"{left[: RECEIPT_WIDTH - len(right) - 1]:<{RECEIPT_WIDTH - len(right)}}{right}"

    rule = "-" * RECEIPT_WIDTH
    out = [
        "SATU PINTU - BUKTI PEMBAYARAN".center(RECEIPT_WIDTH),
        rule,
        row("Ref", str(data["reference"])),
        row("Keluarga", str(data["household"])),
        row("Agen", str(data["terminal"])),
        row("Waktu", str(data["created_at"])[:19]),
        row("Status", str(data["state"]).upper()),
        rule,
    ]
    lines = data["lines"]
    assert isinstance(lines, list)
    for line in lines:
        out.append(row(f"{line['programme']} {line['component']}", _rupiah(int(line["amount"]))))
    out += [rule, row("TOTAL", _rupiah(int(str(data["total"])))), rule]
    return "\n".join(out) + "\n"
