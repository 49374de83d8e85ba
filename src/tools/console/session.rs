//! The console's server-side sessions and pending sign-ins: a session is a random id in a
//! `__Host-` cookie (`Secure; HttpOnly; SameSite=Strict`), the user, roles and a CSRF token
//! of its own, and ends a fixed time after sign-in. A pending sign-in keeps the state,
//! nonce and PKCE verifier of one authorization request, bound to the browser that started
//! it by a second cookie.
//!
//! It must never keep a session past its expiry, hand out an id or token that is not
//! random, or let one state be used twice.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::view::Lang;

/// The session cookie.
pub const COOKIE: &str = "__Host-console";
/// The cookie that binds a pending sign-in to the browser that started it.
pub const LOGIN_COOKIE: &str = "__Host-console-login";

/// How long a sign-in may take at the identity provider.
const LOGIN_TTL: Duration = Duration::from_secs(600);

#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub user: String,
    pub roles: Vec<String>,
    pub csrf: String,
    pub lang: Option<Lang>,
    expires: Instant,
}

impl Session {
    pub fn is_dpo(&self) -> bool {
        self.roles.iter().any(|r| r == "dpo")
    }
}

#[derive(Debug, Clone)]
pub struct Pending {
    pub binding: String,
    pub nonce: String,
    pub verifier: String,
    expires: Instant,
}

#[derive(Debug)]
pub struct Sessions {
    ttl: Duration,
    live: Mutex<HashMap<String, Session>>,
    pending: Mutex<HashMap<String, Pending>>,
}

impl Sessions {
    pub fn new(ttl: Duration) -> Sessions {
        Sessions {
            ttl,
            live: Mutex::new(HashMap::new()),
            pending: Mutex::new(HashMap::new()),
        }
    }

    /// The live session of this id (an expired one is removed and is none).
    pub fn get(&self, id: &str) -> Option<Session> {
        let mut live = self.live.lock().ok()?;
        let now = Instant::now();
        live.retain(|_, s| s.expires > now);
        live.get(id).cloned()
    }

    pub fn set_lang(&self, id: &str, lang: Lang) {
        if let Ok(mut live) = self.live.lock() {
            if let Some(s) = live.get_mut(id) {
                s.lang = Some(lang);
            }
        }
    }

    /// A new session for a signed-in user.
    pub fn create(&self, user: String, roles: Vec<String>) -> Result<Session, String> {
        let s = Session {
            id: super::util::random_token()?,
            user,
            roles,
            csrf: super::util::random_token()?,
            lang: None,
            expires: Instant::now() + self.ttl,
        };
        self.live
            .lock()
            .map_err(|_| "sessions unavailable")?
            .insert(s.id.clone(), s.clone());
        Ok(s)
    }

    pub fn end(&self, id: &str) {
        if let Ok(mut live) = self.live.lock() {
            live.remove(id);
        }
    }

    /// A pending sign-in: (state, its record).
    pub fn begin(&self) -> Result<(String, Pending), String> {
        let state = super::util::random_token()?;
        let p = Pending {
            binding: super::util::random_token()?,
            nonce: super::util::random_token()?,
            verifier: super::util::random_token()?,
            expires: Instant::now() + LOGIN_TTL,
        };
        let mut pending = self.pending.lock().map_err(|_| "sessions unavailable")?;
        let now = Instant::now();
        pending.retain(|_, p| p.expires > now);
        pending.insert(state.clone(), p.clone());
        Ok((state, p))
    }

    /// Take the pending sign-in of `state` (once), if it has not expired.
    pub fn finish(&self, state: &str) -> Option<Pending> {
        let p = self.pending.lock().ok()?.remove(state)?;
        (p.expires > Instant::now()).then_some(p)
    }
}

/// `Set-Cookie` of a session.
pub fn session_cookie(id: &str) -> String {
    format!("{COOKIE}={id}; Path=/; Secure; HttpOnly; SameSite=Strict")
}

/// `Set-Cookie` of a pending sign-in's binding. Lax: the identity provider's redirect back
/// is a cross-site top-level navigation, which a Strict cookie would not accompany.
pub fn login_cookie(binding: &str) -> String {
    format!("{LOGIN_COOKIE}={binding}; Path=/; Secure; HttpOnly; SameSite=Lax; Max-Age=600")
}

/// `Set-Cookie` that removes `name`.
pub fn clear_cookie(name: &str) -> String {
    format!("{name}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0")
}
