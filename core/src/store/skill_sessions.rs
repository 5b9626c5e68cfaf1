//! Skill sessions: a resident confirms that a neighbour's skill offer was
//! delivered to them ("she fixed my fan"). Each is an append-only
//! `skill_session` record; grid staff count them in the programme figures.

use super::Store;
use crate::model::columns;
use crate::model::tables::Table;
use crate::{Error, Result};
use uuid::Uuid;

impl Store {
    /// A resident confirms that a neighbour's skill was delivered to them
    /// ("she fixed my fan"): one skill session, counted in the figures.
    pub fn confirm_skill_session(&self, skill_id: Uuid, note: Option<String>) -> Result<Uuid> {
        let actor = self.actor()?;
        let skill = self.skill(skill_id)?;
        if skill.owner == actor.user {
            return Err(Error::invalid(
                "skill",
                "a session of your own skill cannot be confirmed",
            ));
        }
        self.record(
            Table::SkillSession,
            vec![
                (columns::SKILL_ID, skill_id.to_string().into()),
                (columns::PROVIDER, skill.owner.to_string().into()),
                (columns::BY_USER, actor.user.to_string().into()),
                (columns::COMMUNITY, skill.community.into()),
                (columns::NOTE, note.filter(|n| !n.is_empty()).into()),
            ],
        )
    }
}
