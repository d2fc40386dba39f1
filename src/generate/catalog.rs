//! Reference data the generator draws from: makes and models, cities,
//! names, components and the failure laws planted in the data.
//!
//! Everything here is fictional but shaped like the Chinese used-car and
//! after-sales market: domestic and joint-venture makes, Chinese city and
//! customer names, 4S dealers beside chains and independent workshops.

use serde::Serialize;

/// Powertrain of a vehicle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum Powertrain {
    /// Internal combustion engine only.
    #[serde(rename = "ICE")]
    Ice,
    /// Full hybrid.
    #[serde(rename = "HEV")]
    Hev,
    /// Plug-in hybrid.
    #[serde(rename = "PHEV")]
    Phev,
    /// Battery electric.
    #[serde(rename = "BEV")]
    Bev,
}

impl Powertrain {
    /// Code as exported.
    pub fn code(self) -> &'static str {
        match self {
            Powertrain::Ice => "ICE",
            Powertrain::Hev => "HEV",
            Powertrain::Phev => "PHEV",
            Powertrain::Bev => "BEV",
        }
    }
}

/// A make (brand) with its models.
pub struct Make {
    /// Brand name as exported.
    pub name: &'static str,
    /// Chinese brand name, used in 4S dealer names.
    pub name_zh: &'static str,
    /// World manufacturer identifier used in its VINs.
    pub wmi: &'static str,
    /// Relative parts price level (1.0 = mass-market joint venture).
    pub price_level: f64,
    /// Factory warranty: months and km, whichever comes first.
    pub warranty_months: u32,
    /// Factory warranty mileage limit.
    pub warranty_km: u32,
    /// Models of this make.
    pub models: &'static [Model],
}

/// A model of a make.
pub struct Model {
    /// Model name as exported.
    pub name: &'static str,
    /// Five-character VIN descriptor section.
    pub vds: &'static str,
    /// Powertrains offered, with relative weights.
    pub powertrains: &'static [(Powertrain, u32)],
    /// New price in CNY (before depreciation).
    pub new_price_cny: f64,
    /// Relative share of the fleet.
    pub weight: u32,
    /// First model year offered.
    pub first_year: i32,
}

use Powertrain::*;

const fn m(
    name: &'static str,
    vds: &'static str,
    powertrains: &'static [(Powertrain, u32)],
    new_price_cny: f64,
    weight: u32,
    first_year: i32,
) -> Model {
    Model {
        name,
        vds,
        powertrains,
        new_price_cny,
        weight,
        first_year,
    }
}

/// All makes.
pub const MAKES: &[Make] = &[
    Make {
        name: "BYD",
        name_zh: "比亚迪",
        wmi: "LGX",
        price_level: 0.8,
        warranty_months: 72,
        warranty_km: 150_000,
        models: &[
            m(
                "Qin PLUS",
                "CE4CC",
                &[(Phev, 6), (Bev, 4)],
                120_000.0,
                9,
                2018,
            ),
            m(
                "Song PLUS",
                "CF2DD",
                &[(Phev, 7), (Bev, 3)],
                160_000.0,
                7,
                2020,
            ),
            m("Han", "CH6EB", &[(Bev, 6), (Phev, 4)], 220_000.0, 4, 2020),
            m(
                "Tang",
                "CT7FA",
                &[(Phev, 7), (Bev, 3), (Ice, 1)],
                250_000.0,
                3,
                2016,
            ),
        ],
    },
    Make {
        name: "Geely",
        name_zh: "吉利",
        wmi: "L6T",
        price_level: 0.75,
        warranty_months: 48,
        warranty_km: 100_000,
        models: &[
            m("Emgrand", "7824S", &[(Ice, 9), (Hev, 1)], 80_000.0, 8, 2016),
            m("Boyue", "7952K", &[(Ice, 8), (Hev, 2)], 120_000.0, 6, 2016),
            m(
                "Xingyue L",
                "79E2L",
                &[(Ice, 7), (Phev, 3)],
                160_000.0,
                4,
                2021,
            ),
        ],
    },
    Make {
        name: "Changan",
        name_zh: "长安",
        wmi: "LS5",
        price_level: 0.7,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m(
                "CS75 PLUS",
                "A3DE4",
                &[(Ice, 9), (Phev, 1)],
                120_000.0,
                7,
                2019,
            ),
            m("Eado", "A2BB3", &[(Ice, 8), (Bev, 2)], 75_000.0, 5, 2016),
        ],
    },
    Make {
        name: "Haval",
        name_zh: "哈弗",
        wmi: "LGW",
        price_level: 0.75,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m(
                "H6",
                "EF7C2",
                &[(Ice, 8), (Hev, 1), (Phev, 1)],
                130_000.0,
                9,
                2016,
            ),
            m("Jolion", "EG4B1", &[(Ice, 8), (Hev, 2)], 100_000.0, 4, 2020),
        ],
    },
    Make {
        name: "Chery",
        name_zh: "奇瑞",
        wmi: "LVV",
        price_level: 0.7,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m(
                "Tiggo 8",
                "DB14A",
                &[(Ice, 9), (Phev, 1)],
                110_000.0,
                5,
                2018,
            ),
            m("Arrizo 5", "DA21B", &[(Ice, 10)], 70_000.0, 4, 2016),
        ],
    },
    Make {
        name: "Wuling",
        name_zh: "五菱",
        wmi: "LZW",
        price_level: 0.55,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m(
                "Hongguang Mini EV",
                "ADAG1",
                &[(Bev, 10)],
                40_000.0,
                6,
                2020,
            ),
            m("Hongguang S", "ACAC2", &[(Ice, 10)], 55_000.0, 4, 2016),
        ],
    },
    Make {
        name: "NIO",
        name_zh: "蔚来",
        wmi: "LJ1",
        price_level: 1.5,
        warranty_months: 60,
        warranty_km: 100_000,
        models: &[
            m("ES6", "EEAE1", &[(Bev, 10)], 350_000.0, 2, 2019),
            m("ET5", "EFCE2", &[(Bev, 10)], 300_000.0, 2, 2022),
        ],
    },
    Make {
        name: "Li Auto",
        name_zh: "理想",
        wmi: "LW4",
        price_level: 1.4,
        warranty_months: 60,
        warranty_km: 100_000,
        models: &[m("L7", "3BL71", &[(Phev, 10)], 330_000.0, 3, 2023)],
    },
    Make {
        name: "Volkswagen",
        name_zh: "大众",
        wmi: "LSV",
        price_level: 1.0,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m("Lavida", "AA6C1", &[(Ice, 10)], 110_000.0, 9, 2016),
            m("Sagitar", "BA7D2", &[(Ice, 10)], 140_000.0, 7, 2016),
            m(
                "Passat",
                "CA3E3",
                &[(Ice, 9), (Phev, 1)],
                200_000.0,
                5,
                2016,
            ),
            m(
                "Tiguan L",
                "DA5F4",
                &[(Ice, 9), (Phev, 1)],
                220_000.0,
                5,
                2017,
            ),
        ],
    },
    Make {
        name: "Toyota",
        name_zh: "丰田",
        wmi: "LVG",
        price_level: 1.0,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m(
                "Corolla",
                "BE4EE",
                &[(Ice, 6), (Hev, 4)],
                120_000.0,
                8,
                2016,
            ),
            m("Camry", "BK5FE", &[(Ice, 6), (Hev, 4)], 200_000.0, 6, 2016),
            m("RAV4", "BA3KV", &[(Ice, 6), (Hev, 4)], 200_000.0, 5, 2016),
        ],
    },
    Make {
        name: "Honda",
        name_zh: "本田",
        wmi: "LVH",
        price_level: 1.0,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m("Civic", "FC1A5", &[(Ice, 10)], 130_000.0, 6, 2016),
            m("Accord", "CV3A6", &[(Ice, 6), (Hev, 4)], 200_000.0, 5, 2016),
            m("CR-V", "RW2A7", &[(Ice, 6), (Hev, 4)], 200_000.0, 5, 2017),
        ],
    },
    Make {
        name: "Nissan",
        name_zh: "日产",
        wmi: "LGB",
        price_level: 0.95,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[m(
            "Sylphy",
            "H5AB1",
            &[(Ice, 8), (Hev, 2)],
            110_000.0,
            8,
            2016,
        )],
    },
    Make {
        name: "BMW",
        name_zh: "宝马",
        wmi: "LBV",
        price_level: 1.9,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m(
                "3 Series",
                "5U310",
                &[(Ice, 9), (Phev, 1)],
                320_000.0,
                4,
                2016,
            ),
            m(
                "5 Series",
                "5U520",
                &[(Ice, 9), (Phev, 1)],
                450_000.0,
                3,
                2016,
            ),
            m("X3", "5X330", &[(Ice, 9), (Bev, 1)], 420_000.0, 3, 2018),
        ],
    },
    Make {
        name: "Mercedes-Benz",
        name_zh: "奔驰",
        wmi: "LE4",
        price_level: 2.0,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m("C-Class", "ZFC20", &[(Ice, 10)], 340_000.0, 4, 2016),
            m(
                "E-Class",
                "ZFE30",
                &[(Ice, 9), (Phev, 1)],
                460_000.0,
                3,
                2016,
            ),
            m("GLC", "ZGL26", &[(Ice, 9), (Phev, 1)], 430_000.0, 3, 2016),
        ],
    },
    Make {
        name: "Audi",
        name_zh: "奥迪",
        wmi: "LFV",
        price_level: 1.8,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m("A4L", "3A48W", &[(Ice, 10)], 320_000.0, 4, 2016),
            m("A6L", "3A6C7", &[(Ice, 10)], 430_000.0, 3, 2016),
            m("Q5L", "3K5F8", &[(Ice, 10)], 420_000.0, 3, 2018),
        ],
    },
    Make {
        name: "Buick",
        name_zh: "别克",
        wmi: "LSG",
        price_level: 0.95,
        warranty_months: 36,
        warranty_km: 100_000,
        models: &[
            m("Excelle GT", "PS5SK", &[(Ice, 10)], 100_000.0, 6, 2016),
            m("GL8", "PGL8M", &[(Ice, 9), (Hev, 1)], 260_000.0, 3, 2016),
        ],
    },
    Make {
        name: "Tesla",
        name_zh: "特斯拉",
        wmi: "LRW",
        price_level: 1.5,
        warranty_months: 48,
        warranty_km: 80_000,
        models: &[
            m("Model 3", "3E7EA", &[(Bev, 10)], 260_000.0, 4, 2020),
            m("Model Y", "YG7EB", &[(Bev, 10)], 280_000.0, 5, 2021),
        ],
    },
];

/// A city with its province, relative weight and a few districts.
pub struct City {
    /// City name (Chinese).
    pub name: &'static str,
    /// Province or municipality (Chinese).
    pub province: &'static str,
    /// Relative size of the local market.
    pub weight: u32,
    /// District names used in station names.
    pub districts: &'static [&'static str],
}

const fn c(
    name: &'static str,
    province: &'static str,
    weight: u32,
    districts: &'static [&'static str],
) -> City {
    City {
        name,
        province,
        weight,
        districts,
    }
}

/// Cities where the network operates.
pub const CITIES: &[City] = &[
    c(
        "上海",
        "上海",
        14,
        &["浦东", "闵行", "徐汇", "嘉定", "宝山"],
    ),
    c(
        "北京",
        "北京",
        14,
        &["朝阳", "海淀", "丰台", "通州", "大兴"],
    ),
    c("广州", "广东", 10, &["天河", "白云", "番禺", "黄埔"]),
    c("深圳", "广东", 10, &["南山", "福田", "宝安", "龙岗"]),
    c("成都", "四川", 9, &["武侯", "锦江", "高新", "双流"]),
    c("杭州", "浙江", 8, &["西湖", "滨江", "萧山", "余杭"]),
    c("重庆", "重庆", 8, &["渝北", "江北", "沙坪坝", "南岸"]),
    c("武汉", "湖北", 7, &["洪山", "江汉", "武昌", "汉阳"]),
    c("西安", "陕西", 6, &["雁塔", "未央", "长安", "碑林"]),
    c("南京", "江苏", 6, &["江宁", "鼓楼", "建邺", "栖霞"]),
    c("苏州", "江苏", 6, &["工业园区", "吴中", "相城", "姑苏"]),
    c("天津", "天津", 6, &["南开", "河西", "滨海新区", "西青"]),
    c("郑州", "河南", 5, &["金水", "二七", "中原", "郑东新区"]),
    c("长沙", "湖南", 5, &["岳麓", "雨花", "开福", "天心"]),
    c("青岛", "山东", 4, &["崂山", "市南", "黄岛", "城阳"]),
    c("沈阳", "辽宁", 4, &["和平", "浑南", "铁西", "皇姑"]),
    c("昆明", "云南", 3, &["五华", "盘龙", "官渡", "呈贡"]),
    c("合肥", "安徽", 3, &["蜀山", "包河", "庐阳", "瑶海"]),
    c("哈尔滨", "黑龙江", 3, &["南岗", "道里", "香坊", "松北"]),
    c(
        "乌鲁木齐",
        "新疆",
        2,
        &["天山", "沙依巴克", "新市", "水磨沟"],
    ),
];

/// Common Chinese surnames.
pub const SURNAMES: &[&str] = &[
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "高", "林", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "于", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁",
    "任", "沈", "欧阳", "司马",
];

/// Characters used in given names.
pub const GIVEN: &[&str] = &[
    "伟", "芳", "娜", "秀英", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟",
    "涛", "明", "超", "秀兰", "霞", "平", "刚", "桂英", "浩", "宇", "欣", "子涵", "梓萱", "一诺",
    "俊杰", "思远", "嘉怡", "晨", "雪", "鹏", "婷", "辉", "玲", "建华", "志强", "海燕", "文博",
    "雨桐", "佳琪", "昊然",
];

/// Fictional service-chain brands (chains are named `brand(city district店)`).
pub const CHAIN_BRANDS: &[&str] = &[
    "安途养车",
    "速驰快修",
    "佳途汽车服务",
    "车e达",
    "精典汽修连锁",
];

/// What a component's failure clock counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Basis {
    /// Kilometres driven since new (or since the part was replaced).
    Km,
    /// Months in service since first registration (or since replacement).
    Months,
}

/// Which vehicles a failure law applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Applies {
    /// Every vehicle.
    All,
    /// Vehicles with a combustion engine (ICE, HEV, PHEV).
    Combustion,
    /// Electrified vehicles with a traction battery (HEV, PHEV, BEV).
    Electrified,
    /// Plug-in vehicles (PHEV, BEV).
    PlugIn,
    /// Only battery-electric vehicles.
    BevOnly,
    /// Everything but battery-electric vehicles.
    NotBev,
}

impl Applies {
    /// Whether a vehicle with this powertrain has the part.
    pub fn matches(self, p: Powertrain) -> bool {
        match self {
            Applies::All => true,
            Applies::Combustion | Applies::NotBev => p != Bev,
            Applies::Electrified => p != Ice,
            Applies::PlugIn => matches!(p, Phev | Bev),
            Applies::BevOnly => p == Bev,
        }
    }
}

/// A component that can fail, with its repair economics.
pub struct Component {
    /// Component code as exported.
    pub code: &'static str,
    /// Complaint-code prefix.
    pub complaint_prefix: &'static str,
    /// Vehicles that have it.
    pub applies: Applies,
    /// Typical labour hours of a repair.
    pub labour_hours: f64,
    /// Typical parts cost in CNY at price level 1.0.
    pub parts_cny: f64,
}

const fn comp(
    code: &'static str,
    complaint_prefix: &'static str,
    applies: Applies,
    labour_hours: f64,
    parts_cny: f64,
) -> Component {
    Component {
        code,
        complaint_prefix,
        applies,
        labour_hours,
        parts_cny,
    }
}

/// Components that fail in the field.
pub const COMPONENTS: &[Component] = &[
    comp("infotainment_unit", "INF", Applies::All, 1.5, 3_200.0),
    comp("adas_camera", "ADS", Applies::All, 1.2, 2_600.0),
    comp("battery_12v", "B12", Applies::All, 0.4, 650.0),
    comp("brake_pads", "BRK", Applies::All, 1.0, 480.0),
    comp("ac_compressor", "ACC", Applies::All, 2.5, 2_400.0),
    comp("suspension_bushing", "SUS", Applies::All, 2.0, 900.0),
    comp("water_pump", "WPU", Applies::Combustion, 2.2, 850.0),
    comp("transmission", "TRN", Applies::NotBev, 6.0, 9_500.0),
    comp(
        "traction_battery",
        "HVB",
        Applies::Electrified,
        4.0,
        28_000.0,
    ),
    comp("charging_port", "CHG", Applies::PlugIn, 1.5, 1_800.0),
];

/// Looks a component up by code.
pub fn component(code: &str) -> &'static Component {
    COMPONENTS
        .iter()
        .find(|c| c.code == code)
        .expect("component codes in failure laws exist in COMPONENTS")
}

/// A planted two-parameter Weibull failure law.
#[derive(Debug, Clone, Serialize)]
pub struct FailureLaw {
    /// Component code.
    pub component: &'static str,
    /// Restricts the law to one make (`None`: every make).
    pub make: Option<&'static str>,
    /// Restricts the law to one powertrain (`None`: every powertrain the component applies to).
    pub powertrain: Option<Powertrain>,
    /// What the failure clock counts.
    pub basis: Basis,
    /// Weibull shape β (< 1 infant mortality, > 1 wear-out).
    pub shape: f64,
    /// Weibull scale η in units of `basis`.
    pub scale: f64,
}

const fn law(
    component: &'static str,
    make: Option<&'static str>,
    powertrain: Option<Powertrain>,
    basis: Basis,
    shape: f64,
    scale: f64,
) -> FailureLaw {
    FailureLaw {
        component,
        make,
        powertrain,
        basis,
        shape,
        scale,
    }
}

/// The planted failure laws. The most specific law for a vehicle wins
/// (make and powertrain, then make, then powertrain, then general).
pub const FAILURE_LAWS: &[FailureLaw] = &[
    law("infotainment_unit", None, None, Basis::Months, 0.55, 900.0),
    law("adas_camera", None, None, Basis::Months, 0.75, 600.0),
    law("battery_12v", None, None, Basis::Months, 3.2, 66.0),
    law("brake_pads", None, None, Basis::Km, 3.0, 70_000.0),
    law("brake_pads", None, Some(Bev), Basis::Km, 3.0, 110_000.0),
    law("ac_compressor", None, None, Basis::Months, 2.0, 150.0),
    law("suspension_bushing", None, None, Basis::Km, 2.6, 160_000.0),
    law("water_pump", None, None, Basis::Km, 2.4, 190_000.0),
    law(
        "water_pump",
        Some("Volkswagen"),
        None,
        Basis::Km,
        2.4,
        120_000.0,
    ),
    law("transmission", None, None, Basis::Km, 2.2, 320_000.0),
    law("traction_battery", None, None, Basis::Months, 2.5, 220.0),
    law("charging_port", None, None, Basis::Months, 1.3, 260.0),
];

/// The law in force for one component on one vehicle.
pub fn law_for(component: &str, make: &str, powertrain: Powertrain) -> Option<&'static FailureLaw> {
    FAILURE_LAWS
        .iter()
        .filter(|l| l.component == component)
        .filter(|l| l.make.is_none_or(|m| m == make))
        .filter(|l| l.powertrain.is_none_or(|p| p == powertrain))
        .max_by_key(|l| (l.make.is_some() as u8) * 2 + l.powertrain.is_some() as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn most_specific_law_wins() {
        assert_eq!(
            law_for("water_pump", "Volkswagen", Ice).map(|l| l.scale),
            Some(120_000.0)
        );
        assert_eq!(
            law_for("water_pump", "BYD", Phev).map(|l| l.scale),
            Some(190_000.0)
        );
        assert_eq!(
            law_for("brake_pads", "Tesla", Bev).map(|l| l.scale),
            Some(110_000.0)
        );
    }

    #[test]
    fn every_component_has_a_law_and_vds_codes_are_vin_safe() {
        for c in COMPONENTS {
            assert!(
                law_for(c.code, "BYD", Phev).is_some() || !c.applies.matches(Phev),
                "{}",
                c.code
            );
        }
        for make in MAKES {
            for model in make.models {
                let vin = crate::vin::build(make.wmi, model.vds, 2020, b'A', 1);
                assert_eq!(
                    crate::vin::validate(&vin),
                    Ok(()),
                    "{} {}",
                    make.name,
                    model.name
                );
            }
        }
    }
}
