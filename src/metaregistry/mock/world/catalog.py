"""The projects of a world and the words registries use, drawn once per world from its seed.

Vocabulary follows the real registries where it exists (CAD Trust picklists for project types
and methodologies, Verra and GS sector names, real retirement and cancellation reasons);
names of national projects are invented but plausible.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Final

from metaregistry.mock.world.model import Project

__all__ = ["COUNTRY_NAMES", "RETIREMENT_REASONS", "Catalog"]

PROJECTS_PER_REGISTRY: Final = 120

COUNTRY_NAMES: Final = {
    "ID": "Indonesia",
    "TH": "Thailand",
    "BR": "Brazil",
    "CN": "China",
    "IN": "India",
    "KE": "Kenya",
    "PE": "Peru",
    "VN": "Viet Nam",
    "UG": "Uganda",
    "US": "United States",
    "ET": "Ethiopia",
    "RW": "Rwanda",
    "CO": "Colombia",
}
_VOLUNTARY_COUNTRIES: Final = ("ID", "BR", "CN", "IN", "KE", "PE", "VN", "UG", "ET", "CO")
_CDM_PARTIES: Final = ("RW", "IN", "CN", "BR", "VN")
_US_STATES: Final = ("CA", "KS", "OR", "WA", "TX", "PA", "GA", "MI")
_PROVINSI: Final = (
    "Kalimantan Tengah",
    "Kalimantan Barat",
    "Riau",
    "Sumatera Selatan",
    "Jawa Barat",
    "Jawa Timur",
    "Papua",
    "Sulawesi Selatan",
    "Nusa Tenggara Barat",
)
_CHANGWAT: Final = (
    "Bangkok",
    "Chiang Mai",
    "Khon Kaen",
    "Nakhon Ratchasima",
    "Chon Buri",
    "Surat Thani",
    "Songkhla",
    "Ubon Ratchathani",
)
_SEKTOR: Final = ("Kehutanan", "Energi", "Limbah", "IPPU", "Pertanian")
_INDONESIAN_KINDS: Final = (
    ("Restorasi Gambut", "Kehutanan"),
    ("PLTS Atap", "Energi"),
    ("PLTM Minihidro", "Energi"),
    ("Pengelolaan Sampah TPA", "Limbah"),
    ("Konservasi Mangrove", "Kehutanan"),
    ("Biogas Peternakan", "Pertanian"),
)
_THAI_KINDS: Final = (
    "Solar Rooftop",
    "Biomass Power Plant",
    "Community Forest",
    "Wastewater Biogas",
    "Electric Bus Fleet",
    "Mangrove Reforestation",
)
_SECTORS: Final = (
    "Agriculture Forestry and Other Land Use",
    "Energy industries (renewable/non-renewable sources)",
    "Waste handling and disposal",
    "Energy demand",
    "Manufacturing industries",
)
_GS_TYPES: Final = (
    "Energy Efficiency - Domestic",
    "Renewable Energy",
    "Afforestation/Reforestation",
    "Water Filters",
)
_METHODOLOGIES: Final = ("VM0015", "VM0007", "ACM0002", "AMS-I.D.", "VM0042", "ACM0010")
_JCM_PARTNERS: Final = {"ID": "indonesia", "TH": "thailand"}

RETIREMENT_REASONS: Final = (
    "Environmental Benefit",
    "Retired on behalf of a corporate customer for 2024 emissions",
    "Voluntary offsetting of scope 1 and 2 emissions",
    "CORSIA first phase offsetting requirement",
    "Retirement for the compensation of business travel emissions",
)


@dataclass(slots=True)
class Catalog:
    """Projects by registry slug (``verra``, ``gold-standard``, ``srn-ppi``, ``tccr``, ``jcm-id``,
    ``jcm-th``, ``acr``, ``car``, ``cdm``)."""

    projects: dict[str, list[Project]]

    @classmethod
    def draw(cls, rng: random.Random) -> Catalog:
        projects: dict[str, list[Project]] = {}
        n = PROJECTS_PER_REGISTRY
        projects["verra"] = [_verra(rng, i) for i in range(n)]
        projects["gold-standard"] = [_gold_standard(rng, i) for i in range(n)]
        projects["srn-ppi"] = [_srn_ppi(rng, i) for i in range(n)]
        projects["tccr"] = [_tccr(rng, i) for i in range(n)]
        for partner in _JCM_PARTNERS:
            projects[f"jcm-{partner.lower()}"] = [_jcm(rng, partner, i) for i in range(n // 4)]
        projects["acr"] = [_us(rng, "acr", 100 + i * 7) for i in range(n // 2)]
        projects["car"] = [_us(rng, "car", 200 + i * 11) for i in range(n // 2)]
        projects["cdm"] = [_cdm(rng, i) for i in range(n // 2)]
        return cls(projects)

    def pick(self, rng: random.Random, registry: str) -> Project:
        return rng.choice(self.projects[registry])


def _verra(rng: random.Random, i: int) -> Project:
    number = 300 + i * 31 + rng.randrange(31)
    country = rng.choice(_VOLUNTARY_COUNTRIES)
    return Project(
        "verra",
        f"VCS{number}",
        number,
        f"{COUNTRY_NAMES[country]} {rng.choice(('REDD+', 'Wind', 'Hydro', 'Cookstove'))} "
        f"Project {number}",
        country,
        "",
        rng.choice(_SECTORS),
        rng.choice(_METHODOLOGIES),
    )


def _gold_standard(rng: random.Random, i: int) -> Project:
    number = 1000 + i * 97 + rng.randrange(97)
    country = rng.choice(_VOLUNTARY_COUNTRIES)
    kind = rng.choice(_GS_TYPES)
    return Project(
        "gold-standard",
        f"GS{number}",
        number,
        f"{kind} Programme {COUNTRY_NAMES[country]} VPA {i}",
        country,
        "",
        kind,
        "GS TPDDTEC v3.1",
    )


def _srn_ppi(rng: random.Random, i: int) -> Project:
    year = rng.randrange(2019, 2025)
    number = rng.randrange(100, 999) * 1000 + i
    kind, sector = rng.choice(_INDONESIAN_KINDS)
    region = rng.choice(_PROVINSI)
    return Project(
        "srn-ppi",
        f"PPI-{year}-{number:06d}",
        year * 1_000_000 + number,
        f"{kind} {region} {i + 1}",
        "ID",
        region,
        sector,
        f"SRN-MET-{rng.randrange(1, 40):03d}",
    )


def _tccr(rng: random.Random, i: int) -> Project:
    number = 100 + i * 7 + rng.randrange(7)
    premium = rng.random() < 0.3
    region = rng.choice(_CHANGWAT)
    return Project(
        "tccr",
        f"TVER-{'P' if premium else 'S'}-{number:04d}",
        number,
        f"{rng.choice(_THAI_KINDS)} {region} {i + 1}",
        "TH",
        region,
        "premium" if premium else "standard",
        f"T-VER-METH-{rng.randrange(1, 30):02d}",
    )


def _jcm(rng: random.Random, partner: str, i: int) -> Project:
    number = i + 1
    return Project(
        f"jcm-{partner.lower()}",
        f"{partner}{number:03d}",
        number,
        f"JCM {rng.choice(('Energy Saving', 'Solar Power', 'Waste Heat Recovery'))} "
        f"{COUNTRY_NAMES[partner]} {number}",
        partner,
        _JCM_PARTNERS[partner],
        "energy",
        f"{partner}_AM{rng.randrange(1, 28):03d}",
    )


def _us(rng: random.Random, registry: str, number: int) -> Project:
    return Project(
        registry,
        f"{registry.upper()}{number}",
        number,
        f"{rng.choice(('Forest Carbon', 'Landfill Gas', 'ODS Destruction'))} {number}",
        "US",
        rng.choice(_US_STATES),
        "forestry",
        f"{registry.upper()} - Forest",
    )


def _cdm(rng: random.Random, i: int) -> Project:
    number = 2000 + i * 37 + rng.randrange(37)
    party = rng.choice(_CDM_PARTIES)
    return Project(
        "cdm", f"CDM{number}", number, f"CDM activity {number}", party, "", "energy", "AMS-I.D."
    )
