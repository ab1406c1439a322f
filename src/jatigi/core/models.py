"""Import every domain's models so that the metadata is complete (Alembic, tests)."""

from jatigi.accounts import models as accounts_models  # noqa: F401
from jatigi.assistance import models as assistance_models  # noqa: F401
from jatigi.core import audit, changes, envelope  # noqa: F401
from jatigi.core.db import Base
from jatigi.dedup import models as dedup_models  # noqa: F401
from jatigi.places import models as places_models  # noqa: F401
from jatigi.protection import models as protection_models  # noqa: F401
from jatigi.registry import models as registry_models  # noqa: F401
from jatigi.targeting import tables as targeting_tables  # noqa: F401

metadata = Base.metadata
