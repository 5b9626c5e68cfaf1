//! The programme's figures for grid staff: what happened in a community over
//! a period, counted from the replicated records on the phone.
//!
//! Definitions (a period is `[from, to)` in Unix ms, by the record's
//! `created_at`):
//! - **items posted**: items created in the period (deleted ones included:
//!   they were posted);
//! - **items given**: items whose hand-over was confirmed by both sides, the
//!   later confirmation falling in the period;
//! - **requests**: item requests made;
//! - **station reports** and **check-ins**: made at the community's stations;
//! - **skill sessions**: `skill_session` records, each a resident confirming
//!   that a neighbour's skill was delivered to them ([`Store::confirm_skill_session`]);
//! - **people served**: distinct accounts that received a given item or
//!   benefited from a skill session, plus the check-ins (anonymous, so each
//!   counts as one person served; a worker resting twice counts twice).

use super::Store;
use crate::hours::local_to_unix_ms;
use crate::policy::{Denial, Role};
use crate::{Error, Result};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

/// A time range `[from_ms, to_ms)` in Unix milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Period {
    /// Start, included.
    pub from_ms: i64,
    /// End, excluded.
    pub to_ms: i64,
}

impl Period {
    /// A calendar month in Beijing time (Asia/Shanghai).
    pub fn month(year: i32, month: u32) -> Result<Period> {
        let start = NaiveDate::from_ymd_opt(year, month, 1)
            .ok_or_else(|| Error::invalid("month", "is not a calendar month"))?;
        let (ny, nm) = if month == 12 {
            (year + 1, 1)
        } else {
            (year, month + 1)
        };
        let end = NaiveDate::from_ymd_opt(ny, nm, 1)
            .ok_or_else(|| Error::invalid("month", "is not a calendar month"))?;
        let ms = |d: NaiveDate| d.and_hms_opt(0, 0, 0).map(local_to_unix_ms);
        match (ms(start), ms(end)) {
            (Some(from_ms), Some(to_ms)) => Ok(Period { from_ms, to_ms }),
            _ => Err(Error::invalid("month", "is not a calendar month")),
        }
    }
}

/// A community's figures for a period.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct Figures {
    /// Items posted.
    pub items_posted: u64,
    /// Items handed over (both sides confirmed).
    pub items_given: u64,
    /// Item requests.
    pub requests: u64,
    /// Station reports.
    pub station_reports: u64,
    /// Station check-ins.
    pub check_ins: u64,
    /// Confirmed skill sessions.
    pub skill_sessions: u64,
    /// Distinct receivers of given items.
    pub item_receivers: u64,
    /// Distinct beneficiaries of skill sessions.
    pub skill_beneficiaries: u64,
    /// Distinct receivers and beneficiaries together, plus check-ins.
    pub people_served: u64,
}

const GIVEN: &str = "SELECT h.item_id, h.request_id, max(h.created_at) AS at FROM handover h \
     WHERE h.community = ?1 GROUP BY h.item_id, h.request_id HAVING count(DISTINCT h.side) = 2";

impl Store {
    /// The figures of `community` over `period`. Grid staff of that
    /// community and admins only.
    pub fn figures(&self, community: &str, period: Period) -> Result<Figures> {
        let actor = self.actor()?;
        match actor.role {
            Role::Admin => {}
            Role::GridStaff if actor.community == community => {}
            Role::GridStaff => return Err(Error::NotAllowed(Denial::OtherCommunity)),
            Role::Resident => return Err(Error::NotAllowed(Denial::StaffOnly)),
        }
        if period.to_ms < period.from_ms {
            return Err(Error::invalid("period", "ends before it starts"));
        }
        let (from, to) = (period.from_ms, period.to_ms);
        self.read(|c| {
            let count = |sql: &str| -> Result<u64> {
                let n: i64 = c
                    .prepare_cached(sql)?
                    .query_row(rusqlite::params![community, from, to], |r| r.get(0))?;
                Ok(n.max(0) as u64)
            };
            let in_period = "community = ?1 AND created_at >= ?2 AND created_at < ?3";
            let mut f = Figures {
                items_posted: count(&format!("SELECT count(*) FROM item WHERE {in_period}"))?,
                requests: count(&format!(
                    "SELECT count(*) FROM item_request WHERE {in_period}"
                ))?,
                station_reports: count(&format!(
                    "SELECT count(*) FROM station_report WHERE {in_period}"
                ))?,
                check_ins: count(&format!(
                    "SELECT count(*) FROM station_checkin WHERE {in_period}"
                ))?,
                skill_sessions: count(&format!(
                    "SELECT count(*) FROM skill_session WHERE {in_period}"
                ))?,
                items_given: count(&format!(
                    "SELECT count(DISTINCT item_id) FROM ({GIVEN}) WHERE at >= ?2 AND at < ?3"
                ))?,
                item_receivers: count(&format!(
                    "SELECT count(DISTINCT r.requester) FROM ({GIVEN}) g \
                     JOIN item_request r ON r.id = unhex(replace(g.request_id, '-', '')) \
                     WHERE g.at >= ?2 AND g.at < ?3"
                ))?,
                skill_beneficiaries: count(&format!(
                    "SELECT count(DISTINCT by_user) FROM skill_session WHERE {in_period}"
                ))?,
                ..Figures::default()
            };
            let people = count(&format!(
                "SELECT count(*) FROM ( \
                   SELECT r.requester AS who FROM ({GIVEN}) g \
                     JOIN item_request r ON r.id = unhex(replace(g.request_id, '-', '')) \
                     WHERE g.at >= ?2 AND g.at < ?3 \
                   UNION SELECT by_user FROM skill_session WHERE {in_period})"
            ))?;
            f.people_served = people + f.check_ins;
            Ok(f)
        })
    }
}
