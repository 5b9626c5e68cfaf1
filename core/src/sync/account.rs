//! The phone's account with the sync server: joining with an invite, the
//! token it keeps and renews, and the devices signed in.
//!
//! The token a sync sends is the one the app configured
//! ([`SyncConfig::token`]), or the one this phone got by redeeming an invite
//! or by renewing: those are kept in the store's local state (never
//! synced), with the configured token they descend from. While the app keeps
//! configuring that same token, the renewed one is used; a different
//! configured token (another sign-in) takes over. A sync renews the token
//! when the server says it is two thirds into its life (answer header
//! `Fushi-Token-Renew-After`), so a phone that syncs now and then never
//! meets an expired token.

use super::client::SyncClient;
use super::wire::{
    DeviceInfo, DevicesResponse, InviteRequest, InviteResponse, Me, RedeemRequest, RevokeRequest,
    RevokeResponse, SignedIn,
};
use crate::store::StateValue;
use crate::{Error, Result};
use uuid::Uuid;

/// State key: the token this phone got (by an invite, or by renewal).
pub const STATE_AUTH_TOKEN: &str = "auth.token";
/// State key: the configured token the kept one descends from (empty when
/// it came from an invite).
pub const STATE_AUTH_ROOT: &str = "auth.root";

impl SyncClient {
    /// The token this phone keeps (got by an invite or renewal), if any, and
    /// the configured token it descends from (empty for an invite's).
    fn kept(&self) -> Result<(Option<String>, String)> {
        let text = |key| -> Result<Option<String>> {
            Ok(match self.store().state_get(key)? {
                Some(StateValue::Text(t)) if !t.is_empty() => Some(t),
                _ => None,
            })
        };
        Ok((
            text(STATE_AUTH_TOKEN)?,
            text(STATE_AUTH_ROOT)?.unwrap_or_default(),
        ))
    }

    /// The token to send, and the configured token it descends from: see
    /// the module documentation.
    fn current(&self) -> Result<(String, String)> {
        let configured = &self.config().token;
        match self.kept()? {
            (Some(t), root) if configured.is_empty() || *configured == root => Ok((t, root)),
            _ if !configured.is_empty() => Ok((configured.clone(), configured.clone())),
            _ => Err(Error::SignedOut {
                code: "missing_token".into(),
                reason: "this phone is not signed in: redeem an invite".into(),
            }),
        }
    }

    /// The token to send: see the module documentation.
    pub(crate) fn token(&self) -> Result<String> {
        Ok(self.current()?.0)
    }

    /// Join with an invite code (as typed or scanned): this device gets a
    /// token, kept in the store, and the answer says who the user now is
    /// (set it as the store's user). No token is needed for this.
    pub async fn redeem_invite(&self, code: &str, platform: &str) -> Result<SignedIn> {
        let body = serde_json::to_vec(&RedeemRequest {
            code: code.to_owned(),
            platform: Some(platform.to_owned()),
        })?;
        let req = self
            .http()
            .post(self.url("/v1/invites/redeem"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body);
        let signed: SignedIn = self.send_unsigned(req).await?;
        self.keep_token(&signed.token, "")?;
        Ok(signed)
    }

    /// Grid staff (or an admin) invite people: see [`InviteRequest`].
    pub async fn create_invite(&self, invite: &InviteRequest) -> Result<InviteResponse> {
        let req = self
            .http()
            .post(self.url("/v1/invites"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(invite)?);
        self.send_signed(req).await
    }

    /// The signed-in devices of this user, or (staff) of `user`.
    pub async fn devices(&self, user: Option<Uuid>) -> Result<Vec<DeviceInfo>> {
        let mut req = self.http().get(self.url("/v1/devices"));
        if let Some(u) = user {
            req = req.query(&[("user", u.to_string())]);
        }
        let resp: DevicesResponse = self.send_signed(req).await?;
        Ok(resp.devices)
    }

    /// Sign one device out (of this user, or of `user` for staff), or, with
    /// no device, every device of `user`. Returns how many.
    pub async fn revoke(&self, device: Option<Uuid>, user: Option<Uuid>) -> Result<u32> {
        let req = self
            .http()
            .post(self.url("/v1/devices/revoke"))
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(serde_json::to_vec(&RevokeRequest { device, user })?);
        let resp: RevokeResponse = self.send_signed(req).await?;
        Ok(resp.revoked)
    }

    /// Who the server takes this phone for: the user id, role and community
    /// of its token (a phone signed in with the platform's JWT learns its
    /// user id here, to set it as the store's user).
    pub async fn who_am_i(&self) -> Result<Me> {
        self.send_signed(self.http().get(self.url("/v1/me"))).await
    }

    /// Renew this device's token now (a sync does it when due).
    pub async fn renew_token(&self) -> Result<SignedIn> {
        self.renew_token_with(self.http()).await
    }

    pub(crate) async fn renew_token_with(&self, http: &reqwest::Client) -> Result<SignedIn> {
        let root = self.current()?.1;
        let signed: SignedIn = self
            .send_signed(http.post(self.url("/v1/token/renew")))
            .await?;
        self.keep_token(&signed.token, &root)?;
        tracing::info!("token renewed");
        Ok(signed)
    }

    fn keep_token(&self, token: &str, root: &str) -> Result<()> {
        self.store().set_state(&[
            (STATE_AUTH_TOKEN, StateValue::Text(token.to_owned())),
            (STATE_AUTH_ROOT, StateValue::Text(root.to_owned())),
        ])
    }
}
