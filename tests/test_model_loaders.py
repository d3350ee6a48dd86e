"""In-process moto reads each botocore model once: every botocore session of the process shares
one model loader, and moto's dispatcher one of its own (see ``share_model_loaders``)."""

from __future__ import annotations

from typing import Any

import botocore.session
from moto.core import utils

from conformance.aws import share_model_loaders

moto_utils: Any = utils  # its create_loader is imported there, not exported


def test_every_session_reads_models_through_one_loader() -> None:
    share_model_loaders()
    share_model_loaders()  # a second embedded run in the process wraps nothing twice
    first, second = botocore.session.get_session(), botocore.session.get_session()
    assert first.get_component("data_loader") is second.get_component("data_loader")
    assert moto_utils.create_loader() is moto_utils.create_loader()
    # moto's loader adds moto's extras to the models it reads: it stays moto's own.
    assert moto_utils.create_loader() is not first.get_component("data_loader")


def test_a_session_with_its_own_data_path_keeps_its_own_loader(tmp_path: object) -> None:
    share_model_loaders()
    default = botocore.session.get_session()
    elsewhere = botocore.session.get_session()
    elsewhere.set_config_variable("data_path", str(tmp_path))
    assert elsewhere.get_component("data_loader") is not default.get_component("data_loader")
