"""Deterministic, realistic demo contacts (names, companies, statuses, plans), generated vectorised with numpy."""
from __future__ import annotations

import datetime as dt
import functools
import math
import re

import numpy as np
import pandas as pd

from segmenter.contacts import ascii_fold
from segmenter.values import UTC, to_utc

FIRST_NAMES = """
Aaron Abigail Adam Adrian Aisha Alan Albert Alejandro Alex Alexander Alice Alicia Allison Amanda Amelia Amir Amy
Ana Andrea Andrew Angela Anna Anthony Antonio Ariana Arjun Ashley Barbara Beatriz Benjamin Beth Bianca Brandon
Brian Bruno Caleb Camila Carl Carlos Carmen Caroline Catherine Charles Charlotte Chen Chloe Christian Christina
Christopher Claire Daniel David Deborah Diana Diego Dmitri Donna Dylan Edward Elena Elijah Elizabeth Ella Emily
Emma Eric Ethan Eva Fatima Felix Fiona Gabriel Gabriela George Grace Hannah Harper Hassan Helen Henry Hiroshi
Hugo Ian Isaac Isabel Isabella Ivan Jack Jacob James Jane Jasmine Jason Jennifer Jessica Joan John Jonathan
Joseph Joshua Julia Julian Justin Karen Katherine Kevin Kim Laura Lauren Layla Leah Leo Liam Lily Linda Lisa
Lucas Lucy Luis Maria Mark Martin Mary Mason Matthew Maya Megan Mei Melissa Michael Michelle Mohammed Natalie
Nathan Nicholas Nicole Noah Nora Olivia Omar Oscar Patricia Patrick Paul Peter Priya Rachel Rahul Rebecca Richard
Robert Ryan Samuel Sandra Sara Sarah Scott Sean Sebastian Sofia Sophie Stephen Steven Susan Thomas Timothy Tyler
Valentina Victoria William Yuki Zachary
José Zoë Łukasz Søren François Björn Anaïs Chloé Renée Jürgen Małgorzata Inés Zoltán Ágnes Çağla Oğuz Mónica
Håkon Siobhán Théo
""".split()

LAST_NAMES = """
Adams Allen Alvarez Anderson Bailey Baker Barnes Bell Bennett Brooks Brown Bryant Butler Campbell Carter Castillo
Chavez Chen Clark Collins Cook Cooper Cox Cruz Davis Diaz Edwards Evans Fisher Flores Foster Garcia Gomez Gonzalez
Gordon Graham Gray Green Griffin Hall Hamilton Harris Hayes Henderson Hernandez Hill Holmes Howard Hughes Hunt
Jackson James Jenkins Johnson Jones Jordan Kelly Kennedy Kim King Lee Lewis Long Lopez Marshall Martin Martinez
Mason Mendoza Miller Mitchell Moore Morales Morgan Morris Murphy Murray Myers Nelson Nguyen Ortiz Owens Parker
Patel Perez Perry Peterson Phillips Powell Price Ramirez Ramos Reed Reyes Reynolds Richardson Rivera Roberts
Robinson Rodriguez Rogers Ross Russell Sanchez Sanders Scott Shaw Simmons Smith Stewart Sullivan Taylor Thomas
Thompson Torres Turner Walker Wallace Ward Washington Watson Webb West White Williams Wilson Wood Wright Young
Abe Ahmed Ali Andersen Bauer Becker Berg Bianchi Brandt Colombo Costa Dahl Dubois Fischer Fontaine Fuchs Hansen
Hoffmann Ivanov Jansen Jensen Kato Keller Klein Koch Kowalski Kumar Lambert Larsen Laurent Lehmann Lindberg
Martins Meyer Moreau Nakamura Nielsen Novak Olsen Pereira Petrov Richter Ricci Romano Rossi Santos Sato Schmidt
Schneider Schulz Silva Singh Suzuki Tanaka Wagner Weber Wolf Yamamoto Zimmermann Ferrari Esposito Greco Bruno
Gallo Conti Mancini Lombardi Moretti Barbieri Fontana Marino Rinaldi Caruso Ferrara Galli Leone Longo Gentile
Martinelli Vitale Serra Coppola Villa Cattaneo Khan Hussain Shah Iqbal Malik Sharma Gupta Reddy Rao Mehta Joshi
Chopra Das Bose Sen Wong Lin Huang Zhang Liu Wang Yang Zhao Wu Zhou Xu Sun Ma Zhu Hu Guo Park Choi Jung Kang Cho
Yoon Jang Lim Han Oh Seo Shin Kwon Hwang Ahn Song Hong Yoo Moon Ito Watanabe Kobayashi Yoshida Yamada Sasaki
Yamaguchi Matsumoto Inoue Kimura Hayashi Shimizu Yamazaki Mori Ikeda Hashimoto Ishikawa O'Brien O'Connor
McCarthy MacDonald Murphy-Lee
Müller García Núñez Kowalczyk Wiśniewski Dvořák Gößling Sæther Ødegaard Nguyễn Đặng Łukaszewicz Öztürk Şahin
Pérez Jiménez Gómez Hernández Lindqvist Åberg Björk Lefèvre Dupré
""".split()

COUNTRIES = {
    "United States": 30, "United Kingdom": 8, "Germany": 7, "France": 5, "Canada": 5, "India": 4, "Australia": 3,
    "Netherlands": 3, "Spain": 3, "Brazil": 3, "Italy": 2, "Sweden": 2, "Poland": 2, "Japan": 2, "Mexico": 2,
    "Switzerland": 1.5, "Ireland": 1.5, "Norway": 1, "Denmark": 1, "Finland": 1, "Belgium": 1, "Austria": 1,
    "Portugal": 1, "Singapore": 1, "South Korea": 1, "Israel": 1, "New Zealand": 1, "South Africa": 1,
    "Argentina": 1, "Chile": 0.7, "Colombia": 0.7, "Czech Republic": 0.7, "Turkey": 0.7, "Nigeria": 0.5,
    "Kenya": 0.5, "Egypt": 0.5, "Indonesia": 0.5, "Vietnam": 0.5, "Philippines": 0.5, "Hungary": 0.5,
}

STATUSES = {"active": 0.55, "inactive": 0.15, "unsubscribed": 0.12, "bounced": 0.06, "pending": 0.10, None: 0.02}
PLANS = {"free": 0.50, "starter": 0.25, "pro": 0.18, "enterprise": 0.07}
# Typical list prices per plan; each contact pays one of them or a negotiated amount in the range.
_MRR_PRICES = {"starter": (19.0, 29.0, 49.0), "pro": (99.0, 149.0, 249.0), "enterprise": (990.0, 2500.0, 5000.0)}
_MRR_RANGES = {"starter": (15, 60), "pro": (80, 400), "enterprise": (500, 20000)}

_COMPANY_WORDS_A = """
Acme Apex Atlas Aurora Beacon Blue Bright Cedar Clear Cobalt Coral Crescent Crown Delta Eagle Echo Ember Evergreen
Falcon Fjord Granite Green Harbor Horizon Iron Juniper Keystone Lake Lunar Maple Meridian Nimbus North Nova Oak
Orbit Pacific Peak Pine Pioneer Polar Prairie Quantum Red River Rocky Sage Silver Solar Summit Terra Tidal Union
Vertex Willow Zenith Müller Nordström Lumière Café
""".split()
_COMPANY_WORDS_B = """
Analytics Bakery Bank Biotech Brands Capital Cloud Consulting Data Design Devices Dynamics Energy Engineering
Foods Freight Games Health Holdings Industries Insurance Labs Logistics Media Metals Mobility Motors Networks
Outdoor Partners Pharma Retail Robotics Security Semiconductors Software Solutions Sports Studios Systems
Telecom Textiles Therapeutics Tools Travel Ventures Wines Works
""".split()
# Suffix shares of the company pool: Inc, LLC, GmbH, Ltd, Inc. (with the dot, as people type it) and none.
COMPANY_SUFFIXES = {"Inc": 0.22, "LLC": 0.18, "GmbH": 0.10, "Ltd": 0.15, "Inc.": 0.08, "": 0.27}
_SUFFIX_TLD = {"GmbH": ".de", "Ltd": ".co.uk"}
_FREE_MAIL = ["gmail.com", "outlook.com", "yahoo.com", "icloud.com", "proton.me", "web.de"]
COMPANY_MISSING = 0.08
MRR_MISSING = 0.03
_POOL_SEED = 20_240_601  # the company pool is the same whatever the seed, like a real market


def ascii_slug(text: str, sep: str = "") -> str:
    """Lower-case ASCII letters and digits of ``text`` (``Łukasz`` → ``lukasz``), words joined by ``sep``."""
    words = ascii_fold(text).replace("'", "").lower()
    return sep.join(re.findall(r"[a-z0-9]+", words))


@functools.cache
def _company_pool() -> tuple[np.ndarray, np.ndarray]:
    """Company names and their mail domains, in popularity order (read-only: shared between calls)."""
    rng = np.random.default_rng(_POOL_SEED)
    bases = [f"{a} {b}" for a in _COMPANY_WORDS_A for b in _COMPANY_WORDS_B]
    bases = [bases[i] for i in rng.permutation(len(bases))]
    suffixes = rng.choice(list(COMPANY_SUFFIXES), size=len(bases), p=list(COMPANY_SUFFIXES.values()))
    names = np.array([f"{b} {s}" if s else b for b, s in zip(bases, suffixes)], dtype=object)
    domains = np.array([ascii_slug(b, "-") + _SUFFIX_TLD.get(s, ".com") for b, s in zip(bases, suffixes)],
                       dtype=object)
    names.flags.writeable = domains.flags.writeable = False
    return names, domains


def _choose(rng: np.random.Generator, weights, n: int) -> np.ndarray:
    w = np.asarray(list(weights), dtype=float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _text(pool, picks: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """``pool[picks]`` as a pandas string array (None in the pool is a missing value); fast for small pools."""
    return pd.array(list(pool), dtype="str").take(picks)


def _default_now() -> dt.datetime:
    today = dt.datetime.now(UTC).date()
    return dt.datetime(today.year, today.month, today.day, tzinfo=UTC)


def _created_at(rng: np.random.Generator, n: int, now: dt.datetime) -> pd.Series:
    span = 3 * 365 * 86_400
    # sqrt skews towards recent sign-ups, as in a growing business
    seconds_ago = np.floor(span * (1 - np.sqrt(rng.random(n)))).astype(np.int64) + 1
    now_s = np.datetime64(now.replace(tzinfo=None), "s")
    stamps = (now_s - seconds_ago.astype("timedelta64[s]")).astype("datetime64[us]")
    return pd.Series(stamps).dt.tz_localize("UTC")


def _mrr(rng: np.random.Generator, plans: np.ndarray) -> np.ndarray:
    n = len(plans)
    mrr = np.zeros(n)
    for plan, (low, high) in _MRR_RANGES.items():
        rows = np.flatnonzero(plans == plan)
        negotiated = np.round(rng.uniform(low, high, len(rows)), 2)
        list_price = np.array(_MRR_PRICES[plan])[rng.integers(0, 3, len(rows))]
        mrr[rows] = np.where(rng.random(len(rows)) < 0.4, list_price, negotiated)
    # free contacts pay 0 by definition; only a paid amount can be unknown
    mrr[(plans != "free") & (rng.random(n) < MRR_MISSING)] = np.nan
    return mrr


@functools.cache
def _name_grid() -> tuple[np.ndarray, tuple[str, ...]]:
    """Every "First Last" and its e-mail local part ("first.last"), indexed first * len(LAST_NAMES) + last."""
    firsts, lasts = [ascii_slug(f) for f in FIRST_NAMES], [ascii_slug(last) for last in LAST_NAMES]
    names = np.array([f"{f} {last}" for f in FIRST_NAMES for last in LAST_NAMES], dtype=object)
    names.flags.writeable = False
    return names, tuple(f"{f}.{last}" for f in firsts for last in lasts)


def _people(rng: np.random.Generator, n: int) -> np.ndarray:
    """Each row's position in the name grid."""
    firsts, lasts = rng.integers(0, len(FIRST_NAMES), n), rng.integers(0, len(LAST_NAMES), n)
    return firsts * len(LAST_NAMES) + lasts


def _emails(person: np.ndarray, domain: np.ndarray, start: int) -> list[str]:
    slugs = _name_grid()[1]
    # the row number in the local part keeps every address unique
    return [f"{slugs[p]}{i}@{d}" for i, (p, d) in enumerate(zip(person.tolist(), domain.tolist()), start)]


def _companies(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Index of each row's company in the pool (-1: none) and each row's mail domain."""
    names, domains = _company_pool()
    popularity = 1.0 / (np.arange(len(names)) + 30.0) ** 0.7  # a long tail, few big accounts
    pick = _choose(rng, popularity, n)
    domain = domains[pick]
    no_company = rng.random(n) < COMPANY_MISSING
    pick[no_company] = -1
    domain[no_company] = np.array(_FREE_MAIL, dtype=object)[rng.integers(0, len(_FREE_MAIL), no_company.sum())]
    return pick, domain


def demo_frame(n: int = 20_000, *, seed: int = 7, now: dt.datetime | None = None, start: int = 0) -> pd.DataFrame:
    """``n`` demo contacts: core fields then the custom fields plan, country, mrr, vip. Same inputs, same frame.

    ``start`` numbers the first contact, so chunks made with ``start=0, n, 2n…`` never share an email."""
    now = _default_now() if now is None else to_utc(now)
    rng = np.random.default_rng(seed)
    person = _people(rng, n)
    company, domain = _companies(rng, n)
    plan_pick = _choose(rng, PLANS.values(), n)
    plans = np.array(list(PLANS), dtype=object)[plan_pick]
    return pd.DataFrame({
        "email": pd.array(_emails(person, domain, start), dtype="str"),
        "name": _text(_name_grid()[0], person),
        "company": _text([*_company_pool()[0], None], company),  # pick -1 takes the trailing None
        "status": _text(STATUSES, _choose(rng, STATUSES.values(), n)),
        "created_at": _created_at(rng, n, now),
        "plan": _text(PLANS, plan_pick),
        "country": _text(COUNTRIES, _choose(rng, COUNTRIES.values(), n)),
        "mrr": _mrr(rng, plans),
        "vip": rng.random(n) < np.where(plans == "enterprise", 0.35, 0.03),
    })


def _python_value(value: object) -> object:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime().astimezone(UTC)
    if isinstance(value, np.generic):
        return value.item()
    return value


def demo_records(n: int = 100, **kw) -> list[dict]:
    """The demo contacts as plain Python records (str/None, aware UTC datetime, float/None, bool); for small n."""
    frame = demo_frame(n, **kw).astype(object)
    return [{k: _python_value(v) for k, v in row.items()} for row in frame.to_dict("records")]
