"""The documentation of a settings model's fields: the string literal under each field.

The config models are documented the way pydantic's ``use_attribute_docstrings`` reads
(a string right after ``name: type = default``), but that option makes pydantic read and parse
every model class's source when its module is imported: ~0.07 s of every ``retl validate``,
``plan`` and ``sync`` (issue #18) for text that only the generated docs (``docs/<platform>.md``)
and ``retl init``'s comments show. Those two read it here, when they run.

Same rules as pydantic's: a ``Field(description=...)`` wins; otherwise the string literal
right after the field's annotated assignment in the body of the class that declares it
(the first of the model's MRO), ``inspect.cleandoc``-ed.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import textwrap
from functools import cache

from pydantic import BaseModel


def field_doc(model: type[BaseModel], name: str) -> str | None:
    """The description of ``model``'s field ``name``, or None when it has none."""
    field = model.model_fields[name]
    if field.description is not None:
        return field.description
    # The class whose body declares the field last (as pydantic: a field declared again
    # without a docstring has none, even if a base class documented it).
    for cls in model.__mro__:
        if name in inspect.get_annotations(cls):
            return _class_docs(cls).get(name)
    return None


@cache
def _class_docs(cls: type) -> dict[str, str]:
    """Field name -> docstring, for the fields written in ``cls``'s own body."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):  # no source (a class built at run time): no docs
        return {}
    tree = ast.parse(source)
    body = next((n.body for n in tree.body if isinstance(n, ast.ClassDef)), [])
    docs: dict[str, str] = {}
    for node, after in itertools.pairwise(body):
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and isinstance(after, ast.Expr)
            and isinstance(after.value, ast.Constant)
            and isinstance(after.value.value, str)
        ):
            docs[node.target.id] = inspect.cleandoc(after.value.value)
    return docs
