"""What a programme allows when its household is paid at a terminal outside its home region."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

StepUp = Literal["none", "two_fingers", "finger_iris"]
# Strictest last: a payout due from several programmes asks for the strictest step-up.
STEP_UP_ORDER: tuple[StepUp, ...] = ("none", "two_fingers", "finger_iris")


class RegionPolicy(BaseModel):
    """Travelling beneficiaries are real (seasonal work, a relative's hospital), so a
    programme may pay outside the home region; a hostile terminal far away is real too, so
    such payouts ask for more evidence and are capped per terminal per day."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pay: bool = True
    # Evidence of the verification behind the token: two fingers, or a finger and an iris.
    step_up: StepUp = "two_fingers"
    daily_cap_per_terminal: int = Field(default=20, ge=0)
