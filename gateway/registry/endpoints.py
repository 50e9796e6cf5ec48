"""Ops routes of the register: CSV import and household look-up."""

from __future__ import annotations

import io
import secrets
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from gateway.biometrics import repository as template_repository
from gateway.deps import SessionDep, SettingsDep
from gateway.errors import NotFound
from gateway.media import require_content_type
from gateway.registry.importer import import_register
from gateway.registry.schemas import HouseholdView, ImportResult
from gateway.registry.service import household_view
from gateway.terminals.auth import OpsOperatorDep

router = APIRouter(prefix="/v1/ops/registry", tags=["registry"])

_IMPORT_ID_LENGTH = 16


def _reports_dir(data_dir: Path) -> Path:
    path = data_dir / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


@router.post(
    "/imports",
    response_model=ImportResult,
    summary="Import a register CSV (good rows upserted, bad rows reported by line)",
    dependencies=[require_content_type("text/csv")],
)
async def create_import(
    request: Request, operator: OpsOperatorDep, settings: SettingsDep
) -> ImportResult:
    body = await request.body()
    import_id = secrets.token_hex(_IMPORT_ID_LENGTH // 2)
    report_path = _reports_dir(settings.data_dir) / f"{import_id}.errors.csv"

    def run() -> ImportResult:
        with report_path.open("w", encoding="utf-8", newline="") as report:
            summary = import_register(
                session_factory=request.app.state.session_factory,
                source=io.BytesIO(body),
                error_report=report,
            )
        return ImportResult(
            import_id=import_id, first_errors=summary.first_errors, **summary.as_dict()
        )

    return await run_in_threadpool(run)


@router.get(
    "/imports/{import_id}/errors",
    summary="The full per-line error report of an import (CSV)",
    response_class=FileResponse,
)
def import_errors(import_id: str, operator: OpsOperatorDep, settings: SettingsDep) -> FileResponse:
    if len(import_id) != _IMPORT_ID_LENGTH or not all(c in "0123456789abcdef" for c in import_id):
        raise NotFound("No import has this id.", code="unknown_import")
    path = _reports_dir(settings.data_dir) / f"{import_id}.errors.csv"
    if not path.is_file():
        raise NotFound("No import has this id.", code="unknown_import")
    return FileResponse(path, media_type="text/csv", filename=path.name)


@router.get(
    "/households/{reference}",
    response_model=HouseholdView,
    summary="A household and its members (NIKs shown as last four digits only)",
)
def get_household(reference: str, session: SessionDep, operator: OpsOperatorDep) -> HouseholdView:
    return household_view(
        session=session,
        reference=reference,
        enrolled=template_repository.enrolled_people_of_household(session, reference),
    )
