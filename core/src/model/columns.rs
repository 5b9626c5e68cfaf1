//! Column names: each written once, here. The table definitions
//! ([`super::tables`]), the model's row readers and the store's writers
//! name columns through these constants, so a column cannot be misspelt in
//! one place and right in another.

/// `address`.
pub const ADDRESS: &str = "address";

/// `amenities`.
pub const AMENITIES: &str = "amenities";

/// `availability`.
pub const AVAILABILITY: &str = "availability";

/// `by_user`.
pub const BY_USER: &str = "by_user";

/// `category`.
pub const CATEGORY: &str = "category";

/// `community`.
pub const COMMUNITY: &str = "community";

/// `condition`.
pub const CONDITION: &str = "condition";

/// `contact`.
pub const CONTACT: &str = "contact";

/// `created_at`.
pub const CREATED_AT: &str = "created_at";

/// `deleted`.
pub const DELETED: &str = "deleted";

/// `description`.
pub const DESCRIPTION: &str = "description";

/// `expires_at`.
pub const EXPIRES_AT: &str = "expires_at";

/// `hidden`.
pub const HIDDEN: &str = "hidden";

/// `host_org`.
pub const HOST_ORG: &str = "host_org";

/// `item_id`.
pub const ITEM_ID: &str = "item_id";

/// `kind`.
pub const KIND: &str = "kind";

/// `lat`.
pub const LAT: &str = "lat";

/// `lon`.
pub const LON: &str = "lon";

/// `mode`.
pub const MODE: &str = "mode";

/// `name`.
pub const NAME: &str = "name";

/// `note`.
pub const NOTE: &str = "note";

/// `opening_hours`.
pub const OPENING_HOURS: &str = "opening_hours";

/// `outcome`.
pub const OUTCOME: &str = "outcome";

/// `owner`.
pub const OWNER: &str = "owner";

/// `photos`.
pub const PHOTOS: &str = "photos";

/// `pickup_area`.
pub const PICKUP_AREA: &str = "pickup_area";

/// `provider`.
pub const PROVIDER: &str = "provider";

/// `request_id`.
pub const REQUEST_ID: &str = "request_id";

/// `requester`.
pub const REQUESTER: &str = "requester";

/// `reserved_for`.
pub const RESERVED_FOR: &str = "reserved_for";

/// `side`.
pub const SIDE: &str = "side";

/// `skill_id`.
pub const SKILL_ID: &str = "skill_id";

/// `station_id`.
pub const STATION_ID: &str = "station_id";

/// `status`.
pub const STATUS: &str = "status";

/// `swap_for`.
pub const SWAP_FOR: &str = "swap_for";

/// `tags` (schema v2).
pub const TAGS: &str = "tags";

/// `year` (schema v3).
pub const YEAR: &str = "year";

/// `holidays` (schema v3).
pub const HOLIDAYS: &str = "holidays";

/// `title`.
pub const TITLE: &str = "title";

/// `want`.
pub const WANT: &str = "want";
