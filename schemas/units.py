"""Administrative units after the 1 Jul 2025 reform: 34 provinces, 3,321 communes, no districts
(Resolution 202/2025/QH15 and Decision 19/2025/QĐ-TTg on the list of units).

Loaded from the ``vietnamadminunits`` package's dataset (see ``backend/catalogue/units.py``)."""

from sqlmodel import Field, SQLModel


class ProvinceBase(SQLModel):
    code: str = Field(primary_key=True, max_length=8, schema_extra={"examples": ["82"]})
    name: str = Field(max_length=120, schema_extra={"examples": ["Tỉnh Đồng Tháp"]})
    short_name: str = Field(max_length=80, schema_extra={"examples": ["Đồng Tháp"]})
    lat: float = Field(schema_extra={"examples": [10.4938]})
    lon: float = Field(schema_extra={"examples": [105.6882]})


class Province(ProvinceBase, table=True):
    __tablename__ = "province"


class ProvincePublic(ProvinceBase):
    commune_count: int = 0


class CommuneBase(SQLModel):
    code: str = Field(primary_key=True, max_length=8, schema_extra={"examples": ["29869"]})
    name: str = Field(max_length=120, schema_extra={"examples": ["Phường Cao Lãnh"]})
    short_name: str = Field(max_length=80, schema_extra={"examples": ["Cao Lãnh"]})
    kind: str = Field(
        max_length=20, description="Xã, Phường or Đặc khu", schema_extra={"examples": ["Phường"]}
    )
    province_code: str = Field(
        foreign_key="province.code", index=True, max_length=8, schema_extra={"examples": ["82"]}
    )
    lat: float
    lon: float
    area_km2: float | None = None


class Commune(CommuneBase, table=True):
    __tablename__ = "commune"


class CommunePublic(CommuneBase):
    pass
