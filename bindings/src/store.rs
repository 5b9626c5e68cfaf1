//! [`FushiStore`]: one phone's store, its signed-in user, its sync client and
//! its observers. Every method parses the ids the app passes (naming the
//! argument in the error), calls the core with the core's own records, and
//! maps the error; the core tells the observers which rows changed.

use crate::error::FushiError;
use crate::observer::{ListingObserver, Observers, ProgressListeners, SyncProgressListener};
use crate::types::{parse_id, size, SyncSettings, User};
use fushi_core::crdt::SystemClock;
use fushi_core::hours::HolidayCalendar;
use fushi_core::model::{
    Item, ItemEdit, ListingKind, Need, NeedEdit, NewItem, NewNeed, NewSkill, NewStation, Skill,
    SkillEdit, Station, StationEdit,
};
use fushi_core::store::{
    ApplyReport, ChangedRow, Figures, ItemLifecycle, Match, NearbyQuery, NearbyStation, Period,
    QuarantinedChange, SearchIndexStatus, SearchPage, SearchQuery, StationReport,
};
use fushi_core::sync::{
    ProgressListener, SyncClient, SyncConfig, SyncRejection, SyncReport, Trust,
};
use fushi_core::{Store, StoreConfig};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

type Result<T, E = FushiError> = std::result::Result<T, E>;

/// One phone's replica of the community's listings, in one SQLite file.
///
/// Threading: share one `FushiStore` per file across the app; it is
/// `Send + Sync` and every method may be called from any thread. Every
/// method but `sync` blocks on SQLite (or, `sync_blocking`, on the network):
/// call them off the UI thread (Kotlin: `Dispatchers.IO`; Swift: a
/// background task). `sync` is `suspend` in Kotlin and `async` in Swift.
#[derive(uniffi::Object)]
pub struct FushiStore {
    pub(crate) store: Arc<Store>,
    /// The store's clock, corrected by the server's time on every sync.
    clock: Arc<SystemClock>,
    /// The sync client, and whether it trusts the platform's store (which
    /// on Android needs `FushiTls.init(context)` before a sync).
    sync: RwLock<Option<(Arc<SyncClient>, bool)>>,
    observers: Arc<Observers>,
    progress: Arc<ProgressListeners>,
}

impl std::fmt::Debug for FushiStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FushiStore").finish_non_exhaustive()
    }
}

impl FushiStore {
    pub(crate) fn client(&self) -> Result<Arc<SyncClient>> {
        let (client, platform_trust) = self
            .sync
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            // No server configured: the store works offline until one is.
            .ok_or(FushiError::Offline)?;
        if platform_trust {
            crate::tls::check_platform_ready()?;
        }
        Ok(client)
    }

    fn sync_client(&self, settings: SyncSettings) -> Result<(Arc<SyncClient>, bool)> {
        let mut config = SyncConfig::new(settings.server_url, settings.token);
        // Out-of-range values are clamped by the client (1..=its maximum).
        if let Some(n) = settings.push_batch {
            config.push_batch = size(n);
        }
        if let Some(n) = settings.pull_limit {
            config.pull_limit = size(n);
        }
        config.trust = match settings.ca_certificate_pem {
            Some(pem) => Trust::PinnedCa(pem),
            None => Trust::Platform,
        };
        let platform_trust = config.trust == Trust::Platform;
        config.allow_cleartext = settings.allow_cleartext;
        if let Some(ms) = settings.connect_timeout_ms {
            config.connect_timeout = Duration::from_millis(u64::from(ms.max(1)));
        }
        if let Some(ms) = settings.request_timeout_ms {
            config.request_timeout = Duration::from_millis(u64::from(ms.max(1)));
        }
        if let Some(n) = settings.max_attempts {
            config.retry.max_attempts = n.max(1);
        }
        let client =
            SyncClient::new(Arc::clone(&self.store), config)?.with_clock(Arc::clone(&self.clock));
        let progress = Arc::clone(&self.progress);
        client.set_progress_listener(Some(ProgressListener(Arc::new(move |p| progress.tell(p)))));
        Ok((Arc::new(client), platform_trust))
    }

    /// Tell the observers what a sync matched (the rows it changed they
    /// heard from the core as each page committed).
    fn synced(&self, report: SyncReport) -> Result<SyncReport> {
        let applied = ApplyReport {
            changed: report.changed.iter().map(|r| (r.kind, r.id)).collect(),
            ..ApplyReport::default()
        };
        let matches: Vec<Match> = self.store.new_matches(&applied)?;
        self.observers.new_matches(matches);
        Ok(report)
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl FushiStore {
    /// Opens (creating if needed) the store at `path`, a file in the app's
    /// private storage. With `sync`, the store can sync with that server;
    /// without, it works offline until [`FushiStore::configure_sync`].
    ///
    /// Errors: `Storage` if the file is not a Fushi database or is damaged;
    /// `UpgradeRequired` if a newer app wrote it; `InvalidInput` for sync
    /// settings that cannot be used (as [`FushiStore::configure_sync`]).
    #[uniffi::constructor]
    pub fn open(path: String, sync: Option<SyncSettings>) -> Result<Arc<Self>> {
        let clock = SystemClock::new();
        let store = Store::open_with(&path, clock.clone(), StoreConfig::default())?;
        // The core says which rows every committed write changed (local
        // actions, sync pages, refusals rolled back): the observers hear that.
        let observers = Arc::new(Observers::default());
        let heard = Arc::clone(&observers);
        store.set_change_listener(Some(Arc::new(move |rows: &[ChangedRow]| {
            heard.changed(rows.to_vec());
        })));
        let this = FushiStore {
            store: Arc::new(store),
            clock,
            sync: RwLock::new(None),
            observers,
            progress: Arc::default(),
        };
        if let Some(settings) = sync {
            this.configure_sync(Some(settings))?;
        }
        Ok(Arc::new(this))
    }

    /// Sets (or, with `null`/`nil`, removes) the sync server and token, e.g.
    /// after the user signs in. Waiting changes stay and go with the next sync.
    ///
    /// Errors: `InvalidInput` on `server_url` for an `http://` URL unless
    /// `allow_cleartext` (or a URL that is not `https://`), on
    /// `ca_certificate_pem` for a pinned CA that is not PEM certificates;
    /// `Certificate` if the platform's verifier cannot be set up.
    pub fn configure_sync(&self, settings: Option<SyncSettings>) -> Result<()> {
        let client = settings.map(|s| self.sync_client(s)).transpose()?;
        *self.sync.write().unwrap_or_else(PoisonError::into_inner) = client;
        Ok(())
    }

    /// Signs a user in (or out, with `null`/`nil`): later writes are made,
    /// and checked, as this user. Use the user the sync token was issued for.
    pub fn set_user(&self, user: Option<User>) -> Result<()> {
        let actor = user.map(TryInto::try_into).transpose()?;
        self.store.set_actor(actor);
        Ok(())
    }

    /// The community's compounds (小区: name, centre, reach in metres). A
    /// resident's item, skill or need posted within one is placed at its
    /// centre; elsewhere on a ~100 m grid. The exact position given to
    /// `post_item` is never stored or sent. Set at start, from the app's
    /// configuration.
    pub fn set_compounds(&self, compounds: Vec<fushi_core::geo::Compound>) {
        self.store.set_compounds(compounds);
    }

    /// Now, in Unix ms, by the store's clock (corrected by the server's time
    /// after a sync). Pass it as `NearbyQuery.open_at` for "open now".
    pub fn now_ms(&self) -> i64 {
        self.store.now_ms()
    }

    // --- observers ---------------------------------------------------------

    /// Registers an observer; returns its id for [`FushiStore::remove_observer`].
    pub fn add_observer(&self, observer: Arc<dyn ListingObserver>) -> u64 {
        self.observers.add(observer)
    }

    /// Removes an observer; returns whether it was registered.
    pub fn remove_observer(&self, id: u64) -> bool {
        self.observers.remove(id)
    }

    // --- residents: items --------------------------------------------------

    /// A resident posts an idle item to give or swap; works offline.
    /// Returns its id.
    pub fn post_item(&self, item: NewItem) -> Result<String> {
        let id = self.store.post_item(item)?;
        Ok(id.to_string())
    }

    /// The owner edits an item.
    pub fn edit_item(&self, id: String, edit: ItemEdit) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.edit_item(id, edit)?;
        Ok(())
    }

    /// The owner withdraws an item: it stays, but is no longer offered.
    pub fn withdraw_item(&self, id: String) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.withdraw_item(id)?;
        Ok(())
    }

    /// The owner renews an item for another listing period.
    pub fn renew_item(&self, item_id: String) -> Result<()> {
        let id = parse_id("item_id", &item_id)?;
        self.store.renew_item(id)?;
        Ok(())
    }

    /// The owner deletes a listing: its content is erased on every phone.
    pub fn delete_listing(&self, kind: ListingKind, id: String) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.delete_listing(kind.table(), id)?;
        Ok(())
    }

    /// An item by id. `NotFound` if it does not exist here or was deleted.
    pub fn item(&self, id: String) -> Result<Item> {
        Ok(self.store.item(parse_id("id", &id)?)?)
    }

    /// A resident asks for an item and joins its queue. Returns the request id.
    pub fn request_item(&self, item_id: String, note: Option<String>) -> Result<String> {
        let item = parse_id("item_id", &item_id)?;
        let request = self.store.request_item(item, note)?;
        Ok(request.to_string())
    }

    /// The requester cancels their request.
    pub fn cancel_request(&self, request_id: String) -> Result<()> {
        let id = parse_id("request_id", &request_id)?;
        self.store.cancel_request(id)?;
        Ok(())
    }

    /// An item's state, queue and hand-over as every phone derives it.
    pub fn item_lifecycle(&self, item_id: String) -> Result<ItemLifecycle> {
        Ok(self.store.item_lifecycle(parse_id("item_id", &item_id)?)?)
    }

    /// The owner accepts the first request in line; returns it, or
    /// `null`/`nil` if nobody is waiting.
    pub fn accept_next_request(&self, item_id: String) -> Result<Option<String>> {
        let id = parse_id("item_id", &item_id)?;
        let accepted = self.store.accept_next_request(id)?;
        Ok(accepted.map(|r| r.to_string()))
    }

    /// The owner declines a request.
    pub fn decline_request(&self, request_id: String) -> Result<()> {
        let id = parse_id("request_id", &request_id)?;
        self.store.decline_request(id)?;
        Ok(())
    }

    /// The owner marks the accepted requester as a no-show and accepts the
    /// next in line; returns the newly accepted request, if any.
    pub fn mark_no_show(&self, request_id: String) -> Result<Option<String>> {
        let id = parse_id("request_id", &request_id)?;
        let next = self.store.mark_no_show(id)?;
        Ok(next.map(|r| r.to_string()))
    }

    /// One side confirms the hand-over: the owner as giver, the accepted
    /// requester as receiver. When both have, the item is given.
    pub fn confirm_handover(&self, item_id: String) -> Result<ItemLifecycle> {
        let id = parse_id("item_id", &item_id)?;
        Ok(self.store.confirm_handover(id)?)
    }

    // --- residents: skills and needs ---------------------------------------

    /// A resident offers a skill. Returns its id.
    pub fn post_skill(&self, skill: NewSkill) -> Result<String> {
        let id = self.store.post_skill(skill)?;
        Ok(id.to_string())
    }

    /// The owner edits a skill offer.
    pub fn edit_skill(&self, id: String, edit: SkillEdit) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.edit_skill(id, edit)?;
        Ok(())
    }

    /// A skill offer by id.
    pub fn skill(&self, id: String) -> Result<Skill> {
        Ok(self.store.skill(parse_id("id", &id)?)?)
    }

    /// A resident confirms a neighbour's skill was delivered to them.
    /// Returns the session id.
    pub fn confirm_skill_session(&self, skill_id: String, note: Option<String>) -> Result<String> {
        let skill = parse_id("skill_id", &skill_id)?;
        let session = self.store.confirm_skill_session(skill, note)?;
        Ok(session.to_string())
    }

    /// A resident posts a need for an item or a skill. Returns its id.
    pub fn post_need(&self, need: NewNeed) -> Result<String> {
        let id = self.store.post_need(need)?;
        Ok(id.to_string())
    }

    /// The owner edits a need.
    pub fn edit_need(&self, id: String, edit: NeedEdit) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.edit_need(id, edit)?;
        Ok(())
    }

    /// A need by id.
    pub fn need(&self, id: String) -> Result<Need> {
        Ok(self.store.need(parse_id("id", &id)?)?)
    }

    /// Searches items, skills and needs (Chinese text works), offline.
    pub fn search(&self, query: SearchQuery) -> Result<SearchPage> {
        Ok(self.store.search(&query)?)
    }

    /// How far the full-text index is: listings still waiting for it (a
    /// first sync's, for a few seconds; searches scan them meanwhile) and
    /// whether it was made again from the listings since the store opened.
    pub fn search_index_status(&self) -> Result<SearchIndexStatus> {
        Ok(self.store.search_index_status()?)
    }

    /// Offers that may answer a need, best first, at most `limit`.
    pub fn matches_for_need(&self, need_id: String, limit: u32) -> Result<Vec<Match>> {
        let need = parse_id("need_id", &need_id)?;
        Ok(self.store.matches_for_need(need, size(limit))?)
    }

    // --- outdoor workers: stations -----------------------------------------

    /// Stations near a point, nearest first, with distance (and GCJ-02
    /// coordinates for the map), open status and current reports. Offline;
    /// the position never leaves the phone.
    pub fn nearest_stations(&self, query: NearbyQuery) -> Result<Vec<NearbyStation>> {
        Ok(self.store.nearest_stations(&query)?)
    }

    /// A station by id.
    pub fn station(&self, id: String) -> Result<Station> {
        Ok(self.store.station(parse_id("id", &id)?)?)
    }

    /// Anyone signed in reports a station's state (a `REPORT_KINDS` code such
    /// as `no_water`); reports expire. Returns the report id.
    pub fn report_station(
        &self,
        station_id: String,
        kind: String,
        note: Option<String>,
    ) -> Result<String> {
        let station = parse_id("station_id", &station_id)?;
        let report = self.store.report_station(station, &kind, note)?;
        Ok(report.to_string())
    }

    /// An outdoor worker says "I rested here": anonymous, only counted.
    /// Returns the check-in id.
    pub fn check_in(&self, station_id: String) -> Result<String> {
        let station = parse_id("station_id", &station_id)?;
        let checkin = self.store.check_in(station)?;
        Ok(checkin.to_string())
    }

    /// A station's current reports, oldest first.
    pub fn station_reports(&self, station_id: String) -> Result<Vec<StationReport>> {
        let station = parse_id("station_id", &station_id)?;
        Ok(self.store.station_reports(station)?)
    }

    /// How many check-ins a station has had (since `since_ms`, if given).
    pub fn checkin_count(&self, station_id: String, since_ms: Option<i64>) -> Result<u64> {
        let station = parse_id("station_id", &station_id)?;
        Ok(self.store.checkin_count(station, since_ms)?)
    }

    /// Sets the app's own public holidays and make-up working days for
    /// opening hours, in the core's text format (`2026-10-01 holiday`,
    /// `2026-09-20 workday`, one a line). They replace, for each year they
    /// list, the built-in 2026 and the years admins published; normally the
    /// app needs none (admins publish each year, phones receive it by sync).
    pub fn set_holiday_calendar(&self, text: String) -> Result<()> {
        let calendar = HolidayCalendar::from_text(&text)
            .map_err(|e| FushiError::invalid("calendar", &e.to_string()))?;
        self.store.set_holiday_calendar(calendar);
        Ok(())
    }

    /// An admin publishes a year's public holidays and make-up working days
    /// (the State Council's notice, in the same text format, every date in
    /// `year`) for the whole city: every phone learns it at its next sync,
    /// with no app update. Returns the record's id. Errors: `InvalidInput`,
    /// `NotAllowed` (not an admin).
    pub fn publish_holiday_calendar(&self, year: i32, text: String) -> Result<String> {
        HolidayCalendar::from_text(&text)
            .map_err(|e| FushiError::invalid("holidays", &e.to_string()))?;
        Ok(self
            .store
            .publish_holiday_calendar(year, &text)?
            .to_string())
    }

    /// The years whose holidays this phone knows (built in, published and
    /// synced, or set by the app). For other years `NearbyStation.holidays_known`
    /// is false: say "holidays not yet known" rather than trust `PH` rules.
    pub fn holiday_years(&self) -> Vec<i32> {
        self.store.holiday_years()
    }

    // --- grid staff ----------------------------------------------------------

    /// Grid staff add a station. Returns its id.
    pub fn post_station(&self, station: NewStation) -> Result<String> {
        let id = self.store.post_station(station)?;
        Ok(id.to_string())
    }

    /// Grid staff edit a station; two staff editing at once both keep their
    /// edits after syncing (per field).
    pub fn edit_station(&self, id: String, edit: StationEdit) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.edit_station(id, edit)?;
        Ok(())
    }

    /// Grid staff hide (or show again) a listing of their community.
    pub fn hide_listing(&self, kind: ListingKind, id: String, hidden: bool) -> Result<()> {
        let id = parse_id("id", &id)?;
        self.store.hide_listing(kind.table(), id, hidden)?;
        Ok(())
    }

    /// The programme figures of `community` over `period` (grid staff of
    /// that community, admins).
    pub fn figures(&self, community: String, period: Period) -> Result<Figures> {
        Ok(self.store.figures(&community, period)?)
    }

    // --- sync --------------------------------------------------------------

    /// Pushes the waiting changes, then pulls until caught up; tells the
    /// observers what changed and matched. Blocks: call it on a background
    /// thread, never from inside an async runtime (use `sync` there).
    ///
    /// Errors: `Offline` (nothing is lost; transient failures were already
    /// retried as `SyncSettings.max_attempts` says), `Certificate` (the
    /// server's certificate was refused: not retried), `Rejected`,
    /// `UpgradeRequired`.
    pub fn sync_blocking(&self) -> Result<SyncReport> {
        let report = self.client()?.sync_blocking()?;
        self.synced(report)
    }

    /// [`FushiStore::sync_blocking`] as a `suspend fun` (Kotlin) or `async`
    /// func (Swift). One sync runs at a time; a second waits for the first.
    pub async fn sync(&self) -> Result<SyncReport> {
        let client = self.client()?;
        let report = client.sync().await?;
        self.synced(report)
    }

    /// Cancels the sync under way, if any: it answers `Cancelled` at its next
    /// step. Whatever it applied stays consistent (each batch and page is
    /// one transaction with its marks); the next sync goes on from there.
    pub fn cancel_sync(&self) {
        if let Ok(client) = self.client() {
            client.cancel();
        }
    }

    /// Registers a listener of sync progress (Kotlin: use the
    /// `syncProgress()` Flow); returns its id.
    pub fn add_sync_progress_listener(&self, listener: Arc<dyn SyncProgressListener>) -> u64 {
        self.progress.add(listener)
    }

    /// Removes a sync progress listener; returns whether it was registered.
    pub fn remove_sync_progress_listener(&self, id: u64) -> bool {
        self.progress.remove(id)
    }

    /// How many changes wait to be sent.
    pub fn pending_changes(&self) -> Result<u64> {
        Ok(self.store.pending_changes()?)
    }

    /// When the last sync finished (Unix ms), if one ever did.
    pub fn last_synced_at(&self) -> Result<Option<i64>> {
        Ok(self.store.last_synced_at()?)
    }

    /// The changes the server refused, newest first ("this edit was not
    /// accepted", with the reason). They were rolled back here.
    pub fn sync_rejections(&self) -> Result<Vec<SyncRejection>> {
        Ok(self.store.sync_rejections()?)
    }

    /// Forgets the recorded refusals (the user has seen them).
    pub fn clear_sync_rejections(&self) -> Result<()> {
        Ok(self.store.clear_sync_rejections()?)
    }

    /// Received changes held back because their clock runs too far ahead.
    pub fn quarantine(&self) -> Result<Vec<QuarantinedChange>> {
        Ok(self.store.quarantine()?)
    }
}
