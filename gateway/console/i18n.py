"""Words in Indonesian and English, Rupiah in the Indonesian format, times in the region's zone.

Formatting comes from Babel (CLDR data). Amounts are always written the Indonesian way
(`Rp 1.500.000`) whatever the language, since the money is Indonesian; times are written
in the zone of the region they belong to (WIB, WITA or WIT), and in WIB, the zone of the
payment day, when they belong to no region.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_decimal, format_percent

# Province codes (the first two digits of a NIK region) by time zone; the rest are WIB.
_WITA = frozenset({"51", "52", "53", "63", "64", "65", "71", "72", "73", "74", "75", "76"})
_WIT = frozenset({"81", "82", "91", "92", "93", "94", "95", "96"})
_ZONES = {
    "WIB": ZoneInfo("Asia/Jakarta"),
    "WITA": ZoneInfo("Asia/Makassar"),
    "WIT": ZoneInfo("Asia/Jayapura"),
}
_LOCALES = {"id": "id_ID", "en": "en_GB"}


def zone_of(region: str | None) -> str:
    """WIB, WITA or WIT for a region code (province first); WIB for none."""
    province = (region or "")[:2]
    if province in _WITA:
        return "WITA"
    if province in _WIT:
        return "WIT"
    return "WIB"


def rupiah(amount: int | None) -> str:
    if amount is None:
        return "–"
    return f"Rp {format_decimal(amount, locale='id_ID')}"


def number(value: float, language: str, digits: int = 0) -> str:
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=_LOCALES[language])


def percent(value: float, language: str) -> str:
    return format_percent(value, format="#,##0.0%", locale=_LOCALES[language])


def when(moment: dt.datetime | None, language: str, region: str | None = None) -> str:
    """`6 Des 2026 08.15 WITA`: the moment in its region's zone, the zone named."""
    if moment is None:
        return "–"
    zone = zone_of(region)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    pattern = "d MMM y HH.mm" if language == "id" else "d MMM y HH:mm"
    return (
        f"{format_datetime(moment, pattern, tzinfo=_ZONES[zone], locale=_LOCALES[language])} {zone}"
    )


def day(value: dt.date, language: str) -> str:
    return format_datetime(
        dt.datetime.combine(value, dt.time(12), tzinfo=dt.UTC),
        "d MMMM y",
        locale=_LOCALES[language],
    )


MESSAGES: dict[str, tuple[str, str]] = {
    # key: (Indonesian, English)
    "console": ("Konsol Satu Pintu", "Satu Pintu console"),
    "skip": ("Langsung ke isi", "Skip to content"),
    "sign_in": ("Masuk", "Sign in"),
    "sign_out": ("Keluar", "Sign out"),
    "operator_id": ("ID operator", "Operator id"),
    "password": ("Kata sandi", "Password"),
    "invalid": ("ID atau kata sandi salah.", "Wrong operator id or password."),
    "locked": (
        "Akun dikunci sementara setelah terlalu banyak percobaan gagal.",
        "The account is locked for a while after too many failed attempts.",
    ),
    "language": ("Bahasa", "Language"),
    "save": ("Simpan", "Save"),
    "role": ("Peran", "Role"),
    "role_ops": ("Operasional", "Operations"),
    "role_case_worker": ("Pendamping", "Case worker"),
    "role_supervisor": ("Supervisor", "Supervisor"),
    "role_auditor": ("Auditor", "Auditor"),
    "nav": ("Menu utama", "Main menu"),
    "dashboard": ("Hari penyaluran", "Payout day"),
    "adjudications": ("Adjudikasi", "Adjudication"),
    "review": ("Penyaluran ditinjau", "Payouts in review"),
    "lockouts": ("Penguncian", "Lockouts"),
    "terminals": ("Terminal", "Terminals"),
    "reconciliation": ("Rekonsiliasi", "Reconciliation"),
    "audit": ("Audit", "Audit"),
    "region": ("Wilayah", "Region"),
    "programme": ("Program", "Programme"),
    "due": ("Jatuh tempo", "Due"),
    "paid": ("Dibayar", "Paid"),
    "pending": ("Menunggu", "Pending"),
    "refused": ("Ditolak", "Refused"),
    "budget_left": ("Sisa anggaran", "Budget left"),
    "last_hour": ("Satu jam terakhir", "Last hour"),
    "verify_rate": ("Verifikasi per menit", "Verifications per minute"),
    "pay_rate": ("Pembayaran per menit", "Payments per minute"),
    "error_ratio": ("Rasio galat", "Error ratio"),
    "p95_verify": ("p95 verifikasi", "Verify p95"),
    "p95_pay": ("p95 pembayaran", "Pay p95"),
    "households": ("Rumah tangga", "Households"),
    "no_rows": ("Tidak ada data.", "Nothing to show."),
    "reference": ("Referensi", "Reference"),
    "status": ("Status", "Status"),
    "created": ("Dibuat", "Created"),
    "open": ("Buka", "Open"),
    "candidates": ("Kandidat", "Candidates"),
    "candidate": ("Kandidat", "Candidate"),
    "enrolment": ("Perekaman", "Enrolment"),
    "person": ("Orang", "Person"),
    "household": ("Rumah tangga", "Household"),
    "score": ("Skor", "Score"),
    "fmr": ("Tingkat salah cocok", "False match rate"),
    "modality": ("Modalitas", "Modality"),
    "decision": ("Keputusan", "Decision"),
    "same_person": ("Orang yang sama", "Same person"),
    "merge": ("Gabungkan dengan kandidat", "Merge into the candidate"),
    "refuse": ("Tolak perekaman", "Refuse the enrolment"),
    "different_people": ("Orang berbeda: rekam", "Different people: enrol"),
    "reason": ("Alasan", "Reason"),
    "reason_hint": ("Minimal 10 karakter.", "At least 10 characters."),
    "decide": ("Putuskan", "Decide"),
    "decided": ("Sudah diputuskan", "Decided"),
    "minutiae": ("Minusi", "Minutiae"),
    "iris_mask": ("Masker kode iris", "Iris code mask"),
    "no_templates": ("Tidak ada templat untuk ditampilkan.", "No template to show."),
    "amount": ("Jumlah", "Amount"),
    "bank": ("Bank", "Bank"),
    "history": ("Riwayat", "History"),
    "lines": ("Rincian", "Lines"),
    "late_answers": ("Jawaban bank terlambat", "The bank's late answers"),
    "statement_lines": ("Baris rekening koran", "Statement lines"),
    "resolutions": ("Keputusan", "Decisions"),
    "resolve": ("Selesaikan", "Resolve"),
    "commit": ("Bukukan sebagai dibayar", "Commit as paid"),
    "void": ("Batalkan", "Void"),
    "evidence": ("Bukti", "Evidence"),
    "approve": ("Setujui (tanda tangan kedua)", "Approve (second signature)"),
    "awaiting_approval": ("Menunggu persetujuan supervisor", "Awaiting a supervisor's approval"),
    "unlock": ("Buka kunci", "Unlock"),
    "failures": ("Kegagalan", "Failures"),
    "locked_at": ("Dikunci", "Locked"),
    "fallbacks": ("Fallback terawasi", "Supervised fallbacks"),
    "verification": ("Verifikasi", "Verification"),
    "terminal": ("Terminal", "Terminal"),
    "case_worker": ("Pendamping", "Case worker"),
    "cash_out": ("Izinkan tarik tunai", "Allow cash-out"),
    "agent": ("Agen", "Agent"),
    "devices": ("Perangkat", "Devices"),
    "revoke": ("Cabut", "Revoke"),
    "model": ("Model", "Model"),
    "recent_refusals": ("Penolakan terakhir", "Recent refusals"),
    "outcome": ("Hasil", "Outcome"),
    "at": ("Waktu", "At"),
    "day": ("Tanggal", "Day"),
    "run": ("Jalankan", "Run"),
    "statement": ("Rekening koran", "Statement"),
    "findings": ("Temuan", "Findings"),
    "what_to_do": ("Tindakan", "What to do"),
    "balanced": ("Seimbang", "Balanced"),
    "clean": ("Bersih", "Clean"),
    "yes": ("ya", "yes"),
    "no": ("tidak", "no"),
    "kind": ("Jenis", "Kind"),
    "actor": ("Pelaku", "Actor"),
    "subject": ("Subjek", "Subject"),
    "data": ("Data", "Data"),
    "filter": ("Saring", "Filter"),
    "older": ("Lebih lama", "Older"),
    "verify_chain": ("Periksa rantai audit", "Verify the audit chain"),
    "chain_ok": ("Rantai utuh: {n} entri diperiksa.", "Chain intact: {n} entries checked."),
    "chain_broken": (
        "Rantai rusak pada entri {seq}: {reason}",
        "Chain broken at entry {seq}: {reason}",
    ),
    "done": ("Tersimpan.", "Saved."),
    "forbidden": (
        "Peran Anda tidak mengizinkan tindakan ini.",
        "Your role does not allow this action.",
    ),
    "csrf": (
        "Formulir ini kedaluwarsa atau palsu; muat ulang halaman.",
        "This form is stale or forged; reload the page.",
    ),
    "error": ("Permintaan ditolak", "Request refused"),
    "not_found": ("Tidak ditemukan.", "Not found."),
    "refreshes": ("Diperbarui setiap {s} detik.", "Refreshed every {s} seconds."),
    "todo_amount_mismatch": (
        "Bandingkan dengan bank; usulkan pembatalan atau koreksi.",
        "Compare with the bank; propose a void or a correction.",
    ),
    "todo_missing_in_ledger": (
        "Bank membayar tanpa catatan: selidiki dan laporkan.",
        "The bank paid with no record here: investigate and report.",
    ),
    "todo_missing_in_bank": (
        "Tanyakan status ke bank; selesaikan di Penyaluran ditinjau.",
        "Ask the bank for its status; resolve it under payouts in review.",
    ),
    "todo_paid_after_void": (
        "Kritis: dibayar setelah dibatalkan; hak sudah diklaim ulang, periksa anggaran.",
        "Critical: paid after void; entitlements claimed again, check the budget.",
    ),
    "todo_reversal": ("Tidak perlu tindakan.", "Nothing to do."),
}


def translate(key: str, language: str, **values: object) -> str:
    indonesian, english = MESSAGES[key]
    text = indonesian if language == "id" else english
    return text.format(**values) if values else text
