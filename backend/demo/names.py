"""Plausible Vietnamese names and street names for demo data (no real persons)."""

import random

FAMILY = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Huỳnh",
    "Hoàng",
    "Võ",
    "Phan",
    "Trương",
    "Bùi",
    "Đặng",
    "Đỗ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Lâm",
    "Châu",
    "Tạ",
    "Mai",
]
MIDDLE = [
    "Văn",
    "Thị",
    "Minh",
    "Ngọc",
    "Thanh",
    "Hoàng",
    "Quốc",
    "Thu",
    "Kim",
    "Hữu",
    "Đức",
    "Bảo",
    "Gia",
    "Mỹ",
]
GIVEN = [
    "An",
    "Bình",
    "Châu",
    "Dũng",
    "Giang",
    "Hà",
    "Hạnh",
    "Hiếu",
    "Hòa",
    "Hùng",
    "Hương",
    "Khoa",
    "Lan",
    "Linh",
    "Long",
    "Mai",
    "Nam",
    "Ngân",
    "Nhi",
    "Phúc",
    "Phương",
    "Quân",
    "Quyên",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Trang",
    "Trí",
    "Tú",
    "Tuấn",
    "Uyên",
    "Vân",
    "Vinh",
    "Vy",
    "Yến",
]
STREETS = [
    "Nguyễn Huệ",
    "Lê Lợi",
    "Trần Hưng Đạo",
    "Hùng Vương",
    "Ấp Bắc",
    "Lý Thường Kiệt",
    "30 Tháng 4",
    "Nguyễn Trãi",
    "Phan Bội Châu",
    "Đường tỉnh 864",
    "Quốc lộ 1",
    "Quốc lộ 30",
    "Đường tỉnh 846",
    "Đinh Bộ Lĩnh",
]
HAMLETS = [
    "Ấp 1",
    "Ấp 2",
    "Ấp 3",
    "Ấp Tân Thuận",
    "Ấp Mỹ Hưng",
    "Ấp Bình Phú",
    "Ấp Long Hòa",
    "Khóm 1",
    "Khóm 2",
]


def person(rng: random.Random) -> str:
    return f"{rng.choice(FAMILY)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"


def street_address(rng: random.Random, commune: str, urban: bool) -> str:
    if urban:
        return f"Số {rng.randint(1, 350)} đường {rng.choice(STREETS)}, {commune}"
    return f"{rng.choice(HAMLETS)}, {commune}"
