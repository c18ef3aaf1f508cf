"""Read a community YAML file into a CommunitySpec, reporting every problem with its line number.

Everything the database would refuse is refused here, so `gridbot org import --dry-run` finds it: texts longer
than their columns (bot/imports/limits.py), chat ids beyond 64 bits, anchors, aliases and duplicate keys
(bot/imports/safe_yaml.py). The file may be UTF-8 or GBK (bot/imports/encoding.py).
"""

from __future__ import annotations

import re
from pathlib import Path

from bot.imports import limits, safe_yaml
from bot.imports.community_settings import parse_duty, parse_settings, unknown_category
from bot.imports.encoding import UnreadableFile, read_document
from bot.imports.yaml_source import CommunityFileError, Node, Problem, Reader, wrap
from handlers.community.model import Role
from handlers.community.settings import (
    BuildingSpec,
    CommunitySpec,
    CompoundSpec,
    GridSpec,
    PersonSpec,
    ResidentSpec,
)
from nlp.categories import SHIPPED, Catalog
from nlp.types import Category

_RANGE = re.compile(r"^([0-9]{1,6})\s*-\s*([0-9]{1,6})$")


def _building_numbers(reader: Reader, node: Node, where: str) -> list[tuple[str, int, Node]]:
    """Buildings as a list of numbers, "1-12" ranges, or {number, units} mappings."""
    result: list[tuple[str, int, Node]] = []
    for i, item in enumerate(reader.sequence(node, where)):
        here = f"{where}[{i}]"
        if isinstance(item.value, dict):
            fields = item.value
            number = reader.text(fields.get("number"), f"{here}.number", max_length=limits.BUILDING_NUMBER)
            units = (
                reader.integer(
                    fields.get("units"), f"{here}.units", required=False, low=0, high=limits.MAX_UNITS
                )
                or 0
            )
            if number:
                result.append((number, units, item))
            continue
        raw = reader.text(item, here)
        if raw is None:
            continue
        if match := _RANGE.match(raw):
            first, last = int(match[1]), int(match[2])
            if first > last or last - first > 500:
                reader.fail(item, here, f"range {raw} is not valid")
                continue
            result.extend((str(n), 0, item) for n in range(first, last + 1))
            continue
        number = raw.removesuffix("号楼").removesuffix("栋")
        if len(number) > limits.BUILDING_NUMBER:
            reader.fail(
                item,
                here,
                f"building number is {len(number)} characters long (at most {limits.BUILDING_NUMBER})",
            )
        else:
            result.append((number, 0, item))
    return result


def parse_community(
    source: str, path: str = "community.yaml", categories: Catalog = SHIPPED
) -> CommunitySpec:
    """Validate the whole file; raise CommunityFileError listing every problem found."""
    try:
        root_node = safe_yaml.compose(source)
    except safe_yaml.YamlRefused as error:
        raise CommunityFileError(path, [Problem(error.line, "yaml", error.message)]) from error
    if root_node is None:
        raise CommunityFileError(path, [Problem(0, "", "the file is empty")])
    r = Reader()
    root = r.mapping(wrap(root_node), "top level")
    if r.problems:  # nothing else can be checked without the top-level sections
        raise CommunityFileError(path, r.problems)
    community = r.mapping(root.get("community"), "community")
    name = r.text(community.get("name"), "community.name") if "community" in root else None
    if "community" not in root:
        r.fail(None, "community", "the file needs a `community:` section with a name")

    compounds: list[CompoundSpec] = []
    buildings_known: dict[tuple[str, str], int] = {}
    names_seen: dict[str, int] = {}
    for i, node in enumerate(r.sequence(root.get("compounds"), "compounds")):
        here = f"compounds[{i}]"
        fields = r.mapping(node, here)
        cname = r.text(fields.get("name"), f"{here}.name", max_length=limits.COMPOUND_NAME)
        if cname is None:
            continue
        aliases = [
            a
            for j, a_node in enumerate(r.sequence(fields.get("aliases"), f"{here}.aliases"))
            if (a := r.text(a_node, f"{here}.aliases[{j}]", max_length=limits.COMPOUND_NAME)) is not None
        ]
        for label in [cname, *aliases]:
            if label in names_seen:
                r.fail(node, here, f"name or alias {label!r} is already used (line {names_seen[label]})")
            names_seen[label] = node.line
        specs: list[BuildingSpec] = []
        for number, units, b_node in _building_numbers(
            r, fields.get("buildings") or Node([], node.line), f"{here}.buildings"
        ):
            if (cname, number) in buildings_known:
                r.fail(b_node, f"{here}.buildings", f"building {number} is listed twice")
                continue
            buildings_known[(cname, number)] = b_node.line
            specs.append(BuildingSpec(number, units))
        if not specs:
            r.fail(node, here, f"compound {cname} has no buildings")
        compounds.append(
            CompoundSpec(
                name=cname,
                aliases=tuple(aliases),
                buildings=tuple(specs),
                latitude=r.coordinate(fields.get("latitude"), f"{here}.latitude", 90),
                longitude=r.coordinate(fields.get("longitude"), f"{here}.longitude", 180),
            )
        )
    if not compounds and "compounds" in root:
        r.fail(root.get("compounds"), "compounds", "lists no compound")
    elif "compounds" not in root:
        r.fail(None, "compounds", "the file needs a `compounds:` list")
    compound_names = {c.name for c in compounds}
    alias_of = {a: c.name for c in compounds for a in c.aliases}

    people: list[PersonSpec] = []
    people_by_name: dict[str, int] = {}
    chat_ids: dict[int, int] = {}
    grid_nodes = r.sequence(root.get("grids"), "grids")
    grid_names = {
        str(n.value["name"].value)
        for n in grid_nodes
        if isinstance(n.value, dict) and n.value.get("name") is not None
    }
    for i, node in enumerate(r.sequence(root.get("people"), "people")):
        here = f"people[{i}]"
        fields = r.mapping(node, here)
        pname = r.text(fields.get("name"), f"{here}.name", max_length=limits.PERSON_NAME)
        # Optional: someone without one joins later through an invite link (`gridbot org invite NAME`).
        chat_id = r.chat_id(fields.get("chat_id"), f"{here}.chat_id", required=False)
        roles: set[Role] = set()
        for j, role_node in enumerate(r.sequence(fields.get("roles"), f"{here}.roles")):
            raw = r.text(role_node, f"{here}.roles[{j}]")
            try:
                roles.add(Role(raw or ""))
            except ValueError:
                r.fail(role_node, f"{here}.roles[{j}]", f"unknown role {raw!r} (one of: {', '.join(Role)})")
        if "roles" in fields and not fields["roles"].value:
            r.fail(node, f"{here}.roles", "lists no role")
        elif "roles" not in fields:
            r.fail(node, f"{here}.roles", "is required")
        grid = r.text(fields.get("grid"), f"{here}.grid", required=False)
        if grid is not None and grid not in grid_names:
            r.fail(fields.get("grid"), f"{here}.grid", f"unknown grid {grid!r}")
        if Role.GRID_MEMBER in roles and grid is None:
            r.fail(node, here, f"grid member {pname} needs a `grid:`")
        if chat_id is not None:
            r.unique_chat_id(chat_ids, chat_id, fields.get("chat_id"), f"{here}.chat_id", node.line)
        if pname is not None:
            if pname in people_by_name:
                r.fail(node, f"{here}.name", f"two people are called {pname!r}: names must be unique")
            people_by_name[pname] = node.line
        if pname is not None and roles:  # a chat id that is there but wrong is a problem already
            phone = r.text(
                fields.get("phone"), f"{here}.phone", required=False, max_length=limits.PERSON_PHONE
            )
            deputy = r.text(fields.get("deputy"), f"{here}.deputy", required=False)
            if deputy == pname:
                r.fail(fields.get("deputy"), f"{here}.deputy", "a person cannot be their own deputy")
            raw_duty = r.text(fields.get("duty"), f"{here}.duty", required=False)
            duty = parse_duty(raw_duty) if raw_duty else None
            if raw_duty and duty is None:
                r.fail(
                    fields.get("duty"), f"{here}.duty", f"{raw_duty!r} should look like mon-fri 08:30-17:30"
                )
            people.append(PersonSpec(pname, chat_id, frozenset(roles), grid, phone, deputy, duty))

    grids: list[GridSpec] = []
    covered: dict[tuple[str, str], str] = {}
    for i, node in enumerate(grid_nodes):
        here = f"grids[{i}]"
        fields = r.mapping(node, here)
        gname = r.text(fields.get("name"), f"{here}.name", max_length=limits.GRID_NAME)
        if gname is None:
            continue
        if any(g.name == gname for g in grids):
            r.fail(node, f"{here}.name", f"grid {gname!r} is listed twice")
        leader = r.text(fields.get("leader"), f"{here}.leader", required=False)
        if leader is not None and leader not in people_by_name:
            r.fail(fields.get("leader"), f"{here}.leader", f"unknown person {leader!r}")
        group_chat = r.chat_id(fields.get("group_chat_id"), f"{here}.group_chat_id", required=False)
        covers: list[tuple[str, str]] = []
        for j, cover in enumerate(r.sequence(fields.get("covers"), f"{here}.covers")):
            where = f"{here}.covers[{j}]"
            c_fields = r.mapping(cover, where)
            cname = r.text(c_fields.get("compound"), f"{where}.compound")
            if cname is None:
                continue
            cname = alias_of.get(cname, cname)
            if cname not in compound_names:
                r.fail(c_fields.get("compound"), f"{where}.compound", f"unknown compound {cname!r}")
                continue
            buildings_node = c_fields.get("buildings")
            if buildings_node is None or buildings_node.value == "all":
                numbers = [(number, 0, cover) for (c, number) in buildings_known if c == cname]
            else:
                numbers = _building_numbers(r, buildings_node, f"{where}.buildings")
            for number, _, n_node in numbers:
                if (cname, number) not in buildings_known:
                    r.fail(n_node, f"{where}.buildings", f"unknown building {cname} {number}号楼")
                elif (cname, number) in covered and covered[(cname, number)] != gname:
                    r.fail(
                        n_node,
                        f"{where}.buildings",
                        f"{cname} {number}号楼 is already in grid {covered[(cname, number)]}",
                    )
                else:
                    covered[(cname, number)] = gname
                    covers.append((cname, number))
        if not covers:
            r.fail(node, here, f"grid {gname} covers no building")
        grids.append(GridSpec(gname, tuple(covers), leader, group_chat))

    routing: dict[Category, tuple[Role, ...]] = {}
    for key, value in r.mapping(root.get("routing"), "routing").items():
        category = categories.get(key)
        if category is None:
            r.fail(value, f"routing.{key}", unknown_category(key, categories))
            continue
        raw_roles = [value] if not isinstance(value.value, list) else r.sequence(value, f"routing.{key}")
        roles_here: list[Role] = []
        for role_node in raw_roles:
            raw = r.text(role_node, f"routing.{key}")
            try:
                roles_here.append(Role(raw or ""))
            except ValueError:
                r.fail(role_node, f"routing.{key}", f"unknown role {raw!r}")
        if len(",".join(roles_here)) > limits.ROUTE_ROLES:
            r.fail(value, f"routing.{key}", f"lists more roles than fit ({limits.ROUTE_ROLES} characters)")
        elif roles_here:
            routing[category] = tuple(roles_here)

    residents: list[ResidentSpec] = []
    for i, node in enumerate(r.sequence(root.get("residents"), "residents")):
        here = f"residents[{i}]"
        fields = r.mapping(node, here)
        rname = r.text(fields.get("name"), f"{here}.name", max_length=limits.RESIDENT_NAME)
        chat_id = r.chat_id(fields.get("chat_id"), f"{here}.chat_id")
        if chat_id is not None:
            r.unique_chat_id(chat_ids, chat_id, fields.get("chat_id"), f"{here}.chat_id", node.line)
        address = r.mapping(fields.get("address"), f"{here}.address")
        home = r.text(address.get("compound"), f"{here}.address.compound", required=False)
        building_number = r.text(address.get("building"), f"{here}.address.building", required=False)
        if home is not None:
            home = alias_of.get(home, home)
            if (home, building_number or "") not in buildings_known:
                r.fail(
                    fields.get("address"), f"{here}.address", f"unknown building {home} {building_number}号楼"
                )
        consented = fields.get("consented")
        unit = r.text(address.get("unit"), f"{here}.address.unit", required=False, max_length=limits.UNIT)
        room = r.text(address.get("room"), f"{here}.address.room", required=False, max_length=limits.ROOM)
        if rname is not None and chat_id is not None:
            residents.append(
                ResidentSpec(
                    name=rname,
                    chat_id=chat_id,
                    compound=home,
                    building=building_number,
                    unit=unit,
                    room=room,
                    consented=bool(consented.value) if consented is not None else False,
                )
            )

    settings = parse_settings(r, root.get("settings"), root.get("sla"), categories)
    for i, person in enumerate(people):
        if person.deputy is not None and person.deputy not in people_by_name:
            r.fail(None, f"people[{i}].deputy", f"unknown person {person.deputy!r}")
    known_sections = {"community", "compounds", "grids", "people", "routing", "residents", "settings", "sla"}
    for key, node in root.items():
        if key not in known_sections:
            r.fail(node, key, f"unknown section (expected one of: {', '.join(sorted(known_sections))})")
    if r.problems:
        raise CommunityFileError(path, sorted(r.problems, key=lambda p: p.line))
    return CommunitySpec(
        name=name or "",
        compounds=tuple(compounds),
        grids=tuple(grids),
        people=tuple(people),
        residents=tuple(residents),
        routing=routing,
        settings=settings,
    )


def load_community(path: Path, categories: Catalog = SHIPPED) -> CommunitySpec:
    """Read (UTF-8 or GBK) and validate a community file; CommunityFileError lists every problem.

    `categories` are those `routing:` and `sla:` may name: the shipped ones and the rules file's own
    (nlp/categories.py `load_catalog(GRIDBOT_RULES_FILE)`)."""
    try:
        document = read_document(path)
    except UnreadableFile as error:
        raise CommunityFileError(str(path), [Problem(error.line, "file", error.message)]) from error
    return parse_community(document.text, str(path), categories)
