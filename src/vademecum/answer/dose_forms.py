"""Canonical forms of the parts of a dose: units, routes, frequencies and durations.

The patterns here recognise each part where :mod:`vademecum.answer.dosing` finds a dose, and the
``normalise_*`` functions turn the many ways of writing the same thing into one string, so that two
doses compare by equality: "q4w", "every four weeks" and "every 28 days" are all ``"every 4 weeks"``;
"QD", "once daily", "once a day" and "/day" are ``"daily"``; "PO", "by mouth" and "orally" are ``"oral"``;
"µg" and "mcg" are ``"mcg"``. The canonical forms are plain English, fit to print beside a dose.
"""

from __future__ import annotations

import re

NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8}
NUMBER_WORDS |= {"nine": 9, "ten": 10, "eleven": 11, "twelve": 12}
NUMBER = r"\d{1,7}(?:,\d{3}){0,3}(?:\.\d{1,6})?"  # bounded, so a float never overflows
NUMBER_OR_WORD = r"(?:\d{1,4}|" + "|".join(NUMBER_WORDS) + r")"
RANGE_SEP = r"\s*(?:-|–|—|to)\s*"

# Units a dose is given in; concentrations (mg/mL, µg/mL, mg/L) and rates (mL/min) are excluded by
# the look-ahead, so lab values and clearances are not read as doses.
UNIT_PATTERN = (
    r"(?P<unit>(?P<base>milligrams?|micrograms?|grams?|mcg|µg|μg|ug|mg|ng|gm|meq|mmol|units?|"
    r"international\s+units|million\s+units|mci|mbq|gbq|ml|(?-i:IU|MU)|(?<!\S)(?-i:g|U))"
    # "mg/m 2": a label's superscript 2 flattened to text with a space before it.
    r"(?P<per>\s*/\s*(?:kg|m2|m²|m\(2\)|m\^2|m\s2(?!\d|[.,]\d))|\s+per\s+(?:kg|m2|m²|square\s+met(?:er|re)))?"
    r"(?:\s*/\s*dose)?"
    r"(?P<rate>\s*/\s*(?:day|d|24\s*h(?:ours?)?)|\s+per\s+day|\s*/\s*(?:week|wk)|\s+per\s+week)?)"
    r"(?![\w/²]|-[^\W\d_]|\s+(?:[mdµμn]?L|m)\s*-\s*\d)"
)
UNIT_RE = re.compile(UNIT_PATTERN, re.IGNORECASE)

ROUTE_WORDS = (
    r"(?:deep\s+)?subcutaneous(?:ly)?|intravenous(?:ly)?|intramuscular(?:ly)?|oral(?:ly)?|by\s+mouth|per\s+os|"
    r"sublingual(?:ly)?|buccal(?:ly)?|rectal(?:ly)?|vaginal(?:ly)?|topical(?:ly)?|transdermal(?:ly)?|"
    r"intrathecal(?:ly)?|intravesical(?:ly)?|intranasal(?:ly)?|inhaled|by\s+inhalation|nebuli[sz]ed|"
    r"intra-?arterial(?:ly)?|intraperitoneal(?:ly)?|intravitreal(?:ly)?|intradermal(?:ly)?|"
    r"(?-i:PO|po|IV|iv|SC|sc|SQ|IM|SL|PR)|p\.o\.|i\.v\.|s\.c\.|i\.m\."
)
_ROUTE_ONE = rf"(?:(?:by|via|as\s+an?)\s+)?(?:{ROUTE_WORDS})(?:\s+(?:bolus|push|infusions?|injections?))?(?![\w])"
ROUTE_RE = re.compile(rf"{_ROUTE_ONE}(?:\s*(?:/|,|or)\s*{_ROUTE_ONE})*", re.IGNORECASE)

_ABBR = r"q\.d\.|qd|o\.d\.|od|b\.i\.d\.|bid|t\.i\.d\.|tid|q\.i\.d\.|qid|q\.h\.s\.|qhs|h\.s\.|hs"
_N = NUMBER_OR_WORD
# One alternative per way of writing a schedule: abbreviations ("bid–tid"), intervals ("every other week",
# "q6–8h"), counts per period ("2–3 times a day", "once weekly"), and single words ("daily", "as needed").
FREQUENCY_RE = re.compile(
    rf"(?:(?P<ab1>{_ABBR})(?:\s*(?:-|–|/|or|to)\s*(?P<ab2>{_ABBR}))?"
    rf"|(?:(?:every|each)\s+|q\s*)(?:(?P<other>other)\s+|(?P<i1>{_N})(?:{RANGE_SEP}(?P<i2>{_N}))?\s*)?"
    r"(?P<iunit>hours?|hrs?|h|days?|d|weeks?|wks?|w|months?|mos?)"
    rf"|(?:(?P<tw>once|twice|thrice)|(?P<t1>{_N})(?:\s*(?:-|–|—|to|or)\s*(?P<t2>{_N}))?\s*(?:times?|x|×))"
    r"[\s-]*(?:(?:a|per|each|every|/)\s*)?(?P<tper>daily|day|d|weekly|week|wk|monthly|month)"
    r"|(?P<bare>daily|weekly|monthly|nightly|fortnightly|a\s+day|per\s+day|a\s+week|per\s+week|as\s+needed|"
    r"as\s+required|p\.r\.n\.|prn|on\s+demand|(?:as\s+a\s+)?single\s+doses?|at\s+bedtime))(?![\w])",
    re.IGNORECASE,
)
DURATION_RE = re.compile(
    rf"(?:for|x|×)\s+(?P<dq>up\s+to\s+|at\s+least\s+)?(?P<d1>{_N})(?:{RANGE_SEP}(?P<d2>{_N}))?\s+"
    r"(?:consecutive\s+)?(?P<dunit>hours?|days?|weeks?|months?|years?|cycles?|doses?)\b",
    re.IGNORECASE,
)

# -- canonical forms ----------------------------------------------------------------------------

UNIT_SYNONYMS = {
    "milligram": "mg", "milligrams": "mg", "mcg": "mcg", "µg": "mcg", "μg": "mcg", "ug": "mcg",
    "microgram": "mcg", "micrograms": "mcg", "gram": "g", "grams": "g", "gm": "g", "meq": "mEq",
    "unit": "units", "u": "units", "international units": "IU", "iu": "IU", "mu": "million units",
    "ml": "mL", "mci": "mCi", "mbq": "MBq", "gbq": "GBq",
}  # fmt: skip
# Amounts in these units convert to a common one, so "1 g" and "1,000 mg" compare equal.
UNIT_SCALE = {"g": ("mg", 1000.0), "mcg": ("mg", 0.001), "ng": ("mg", 1e-6), "mCi": ("MBq", 37.0),
              "GBq": ("MBq", 1000.0)}  # fmt: skip
ROUTE_SYNONYMS = {
    "po": "oral", "by mouth": "oral", "per os": "oral", "iv": "intravenous", "sc": "subcutaneous",
    "sq": "subcutaneous", "im": "intramuscular", "sl": "sublingual", "pr": "rectal",
    "inhaled": "inhalation", "by inhalation": "inhalation", "nebulised": "inhalation", "nebulized": "inhalation",
}  # fmt: skip
# Routes that are a kind of another for comparison: a deep subcutaneous injection is subcutaneous.
ROUTE_FAMILY = {"deep subcutaneous": "subcutaneous"}
_BARE_FREQUENCY = {
    "daily": "daily", "a day": "daily", "per day": "daily", "weekly": "weekly", "a week": "weekly",
    "per week": "weekly", "monthly": "monthly", "nightly": "at bedtime", "at bedtime": "at bedtime",
    "fortnightly": "every 2 weeks", "as needed": "as needed", "as required": "as needed", "prn": "as needed",
    "on demand": "as needed",
}  # fmt: skip
_ABBR_TIMES = {"qd": 1, "od": 1, "bid": 2, "tid": 3, "qid": 4}
_PERIOD_WORD = {"d": "daily", "w": "weekly", "m": "monthly"}
_INTERVAL_WORD = {"h": "hour", "d": "day", "w": "week", "m": "month"}
_TIMES_WORD = {2: "twice", 3: "three times", 4: "four times"}


def number(text: str) -> float:
    """The value of a number as written ("1,200", "37.5", "four")."""
    word = text.lower()
    return float(NUMBER_WORDS[word]) if word in NUMBER_WORDS else float(text.replace(",", ""))


def format_number(value: float) -> str:
    """A number without a useless ".0" or trailing zeros (40.0 → "40", 37.50 → "37.5")."""
    return format(value, "f").rstrip("0").rstrip(".") if value != int(value) else str(int(value))


def normalise_unit(raw: str) -> str:
    """Canonical unit: ``"µg/m(2)"`` → ``"mcg/m2"``, ``"milligrams per kg"`` → ``"mg/kg"``.

    A per-day part is dropped (it is a frequency). Text that is not a unit is returned stripped.
    """
    match = UNIT_RE.fullmatch(raw.strip())
    if match is None:
        return raw.strip()
    base = re.sub(r"\s+", " ", match["base"])
    unit = UNIT_SYNONYMS.get(base.lower(), UNIT_SYNONYMS.get(base, base.lower()))
    if match["per"]:
        unit += "/kg" if "kg" in match["per"].lower() else "/m2"
    return unit


def normalise_route(raw: str) -> str:
    """Canonical route: ``"PO"``/``"by mouth"``/``"orally"`` → ``"oral"``, ``"SQ"`` → ``"subcutaneous"``; several
    routes ("PO/IM/IV") are joined with ``" or "``."""
    routes = []
    for part in re.split(r"\s*(?:/|,|\bor\b)\s*", raw.strip()):
        key = re.sub(r"\s+", " ", part.replace(".", "")).lower().strip()
        key = re.sub(r"\s+(?:bolus|push|infusions?|injections?)$", "", key)
        if key not in ROUTE_SYNONYMS:
            key = re.sub(r"^(?:by|via|as an?) ", "", key)
        if key:
            route = ROUTE_SYNONYMS.get(key, key[:-2] if key.endswith("ly") else key)
            routes.append(route)
    return " or ".join(dict.fromkeys(routes))


def normalise_frequency(raw: str) -> str:
    """Canonical frequency, so equal schedules compare equal (``"q4w"``, ``"every 28 days"``, ``"every four weeks"``
    → ``"every 4 weeks"``; ``"QD"``, ``"once daily"``, ``"/day"`` → ``"daily"``; ``"every other week"`` →
    ``"every 2 weeks"``; ``"bid–tid"`` → ``"2-3 times daily"``). Unknown text is returned lower-cased."""
    text = re.sub(r"\s+", " ", raw.strip())
    if re.fullmatch(r"/\s*(?:day|d|24\s*h(?:ours?)?)|per day", text, re.IGNORECASE):
        return "daily"
    if re.fullmatch(r"/\s*(?:week|wk)|per week", text, re.IGNORECASE):
        return "weekly"
    match = FREQUENCY_RE.fullmatch(text)
    return _frequency(match) if match else text.lower()


def _frequency(match: re.Match[str]) -> str:
    if match["ab1"]:
        first, last = (
            _ABBR_TIMES.get(a.replace(".", "").lower()) for a in (match["ab1"], match["ab2"] or match["ab1"])
        )
        if first is None or last is None:  # qhs, hs: a time of day, not a count
            return "at bedtime"
        return _times(min(first, last), max(first, last), "d")
    if match["iunit"]:
        low = 2 if match["other"] else int(number(match["i1"])) if match["i1"] else 1
        high = int(number(match["i2"])) if match["i2"] else low
        return _interval(low, high, match["iunit"][0].lower())
    if match["tper"]:
        low = {"once": 1, "twice": 2, "thrice": 3}[match["tw"].lower()] if match["tw"] else int(number(match["t1"]))
        high = int(number(match["t2"])) if match["t2"] else low
        return _times(low, high, match["tper"][0].lower())
    bare = re.sub(r"\s+", " ", match["bare"].lower()).replace(".", "")
    return _BARE_FREQUENCY.get(bare, "single dose")


def _interval(low: int, high: int, unit: str) -> str:
    if low == high and unit == "h" and low % 24 == 0:
        low = high = low // 24
        unit = "d"
    if low == high and unit == "d" and low % 7 == 0:
        low = high = low // 7
        unit = "w"
    if low == high == 1:
        return {"h": "every hour", **_PERIOD_WORD}[unit]
    count = str(low) if low == high else f"{low}-{high}"
    return f"every {count} {_INTERVAL_WORD[unit]}s"


def _times(low: int, high: int, period: str) -> str:
    if low == high == 1:
        return _PERIOD_WORD[period]
    count = _TIMES_WORD.get(low, f"{low} times") if low == high else f"{low}-{high} times"
    return f"{count} {_PERIOD_WORD[period]}"


def duration_text(match: re.Match[str]) -> str:
    """Canonical duration of a :data:`DURATION_RE` match: "for 14 consecutive days" → "14 days"."""
    low, high = number(match["d1"]), number(match["d2"]) if match["d2"] else None
    unit = match["dunit"].lower().rstrip("s")
    count = format_number(low) if high is None else f"{format_number(low)}-{format_number(high)}"
    plural = "" if high is None and low == 1 else "s"
    qualifier = re.sub(r"\s+", " ", match["dq"].lower()) if match["dq"] else ""
    return f"{qualifier}{count} {unit}{plural}"


# -- what comparison needs -------------------------------------------------------------------------


def comparable_unit(unit: str) -> tuple[str, float]:
    """The unit amounts are compared in, and the factor to it: ``"g/m2"`` → ``("mg/m2", 1000.0)``."""
    base, _, per = normalise_unit(unit).partition("/")
    common, factor = UNIT_SCALE.get(base, (base, 1.0))
    return common + (f"/{per}" if per else ""), factor


def route_family(route: str) -> set[str]:
    """The routes a route statement allows, for comparison ("deep subcutaneous" counts as subcutaneous)."""
    return {ROUTE_FAMILY.get(r, r) for r in normalise_route(route).split(" or ")}
