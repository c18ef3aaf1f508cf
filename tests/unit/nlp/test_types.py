"""The public result types write their __init__ out (one dict update, cheaper per message than the
generated one): it must take exactly the dataclass's fields, with the same defaults."""

from __future__ import annotations

import dataclasses
import inspect

import pytest

from nlp.types import Category, Classification, EmergencyLevel, Location, ModelVote, Priority


@pytest.mark.parametrize("cls", [Classification, ModelVote])
def test_the_written_init_takes_the_fields_with_their_defaults(cls: type) -> None:
    params = list(inspect.signature(cls).parameters.values())
    fields = dataclasses.fields(cls)
    assert [p.name for p in params] == [f.name for f in fields]
    for p, f in zip(params, fields, strict=True):
        if f.default is not dataclasses.MISSING:
            assert p.default == f.default
        elif f.default_factory is not dataclasses.MISSING:
            assert p.default == f.default_factory()
        else:
            assert p.default is inspect.Parameter.empty


def test_the_written_init_keeps_frozen_dataclass_behaviour() -> None:
    vote = ModelVote(Category.REPAIR, 0.9, ((Category.OTHER, 0.05),), 0.01, decided=True)
    a = Classification(Category.REPAIR, Priority.NORMAL, keywords=("漏水",), model=vote)
    b = dataclasses.replace(a)
    assert a == b
    assert hash(a) == hash(b)
    assert a.location == Location()
    assert a.emergency_level is EmergencyLevel.NONE
    assert dataclasses.asdict(a)["model"]["decided"] is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.category = Category.OTHER  # type: ignore[misc]


@pytest.mark.parametrize(
    ("cls", "values"),
    [
        (ModelVote, (Category.FRAUD, 0.7, ((Category.OTHER, 0.2),), 0.3, True, True, True, Category.REPAIR)),
        (
            Classification,
            (
                Category.EMERGENCY,
                Priority.URGENT,
                Location("宝山花园", "7", "2", "501"),
                ("着火",),
                0.9,
                (Category.EMERGENCY,),
                EmergencyLevel.CERTAIN,
                ModelVote(Category.EMERGENCY, 0.8),
            ),
        ),
    ],
)
def test_the_written_init_stores_every_field_on_the_instance(cls: type, values: tuple[object, ...]) -> None:
    # A value other than the default for every field, read back from the instance's own dict: a field the
    # written __init__ forgot would still read as its class-level default through getattr.
    made = cls(*values)
    assert vars(made) == {f.name: value for f, value in zip(dataclasses.fields(cls), values, strict=True)}
