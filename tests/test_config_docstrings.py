"""Field docs are read from the models' source when docs or `retl init` need them
(config/docstrings.py), not by pydantic at import (issue #18): the same text pydantic's
``use_attribute_docstrings`` gives, for every settings field."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict, Field

from reverse_etl.config import project as project_config
from reverse_etl.config.docstrings import field_doc
from reverse_etl.destinations.meta.config import MetaConfig
from reverse_etl.destinations.tiktok.config import TikTokConfig


class _Base(BaseModel):
    model_config = ConfigDict(use_attribute_docstrings=True)

    plain: int = 0
    """One line."""
    indented: str = "x"
    """First line,
        then an indented one.

    A second paragraph."""
    undocumented: int = 1
    redeclared: int = 2
    """Documented in the base."""


class _Child(_Base):
    explicit: int = Field(default=3, description="From Field.")
    """Loses to Field(description=...)."""
    redeclared: int = 4
    own: bool = False
    """The child's own."""


@pytest.mark.parametrize("model", [_Base, _Child])
def test_the_same_text_as_pydantic_s_attribute_docstrings(model: type[BaseModel]) -> None:
    for name, field in model.model_fields.items():
        assert field_doc(model, name) == field.description, name


def _config_models() -> list[type[BaseModel]]:
    models = [
        value
        for value in vars(project_config).values()
        if isinstance(value, type)
        and issubclass(value, BaseModel)
        and value.__module__ == project_config.__name__
    ]
    return [*models, TikTokConfig, MetaConfig]


def test_every_destination_setting_is_documented() -> None:
    for model in (TikTokConfig, MetaConfig):
        for name in model.model_fields:
            assert field_doc(model, name), f"{model.__name__}.{name}"


def test_config_models_do_not_read_their_source_at_import() -> None:
    # use_attribute_docstrings makes pydantic parse every class's source when the module is
    # imported (~0.07 s of every command's start-up): the docs read it themselves.
    for model in _config_models():
        assert not model.model_config.get("use_attribute_docstrings"), model.__name__
        assert all(f.description is None for f in model.model_fields.values()), model.__name__
