//! The generated data every section of one run shares: items of about 410
//! bytes (a 15-character Chinese title, an 80-character Chinese description,
//! category, position, status, owner, times) and cool stations.

use fushi_core::crdt::{Cell, CellOp, Hlc, RowChange, SiteId, Stamp, Value};
use fushi_core::model::catalogue;
use fushi_core::model::NewItem;
use uuid::Uuid;

/// A small deterministic generator (PCG-style LCG).
pub struct Lcg(pub u64);

impl Lcg {
    /// The next 31 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    /// Uniform in `[0, 1)`.
    pub fn unit(&mut self) -> f64 {
        (self.next() % 1_000_000) as f64 / 1_000_000.0
    }

    /// Uniform in `0..n`.
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Two-character words the texts are made of. Drawn with a skewed
/// distribution (early words are common), so search terms range from
/// frequent to rare.
pub const WORDS: &[&str] = &[
    "闲置", "全新", "免费", "赠送", "自提", "小区", "可以", "干净", "完好", "使用", "儿童", "衣服",
    "书包", "玩具", "电脑", "手机", "桌子", "椅子", "台灯", "冰箱", "风扇", "空调", "锅具", "餐具",
    "图书", "绘本", "毛绒", "积木", "婴儿", "推车", "床垫", "被子", "枕头", "窗帘", "收纳", "柜子",
    "鞋子", "外套", "毛衣", "裙子", "裤子", "帽子", "围巾", "手套", "雨伞", "背包", "行李", "箱子",
    "水杯", "保温", "茶具", "花盆", "绿植", "工具", "螺丝", "电钻", "扳手", "胶带", "文具", "钢笔",
    "铅笔", "本子", "画板", "颜料", "乐器", "吉他", "钢琴", "口琴", "球拍", "篮球", "足球", "羽毛",
    "跳绳", "瑜伽", "哑铃", "跑步", "运动", "健身", "厨房", "卧室", "客厅", "阳台", "九成", "八成",
    "交换", "门口", "楼下", "周末", "晚上", "联系", "一个", "两个", "几件", "很好", "正常", "搬家",
    "清理", "转让", "适合", "宝宝", "学生", "老人", "家庭", "夏天", "冬天", "春秋", "新款", "品牌",
    "原装", "包装", "说明", "配件", "齐全", "颜色", "红色", "蓝色", "白色", "黑色", "尺寸", "大号",
    "小号", "中号", "电视", "音箱", "耳机", "相机", "镜头", "支架", "插座", "灯泡", "电池", "充电",
];

/// Single characters that end a title (15 = 7 words + 1).
const TAILS: &[&str] = &["送", "换", "出", "让", "赠", "留", "急", "好"];

/// Compound-level pickup places.
pub const AREAS: &[&str] = &[
    "福石花园一期",
    "福石花园二期",
    "海湾新村",
    "翠竹苑",
    "香山里",
    "银湖小区",
];

/// Common characters the rest of the text is drawn from, in random pairs.
const CHARS: &str = "的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严";

/// Share of words taken from [`WORDS`]; the rest are random pairs of
/// [`CHARS`]. With the skew below, the first word is in about a third of
/// the items and the last in about 2 %.
const VOCAB_SHARE: f64 = 0.1;

/// The 2-character search terms asked in the query section, from common to
/// rare (about 34 %, 12 %, 4 % and 2 % of the items).
pub const SEARCH_TERMS: &[&str] = &["闲置", "免费", "鞋子", "中号"];

fn word(r: &mut Lcg, chars: &[char], out: &mut String) {
    if r.unit() < VOCAB_SHARE {
        // Skewed: index = n * u^2.
        let u = r.unit();
        out.push_str(WORDS[((WORDS.len() as f64) * u * u) as usize % WORDS.len()]);
    } else {
        out.push(chars[r.below(chars.len())]);
        out.push(chars[r.below(chars.len())]);
    }
}

fn text(r: &mut Lcg, chars: &[char], words: usize) -> String {
    let mut s = String::with_capacity(words * 6);
    for _ in 0..words {
        word(r, chars, &mut s);
    }
    s
}

/// Zhuhai, roughly 40 km × 45 km.
pub fn point(r: &mut Lcg) -> (f64, f64) {
    (22.10 + 0.35 * r.unit(), 113.20 + 0.45 * r.unit())
}

/// One generated item, in the shape both the store and the baselines write.
#[derive(Clone, Debug)]
pub struct ItemData {
    /// 15 Chinese characters.
    pub title: String,
    /// 80 Chinese characters.
    pub description: String,
    /// Category code.
    pub category: String,
    /// Condition word.
    pub condition: String,
    /// give / swap.
    pub mode: String,
    /// Compound-level place.
    pub pickup_area: String,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
}

impl ItemData {
    /// As the store's input type.
    pub fn to_new_item(&self) -> NewItem {
        NewItem {
            title: self.title.clone(),
            description: Some(self.description.clone()),
            category: self.category.clone(),
            condition: Some(self.condition.clone()),
            mode: self.mode.clone(),
            swap_for: None,
            pickup_area: self.pickup_area.clone(),
            lat: Some(self.lat),
            lon: Some(self.lon),
            photos: Vec::new(),
            tags: Vec::new(),
        }
    }
}

/// `n` items, the same for a given seed.
pub fn items(n: usize, seed: u64) -> Vec<ItemData> {
    let mut r = Lcg(seed);
    let chars: Vec<char> = CHARS.chars().collect();
    let cats = catalogue::ITEM_CATEGORIES;
    let conds = fushi_core::model::tables::CONDITIONS;
    (0..n)
        .map(|_| {
            let mut title = text(&mut r, &chars, 7);
            title.push_str(TAILS[r.below(TAILS.len())]);
            let description = text(&mut r, &chars, 40);
            let (lat, lon) = point(&mut r);
            ItemData {
                title,
                description,
                category: cats[r.below(cats.len())].code.to_owned(),
                condition: conds[r.below(conds.len())].to_owned(),
                mode: if r.below(4) == 0 { "swap" } else { "give" }.to_owned(),
                pickup_area: AREAS[r.below(AREAS.len())].to_owned(),
                lat,
                lon,
            }
        })
        .collect()
}

/// The amenities of generated stations: each has two or three.
const STATION_AMENITIES: &[&str] = &[
    "drinking_water",
    "seating",
    "device_charging",
    "toilets",
    "first_aid_kit",
    "air_conditioning",
];

/// `n` stations as the server would send them to a phone (the city's
/// stations come from the server), written by one grid staff member.
pub fn station_changes(n: usize, seed: u64, owner: Uuid, site: SiteId, t0: i64) -> Vec<RowChange> {
    let mut r = Lcg(seed);
    let hours = ["Mo-Su 08:00-20:00", "24/7", "Mo-Fr 08:00-18:00; PH off"];
    (0..n)
        .map(|i| {
            let stamp = Stamp {
                clock: Hlc::new(t0 + i as i64, 0),
                site,
            };
            let cell = |column: &str, v: Value| Cell {
                column: column.into(),
                op: CellOp::Set(v),
                stamp,
            };
            let (lat, lon) = point(&mut r);
            let mut cells = vec![
                cell("owner", owner.to_string().into()),
                cell("community", "fushi".into()),
                cell("created_at", t0.into()),
                cell("name", format!("清凉驿站{i}").into()),
                cell("address", format!("福石路{}号", i % 500).into()),
                cell("lat", lat.into()),
                cell("lon", lon.into()),
                cell("kind", "cool_station".into()),
                cell("opening_hours", hours[i % 3].into()),
                cell("host_org", "福石社区".into()),
                cell("deleted", Value::Int(0)),
            ];
            let k = 2 + r.below(2);
            let start = r.below(STATION_AMENITIES.len());
            for j in 0..k {
                cells.push(Cell {
                    column: "amenities".into(),
                    op: CellOp::Add(
                        STATION_AMENITIES[(start + j) % STATION_AMENITIES.len()].into(),
                    ),
                    stamp,
                });
            }
            RowChange {
                table: "station".into(),
                id: Uuid::now_v7(),
                cells,
            }
        })
        .collect()
}
