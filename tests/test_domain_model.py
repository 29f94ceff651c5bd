"""Adding an attribute is one edit: a throwaway model gets its validation, catalogue, columns, defaults,
GraphQL types, inputs, filters and order enum without another line written for it."""

import re
import time
from typing import Annotated

import pytest
import strawberry
from sqlmodel import Field
from strawberry.tools import create_type

from app.domain.catalogue import Arr, Kind
from app.domain.errors import Invalid
from app.domain.model import (
    DateTimeText,
    Defaulted,
    Indexed,
    Lifecycle,
    Linked,
    NonBlank,
    NotPatchable,
    RequiredOnCreate,
    ServerOwned,
    Stamped,
    TmfModel,
    instant_key,
    parse_datetime,
)
from app.domain.resource import ResourceType
from schema.derive import input_type, order_enum, output_type, where_type
from schema.filters import FILTER_OF_KIND
from schema.scalars import SCALAR_MAP


def make_widget() -> tuple[type[TmfModel], ResourceType]:
    """A throwaway resource with a sub-resource, built when a test runs (not at import: the mutation run
    must see the derivation happen)."""

    class Gadget(TmfModel):
        """A throwaway sub-resource."""

        serial: NonBlank = Field(description="The serial number")
        boughtAt: DateTimeText = Field(default=None, description="When it was bought")

    class Owner(TmfModel):
        """Who owns it."""

        id: NonBlank = Field(description="The owner's id")
        referredType: NonBlank = Field(alias="@referredType", description="What the owner is")

    class Widget(TmfModel):
        """A throwaway resource: one attribute more than nothing, to show what one edit brings."""

        id: Annotated[str, ServerOwned(), Indexed("id")] = Field(default=None, description="Its id")
        href: Annotated[str, ServerOwned()] = Field(default=None, description="Its URL")
        label: Annotated[NonBlank, RequiredOnCreate(), Indexed("label")] = Field(
            default=None, description="A label"
        )
        phase: Annotated[str, Lifecycle()] = Field(default=None, description="Its lifecycle state")
        weightGrams: int = Field(default=None, description="The new attribute")
        gadget: list[Gadget] = Field(default=None, description="Its gadgets")
        made: Annotated[Gadget, Indexed("made_serial", "serial")] = Field(
            default=None, description="Its maker"
        )
        owner: Annotated[list[Owner], Linked("id", "@referredType")] = Field(
            default=None, description="Owners"
        )
        changedAt: Annotated[DateTimeText, Stamped()] = Field(default=None, description="Server-set")
        balance: Annotated[int, NotPatchable()] = Field(default=None, description="Read-only")
        type_: Annotated[str, Defaulted("Widget")] = Field(
            default=None, alias="@type", description="Its type"
        )

    return Widget, ResourceType(Widget)


def test_a_new_model_gets_its_rules() -> None:
    _, WIDGET = make_widget()
    WIDGET.validate({"label": "w", "weightGrams": 3, "gadget": [{"serial": "s1"}], "x-extra": [1]})
    cases = [
        ({"weightGrams": 3}, "label", "'label' is mandatory and must not be blank"),
        ({"label": "w", "weightGrams": "3"}, "weightGrams", "'weightGrams' must be an integer"),
        ({"label": "w", "weightGrams": None}, "weightGrams", "'weightGrams' must not be null"),
        ({"label": "w", "gadget": [{"serial": " "}]}, "gadget[0].serial", "must not be blank"),
        ({"label": "w", "gadget": [{"serial": "s", "boughtAt": "May"}]}, "gadget[0].boughtAt", "RFC 3339"),
        ({"label": "w", "id": "1"}, "id", "set by the server"),
    ]
    for doc, field, message in cases:
        with pytest.raises(Invalid) as raised:
            WIDGET.validate(doc)
        assert raised.value.field == field and message in raised.value.message, doc


def test_a_new_model_gets_its_catalogue_columns_and_defaults() -> None:
    Widget, WIDGET = make_widget()
    assert WIDGET.model is Widget and WIDGET.name == "Widget"
    assert WIDGET.catalogue.members["weightGrams"] is Kind.INTEGER
    gadget = WIDGET.catalogue.members["gadget"]
    assert isinstance(gadget, Arr) and gadget.item.members["boughtAt"] is Kind.DATETIME
    assert WIDGET.columns == {("id",): "id", ("label",): "label", ("made", "serial"): "made_serial"}
    assert WIDGET.indexed_columns({"label": "w", "weightGrams": 2, "made": {"serial": "S"}}) == {
        "label": "w",
        "made_serial": "S",
    }
    assert WIDGET.indexed_columns({"label": "w"}) == {"label": "w", "made_serial": None}
    assert WIDGET.with_defaults({"label": "w"}) == {"label": "w", "@type": "Widget"}
    assert WIDGET.defaults == {"@type": "Widget"}
    assert WIDGET.lifecycle == "phase" and WIDGET.server_owned == ("id", "href")
    assert WIDGET.stamped == ("changedAt",) and WIDGET.not_patchable == ("balance",)
    assert WIDGET.links is not None and WIDGET.links[0] == "owner"
    assert (WIDGET.links[1].id, WIDGET.links[1].type) == ("id", "@referredType")
    assert WIDGET.create.__name__ == "Widget_Create" and WIDGET.update.__name__ == "Widget_Update"
    assert set(WIDGET.create.model_fields) == {
        "label",
        "phase",
        "weightGrams",
        "gadget",
        "made",
        "owner",
        "changedAt",
        "balance",
        "type_",
    }
    assert [n for n, f in WIDGET.create.model_fields.items() if f.is_required()] == ["label"]
    assert [n for n, f in WIDGET.update.model_fields.items() if f.is_required()] == []
    assert WIDGET.create.model_fields["type_"].alias == "@type"
    assert WIDGET.create.model_fields["weightGrams"].description == "The new attribute"
    gadget_field = WIDGET.create.model_fields["gadget"]
    assert gadget_field.default is None and not gadget_field.is_required()


def test_a_new_model_gets_its_graphql_types_inputs_filters_and_order() -> None:
    Widget, WIDGET = make_widget()
    out = output_type(Widget, top=True)
    create = input_type(WIDGET.create, name="WidgetCreateInput", required=True)
    where = where_type(Widget, FILTER_OF_KIND, name="WidgetWhere", combinable=True)
    order = order_enum(WIDGET)

    def widget(where: where, input: create | None = None, by: order | None = None) -> out | None:  # type: ignore[valid-type]
        return None

    query = create_type("Query", [strawberry.field(widget, name="widget")])
    sdl = strawberry.Schema(query=query, scalar_overrides=SCALAR_MAP).as_str()
    assert re.search(r"type Widget \{[^}]*weightGrams: Int\n", sdl)
    assert re.search(r"input WidgetCreateInput \{[^}]*label: String!\n[^}]*weightGrams: Int\n", sdl)
    assert re.search(r"input WidgetWhere \{[^}]*weightGrams: IntFilter\n[^}]*gadget: GadgetWhere\n", sdl)
    assert re.search(r"input GadgetWhere \{[^}]*boughtAt: DateTimeFilter\n", sdl)
    assert {"WEIGHT_GRAMS", "LABEL", "TYPE", "ID"} <= set(order.__members__)
    assert "GADGET_SERIAL" not in order.__members__, "attributes inside arrays cannot be sort keys"


def test_instant_keys_are_utc_with_four_digits_of_year_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        keys = [
            instant_key(parse_datetime(text))
            for text in ("2024-01-01T02:00:00+02:00", "0999-12-31T23:30:00.5-01:00")
        ]  # type: ignore[arg-type]
    finally:
        monkeypatch.undo()
        time.tzset()
    assert keys == ["2024-01-01T00:00:00.000000Z", "1000-01-01T00:30:00.500000Z"]
