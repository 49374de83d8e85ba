//! A leaf of shared vocabulary: the hasher of the hash maps the request path fills from what
//! requests and CRM records carry.
//!
//! It must never import anything of the crate (every room may use it), nor trade its random
//! seed for a fixed one: whoever writes the CRM's records must not be able to predict
//! collisions.

use std::collections::HashMap;

/// Hash maps keyed by what requests and CRM records carry (group names, memo keys,
/// attribute values, stopwords): foldhash, seeded at random per map. SipHash's cost per key
/// showed in profiles of record filtering (xxh3's streaming hasher was slower still on these
/// short keys); the random seed keeps collisions unpredictable to whoever writes the CRM's
/// records.
pub type FastHash = foldhash::fast::RandomState;
pub type FastMap<K, V> = HashMap<K, V, FastHash>;
