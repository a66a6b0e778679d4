"""The SDK's standard tap tests, against a simulator started for this module."""

from __future__ import annotations

import atexit

from singer_sdk.testing import get_tap_test_class

from tap_kondado.simulator import Simulator
from tap_kondado.tap import TapKondado
from tests.tap_runner import TEST_TOKENS, config_for

# The test class is built at import, so the simulator must be listening by then.
_SIM = Simulator(pipeline_logs=180, model_logs=90, tokens=TEST_TOKENS).start()
atexit.register(_SIM.stop)


def _every_stream_selected() -> dict:
    """The discovered catalog with the status streams selected too (they are not by default)."""
    catalog = TapKondado(config=config_for(_SIM.url), setup_mapper=False).catalog_dict
    for entry in catalog["streams"]:
        for metadata in entry["metadata"]:
            if metadata["breadcrumb"] == []:
                metadata["metadata"]["selected"] = True
    return catalog


# The simulator's logs begin 30 days ago: status_days must reach back past the first ones the dry run reads.
TestTapKondado = get_tap_test_class(
    tap_class=TapKondado, config=config_for(_SIM.url, status_days=90), catalog=_every_stream_selected()
)
