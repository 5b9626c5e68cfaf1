//! Joining the community and the devices signed in: thin glue over
//! `fushi_core::sync::account`.

use crate::error::FushiError;
use crate::store::FushiStore;
use crate::types::parse_id;
use fushi_core::policy::{Actor, Role};
use fushi_core::sync::wire::{DeviceInfo, InviteRequest, InviteResponse, Me, SignedIn};

type Result<T, E = FushiError> = std::result::Result<T, E>;

fn user_arg(field: &str, user: Option<String>) -> Result<Option<uuid::Uuid>> {
    user.map(|u| parse_id(field, &u)).transpose()
}

impl FushiStore {
    /// Make the user the server named the store's user.
    fn sign_in_as(&self, user: uuid::Uuid, role: &str, community: &str) -> Result<()> {
        let role = Role::parse(role)
            .ok_or_else(|| FushiError::invalid("role", "the server sent an unknown role"))?;
        self.store.set_actor(Some(Actor {
            user,
            role,
            community: community.to_owned(),
        }));
        Ok(())
    }
}

#[uniffi::export(async_runtime = "tokio")]
impl FushiStore {
    /// Joins the community with an invite code (as typed, or read from its
    /// QR code): this device is signed in, its token kept in the store (a
    /// sync uses it when `SyncSettings.token` is empty, and renews it before
    /// it expires), and the new user becomes the store's user. `platform`:
    /// `android`, `ios` or `other`. Needs sync settings (the server URL).
    /// Errors: `InvalidInput` (`code`), `Rejected` (`invite_unknown`,
    /// `invite_used`, `invite_expired`, `rate_limited`), `Offline`.
    pub async fn redeem_invite(&self, code: String, platform: String) -> Result<SignedIn> {
        let signed = self.client()?.redeem_invite(&code, &platform).await?;
        self.sign_in_as(signed.user, &signed.role, &signed.community)?;
        Ok(signed)
    }

    /// Who the server takes this phone for (user id, role, community): a
    /// phone signed in with the community platform's token learns its user
    /// id here, and it becomes the store's user.
    pub async fn who_am_i(&self) -> Result<Me> {
        let me = self.client()?.who_am_i().await?;
        self.sign_in_as(me.user, &me.role, &me.community)?;
        Ok(me)
    }

    /// Grid staff (or an admin) create an invite: by default one resident,
    /// valid 72 hours. Show `code` to read out or as a QR code.
    pub async fn create_invite(&self, invite: InviteRequest) -> Result<InviteResponse> {
        Ok(self.client()?.create_invite(&invite).await?)
    }

    /// The devices signed in as this user, or (grid staff, admins) as
    /// `user`.
    pub async fn devices(&self, user: Option<String>) -> Result<Vec<DeviceInfo>> {
        let user = user_arg("user", user)?;
        Ok(self.client()?.devices(user).await?)
    }

    /// Signs one device out: one of this user's (a lost phone), or, for
    /// grid staff, one of a resident's of their community (`user`).
    /// Returns how many were signed out.
    pub async fn revoke_device(&self, device: String, user: Option<String>) -> Result<u32> {
        let device = parse_id("device", &device)?;
        let user = user_arg("user", user)?;
        Ok(self.client()?.revoke(Some(device), user).await?)
    }

    /// Grid staff sign every device of a resident of their community out
    /// (admins anyone's). Returns how many.
    pub async fn sign_out_user(&self, user: String) -> Result<u32> {
        let user = parse_id("user", &user)?;
        Ok(self.client()?.revoke(None, Some(user)).await?)
    }
}
