//! Unit tests of the documents' words; they must never pass with a phrase missing.

use super::*;

#[test]
fn every_phrase_has_both_languages_and_one_key() {
    let mut keys = std::collections::BTreeSet::new();
    for (k, en, de) in TEXT {
        assert!(!en.is_empty() && !de.is_empty(), "`{k}` lacks a language");
        assert!(keys.insert(*k), "`{k}` twice");
    }
    assert_eq!(Lang::De.t("permission-concept"), "Berechtigungskonzept");
    assert_eq!(Lang::En.t("no-such-key"), "?");
}
