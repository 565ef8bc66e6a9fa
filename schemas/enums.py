"""Shared vocabularies (string enums, stored as plain strings)."""

from enum import StrEnum


class Role(StrEnum):
    citizen = "citizen"
    courier = "courier"
    dispatcher = "dispatcher"  # a post office's dispatcher
    desk = "desk"  # a one-stop desk clerk (Bộ phận Một cửa)
    agency = "agency"  # an officer of the deciding agency
    admin = "admin"
    # Province leadership (lãnh đạo UBND tỉnh, issue 23): read-only, its organisation's province's reports only
    # (backend/reporting/leadership.py); not a staff role, so staff-only operations refuse it.
    leadership = "leadership"


STAFF_ROLES = frozenset({Role.courier, Role.dispatcher, Role.desk, Role.agency, Role.admin})


class OrgKind(StrEnum):
    post_office = "post_office"  # bưu cục, including commune post offices (điểm Bưu điện - Văn hoá xã)
    desk = "desk"  # Bộ phận Một cửa / Trung tâm Phục vụ hành chính công
    agency = "agency"  # the agency competent to decide (Sở, UBND xã, Công an ...)


class AgencyLevel(StrEnum):
    commune = "commune"
    province = "province"
    central = "central"


class Vehicle(StrEnum):
    motorbike = "motorbike"
    bicycle = "bicycle"
    car = "car"
    van = "van"
