"""Shared base for every config section: unknown keys are errors, fields are documented."""

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """Base class for config sections.

    ``extra="forbid"`` turns a typo in config.yaml into an error that names the key instead
    of a setting that silently does nothing in a shop.
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)
