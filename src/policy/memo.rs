//! The memos of one policy revision: decisions already made, keyed by exactly what Cedar
//! can observe (scope, action, resource type, attributes, and the id only where a policy
//! can see ids). A new revision starts with empty memos.
//!
//! A memo must never serve a decision under a key that leaves out an input Cedar observes,
//! nor across revisions; a poisoned lock is a miss, never a panic.

use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex};

use crate::fasthash::FastMap;
use crate::policy::decision::{Decision, RecordPlan, StoredNeed, WriteDecision};
use crate::routes::AttrValue;

/// A bounded map shared by all requests of one policy revision. It lives inside the
/// [`crate::policy::PolicyEngine`], so a new revision (a reload) starts with an empty memo:
/// a decision is never served from another revision. When full it is emptied, which bounds its memory and
/// costs only re-evaluations. A poisoned lock is a miss, never a panic.
pub struct Memo<K, V> {
    map: Mutex<FastMap<K, V>>,
    cap: usize,
}

impl<K, V> fmt::Debug for Memo<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Memo").field("cap", &self.cap).finish()
    }
}

impl<K: Hash + Eq, V: Clone> Memo<K, V> {
    pub fn new(cap: usize) -> Self {
        Memo {
            map: Mutex::new(FastMap::default()),
            cap,
        }
    }

    pub fn get<Q>(&self, key: &Q) -> Option<V>
    where
        K: std::borrow::Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.map.lock().ok()?.get(key).cloned()
    }

    pub fn insert(&self, key: K, value: V) {
        if let Ok(mut map) = self.map.lock() {
            if map.len() >= self.cap {
                map.clear();
            }
            map.insert(key, value);
        }
    }

    pub fn len(&self) -> usize {
        self.map.lock().map_or(0, |m| m.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Most request-level decisions memoised per revision (principal × purpose × route).
pub(super) const REQUEST_MEMO_ENTRIES: usize = 4096;
/// Most record plans memoised per revision; one plan is a few hundred bytes.
pub(super) const PLAN_MEMO_ENTRIES: usize = 16384;

/// Request-level memo key: scope, action, collection.
pub(super) type RequestKey = (Arc<str>, String, String);

/// The key of a plan across requests: everything Cedar can observe when deciding on a
/// record — the scope's memo key (principal and context), the resource's entity type, its
/// extracted attributes, and its id only where a policy can observe ids of that type. The
/// action is not in the key: a plan holds the decisions of every record action.
pub type PlanMemoKey = (Arc<str>, String, Vec<Option<AttrValue>>, Option<String>);

/// Record plans memoised across the requests of one policy revision (held by the engine).
pub type PlanMemo = Memo<PlanMemoKey, Arc<RecordPlan>>;

/// Scope, action, attributes, id (where observable) and the groups asked about.
pub type WriteKey = (
    Arc<str>,
    &'static str,
    Vec<Option<AttrValue>>,
    Option<String>,
    u64,
);
pub type WriteMemo = Memo<WriteKey, Arc<WriteDecision>>;

/// What a write's decisions need of the stored record: scope, resource type, action and
/// the field groups written (see `PolicyEngine::stored_need`).
pub type IndependenceKey = (Arc<str>, String, &'static str, u64);
pub type IndependenceMemo = Memo<IndependenceKey, StoredNeed>;

/// Scope, category and attributes of a `redact.<category>` decision.
pub type RedactKey = (Arc<str>, String, Vec<Option<AttrValue>>);
pub type RedactMemo = Memo<RedactKey, Decision>;
