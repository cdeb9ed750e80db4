"""Schema types the API's endpoints share."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field


def one_of(values) -> type[str]:
    """A string the schema documents as one of ``values``. The service checks it, in the words every channel uses
    ("must be one of …; got 'maybe'"), instead of pydantic's own ("Input should be …", without what was sent)."""
    return Annotated[str, Field(json_schema_extra={"enum": list(values)})]
